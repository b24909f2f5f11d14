package experiment

import (
	"context"
	"testing"
	"time"
)

// keyStore is a Store that only lists keys.
type keyStore struct {
	Store
	keys  []APIKey
	loads int
}

func (s *keyStore) APIKeys(context.Context) ([]APIKey, error) {
	s.loads++
	return append([]APIKey(nil), s.keys...), nil
}

func TestKeyRing(t *testing.T) {
	secret, hash, err := NewSecret()
	if err != nil {
		t.Fatal(err)
	}
	store := &keyStore{}
	ring := NewKeyRing(store)
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	ring.now = func() time.Time { return now }
	ctx := context.Background()

	if _, err := ring.Authenticate(ctx, secret); ErrorCode(err) != Unauthorized {
		t.Fatalf("unknown key: %v", err)
	}
	// Created by another process: found on the next miss once MinGap has passed.
	store.keys = []APIKey{{Name: "a", Role: RoleAnalyst, Hash: hash}}
	now = now.Add(ring.MinGap)
	if k, err := ring.Authenticate(ctx, secret); err != nil || k.Name != "a" {
		t.Fatalf("new key: %+v %v", k, err)
	}
	loads := store.loads
	for range 100 {
		if _, err := ring.Authenticate(ctx, secret); err != nil {
			t.Fatal(err)
		}
	}
	if store.loads != loads {
		t.Errorf("hits reloaded the keys %d times", store.loads-loads)
	}
	// Misses do not hammer the database.
	for range 100 {
		ring.Authenticate(ctx, "krs_wrong")
	}
	if store.loads > loads+1 {
		t.Errorf("misses reloaded %d times within MinGap", store.loads-loads)
	}
	// Revoked elsewhere: refused once the copy is older than MaxAge.
	revoked := now
	store.keys[0].RevokedAt = &revoked
	now = now.Add(ring.MaxAge + time.Millisecond)
	if _, err := ring.Authenticate(ctx, secret); ErrorCode(err) != Unauthorized {
		t.Errorf("revoked key accepted after MaxAge: %v", err)
	}
}
