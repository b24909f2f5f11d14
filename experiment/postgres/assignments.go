package postgres

import (
	"context"
	"database/sql"
	"errors"
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

// Assign inserts first assignments with ON CONFLICT DO NOTHING and reads back the stored
// arm of customers that already had one, so that concurrent requests on any number of API
// instances all return the one stored assignment.
func (s *Store) Assign(ctx context.Context, e experiment.Experiment, as []experiment.Assignment) ([]experiment.Assignment, error) {
	experimentID := e.ID
	ids := make(pq.StringArray, len(as))
	arms := make(pq.StringArray, len(as))
	erased := make(pq.StringArray, len(as))
	for i, a := range as {
		ids[i], arms[i], erased[i] = a.CustomerID, a.Arm, experiment.ErasedID(e.Salt, a.CustomerID)
	}
	var inserted []assignmentRow
	// An erased customer who comes back gets its anonymous assignment back, in the same
	// statement, so it is neither counted twice nor moved to another arm.
	err := s.db.SelectContext(ctx, &inserted, `
		WITH revived AS (
			UPDATE assignments a SET customer_id = t.customer_id
			FROM unnest($2::text[], $5::text[]) AS t(customer_id, erased_id)
			WHERE a.experiment_id = $1 AND a.customer_id = t.erased_id
			RETURNING a.customer_id
		)
		INSERT INTO assignments (experiment_id, customer_id, arm_key, assigned_at)
		SELECT $1, t.customer_id, t.arm_key, $4
		FROM unnest($2::text[], $3::text[]) AS t(customer_id, arm_key)
		WHERE t.customer_id NOT IN (SELECT customer_id FROM revived)
		ON CONFLICT (experiment_id, customer_id) DO NOTHING
		RETURNING customer_id, arm_key, assigned_at`, experimentID, ids, arms, as[0].AssignedAt, erased)
	if err != nil {
		return nil, mapErr(err)
	}
	stored := make(map[string]experiment.Assignment, len(as))
	for _, r := range inserted {
		stored[r.CustomerID] = experiment.Assignment{CustomerID: r.CustomerID, Arm: r.Arm, AssignedAt: r.AssignedAt.UTC(), New: true}
	}
	if len(inserted) < len(as) {
		// A new statement sees rows committed by concurrent requests after ours started.
		var existing []assignmentRow
		err := s.db.SelectContext(ctx, &existing, `
			SELECT customer_id, arm_key, assigned_at FROM assignments
			WHERE experiment_id = $1 AND customer_id = ANY($2)`, experimentID, ids)
		if err != nil {
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

// armCounts counts assigned and responding customers per arm.
func armCounts(ctx context.Context, tx *sqlx.Tx, experimentID int64) (map[string]experiment.ArmCount, error) {
	var rows []struct {
		Arm       string `db:"key"`
		Assigned  int64  `db:"assigned"`
		Responded int64  `db:"responded"`
	}
	err := tx.SelectContext(ctx, &rows, `
		SELECT a.key,
		       (SELECT count(*) FROM assignments s WHERE s.experiment_id = a.experiment_id AND s.arm_key = a.key) AS assigned,
		       (SELECT count(DISTINCT w.customer_id) FROM answers w
		         WHERE w.experiment_id = a.experiment_id AND w.arm_key = a.key) AS responded
		FROM arms a WHERE a.experiment_id = $1`, experimentID)
	if err != nil {
		return nil, err
	}
	out := make(map[string]experiment.ArmCount, len(rows))
	for _, r := range rows {
		out[r.Arm] = experiment.ArmCount{Assigned: r.Assigned, Responded: r.Responded}
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
		if err := tx.SelectContext(ctx, &assigned, `SELECT a.experiment_id, e.salt FROM experiments e
			JOIN assignments a ON a.experiment_id = e.id AND a.customer_id = $1 FOR UPDATE OF a`, customerID); err != nil {
			return err
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
		for _, a := range assigned {
			if _, err := tx.ExecContext(ctx, `UPDATE assignments SET customer_id = $3
				WHERE experiment_id = $1 AND customer_id = $2`, a.ExperimentID, customerID,
				experiment.ErasedID(a.Salt, customerID)); err != nil {
				return err
			}
		}
		out.Experiments = len(assigned)
		audit.Diff = map[string]any{"erasure": audit.Diff, "experiments": out.Experiments,
			"responses": out.Responses, "covariates": out.Covariates}
		return writeAudit(ctx, tx, audit)
	})
	return out, err
}
