package experiment

import (
	"context"
	"crypto/subtle"
	"sync"
	"time"
)

// KeyRing authenticates API keys from an in-process copy of the active keys, compared in
// constant time, so that authentication costs no database round trip and leaks nothing
// through timing. A key created by another process is found on the first miss; a revoked
// key stops working within MaxAge.
type KeyRing struct {
	store  Store
	MaxAge time.Duration // how old the copy may get; default 5s
	MinGap time.Duration // least time between reloads caused by misses; default 1s

	mu     sync.Mutex
	keys   []APIKey
	loaded time.Time
	now    func() time.Time
}

// NewKeyRing returns a key ring over store.
func NewKeyRing(store Store) *KeyRing {
	return &KeyRing{store: store, MaxAge: 5 * time.Second, MinGap: time.Second, now: time.Now}
}

// Authenticate returns the active key whose secret this is.
func (r *KeyRing) Authenticate(ctx context.Context, secret string) (APIKey, error) {
	hash := HashSecret(secret)
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.now()
	if r.loaded.IsZero() || now.Sub(r.loaded) > r.MaxAge {
		if err := r.reload(ctx, now); err != nil {
			return APIKey{}, err
		}
	}
	if k, ok := r.find(hash); ok {
		return k, nil
	}
	if now.Sub(r.loaded) >= r.MinGap {
		if err := r.reload(ctx, now); err != nil {
			return APIKey{}, err
		}
		if k, ok := r.find(hash); ok {
			return k, nil
		}
	}
	return APIKey{}, Errorf(Unauthorized, "unknown or revoked API key")
}

// Invalidate makes the next call reload the keys (after a revocation in this process).
func (r *KeyRing) Invalidate() {
	r.mu.Lock()
	r.loaded = time.Time{}
	r.mu.Unlock()
}

func (r *KeyRing) reload(ctx context.Context, now time.Time) error {
	all, err := r.store.APIKeys(ctx)
	if err != nil {
		return err
	}
	active := all[:0]
	for _, k := range all {
		if k.RevokedAt == nil {
			active = append(active, k)
		}
	}
	r.keys, r.loaded = active, now
	return nil
}

// find compares against every key, always all of them, in constant time each.
func (r *KeyRing) find(hash [32]byte) (APIKey, bool) {
	var found APIKey
	ok := 0
	for _, k := range r.keys {
		if subtle.ConstantTimeCompare(k.Hash[:], hash[:]) == 1 {
			found, ok = k, 1
		}
	}
	return found, ok == 1
}
