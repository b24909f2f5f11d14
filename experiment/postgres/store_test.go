package postgres_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/krslab/krslab/experiment"
	"github.com/krslab/krslab/experiment/postgres/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func TestMigrateIsIdempotent(t *testing.T) {
	s := pgtest.Store(t)
	ctx := context.Background()
	for i := range 2 {
		applied, err := s.Migrate(ctx)
		if err != nil || len(applied) != 0 {
			t.Fatalf("run %d: applied %v, err %v", i+1, applied, err)
		}
	}
	current, err := s.SchemaCurrent(ctx)
	if err != nil || !current {
		t.Fatalf("schema current = %v, %v", current, err)
	}
}

// TestLargeTablesKeyedByExperiment keeps the schema distributable by experiment_id: the
// primary key of every large table starts with it.
func TestLargeTablesKeyedByExperiment(t *testing.T) {
	s := pgtest.Store(t)
	for _, table := range []string{"arms", "experiment_outcomes", "assignments", "responses", "answers", "covariates"} {
		var first string
		err := s.DB().Get(&first, `
			SELECT a.attname FROM pg_index i
			JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
			WHERE i.indrelid = $1::regclass AND i.indisprimary`, table)
		if err != nil || first != "experiment_id" {
			t.Errorf("%s: primary key starts with %q (%v)", table, first, err)
		}
	}
}

// TestDatabaseConstraints checks that the database itself refuses what the domain refuses,
// for writers that bypass the API.
func TestDatabaseConstraints(t *testing.T) {
	s := pgtest.Store(t)
	svc := experiment.NewService(s)
	ctx := context.Background()
	e, err := svc.CreateExperiment(ctx, experiment.Experiment{Key: "constraints", Arms: []experiment.Arm{
		{Key: "control", Weight: 1, Control: true}, {Key: "b", Weight: 1}}})
	if err != nil {
		t.Fatal(err)
	}
	bad := map[string]string{
		"weight <= 0":          `INSERT INTO arms (experiment_id, key, position, weight) VALUES ($1, 'c', 9, 0)`,
		"second control":       `INSERT INTO arms (experiment_id, key, position, weight, control) VALUES ($1, 'c', 9, 1, true)`,
		"alpha out of range":   `UPDATE experiments SET alpha = 0.7 WHERE id = $1`,
		"unknown status":       `UPDATE experiments SET status = 'paused' WHERE id = $1`,
		"assignment to no arm": `INSERT INTO assignments (experiment_id, customer_id, arm_key) VALUES ($1, 'x', 'nope')`,
		"empty customer id":    `INSERT INTO assignments (experiment_id, customer_id, arm_key) VALUES ($1, '', 'b')`,
		"response unassigned":  `INSERT INTO responses (experiment_id, response_id, customer_id, answered_at, content_hash) VALUES ($1, 'r', 'ghost', now(), decode(repeat('00', 32), 'hex'))`,
		"NaN covariate":        `INSERT INTO covariates (experiment_id, customer_id, outcome_key, value) VALUES ($1, 'x', 'trust', 'NaN')`,
		"unknown outcome":      `INSERT INTO experiment_outcomes (experiment_id, outcome_key, position) VALUES ($1, 'happiness', 99)`,
		"decided without arm":  `UPDATE experiments SET status = 'decided', started_at = now(), stopped_at = now() WHERE id = $1`,
	}
	for name, stmt := range bad {
		if _, err := s.DB().ExecContext(ctx, stmt, e.ID); err == nil {
			t.Errorf("%s: accepted by the database", name)
		}
	}
	if _, err := s.DB().ExecContext(ctx, `INSERT INTO outcomes (key, kind, label, label_nl, min, max) VALUES ('bad_net', 'net', 'x', 'x', 0, 10)`); err == nil {
		t.Error("net outcome without thresholds accepted")
	}
}

func TestUpdateExperimentIsGuardedByStatus(t *testing.T) {
	s := pgtest.Store(t)
	svc := experiment.NewService(s)
	ctx := context.Background()
	e, err := svc.CreateExperiment(ctx, experiment.Experiment{Key: "guarded", Arms: []experiment.Arm{
		{Key: "control", Weight: 1, Control: true}, {Key: "b", Weight: 1}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Start(ctx, e.Key); err != nil {
		t.Fatal(err)
	}
	// A writer that still believes the experiment is a draft must not overwrite it.
	e.Name = "stale"
	e.UpdatedAt = time.Now()
	err = s.UpdateExperiment(ctx, e, experiment.Draft, experiment.AuditEntry{Actor: "t", Action: "x"})
	if experiment.ErrorCode(err) != experiment.Conflict {
		t.Fatalf("stale update: %v", err)
	}
	var n int
	if err := s.DB().Get(&n, `SELECT count(*) FROM audit_log WHERE experiment_id = $1 AND action = 'experiment.start'`, e.ID); err != nil || n != 1 {
		t.Errorf("start audited %d times (%v)", n, err)
	}
	if _, err := svc.Start(ctx, e.Key); err == nil || !strings.Contains(err.Error(), "running") {
		t.Errorf("second start: %v", err)
	}
}
