package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/krslab/krslab/experiment"
)

type assignmentRow struct {
	CustomerID string    `db:"customer_id"`
	Arm        string    `db:"arm_key"`
	AssignedAt time.Time `db:"assigned_at"`
}

// insertSQL inserts first assignments with ON CONFLICT DO NOTHING, if the experiment is
// still running, in one statement; the last row reports whether it was running. Rows go in
// in customer order: two transactions that insert some of the same new customers then wait
// for each other in the same order, never in a cycle (a deadlock).
const insertSQL = `
	WITH run AS (SELECT 1 FROM experiments WHERE id = $1 AND status = 'running'),
	ins AS (
		INSERT INTO assignments (experiment_id, customer_id, arm_key, assigned_at)
		SELECT $1, t.customer_id, t.arm_key, $4
		FROM unnest($2::text[], $3::text[]) AS t(customer_id, arm_key)
		WHERE EXISTS (SELECT 1 FROM run)
		ORDER BY t.customer_id
		ON CONFLICT (experiment_id, customer_id) DO NOTHING
		RETURNING customer_id, arm_key, assigned_at
	)
	SELECT true AS running, customer_id, arm_key, assigned_at FROM ins
	UNION ALL
	SELECT EXISTS (SELECT 1 FROM run), NULL, NULL, NULL`

// assignSQL is insertSQL for experiments that have had erasures: an erased customer who
// comes back gets its anonymous assignment back (so it is neither counted twice nor moved).
const assignSQL = `
	WITH run AS (SELECT 1 FROM experiments WHERE id = $1 AND status = 'running'),
	revived AS (
		UPDATE assignments a SET customer_id = t.customer_id
		FROM unnest($2::text[], $5::text[]) AS t(customer_id, erased_id)
		WHERE a.experiment_id = $1 AND a.customer_id = ANY($5::text[]) AND a.customer_id = t.erased_id
		  AND EXISTS (SELECT 1 FROM run)
		RETURNING a.customer_id
	),
	ins AS (
		INSERT INTO assignments (experiment_id, customer_id, arm_key, assigned_at)
		SELECT $1, t.customer_id, t.arm_key, $4
		FROM unnest($2::text[], $3::text[]) AS t(customer_id, arm_key)
		WHERE EXISTS (SELECT 1 FROM run) AND t.customer_id NOT IN (SELECT customer_id FROM revived)
		ORDER BY t.customer_id
		ON CONFLICT (experiment_id, customer_id) DO NOTHING
		RETURNING customer_id, arm_key, assigned_at
	)
	SELECT true AS running, customer_id, arm_key, assigned_at FROM ins
	UNION ALL
	SELECT EXISTS (SELECT 1 FROM run), NULL, NULL, NULL`

// existingSQL reads the stored assignments of customers.
const existingSQL = `SELECT customer_id, arm_key, assigned_at FROM assignments
	WHERE experiment_id = $1 AND customer_id = ANY($2)`

