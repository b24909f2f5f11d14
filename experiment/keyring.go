package experiment

import (
	"context"
	"sync"
	"time"
)

// KeyRing authenticates API keys from an in-process copy of the active keys, found by the
// SHA-256 of the secret presented, so that authentication costs no database round trip and
// one lookup however many keys there are. What the time of a lookup could tell is about
// hashes, and no caller can steer the hash of a guess towards a stored key's. A key created
// by another process is found on the first miss; a revoked key stops working within
// MaxAge. The copy is renewed in the background before it gets that old (see fresh), so
// requests do not wait for the database.
type KeyRing struct {
	store  Store
	MaxAge time.Duration // how old the copy may get; default 5s; set before the first use
	MinGap time.Duration // least time between reloads caused by misses; default 1s

	once sync.Once
	keys *fresh[activeKeys]
	now  func() time.Time
}

// activeKeys are the keys not revoked, by the hash of their secret and by id.
type activeKeys struct {
	byHash map[[32]byte]APIKey
	byID   map[int64]APIKey
}

// NewKeyRing returns a key ring over store.
func NewKeyRing(store Store) *KeyRing {
	return &KeyRing{store: store, MaxAge: 5 * time.Second, MinGap: time.Second, now: time.Now}
}

func (r *KeyRing) ring() *fresh[activeKeys] {
	r.once.Do(func() {
		r.keys = newFresh(r.MaxAge, func() time.Time { return r.now() }, r.active)
	})
	return r.keys
}

// Authenticate returns the active key whose secret this is.
func (r *KeyRing) Authenticate(ctx context.Context, secret string) (APIKey, error) {
	hash := HashSecret(secret)
	k, ok, err := r.find(ctx, func(keys activeKeys) (APIKey, bool) { k, ok := keys.byHash[hash]; return k, ok })
	if err != nil || ok {
		return k, err
	}
	return APIKey{}, Errorf(Unauthorized, "unknown or revoked API key")
}

// ByID returns the active key with this id: a console session holds its key's id, so a
// revoked key ends its sessions as soon as the ring no longer holds it (within MaxAge).
func (r *KeyRing) ByID(ctx context.Context, id int64) (APIKey, error) {
	k, ok, err := r.find(ctx, func(keys activeKeys) (APIKey, bool) { k, ok := keys.byID[id]; return k, ok })
	if err != nil || ok {
		return k, err
	}
	return APIKey{}, Errorf(Unauthorized, "the API key of this session was revoked")
}

// find looks a key up in the copy, and once more in a copy read again when it is missing
// and the copy is at least MinGap old (a key created by another process).
func (r *KeyRing) find(ctx context.Context, lookup func(activeKeys) (APIKey, bool)) (APIKey, bool, error) {
	keys, at, err := r.ring().get(ctx)
	if err != nil {
		return APIKey{}, false, err
	}
	if k, ok := lookup(keys); ok {
		return k, true, nil
	}
	if r.now().Sub(at) >= r.MinGap {
		if keys, _, err = r.ring().reload(ctx, at); err != nil {
			return APIKey{}, false, err
		}
		if k, ok := lookup(keys); ok {
			return k, true, nil
		}
	}
	return APIKey{}, false, nil
}

// Invalidate makes the next call reload the keys (after a revocation in this process).
func (r *KeyRing) Invalidate() {
	r.ring().invalidate()
}

// active reads the keys that are not revoked.
func (r *KeyRing) active(ctx context.Context) (activeKeys, error) {
	all, err := r.store.APIKeys(ctx)
	if err != nil {
		return activeKeys{}, err
	}
	keys := activeKeys{byHash: make(map[[32]byte]APIKey, len(all)), byID: make(map[int64]APIKey, len(all))}
	for _, k := range all {
		if k.RevokedAt == nil {
			keys.byHash[k.Hash], keys.byID[k.ID] = k, k
		}
	}
	return keys, nil
}
