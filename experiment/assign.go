package experiment

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"math"
	"time"
)

// Assignment is the arm a customer was given in an experiment. It never changes; once the
// experiment is decided, the arm a customer is served is the decided one (Decided), whatever
// was stored.
type Assignment struct {
	CustomerID string
	Arm        string
	AssignedAt time.Time
	New        bool   // created by this request
	Reason     string // why a customer got no arm (Arm is empty): not admitted by coverage or layer
	Decided    bool   // the decided arm of a roll-out, not a stored assignment
}

// NotAdmitted is the Reason of a customer outside an experiment's coverage or layer range.
const NotAdmitted = "not_admitted"

// HashUnit maps a customer to a point u in [0, 1): the first 8 bytes of
// SHA-256(salt + "/" + customerID) as a big-endian uint64, divided by 2^64 (DOMAIN.md).
func HashUnit(salt, customerID string) float64 {
	h := sha256.New()
	h.Write([]byte(salt))
	h.Write([]byte{'/'})
	h.Write([]byte(customerID))
	var sum [sha256.Size]byte
	h.Sum(sum[:0])
	// math.Ldexp keeps the division exact up to float64 rounding of the integer.
	return math.Ldexp(float64(binary.BigEndian.Uint64(sum[:8])), -64)
}

// AssignArm returns the arm of a customer: the first arm i, in defined order, with
// u*W < W_i where W_i are the cumulative weights and W their total.
func AssignArm(salt, customerID string, arms []Arm) string {
	if len(arms) == 0 {
		return ""
	}
	total := 0.0
	for _, a := range arms {
		total += a.Weight
	}
	x := HashUnit(salt, customerID) * total
	cum := 0.0
	for _, a := range arms {
		cum += a.Weight
		if x < cum {
			return a.Key
		}
	}
	// Rounding can leave x == total for u very close to 1: that is the last arm.
	return arms[len(arms)-1].Key
}

// ErasedPrefix starts the customer id of an erased customer's assignment.
const ErasedPrefix = "erased:"

// NewErasedID returns a random customer id for an erased customer's assignment: it keeps
// the assignment (and so the arm counts) without anything that leads back to the customer.
// It is random on purpose: any function of the customer id could be recomputed by whoever
// holds a candidate id.
func NewErasedID() string { return ErasedPrefix + randomHex(16) }

// NewErasureID returns the random name of one erasure, for the audit log.
func NewErasureID() string { return "erasure:" + randomHex(16) }

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return hex.EncodeToString(b)
}
