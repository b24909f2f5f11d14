package postgres

import (
	"context"
	"database/sql"
	"errors"
	"slices"
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
// still running, in one statement; the last row reports whether it was running.
//
// It locks the experiment's row shared before it inserts anything: a stop (which locks the
// row for update) waits for the statements in flight to commit, and a statement that comes
// after the stop's lock waits for it and then finds the experiment stopped (a row lock
// rechecks the condition on the row's newest version). So no assignment is stored after a
// stop, and every one stored before has an assigned_at earlier than the stop's clock
// (statement_timestamp is the database's clock too).
//
// Rows go in in customer order: two transactions that insert some of the same new customers
// then wait for each other in the same order, never in a cycle (a deadlock).
const insertSQL = `
	WITH run AS (SELECT 1 FROM experiments WHERE id = $1 AND status = 'running' FOR SHARE),
	ins AS (
		INSERT INTO assignments (experiment_id, customer_id, arm_key, assigned_at)
		SELECT $1, t.customer_id, t.arm_key, statement_timestamp()
		FROM unnest($2::text[], $3::text[]) AS t(customer_id, arm_key)
		WHERE EXISTS (SELECT 1 FROM run)
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
	for i, a := range as {
		ids[i], arms[i] = a.CustomerID, a.Arm
	}
	stmt, err := s.prepared(ctx, insertSQL)
	if err != nil {
		return nil, err
	}
	// Scanned by hand, in the order of insertSQL's columns (running, customer_id, arm_key,
	// assigned_at): this runs once per group commit of new assignments.
	rows, err := stmt.QueryContext(ctx, e.ID, ids, arms)
	if err != nil {
		return nil, mapErr(err)
	}
	defer rows.Close()
	stored := make(map[string]experiment.Assignment, len(as))
	for rows.Next() {
		var running bool
		var id, arm sql.NullString
		var at sql.NullTime
		if err := rows.Scan(&running, &id, &arm, &at); err != nil {
			return nil, mapErr(err)
		}
		if !id.Valid {
			if !running {
				return nil, experiment.Errorf(experiment.Conflict, "experiment %q is no longer running; %s", e.Key, experiment.AssignsWhileRunning).
					With(experiment.Detail{Field: "status", Message: "not running"})
			}
			continue
		}
		stored[id.String] = experiment.Assignment{CustomerID: id.String, Arm: arm.String, AssignedAt: at.Time.UTC(), New: true}
	}
	if err := rows.Err(); err != nil {
		return nil, mapErr(err)
	}
	rows.Close()
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

// Assignments returns the stored assignments of the customers that have one, in one query.
func (s *Store) Assignments(ctx context.Context, experimentID int64, customerIDs []string) (map[string]experiment.Assignment, error) {
	var rows []assignmentRow
	if err := s.db.SelectContext(ctx, &rows, existingSQL, experimentID, pq.StringArray(customerIDs)); err != nil {
		return nil, mapErr(err)
	}
	out := make(map[string]experiment.Assignment, len(rows))
	for _, r := range rows {
		out[r.CustomerID] = experiment.Assignment{CustomerID: r.CustomerID, Arm: r.Arm, AssignedAt: r.AssignedAt.UTC()}
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
		// by row, those with a repeat once each, from their responses that are not their
		// first (a partial index).
		query = `
			SELECT '' AS segment, s.arm_key, s.assigned, coalesce(sum(r.n), 0) AS responded
			FROM (SELECT arm_key, count(*) AS assigned FROM assignments WHERE experiment_id = $1 GROUP BY arm_key) s
			LEFT JOIN (SELECT arm_key, count(*) AS n FROM responses r WHERE experiment_id = $1 AND ` + alone("r", "$1") + ` GROUP BY arm_key
			           UNION ALL
			           SELECT arm_key, count(*) FROM (SELECT DISTINCT arm_key, customer_id FROM responses
			                                          WHERE experiment_id = $1 AND NOT first_response) c GROUP BY arm_key) r
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

// errAssignedMeanwhile restarts an erasure that found the customer assigned in an
// experiment it had not locked yet.
var errAssignedMeanwhile = errors.New("customer assigned in another experiment during its erasure")

// EraseCustomer removes a customer's responses (their answers cascade), covariates and
// attributes everywhere and gives its assignments random ids.
//
// Locks, in this order, as every other writer takes them: the experiments' rows (the erasure
// count moves; assignment statements and imports in flight hold the rows shared and finish
// first, later ones wait), then the experiments' responses locks (exclusive, as an import
// takes them after its row lock), then the customer's assignment rows, covariates and
// attributes, then the data versions of the experiments it changes. If the customer was
// assigned in another experiment meanwhile, the erasure starts again with that one too.
func (s *Store) EraseCustomer(ctx context.Context, customerID string, audit experiment.AuditEntry) (experiment.Erasure, error) {
	for attempt := 1; ; attempt++ {
		out, err := s.eraseCustomer(ctx, customerID, audit)
		if !errors.Is(err, errAssignedMeanwhile) || attempt == 3 {
			return out, err
		}
	}
}

func (s *Store) eraseCustomer(ctx context.Context, customerID string, audit experiment.AuditEntry) (experiment.Erasure, error) {
	var out experiment.Erasure
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		// One primary-key probe per experiment rather than a scan of all assignments.
		find := func(lock string) (pq.Int64Array, error) {
			var ids pq.Int64Array
			err := tx.SelectContext(ctx, &ids, `SELECT a.experiment_id FROM assignments a
				WHERE a.customer_id = $1 ORDER BY a.experiment_id`+lock, customerID)
			return ids, err
		}
		ids, err := find("")
		if err != nil {
			return err
		}
		// The experiments are locked in id order by a statement of their own, then updated.
		// One UPDATE that locks them in a subquery and updates them in its own scan can
		// deadlock with another erasure while writers that reference the experiments (their
		// foreign keys' key-share locks) come and go: its scan meets versions its snapshot
		// saw before the locks were taken. (TestDataWritersNeverDeadlock failed so about one
		// run in 25 on a busy machine; pgbench on a copy of the two forms with inserts
		// referencing the rows: 9 deadlocks in 15 s for the one statement, none in 55 s for
		// the two.) The UPDATE, with a snapshot taken after the locks, finds the latest
		// versions, which this transaction holds.
		if _, err := tx.ExecContext(ctx, `SELECT id FROM experiments WHERE id = ANY($1) ORDER BY id FOR NO KEY UPDATE`, ids); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE experiments SET erasures = erasures + 1 WHERE id = ANY($1)`, ids); err != nil {
			return err
		}
		for _, id := range ids {
			if err := lockResponses(ctx, tx, id, true); err != nil {
				return err
			}
		}
		locked, err := find(" FOR UPDATE OF a")
		if err != nil {
			return err
		}
		if len(locked) != len(ids) || !slices.Equal(locked, ids) {
			return errAssignedMeanwhile
		}
		// The customer's covariates and attributes, then the data versions of every
		// experiment the erasure changes, in experiment order: a version row is the last lock
		// a writer takes (migration 00016), and the deletes below, which move the versions
		// again, find them locked already.
		var covariateExperiments pq.Int64Array
		if err := tx.SelectContext(ctx, &covariateExperiments, `SELECT experiment_id FROM covariates
			WHERE customer_id = $1 ORDER BY experiment_id, outcome_key FOR UPDATE`, customerID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `SELECT 1 FROM customer_attributes WHERE customer_id = $1 ORDER BY name FOR UPDATE`, customerID); err != nil {
			return err
		}
		if err := lockDataVersions(ctx, tx, append(slices.Clone(ids), covariateExperiments...)); err != nil {
			return err
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
		for _, id := range ids {
			if _, err := tx.ExecContext(ctx, `UPDATE assignments SET customer_id = $3
				WHERE experiment_id = $1 AND customer_id = $2`, id, customerID, experiment.NewErasedID()); err != nil {
				return err
			}
		}
		out.Experiments = len(ids)
		audit.Diff = map[string]any{"experiments": out.Experiments,
			"responses": out.Responses, "covariates": out.Covariates, "attributes": out.Attributes}
		return writeAudit(ctx, tx, audit)
	})
	return out, err
}
