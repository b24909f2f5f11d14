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

// Alerts are raised by the trigger on responses (responses_written, migration 00019, with
// alerts_raise_rows), in the transaction that stores the answers; this file keeps the rules and webhooks, lists and
// resolves alerts, and lets the webhook workers claim and log deliveries.

var _ experiment.AlertStore = (*Store)(nil)

type alertRuleRow struct {
	ID      int64   `db:"rule_id"`
	Outcome string  `db:"outcome_key"`
	Op      string  `db:"op"`
	Value   float64 `db:"value"`
}

// AlertRules returns an experiment's rules, in the order they were given, and its webhook.
func (s *Store) AlertRules(ctx context.Context, experimentID int64) (experiment.AlertRules, error) {
	var out experiment.AlertRules
	err := s.inReadTx(ctx, func(tx *sqlx.Tx) error {
		var err error
		out, err = alertRules(ctx, tx, experimentID)
		return err
	})
	return out, err
}

func alertRules(ctx context.Context, tx *sqlx.Tx, experimentID int64) (experiment.AlertRules, error) {
	out := experiment.AlertRules{ExperimentID: experimentID, Rules: []experiment.AlertRule{}}
	var rows []alertRuleRow
	if err := tx.SelectContext(ctx, &rows, `SELECT rule_id, outcome_key, op, value FROM alert_rules
		WHERE experiment_id = $1 ORDER BY position, rule_id`, experimentID); err != nil {
		return out, err
	}
	for _, r := range rows {
		out.Rules = append(out.Rules, experiment.AlertRule{ID: r.ID, Outcome: r.Outcome, Op: r.Op, Value: r.Value})
	}
	var w struct {
		URL    string `db:"url"`
		Secret string `db:"secret"`
	}
	err := tx.GetContext(ctx, &w, `SELECT url, secret FROM alert_webhooks WHERE experiment_id = $1`, experimentID)
	switch {
	case errors.Is(err, sql.ErrNoRows):
	case err != nil:
		return out, err
	default:
		out.Webhook = &experiment.Webhook{URL: w.URL, Secret: w.Secret}
	}
	return out, nil
}

