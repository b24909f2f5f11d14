package experiment

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"time"
)

// Role is what an API key may do (API.md).
type Role string

// The roles.
const (
	RoleAdmin   Role = "admin"
	RoleEditor  Role = "editor"
	RoleAnalyst Role = "analyst"
	RoleIngest  Role = "ingest"
)

// Valid reports whether r is one of the four roles.
func (r Role) Valid() bool {
	switch r {
	case RoleAdmin, RoleEditor, RoleAnalyst, RoleIngest:
		return true
	}
	return false
}

// Permission is what a route of the API or a form of the console needs. Each is granted to
// some roles (API.md), here and nowhere else.
type Permission int

// The permissions.
const (
	PermRead        Permission = iota // experiments, outcomes, alerts
	PermEdit                          // create and change experiments and outcomes, decide, resolve alerts
	PermIngest                        // assignments, responses, covariates, attributes
	PermAssignments                   // read assignments
	PermResults                       // results, plots, exports, power
	PermAdmin                         // audit log, erasure
)

var grants = map[Permission][]Role{
	PermRead:        {RoleAdmin, RoleEditor, RoleAnalyst},
	PermEdit:        {RoleAdmin, RoleEditor},
	PermIngest:      {RoleAdmin, RoleIngest},
	PermAssignments: {RoleAdmin, RoleAnalyst, RoleIngest},
	PermResults:     {RoleAdmin, RoleEditor, RoleAnalyst},
	PermAdmin:       {RoleAdmin},
}

// May reports whether a key of role r has permission p.
func (r Role) May(p Permission) bool {
	for _, g := range grants[p] {
		if g == r {
			return true
		}
	}
	return false
}

// APIKey is a stored key; the secret itself is never stored, only its SHA-256.
type APIKey struct {
	ID        int64
	Name      string
	Role      Role
	Hash      [32]byte
	Prefix    string
	CreatedAt time.Time
	RevokedAt *time.Time
}

// KeyPrefix starts every key so that leaked keys are recognisable by scanners.
const KeyPrefix = "krs_"

// NewSecret returns a fresh random key secret and its hash.
func NewSecret() (secret string, hash [32]byte, err error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", hash, err
	}
	secret = KeyPrefix + base64.RawURLEncoding.EncodeToString(b[:])
	return secret, HashSecret(secret), nil
}

// HashSecret is how a presented key is looked up.
func HashSecret(secret string) [32]byte { return sha256.Sum256([]byte(secret)) }
