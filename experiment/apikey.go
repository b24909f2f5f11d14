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