// SetAlertRules replaces the rules and the webhook of r.ExperimentID; a rule stored before
// unchanged keeps its id (and so its alerts' uniqueness per response).
func (s *Store) SetAlertRules(ctx context.Context, r experiment.AlertRules, audit experiment.AuditEntry) (experiment.AlertRules, error) {
	var out experiment.AlertRules
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		// One writer of an experiment's rules at a time.
		var id int64
		if err := tx.GetContext(ctx, &id, `SELECT id FROM experiments WHERE id = $1 FOR NO KEY UPDATE`, r.ExperimentID); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return experiment.Errorf(experiment.NotFound, "experiment not found")
			}
			return err
		}
		before, err := alertRules(ctx, tx, r.ExperimentID)
		if err != nil {
			return err
		}
		type ruleKey struct {
			outcome, op string
			value       float64
		}
		stored := map[ruleKey]int64{}
		for _, x := range before.Rules {
			stored[ruleKey{x.Outcome, x.Op, x.Value}] = x.ID
		}
		keep := pq.Int64Array{}
		for pos, x := range r.Rules {
			k := ruleKey{x.Outcome, x.Op, x.Value}
			if id, ok := stored[k]; ok {
				keep = append(keep, id)
				if _, err := tx.ExecContext(ctx, `UPDATE alert_rules SET position = $3
					WHERE experiment_id = $1 AND rule_id = $2`, r.ExperimentID, id, pos); err != nil {
					return err
				}
				continue
			}
			var id int64
			if err := tx.GetContext(ctx, &id, `INSERT INTO alert_rules (experiment_id, outcome_key, op, value, position)
				VALUES ($1, $2, $3, $4, $5) RETURNING rule_id`, r.ExperimentID, x.Outcome, x.Op, x.Value, pos); err != nil {
				return err
			}
			keep = append(keep, id)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM alert_rules WHERE experiment_id = $1 AND rule_id <> ALL($2)`,
			r.ExperimentID, keep); err != nil {
			return err
		}
		if r.Webhook == nil {
			_, err = tx.ExecContext(ctx, `DELETE FROM alert_webhooks WHERE experiment_id = $1`, r.ExperimentID)
		} else {
			_, err = tx.ExecContext(ctx, `INSERT INTO alert_webhooks (experiment_id, url, secret) VALUES ($1, $2, $3)
				ON CONFLICT (experiment_id) DO UPDATE SET url = excluded.url, secret = excluded.secret, updated_at = now()`,
				r.ExperimentID, r.Webhook.URL, r.Webhook.Secret)
		}
		if err != nil {
			return err
		}
		if err := writeAudit(ctx, tx, audit); err != nil {
			return err
		}
		out, err = alertRules(ctx, tx, r.ExperimentID)
		return err
	})
	return out, err
}

// alertRow is an alert with its customer (through the response) and its delivery state.
type alertRow struct {
	ID             int64          `db:"alert_id"`
	ExperimentID   int64          `db:"experiment_id"`
	Experiment     string         `db:"experiment"`
	ResponseID     string         `db:"response_id"`
	CustomerID     string         `db:"customer_id"`
	RuleID         int64          `db:"rule_id"`
	Outcome        string         `db:"outcome_key"`
	Op             string         `db:"op"`
	Threshold      float64        `db:"threshold"`
	Value          float64        `db:"value"`
	AnsweredAt     time.Time      `db:"answered_at"`
	RaisedAt       time.Time      `db:"raised_at"`
	Status         string         `db:"status"`
	ResolvedAt     sql.NullTime   `db:"resolved_at"`
	ResolvedBy     sql.NullString `db:"resolved_by"`
	Note           sql.NullString `db:"note"`
	DeliveryID     sql.NullInt64  `db:"delivery_id"`
	DeliveryStatus sql.NullString `db:"delivery_status"`
	Attempts       sql.NullInt64  `db:"attempts"`
	NextAttemptAt  sql.NullTime   `db:"next_attempt_at"`
	DeliveredAt    sql.NullTime   `db:"delivered_at"`
	LastStatusCode sql.NullInt64  `db:"last_status_code"`
	LastError      sql.NullString `db:"last_error"`
}

const alertSelect = `
	SELECT a.alert_id, a.experiment_id, e.key AS experiment, a.response_id, r.customer_id, a.rule_id,
	       a.outcome_key, a.op, a.threshold, a.value, a.answered_at, a.raised_at, a.status,
	       a.resolved_at, a.resolved_by, a.note,
	       d.delivery_id, d.status AS delivery_status, d.attempts, d.next_attempt_at, d.delivered_at,
	       d.last_status_code, d.last_error
	FROM alerts a
	JOIN experiments e ON e.id = a.experiment_id
	JOIN responses r ON r.experiment_id = a.experiment_id AND r.response_id = a.response_id
	LEFT JOIN webhook_deliveries d ON d.experiment_id = a.experiment_id AND d.alert_id = a.alert_id`

func timePtr(t sql.NullTime) *time.Time {
	if !t.Valid {
		return nil
	}
	v := t.Time.UTC()
	return &v
}

func (r alertRow) domain() experiment.Alert {
	a := experiment.Alert{
		ID: r.ID, ExperimentID: r.ExperimentID, Experiment: r.Experiment, ResponseID: r.ResponseID,
		CustomerID: r.CustomerID, RuleID: r.RuleID, Outcome: r.Outcome, Op: r.Op, Threshold: r.Threshold,
		Value: r.Value, AnsweredAt: r.AnsweredAt.UTC(), RaisedAt: r.RaisedAt.UTC(),
		Status: experiment.AlertStatus(r.Status), ResolvedAt: timePtr(r.ResolvedAt),
		ResolvedBy: r.ResolvedBy.String, Note: r.Note.String,
	}
	if r.DeliveryID.Valid {
		d := &experiment.Delivery{ID: r.DeliveryID.Int64, Status: experiment.DeliveryStatus(r.DeliveryStatus.String),
			Attempts: int(r.Attempts.Int64), DeliveredAt: timePtr(r.DeliveredAt),
			LastStatusCode: int(r.LastStatusCode.Int64), LastError: r.LastError.String}
		if d.Status == experiment.DeliveryPending {
			d.NextAttemptAt = timePtr(r.NextAttemptAt)
		}
		a.Delivery = d
	}
	return a
}

// Alerts lists alerts newest first.
func (s *Store) Alerts(ctx context.Context, f experiment.AlertFilter) ([]experiment.Alert, error) {
	var rows []alertRow
	err := s.db.SelectContext(ctx, &rows, alertSelect+`
		WHERE ($1::bigint = 0 OR a.experiment_id = $1) AND ($2::text = '' OR a.status = $2)
		ORDER BY a.alert_id DESC LIMIT $3`, f.ExperimentID, string(f.Status), f.Limit)
	if err != nil {
		return nil, mapErr(err)
	}
	out := make([]experiment.Alert, len(rows))
	for i, r := range rows {
		out[i] = r.domain()
	}
	return out, nil
}

// Alert returns one alert and its delivery log.
func (s *Store) Alert(ctx context.Context, id int64) (experiment.Alert, []experiment.DeliveryAttempt, error) {
	var (
		a        experiment.Alert
		attempts = []experiment.DeliveryAttempt{}
	)
	err := s.inReadTx(ctx, func(tx *sqlx.Tx) error {
		var err error
		if a, err = alertByID(ctx, tx, id); err != nil || a.Delivery == nil {
			return err
		}
		var rows []struct {
			Attempt    int            `db:"attempt"`
			At         time.Time      `db:"at"`
			StatusCode sql.NullInt64  `db:"status_code"`
			Error      sql.NullString `db:"error"`
			DurationMS float64        `db:"duration_ms"`
		}
		if err := tx.SelectContext(ctx, &rows, `SELECT attempt, at, status_code, error, duration_ms FROM webhook_attempts
			WHERE experiment_id = $1 AND delivery_id = $2 ORDER BY attempt`, a.ExperimentID, a.Delivery.ID); err != nil {
			return err
		}
		for _, r := range rows {
			attempts = append(attempts, experiment.DeliveryAttempt{Attempt: r.Attempt, At: r.At.UTC(),
				StatusCode: int(r.StatusCode.Int64), Error: r.Error.String,
				Duration: time.Duration(r.DurationMS * float64(time.Millisecond))})
		}
		return nil
	})
	return a, attempts, err
}

func alertByID(ctx context.Context, tx *sqlx.Tx, id int64) (experiment.Alert, error) {
	var row alertRow
	err := tx.GetContext(ctx, &row, alertSelect+` WHERE a.alert_id = $1`, id)
	if errors.Is(err, sql.ErrNoRows) {
		return experiment.Alert{}, experiment.Errorf(experiment.NotFound, "alert %d not found", id)
	}
	if err != nil {
		return experiment.Alert{}, err
	}
	return row.domain(), nil
}

// ResolveAlert resolves an open alert with its audit entry.
func (s *Store) ResolveAlert(ctx context.Context, id int64, note, by string, at time.Time, audit experiment.AuditEntry) (experiment.Alert, error) {
	var out experiment.Alert
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		var experimentID int64
		err := tx.GetContext(ctx, &experimentID, `UPDATE alerts
			SET status = 'resolved', resolved_at = $2, resolved_by = $3, note = NULLIF($4, '')
			WHERE alert_id = $1 AND status = 'open' RETURNING experiment_id`, id, at, by, note)
		if errors.Is(err, sql.ErrNoRows) {
			a, err := alertByID(ctx, tx, id)
			if err != nil {
				return err
			}
			return experiment.Errorf(experiment.Conflict, "alert %d is %s already", id, a.Status).
				With(experiment.Detail{Field: "status", Message: string(a.Status)})
		}
		if err != nil {
			return err
		}
		audit.ExperimentID = experimentID
		if err := writeAudit(ctx, tx, audit); err != nil {
			return err
		}
		out, err = alertByID(ctx, tx, id)
		return err
	})
	return out, err
}

// ClaimDeliveries claims due deliveries experiment by experiment (each claim is one
// statement on one experiment's rows, which Citus routes to one shard).
func (s *Store) ClaimDeliveries(ctx context.Context, limit int, lease time.Duration) ([]experiment.PendingDelivery, error) {
	var experiments []int64
	if err := s.db.SelectContext(ctx, &experiments, `SELECT DISTINCT experiment_id FROM webhook_deliveries
		WHERE status = 'pending' AND next_attempt_at <= now() LIMIT $1`, limit); err != nil {
		return nil, mapErr(err)
	}
	var out []experiment.PendingDelivery
	for _, id := range experiments {
		if len(out) >= limit {
			break
		}
		var rows []struct {
			alertRow
			DeliveryID int64          `db:"claimed_id"`
			Attempt    int            `db:"claimed_attempt"`
			URL        sql.NullString `db:"url"`
			Secret     sql.NullString `db:"secret"`
		}
		err := s.db.SelectContext(ctx, &rows, `
			WITH claimed AS (
				UPDATE webhook_deliveries d
				SET attempts = d.attempts + 1, next_attempt_at = now() + make_interval(secs => $3)
				WHERE d.experiment_id = $1 AND d.delivery_id IN (
					SELECT delivery_id FROM webhook_deliveries
					WHERE experiment_id = $1 AND status = 'pending' AND next_attempt_at <= now()
					ORDER BY next_attempt_at, delivery_id LIMIT $2
					FOR UPDATE SKIP LOCKED)
				RETURNING d.experiment_id, d.delivery_id, d.alert_id, d.attempts
			)
			SELECT c.delivery_id AS claimed_id, c.attempts AS claimed_attempt,
			       a.alert_id, a.experiment_id, e.key AS experiment, a.response_id, r.customer_id, a.rule_id,
			       a.outcome_key, a.op, a.threshold, a.value, a.answered_at, a.raised_at, a.status,
			       w.url, w.secret
			FROM claimed c
			JOIN alerts a ON a.experiment_id = c.experiment_id AND a.alert_id = c.alert_id
			JOIN responses r ON r.experiment_id = a.experiment_id AND r.response_id = a.response_id
			JOIN experiments e ON e.id = c.experiment_id
			LEFT JOIN alert_webhooks w ON w.experiment_id = c.experiment_id
			ORDER BY c.delivery_id`, id, limit-len(out), lease.Seconds())
		if err != nil {
			return out, mapErr(err)
		}
		for _, r := range rows {
			out = append(out, experiment.PendingDelivery{ID: r.DeliveryID, Attempt: r.Attempt, Alert: r.alertRow.domain(),
				URL: r.URL.String, Secret: r.Secret.String})
		}
	}
	return out, nil
}

// RecordDeliveryAttempt logs an attempt and moves the delivery on.
func (s *Store) RecordDeliveryAttempt(ctx context.Context, d experiment.PendingDelivery, a experiment.DeliveryAttempt, status experiment.DeliveryStatus, retryIn time.Duration) error {
	code := sql.NullInt64{Int64: int64(a.StatusCode), Valid: a.StatusCode != 0}
	msg := sql.NullString{String: a.Error, Valid: a.Error != ""}
	return s.inTx(ctx, func(tx *sqlx.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE webhook_deliveries
			SET status = $3::text,
			    next_attempt_at = CASE WHEN $3::text = 'pending' THEN now() + make_interval(secs => $4) ELSE next_attempt_at END,
			    delivered_at = CASE WHEN $3::text = 'delivered' THEN now() ELSE delivered_at END,
			    last_status_code = $5, last_error = $6
			WHERE experiment_id = $1 AND delivery_id = $2`,
			d.Alert.ExperimentID, d.ID, string(status), retryIn.Seconds(), code, msg)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil // erased meanwhile
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO webhook_attempts
			(experiment_id, delivery_id, attempt, at, status_code, error, duration_ms)
			VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING`,
			d.Alert.ExperimentID, d.ID, a.Attempt, a.At, code, msg, float64(a.Duration.Microseconds())/1000)
		return err
	})
}
