package postgres

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/krslab/krslab/experiment"
)

// SaveResponses stores a batch of responses with their answers in one statement.
func (s *Store) SaveResponses(ctx context.Context, experimentID int64, rs []experiment.Response) ([]bool, error) {
	replayed := make([]bool, len(rs))
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		// Before anything is written: a bulk import of this experiment holds it exclusively.
		if err := lockResponses(ctx, tx, experimentID, false); err != nil {
			return err
		}
		customers := make(pq.StringArray, len(rs))
		responseIDs := make(pq.StringArray, len(rs))
		hashes := make([][32]byte, len(rs))
		for i, r := range rs {
			customers[i], responseIDs[i] = r.CustomerID, r.ResponseID
			hashes[i] = r.ContentHash()
		}
		arms, err := armsOf(ctx, tx, experimentID, customers)
		if err != nil {
			return err
		}
		var p experiment.Problems
		for i, r := range rs {
			if _, ok := arms[r.CustomerID]; !ok {
				p.Row(i+1, "customer_id", "customer is not assigned in this experiment; assign before recording responses")
			}
		}
		if err := p.Err("responses from unassigned customers"); err != nil {
			return err
		}
		if err := markReplays(ctx, tx, experimentID, rs, hashes, replayed); err != nil {
			return err
		}
		var (
			ids, custs, armCol pq.StringArray
			answered           []string
			hashCol            pq.ByteaArray
			keyCol             pq.Int64Array
			valueCol           []string
			used               = newKeySets()
		)
		for i, r := range rs {
			if replayed[i] {
				continue
			}
			ts := r.AnsweredAt.Format("2006-01-02T15:04:05.999999999Z07:00")
			ids, custs, armCol = append(ids, r.ResponseID), append(custs, r.CustomerID), append(armCol, arms[r.CustomerID])
			answered, hashCol = append(answered, ts), append(hashCol, hashes[i][:])
			keys, values := r.AnswerArrays()
			v, _ := pq.Float64Array(values).Value()
			keyCol, valueCol = append(keyCol, used.add(keys)), append(valueCol, v.(string))
		}
		if len(ids) == 0 {
			return nil
		}
		if err := addKeySets(ctx, tx, used); err != nil {
			return err
		}
		// The values travel as array literals, one per response: unnest cannot take an
		// array of arrays of different lengths. Rows go in in response_id order, so that
		// two batches with some of the same responses wait for each other in one order,
		// never in a cycle (a deadlock). A response of a customer who answered before, or
		// twice in the batch, goes in as not the customer's first (migration 00019); the
		// customers were locked by armsOf, so a concurrent writer's response is seen here.
		// The rows' seq, which breaks ties of answered_at, is drawn in the batch's order: it
		// follows arrival as DOMAIN.md defines it, as an import's follows its file's lines.
		var inserted []string
		err = tx.SelectContext(ctx, &inserted, `
			INSERT INTO responses (experiment_id, response_id, customer_id, arm_key, answered_at, content_hash, key_set, answer_values, first_response, seq)
			SELECT $1, t.id, t.customer, t.arm, t.answered, t.hash, t.key_set, t.answers::float8[],
			       count(*) OVER (PARTITION BY t.customer) = 1
			         AND NOT EXISTS (SELECT 1 FROM responses o WHERE o.experiment_id = $1 AND o.customer_id = t.customer),
			       t.seq
			FROM (SELECT u.*, nextval('responses_seq_seq') AS seq
			      FROM unnest($2::text[], $3::text[], $4::text[], $5::timestamptz[], $6::bytea[], $7::bigint[], $8::text[])
			        WITH ORDINALITY AS u(id, customer, arm, answered, hash, key_set, answers, pos)
			      ORDER BY u.pos) t
			ORDER BY t.id
			ON CONFLICT (experiment_id, response_id) DO NOTHING
			RETURNING response_id`,
			experimentID, ids, custs, armCol, pq.StringArray(answered), hashCol, keyCol, pq.StringArray(valueCol))
		if err != nil {
			return err
		}
		if len(inserted) == len(ids) {
			return nil
		}
		// A concurrent request stored some of these response ids after we looked, and has
		// committed (the insert waited for it): they are replays or conflicts like any other.
		stored := make(map[string]bool, len(inserted))
		for _, id := range inserted {
			stored[id] = true
		}
		var late []int
		for i, r := range rs {
			if !replayed[i] && !stored[r.ResponseID] {
				late = append(late, i)
			}
		}
		lateRs, lateHashes, lateReplayed := make([]experiment.Response, len(late)), make([][32]byte, len(late)), make([]bool, len(late))
		for j, i := range late {
			lateRs[j], lateHashes[j] = rs[i], hashes[i]
		}
		if err := markReplays(ctx, tx, experimentID, lateRs, lateHashes, lateReplayed); err != nil {
			var de *experiment.Error
			if errors.As(err, &de) {
				for k := range de.Details {
					de.Details[k].Row = late[de.Details[k].Row-1] + 1
				}
			}
			return err
		}
		for j, i := range late {
			if !lateReplayed[j] {
				return experiment.Errorf(experiment.Internal, "response %q was neither stored nor found", rs[i].ResponseID)
			}
			replayed[i] = true
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return replayed, nil
}

// lockResponses takes the advisory lock on an experiment's responses (migration 00010):
// shared by the writers of single responses and batches, who lock each customer as well,
// exclusive for the bulk import, which then needs no lock per customer.
func lockResponses(ctx context.Context, tx *sqlx.Tx, experimentID int64, exclusive bool) error {
	fn := "pg_advisory_xact_lock_shared"
	if exclusive {
		fn = "pg_advisory_xact_lock"
	}
	_, err := tx.ExecContext(ctx, `SELECT `+fn+`(7541, ($1::bigint & 2147483647)::int)`, experimentID)
	return err
}

// armsOf reads the arms of the customers and locks their assignments, in customer order,
// until the commit: two writers of responses of the same customer take turns, so that the
// second sees the first's response when it tells whether its own is the customer's first
// (an erasure, which rewrites the assignment, waits for both).
func armsOf(ctx context.Context, tx *sqlx.Tx, experimentID int64, customers pq.StringArray) (map[string]string, error) {
	var rows []struct {
		CustomerID string `db:"customer_id"`
		Arm        string `db:"arm_key"`
	}
	if err := tx.SelectContext(ctx, &rows, `SELECT customer_id, arm_key FROM assignments
		WHERE experiment_id = $1 AND customer_id = ANY($2)
		ORDER BY customer_id FOR NO KEY UPDATE`, experimentID, customers); err != nil {
		return nil, err
	}
	arms := make(map[string]string, len(rows))
	for _, r := range rows {
		arms[r.CustomerID] = r.Arm
	}
	return arms, nil
}

// markReplays finds response ids stored before: the same content is a replay, other
// content a conflict naming every such row.
func markReplays(ctx context.Context, tx *sqlx.Tx, experimentID int64, rs []experiment.Response, hashes [][32]byte, replayed []bool) error {
	ids := make(pq.StringArray, len(rs))
	for i, r := range rs {
		ids[i] = r.ResponseID
	}
	var rows []struct {
		ResponseID string `db:"response_id"`
		Hash       []byte `db:"content_hash"`
	}
	if err := tx.SelectContext(ctx, &rows, `SELECT response_id, content_hash FROM responses
		WHERE experiment_id = $1 AND response_id = ANY($2)`, experimentID, ids); err != nil {
		return err
	}
	if len(rows) == 0 {
		return nil
	}
	stored := make(map[string][]byte, len(rows))
	for _, r := range rows {
		stored[r.ResponseID] = r.Hash
	}
	var conflicts []experiment.Detail
	for i, r := range rs {
		h, ok := stored[r.ResponseID]
		switch {
		case !ok:
		case bytes.Equal(h, hashes[i][:]):
			replayed[i] = true
		default:
			conflicts = append(conflicts, experiment.Detail{Row: i + 1, Field: "response_id",
				Message: fmt.Sprintf("response %q was recorded before with other content", r.ResponseID)})
		}
	}
	if len(conflicts) > 0 {
		return &experiment.Error{Code: experiment.Conflict, Message: "response_id reused with other content", Details: conflicts}
	}
	return nil
}

// SaveCovariates upserts pre-experiment values in one statement.
func (s *Store) SaveCovariates(ctx context.Context, experimentID int64, cs []experiment.Covariate) error {
	custs := make(pq.StringArray, len(cs))
	outs := make(pq.StringArray, len(cs))
	vals := make(pq.Float64Array, len(cs))
	for i, c := range cs {
		custs[i], outs[i], vals[i] = c.CustomerID, c.Outcome, c.Value
	}
	_, err := s.db.ExecContext(ctx, `
		INSERT INTO covariates (experiment_id, customer_id, outcome_key, value)
		SELECT $1, t.* FROM unnest($2::text[], $3::text[], $4::float8[]) AS t
		ON CONFLICT (experiment_id, outcome_key, customer_id)
		DO UPDATE SET value = excluded.value, updated_at = now()`, experimentID, custs, outs, vals)
	return mapErr(err)
}
