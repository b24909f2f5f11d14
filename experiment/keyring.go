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
// key stops working within MaxAge. The copy is renewed in the background before it gets
// that old (see fresh), so requests do not wait for the database.
type KeyRing struct {
	store  Store
	MaxAge time.Duration // how old the copy may get; default 5s; set before the first use
	MinGap time.Duration // least time between reloads caused by misses; default 1s

	once sync.Once
	keys *fresh[[]APIKey]
	now  func() time.Time
}

// NewKeyRing returns a key ring over store.
func NewKeyRing(store Store) *KeyRing {
	return &KeyRing{store: store, MaxAge: 5 * time.Second, MinGap: time.Second, now: time.Now}
}

func (r *KeyRing) ring() *fresh[[]APIKey] {
	r.once.Do(func() {
		r.keys = newFresh(r.MaxAge, func() time.Time { return r.now() }, r.active)
	})
	return r.keys
}

// Authenticate returns the active key whose secret this is.
func (r *KeyRing) Authenticate(ctx context.Context, secret string) (APIKey, error) {
	hash := HashSecret(secret)
	keys, at, err := r.ring().get(ctx)
	if err != nil {
		return APIKey{}, err
	}
	if k, ok := findKey(keys, hash); ok {
		return k, nil
	}
	if r.now().Sub(at) >= r.MinGap {
		if keys, _, err = r.ring().reload(ctx, at); err != nil {
			return APIKey{}, err
		}
		if k, ok := findKey(keys, hash); ok {
			return k, nil
		}
	}
	return APIKey{}, Errorf(Unauthorized, "unknown or revoked API key")
}

// ByID returns the active key with this id: a console session holds its key's id, so a
// revoked key ends its sessions as soon as the ring no longer holds it (within MaxAge).
func (r *KeyRing) ByID(ctx context.Context, id int64) (APIKey, error) {
	keys, at, err := r.ring().get(ctx)
	if err != nil {
		return APIKey{}, err
	}
	find := func(keys []APIKey) (APIKey, bool) {
		for _, k := range keys {
			if k.ID == id {
				return k, true
			}
		}
		return APIKey{}, false
	}
	if k, ok := find(keys); ok {
		return k, nil
	}
	if r.now().Sub(at) >= r.MinGap {
		if keys, _, err = r.ring().reload(ctx, at); err != nil {
			return APIKey{}, err
		}
		if k, ok := find(keys); ok {
			return k, nil
		}
	}
	return APIKey{}, Errorf(Unauthorized, "the API key of this session was revoked")
}

// Invalidate makes the next call reload the keys (after a revocation in this process).
func (r *KeyRing) Invalidate() {
	r.ring().invalidate()
}

// active reads the keys that are not revoked.
func (r *KeyRing) active(ctx context.Context) ([]APIKey, error) {
	all, err := r.store.APIKeys(ctx)
	if err != nil {
		return nil, err
	}
	active := all[:0]
	for _, k := range all {
		if k.RevokedAt == nil {
			active = append(active, k)
		}
	}
	return active, nil
}

// findKey compares against every key, always all of them, in constant time each.
func findKey(keys []APIKey, hash [32]byte) (APIKey, bool) {
	var found APIKey
	ok := 0
	for _, k := range keys {
		if subtle.ConstantTimeCompare(k.Hash[:], hash[:]) == 1 {
			found, ok = k, 1
		}
	}
	return found, ok == 1
}
