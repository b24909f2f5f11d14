package postgres

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"strings"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/krslab/krslab/experiment"
)

// Key sets (migration 00012): a response names the outcomes it answers, in key order,
// through the id of a row of answer_key_sets shared by every response with the same keys.

// answerKeySetID is the id of a key set, as the database's answer_key_set_id computes it
// (and checks on every key set): the first 8 bytes of the SHA-256 of the keys joined by
// commas (outcome keys have none), as a signed big-endian integer.
func answerKeySetID(keys []string) int64 {
	sum := sha256.Sum256([]byte(strings.Join(keys, ",")))
	return int64(binary.BigEndian.Uint64(sum[:8]))
}

// keySets collects the key sets a write uses, to add them (addKeySets) in its transaction.
// Lines that answer the same columns share one Keys slice (the importer's reader), so the
// slice itself, its first element and length, finds the id again without joining and
// hashing the keys of every line.
type keySets struct {
	sets    map[int64][]string
	bySlice map[keySlice]int64
}

type keySlice struct {
	first *string
	n     int
}

// maxKeySlices bounds the slices remembered; past it, a line's id is computed from its keys.
const maxKeySlices = 4096

func newKeySets() *keySets {
	return &keySets{sets: map[int64][]string{}, bySlice: map[keySlice]int64{}}
}

// add notes the key set of keys as used and returns its id.
func (k *keySets) add(keys []string) int64 {
	id := answerKeySetID(keys)
	if _, ok := k.sets[id]; !ok {
		k.sets[id] = keys
	}
	return id
}

// id is add for the importer's lines, remembering the id of a shared Keys slice.
func (k *keySets) id(keys []string) int64 {
	if len(keys) == 0 {
		return k.add(keys)
	}
	slice := keySlice{&keys[0], len(keys)}
	if id, ok := k.bySlice[slice]; ok {
		return id
	}
	id := k.add(keys)
	if len(k.bySlice) < maxKeySlices {
		k.bySlice[slice] = id
	}
	return id
}

// addKeySets adds the key sets a write used that the database does not have yet, in the
// write's transaction. Two transactions that add the same key set wait for each other, and
// the second finds it there. A stored key set with the same id and other keys (two key
// lists whose hashes share their first 8 bytes) is refused rather than misread.
func addKeySets(ctx context.Context, tx *sqlx.Tx, k *keySets) error {
	if len(k.sets) == 0 {
		return nil
	}
	ids := make(pq.Int64Array, 0, len(k.sets))
	lists := make(pq.StringArray, 0, len(k.sets))
	for id, keys := range k.sets {
		literal, _ := pq.StringArray(keys).Value()
		ids, lists = append(ids, id), append(lists, literal.(string))
	}
	var clashes int
	if err := tx.GetContext(ctx, &clashes, `
		WITH k AS (SELECT id, keys::text[] AS keys FROM unnest($1::bigint[], $2::text[]) AS k(id, keys)),
		added AS (INSERT INTO answer_key_sets (id, outcome_keys) SELECT id, keys FROM k ORDER BY id
		          ON CONFLICT (id) DO NOTHING)
		SELECT count(*) FROM k JOIN answer_key_sets ks ON ks.id = k.id WHERE ks.outcome_keys <> k.keys`,
		ids, lists); err != nil {
		return err
	}
	if clashes > 0 {
		return experiment.Errorf(experiment.Internal, "an answer key set clashes with a stored one of the same id")
	}
	return nil
}