// Assign stores first assignments and returns every customer's stored one, so that
// concurrent requests on any number of API instances all return the one stored
// assignment. New customers cost one round trip (a prepared statement).
func (s *Store) Assign(ctx context.Context, e experiment.Experiment, as []experiment.Assignment) ([]experiment.Assignment, error) {
	ids := make(pq.StringArray, len(as))
	arms := make(pq.StringArray, len(as))
	erased := make(pq.StringArray, len(as))
	for i, a := range as {
		ids[i], arms[i] = a.CustomerID, a.Arm
		if e.Erasures > 0 {
			erased[i] = experiment.ErasedID(e.Salt, a.CustomerID)
		}
	}
	query, params := insertSQL, []any{e.ID, ids, arms, as[0].AssignedAt}
	if e.Erasures > 0 {
		query, params = assignSQL, append(params, erased)
	}
	stmt, err := s.prepared(ctx, query)
	if err != nil {
		return nil, err
	}
	var rows []struct {
		Running    bool           `db:"running"`
		CustomerID sql.NullString `db:"customer_id"`
		Arm        sql.NullString `db:"arm_key"`
		AssignedAt sql.NullTime   `db:"assigned_at"`
	}
	if err := stmt.SelectContext(ctx, &rows, params...); err != nil {
		return nil, mapErr(err)
	}
	stored := make(map[string]experiment.Assignment, len(as))
	for _, r := range rows {
		if !r.CustomerID.Valid {
			if !r.Running {
				return nil, &experiment.Error{Code: experiment.Conflict,
					Message: fmt.Sprintf("experiment %q is no longer running; customers are only assigned while it is running", e.Key),
					Details: []experiment.Detail{{Field: "status", Message: "not running"}}}
			}
			continue
		}
		stored[r.CustomerID.String] = experiment.Assignment{CustomerID: r.CustomerID.String, Arm: r.Arm.String,
			AssignedAt: r.AssignedAt.Time.UTC(), New: true}
	}
	if len(stored) < len(as) {
		// A new statement sees rows committed by concurrent requests after ours started.
		stmt, err := s.prepared(ctx, existingSQL)
		if err != nil {
			return nil, err
		}
		var existing []assignmentRow
		if err := stmt.SelectContext(ctx, &existing, e.ID, ids); err != nil {
			return nil, mapErr(err)
		}
		for _, r := range existing {
			if _, ok := stored[r.CustomerID]; !ok {
				stored[r.CustomerID] = experiment.Assignment{CustomerID: r.CustomerID, Arm: r.Arm, AssignedAt: r.AssignedAt.UTC()}
			}
		}
	}
	out := make([]experiment.Assignment, len(as))
	for i, a := range as {
		got, ok := stored[a.CustomerID]
		if !ok {
			return nil, experiment.Errorf(experiment.Internal, "assignment of a customer was neither inserted nor found")
		}
		out[i] = got
		// A customer listed twice in one batch is new only at its first place.
		got.New = false
		stored[a.CustomerID] = got
	}
	return out, nil
}

// Assignment returns the stored assignment of one customer.
func (s *Store) Assignment(ctx context.Context, experimentID int64, customerID string) (experiment.Assignment, error) {
	var r assignmentRow
	err := s.db.GetContext(ctx, &r, `SELECT customer_id, arm_key, assigned_at FROM assignments
		WHERE experiment_id = $1 AND customer_id = $2`, experimentID, customerID)
	if errors.Is(err, sql.ErrNoRows) {
		return experiment.Assignment{}, experiment.Errorf(experiment.NotFound, "customer is not assigned in this experiment")
	}
	if err != nil {
		return experiment.Assignment{}, mapErr(err)
	}
	return experiment.Assignment{CustomerID: r.CustomerID, Arm: r.Arm, AssignedAt: r.AssignedAt.UTC()}, nil
}

// EachAssignment streams the assignments of an experiment in order of assignment.
func (s *Store) EachAssignment(ctx context.Context, experimentID int64, fn func(experiment.Assignment) error) error {
	rows, err := s.db.QueryxContext(ctx, `SELECT customer_id, arm_key, assigned_at FROM assignments
		WHERE experiment_id = $1 ORDER BY assigned_at, customer_id`, experimentID)
	if err != nil {
		return mapErr(err)
	}
	defer rows.Close()
	for rows.Next() {
		var r assignmentRow
		if err := rows.StructScan(&r); err != nil {
			return mapErr(err)
		}
		if err := fn(experiment.Assignment{CustomerID: r.CustomerID, Arm: r.Arm, AssignedAt: r.AssignedAt.UTC()}); err != nil {
			return err
		}
	}
	return mapErr(rows.Err())
}

