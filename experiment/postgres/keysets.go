package postgres

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"sync"
	"time"

	"github.com/lib/pq"
)

// keySets resolves the outcome keys a response answers, in key order, to the id of their
// row in answer_key_sets (migration 00012), and adds the rows it does not find. A key set
// never changes and is never deleted, so an id once read is kept for the life of the
// store: after the first response of a survey, resolving costs a map lookup.
//
// New key sets are written in transactions of their own, committed at once, never in the
// caller's: a key set is worth keeping whether or not the write that needed it commits, and
// an import can add one while its COPY runs.
type keySets struct {
	mu  sync.RWMutex
	ids map[string]int64 // by the keys joined with commas (outcome keys have none)
}

func (k *keySets) cached(name string) (int64, bool) {
	k.mu.RLock()
	defer k.mu.RUnlock()
	id, ok := k.ids[name]
	return id, ok
}

// keySetWait bounds how long adding a key set waits for a connection: an import adds one
// while it holds a connection of its own, and must fail rather than wait for ever when the
// pool is exhausted.
const keySetWait = 10 * time.Second

// keySetID returns the id of the key set of keys, adding it if needed.
func (s *Store) keySetID(ctx context.Context, keys []string) (int64, error) {
	name := strings.Join(keys, ",")
	if id, ok := s.keySets.cached(name); ok {
		return id, nil
	}
	ctx, cancel := context.WithTimeout(ctx, keySetWait)
	defer cancel()
	var id int64
	// The insert finds nothing to do when the key set exists; the select then finds it,
	// unless another transaction added it after this statement began, which a second
	// statement sees.
	for range 2 {
		err := s.db.GetContext(ctx, &id, `
			WITH ins AS (INSERT INTO answer_key_sets (outcome_keys) VALUES ($1)
			             ON CONFLICT (outcome_keys) DO NOTHING RETURNING id)
			SELECT id FROM ins UNION ALL SELECT id FROM answer_key_sets WHERE outcome_keys = $1
			LIMIT 1`, pq.StringArray(keys))
		if errors.Is(err, sql.ErrNoRows) {
			continue
		}
		if err != nil {
			return 0, mapErr(err)
		}
		s.keySets.mu.Lock()
		if s.keySets.ids == nil {
			s.keySets.ids = map[string]int64{}
		}
		s.keySets.ids[name] = id
		s.keySets.mu.Unlock()
		return id, nil
	}
	return 0, mapErr(errors.New("answer key set neither added nor found"))
}

// lineKeySets resolves the key sets of the lines of one import. The importer's reader
// shares one Keys slice among all lines that answer the same columns, so the slice itself
// (its first element and length) finds the id, without joining the keys of every line.
type lineKeySets struct {
	ctx   context.Context
	s     *Store
	bySet map[keySlice]int64
}

type keySlice struct {
	first *string
	n     int
}

// maxLineKeySets bounds the lines' key sets remembered by their slice; past it, a line's key
// set is looked up by its keys.
const maxLineKeySets = 4096

func (s *Store) lineKeySets(ctx context.Context) *lineKeySets {
	return &lineKeySets{ctx: ctx, s: s, bySet: map[keySlice]int64{}}
}

func (k *lineKeySets) id(keys []string) (int64, error) {
	if len(keys) == 0 {
		return k.s.keySetID(k.ctx, keys)
	}
	slice := keySlice{&keys[0], len(keys)}
	if id, ok := k.bySet[slice]; ok {
		return id, nil
	}
	id, err := k.s.keySetID(k.ctx, keys)
	if err == nil && len(k.bySet) < maxLineKeySets {
		k.bySet[slice] = id
	}
	return id, err
}
