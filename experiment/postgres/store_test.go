package postgres_test

import (
	"context"
	"os"
	"regexp"
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

// TestCitusDistributionCoversTheSchema keeps migrations/citus/distribute.sql true: every
// table is a reference table, a distributed table or named as staying local, and every
// foreign key between distributed tables includes experiment_id.
func TestCitusDistributionCoversTheSchema(t *testing.T) {
	s := pgtest.Store(t)
	raw, err := os.ReadFile("../../migrations/citus/distribute.sql")
	if err != nil {
		t.Fatal(err)
	}
	script := string(raw)
	local := map[string]bool{"audit_log": true, "goose_db_version": true}
	distributed := map[string]bool{}
	for _, m := range regexp.MustCompile(`create_distributed_table\('(\w+)', 'experiment_id'`).FindAllStringSubmatch(script, -1) {
		distributed[m[1]] = true
	}
	reference := map[string]bool{}
	for _, m := range regexp.MustCompile(`create_reference_table\('(\w+)'\)`).FindAllStringSubmatch(script, -1) {
		reference[m[1]] = true
	}
	var tables []string
	if err := s.DB().Select(&tables, `SELECT tablename FROM pg_tables WHERE schemaname = 'public'`); err != nil {
		t.Fatal(err)
	}
	for _, table := range tables {
		n := 0
		for _, set := range []map[string]bool{local, distributed, reference} {
			if set[table] {
				n++
			}
		}
		if n != 1 {
			t.Errorf("table %s is in %d of: local, distributed, reference", table, n)
		}
	}
	var fks []struct {
		Table string `db:"tbl"`
		Ref   string `db:"ref"`
		Cols  string `db:"cols"`
	}
	if err := s.DB().Select(&fks, `
		SELECT c.conrelid::regclass::text AS tbl, c.confrelid::regclass::text AS ref,
		       string_agg(a.attname, ',' ORDER BY a.attname) AS cols
		FROM pg_constraint c JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = ANY(c.conkey)
		WHERE c.contype = 'f' GROUP BY c.conname, c.conrelid, c.confrelid`); err != nil {
		t.Fatal(err)
	}
	for _, fk := range fks {
		if distributed[fk.Table] && distributed[fk.Ref] && !strings.Contains(","+fk.Cols+",", ",experiment_id,") {
			t.Errorf("foreign key %s -> %s (%s) lacks experiment_id", fk.Table, fk.Ref, fk.Cols)
		}
		if reference[fk.Table] && distributed[fk.Ref] && !strings.Contains(script, "DROP CONSTRAINT") {
			t.Errorf("reference table %s points into distributed %s", fk.Table, fk.Ref)
		}
	}
	for table := range distributed {
		var first string
		if err := s.DB().Get(&first, `SELECT a.attname FROM pg_index i
			JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
			WHERE i.indrelid = $1::regclass AND i.indisprimary`, table); err != nil || first != "experiment_id" {
			t.Errorf("%s: primary key starts with %q (%v)", table, first, err)
		}
	}
}

// TestAnswerReferencesAreChecked covers the statement-level checks that stand in for the
// answers' foreign keys (migration 00009): an answer must belong to a stored response, to an
// outcome the experiment measures (or a component of one) and to one of its arms; deleting a
// response deletes its answers and their latest values.
func TestAnswerReferencesAreChecked(t *testing.T) {
	f := newImportFixture(t, "answer-references")
	ctx := context.Background()
	f.assign(t, "c1")
	if _, err := f.svc.RecordResponses(ctx, f.e.Key, []experiment.Response{{ResponseID: "r1", CustomerID: "c1",
		AnsweredAt: mustTime(t, "2026-03-01T08:00:00Z"), Answers: map[string]float64{"trust": 5, "nps": 9}}}, false); err != nil {
		t.Fatal(err)
	}
	db := pgtest.Store(t).DB()
	insert := `INSERT INTO answers (experiment_id, outcome_key, customer_id, response_id, arm_key, answered_at, value)
		SELECT experiment_id, $2, customer_id, $3, arm_key, answered_at, 1 FROM answers WHERE experiment_id = $1 LIMIT 1`
	for _, c := range []struct{ outcome, response, want string }{
		{"trust", "no-such-response", "response no-such-response"},
		{"happiness_index", "r1", "outcome happiness_index"},
	} {
		_, err := db.ExecContext(ctx, insert, f.e.ID, c.outcome, c.response)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s/%s: err = %v, want one naming %q", c.outcome, c.response, err, c.want)
		}
	}
	if _, err := db.ExecContext(ctx, `UPDATE answers SET arm_key = 'nope' WHERE experiment_id = $1`, f.e.ID); err == nil ||
		!strings.Contains(err.Error(), "arm nope") {
		t.Errorf("answer moved to an unknown arm: %v", err)
	}
	// A component of the experiment's freedom_of_choice composite is answerable although the
	// experiment does not list it.
	if _, err := db.ExecContext(ctx, insert, f.e.ID, "choice_channels", "r1"); err != nil {
		t.Errorf("component answer refused: %v", err)
	}
	if _, err := db.ExecContext(ctx, `DELETE FROM responses WHERE experiment_id = $1`, f.e.ID); err != nil {
		t.Fatal(err)
	}
	if n := f.count(t, `SELECT count(*) FROM answers WHERE experiment_id = $1`); n != 0 {
		t.Errorf("%d answers outlived their response", n)
	}
	if n := f.count(t, `SELECT count(*) FROM latest_answers WHERE experiment_id = $1`); n != 0 {
		t.Errorf("%d latest answers outlived their response", n)
	}
}