// armCounts counts assigned and responding customers per arm, per value of the attribute
// name (one value, "", when name is "").
func armCounts(ctx context.Context, tx *sqlx.Tx, experimentID int64, name string) (map[string]map[string]experiment.ArmCount, error) {
	var rows []struct {
		Segment   string `db:"segment"`
		Arm       string `db:"arm_key"`
		Assigned  int64  `db:"assigned"`
		Responded int64  `db:"responded"`
	}
	a := args{experimentID}
	// Arms nobody was assigned to yet have no row: their zero value is right.
	query := `
		SELECT c.segment, c.arm_key, count(*) AS assigned, count(r.customer_id) AS responded
		FROM ` + segmented(&a, "(SELECT customer_id, arm_key FROM assignments WHERE experiment_id = $1) s", "s.customer_id, s.arm_key", name) + ` c
		LEFT JOIN (SELECT DISTINCT customer_id FROM responses WHERE experiment_id = $1) r ON r.customer_id = c.customer_id
		GROUP BY c.segment, c.arm_key`
	if name == "" {
		// Without segments the counts come per arm: customers with one response counted
		// by row, the few with several counted once each (found by a partial index).
		query = `
			SELECT '' AS segment, s.arm_key, s.assigned, coalesce(sum(r.n), 0) AS responded
			FROM (SELECT arm_key, count(*) AS assigned FROM assignments WHERE experiment_id = $1 GROUP BY arm_key) s
			LEFT JOIN (SELECT arm_key, count(*) AS n FROM responses WHERE experiment_id = $1 AND only_response GROUP BY arm_key
			           UNION ALL
			           SELECT arm_key, count(DISTINCT customer_id) FROM responses WHERE experiment_id = $1 AND NOT only_response GROUP BY arm_key) r
			  ON r.arm_key = s.arm_key
			GROUP BY s.arm_key, s.assigned`
	}
	err := tx.SelectContext(ctx, &rows, query, a...)
	if err != nil {
		return nil, err
	}
	out := map[string]map[string]experiment.ArmCount{}
	for _, r := range rows {
		if out[r.Segment] == nil {
			out[r.Segment] = map[string]experiment.ArmCount{}
		}
		out[r.Segment][r.Arm] = experiment.ArmCount{Assigned: r.Assigned, Responded: r.Responded}
	}
	return out, nil
}

// EraseCustomer removes a customer's responses (their answers cascade) and covariates
// everywhere and anonymises its assignments.
func (s *Store) EraseCustomer(ctx context.Context, customerID string, audit experiment.AuditEntry) (experiment.Erasure, error) {
	var out experiment.Erasure
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		var assigned []struct {
			ExperimentID int64  `db:"experiment_id"`
			Salt         string `db:"salt"`
		}
		// One primary-key probe per experiment rather than a scan of all assignments.
		find := func(lock string) error {
			assigned = assigned[:0]
			return tx.SelectContext(ctx, &assigned, `SELECT a.experiment_id, e.salt FROM experiments e
				JOIN assignments a ON a.experiment_id = e.id AND a.customer_id = $1
				ORDER BY a.experiment_id`+lock, customerID)
		}
		if err := find(""); err != nil {
			return err
		}
		// The experiments' responses locks first, exclusively and in order, as an import
		// takes them and before the assignment rows (which writers of responses lock while
		// they hold the lock shared): no response of the customer is in flight meanwhile.
		locked := map[int64]bool{}
		for _, a := range assigned {
			if err := lockResponses(ctx, tx, a.ExperimentID, true); err != nil {
				return err
			}
			locked[a.ExperimentID] = true
		}
		if err := find(" FOR UPDATE OF a"); err != nil {
			return err
		}
		for _, a := range assigned { // assigned meanwhile
			if !locked[a.ExperimentID] {
				if err := lockResponses(ctx, tx, a.ExperimentID, true); err != nil {
					return err
				}
			}
		}
		ids := make(pq.Int64Array, len(assigned))
		for i, a := range assigned {
			ids[i] = a.ExperimentID
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM responses WHERE experiment_id = ANY($1) AND customer_id = $2`, ids, customerID)
		if err != nil {
			return err
		}
		out.Responses, _ = res.RowsAffected()
		if res, err = tx.ExecContext(ctx, `DELETE FROM covariates WHERE customer_id = $1`, customerID); err != nil {
			return err
		}
		out.Covariates, _ = res.RowsAffected()
		if res, err = tx.ExecContext(ctx, `DELETE FROM customer_attributes WHERE customer_id = $1`, customerID); err != nil {
			return err
		}
		out.Attributes, _ = res.RowsAffected()
		if _, err := tx.ExecContext(ctx, `UPDATE experiments SET erasures = erasures + 1 WHERE id = ANY($1)`, ids); err != nil {
			return err
		}
		for _, a := range assigned {
			if _, err := tx.ExecContext(ctx, `UPDATE assignments SET customer_id = $3
				WHERE experiment_id = $1 AND customer_id = $2`, a.ExperimentID, customerID,
				experiment.ErasedID(a.Salt, customerID)); err != nil {
				return err
			}
		}
		out.Experiments = len(assigned)
		audit.Diff = map[string]any{"erasure": audit.Diff, "experiments": out.Experiments,
			"responses": out.Responses, "covariates": out.Covariates, "attributes": out.Attributes}
		return writeAudit(ctx, tx, audit)
	})
	return out, err
}
