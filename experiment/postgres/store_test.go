package postgres_test

import (
	"context"
	"fmt"
	"maps"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

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
		"weight <= 0":            `INSERT INTO arms (experiment_id, key, position, weight) VALUES ($1, 'c', 9, 0)`,
		"weight above 1e6":       `INSERT INTO arms (experiment_id, key, position, weight) VALUES ($1, 'c', 9, 2e6)`,
		"second control":         `INSERT INTO arms (experiment_id, key, position, weight, control) VALUES ($1, 'c', 9, 1, true)`,
		"alpha out of range":     `UPDATE experiments SET alpha = 0.7 WHERE id = $1`,
		"unknown status":         `UPDATE experiments SET status = 'paused' WHERE id = $1`,
		"assignment to no arm":   `INSERT INTO assignments (experiment_id, customer_id, arm_key) VALUES ($1, 'x', 'nope')`,
		"empty customer id":      `INSERT INTO assignments (experiment_id, customer_id, arm_key) VALUES ($1, '', 'b')`,
		"response unassigned":    `INSERT INTO responses (experiment_id, response_id, customer_id, answered_at, content_hash) VALUES ($1, 'r', 'ghost', now(), decode(repeat('00', 32), 'hex'))`,
		"NaN covariate":          `INSERT INTO covariates (experiment_id, customer_id, outcome_key, value) VALUES ($1, 'x', 'trust', 'NaN')`,
		"unknown outcome":        `INSERT INTO experiment_outcomes (experiment_id, outcome_key, position) VALUES ($1, 'happiness', 99)`,
		"decided without arm":    `UPDATE experiments SET status = 'decided', started_at = now(), stopped_at = now() WHERE id = $1`,
		"margin <= 0":            `UPDATE experiment_outcomes SET guardrail = true, margin = 0 WHERE experiment_id = $1`,
		"infinite margin":        `UPDATE experiment_outcomes SET guardrail = true, margin = 'Infinity' WHERE experiment_id = $1`,
		"margin of no guardrail": `UPDATE experiment_outcomes SET guardrail = false, margin = 1 WHERE experiment_id = $1`,
		"outcome in no list":     `UPDATE experiment_outcomes SET listed = false WHERE experiment_id = $1 AND NOT guardrail`,
		"place of no guardrail":  `UPDATE experiment_outcomes SET guardrail_position = position WHERE experiment_id = $1 AND NOT guardrail`,
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

// TestGuardrailMarginsAreStored: margins are written with the design, for guardrails that
// are also outcomes too, read back with the experiment, and replaced by a draft's patch.
func TestGuardrailMarginsAreStored(t *testing.T) {
	s := pgtest.Store(t)
	svc := experiment.NewService(s)
	ctx := context.Background()
	e, err := svc.CreateExperiment(ctx, experiment.Experiment{Key: "margins", Arms: []experiment.Arm{
		{Key: "control", Weight: 1, Control: true}, {Key: "b", Weight: 1}},
		Guardrails: []string{"ces", "trust"}, GuardrailMargins: map[string]float64{"ces": 10, "trust": 0.25}})
	if err != nil {
		t.Fatal(err)
	}
	got, err := svc.Experiment(ctx, e.Key)
	if err != nil || !maps.Equal(got.GuardrailMargins, map[string]float64{"ces": 10, "trust": 0.25}) {
		t.Fatalf("stored margins %v (%v)", got.GuardrailMargins, err)
	}
	margins := map[string]float64{"trust": 0.5}
	if _, err := svc.PatchExperiment(ctx, e.Key, experiment.Patch{GuardrailMargins: &margins}, experiment.AnyVersion); err != nil {
		t.Fatal(err)
	}
	if got, err = svc.Experiment(ctx, e.Key); err != nil || !maps.Equal(got.GuardrailMargins, margins) {
		t.Errorf("patched margins %v (%v)", got.GuardrailMargins, err)
	}
}

// TestOutcomeListsReadBackAsDefined: an outcome may be listed in outcomes, in guardrails
// or in both, each list in its own order; the experiment read back is the one created, a
// primary outcome that is also a guardrail does not stop a later change, and dropping the
// guardrails keeps the outcomes.
func TestOutcomeListsReadBackAsDefined(t *testing.T) {
	s := pgtest.Store(t)
	svc := experiment.NewService(s)
	ctx := context.Background()
	created, err := svc.CreateExperiment(ctx, experiment.Experiment{Key: "lists", Arms: []experiment.Arm{
		{Key: "control", Weight: 1, Control: true}, {Key: "b", Weight: 1}},
		Outcomes: []string{"krs", "trust", "ces"}, Guardrails: []string{"ces", "nps", "krs"},
		GuardrailMargins: map[string]float64{"ces": 10, "krs": 2}})
	if err != nil {
		t.Fatal(err)
	}
	same := func(what string, got experiment.Experiment) {
		t.Helper()
		if !slices.Equal(got.Outcomes, []string{"krs", "trust", "ces"}) || !slices.Equal(got.Guardrails, []string{"ces", "nps", "krs"}) ||
			!maps.Equal(got.GuardrailMargins, map[string]float64{"ces": 10, "krs": 2}) {
			t.Errorf("%s: outcomes %v guardrails %v margins %v", what, got.Outcomes, got.Guardrails, got.GuardrailMargins)
		}
	}
	same("created", created)
	got, err := svc.Experiment(ctx, "lists")
	if err != nil {
		t.Fatal(err)
	}
	same("read back", got)
	if !slices.Equal(got.AnalysedOutcomes(), []string{"krs", "trust", "ces", "nps"}) {
		t.Errorf("analysed %v", got.AnalysedOutcomes())
	}
	name := "renamed"
	patched, err := svc.PatchExperiment(ctx, "lists", experiment.Patch{Name: &name}, experiment.AnyVersion)
	if err != nil {
		t.Fatalf("rename with krs both primary and guardrail: %v", err)
	}
	same("renamed", patched)
	none, noMargins := []string{}, map[string]float64{}
	patched, err = svc.PatchExperiment(ctx, "lists", experiment.Patch{Guardrails: &none, GuardrailMargins: &noMargins}, experiment.AnyVersion)
	if err != nil {
		t.Fatal(err)
	}
	if got, err = svc.Experiment(ctx, "lists"); err != nil || !slices.Equal(got.Outcomes, []string{"krs", "trust", "ces"}) ||
		len(got.Guardrails) != 0 || !slices.Equal(patched.Outcomes, got.Outcomes) {
		t.Errorf("without guardrails: outcomes %v guardrails %v (%v)", got.Outcomes, got.Guardrails, err)
	}
}

func TestChangeWithAStaleVersionIsRefused(t *testing.T) {
	s := pgtest.Store(t)
	svc := experiment.NewService(s)
	ctx := context.Background()
	e, err := svc.CreateExperiment(ctx, experiment.Experiment{Key: "guarded", Arms: []experiment.Arm{
		{Key: "control", Weight: 1, Control: true}, {Key: "b", Weight: 1}}})
	if err != nil {
		t.Fatal(err)
	}
	started, err := svc.Start(ctx, e.Key)
	if err != nil {
		t.Fatal(err)
	}
	if started.Version != e.Version+1 {
		t.Errorf("start moved the version from %d to %d", e.Version, started.Version)
	}
	// A writer that read the draft must not overwrite the running experiment.
	stale := "stale"
	_, err = svc.PatchExperiment(ctx, e.Key, experiment.Patch{Name: &stale}, e.Version)
	if experiment.ErrorCode(err) != experiment.PreconditionFailed {
		t.Fatalf("stale patch: %v", err)
	}
	got, err := svc.Experiment(ctx, e.Key)
	if err != nil || got.Name == stale || got.Version != started.Version {
		t.Errorf("after a refused patch: %+v, %v", got, err)
	}
	var n int
	if err := s.DB().Get(&n, `SELECT count(*) FROM audit_log WHERE experiment_id = $1 AND action LIKE 'experiment.%'`, e.ID); err != nil || n != 2 {
		t.Errorf("%d audit entries (%v), want create and start", n, err)
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
	local := map[string]bool{"audit_log": true, "goose_db_version": true, "console_sessions": true, "sign_in_links": true}
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

// TestResponseAnswersAreChecked covers what the database itself holds of a response's
// answers (migration 00010): its customer is assigned and its arm is the assigned one (and
// that assignment then stays), its outcomes are the experiment's
// (or components of them) and each appears once, its values are finite; and the latest
// answer per customer and outcome is kept as responses come and go.
func TestResponseAnswersAreChecked(t *testing.T) {
	f := newImportFixture(t, "answer-references")
	ctx := context.Background()
	f.assign(t, "c1")
	record := func(id, at string, answers map[string]float64) {
		t.Helper()
		if _, err := f.svc.RecordResponses(ctx, f.e.Key, []experiment.Response{{ResponseID: id, CustomerID: "c1",
			AnsweredAt: mustTime(t, at), Answers: answers}}, false); err != nil {
			t.Fatal(err)
		}
	}
	record("r1", "2026-03-01T08:00:00Z", map[string]float64{"trust": 5, "nps": 9})
	db := pgtest.Store(t).DB()
	insert := `WITH ks AS (INSERT INTO answer_key_sets (id, outcome_keys) VALUES (answer_key_set_id($4::text[]), $4::text[])
		                       ON CONFLICT (id) DO NOTHING)
		INSERT INTO responses (experiment_id, response_id, customer_id, arm_key, answered_at, content_hash, key_set, answer_values)
		SELECT experiment_id, $2, customer_id, $3, answered_at, content_hash, answer_key_set_id($4::text[]), $5::float8[] FROM responses WHERE experiment_id = $1 LIMIT 1`
	var other string
	if err := db.GetContext(ctx, &other, `SELECT key FROM arms WHERE experiment_id = $1 AND key <> (SELECT arm_key FROM responses WHERE experiment_id = $1)`, f.e.ID); err != nil {
		t.Fatal(err)
	}
	var arm string
	if err := db.GetContext(ctx, &arm, `SELECT arm_key FROM responses WHERE experiment_id = $1`, f.e.ID); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ name, arm, keys, values, want string }{
		{"other arm", other, "{trust}", "{1}", "assigned to another arm"},
		{"unknown outcome", arm, "{happiness_index}", "{1}", "outcome happiness_index"},
		{"outcome twice", arm, "{trust,trust}", "{1,2}", "answer_key_sets_keys_check"},
		{"missing value", arm, "{trust,nps}", "{1}", "one finite value per outcome key"},
		{"not a number", arm, "{trust}", "{NaN}", "responses_values_check"},
		{"infinite", arm, "{trust}", "{-Infinity}", "responses_values_check"},
		{"no key", arm, "{trust,NULL}", "{1,2}", "answer_key_sets_keys_check"},
		{"no value", arm, "{trust,nps}", "{1,NULL}", "responses_values_check"},
	} {
		_, err := db.ExecContext(ctx, insert, f.e.ID, "x-"+c.name, c.arm, c.keys, c.values)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want one naming %q", c.name, err, c.want)
		}
	}
	if _, err := db.ExecContext(ctx, `INSERT INTO responses (experiment_id, response_id, customer_id, arm_key, answered_at, content_hash, key_set, answer_values)
		SELECT experiment_id, 'x-nobody', 'nobody', arm_key, answered_at, content_hash, key_set, answer_values FROM responses WHERE experiment_id = $1`, f.e.ID); err == nil ||
		!strings.Contains(err.Error(), "customer nobody is not assigned") {
		t.Errorf("response of an unassigned customer: err = %v", err)
	}
	if _, err := db.ExecContext(ctx, `INSERT INTO responses (experiment_id, response_id, customer_id, arm_key, answered_at, content_hash, key_set, answer_values)
		SELECT experiment_id, 'x-no-key-set', customer_id, arm_key, answered_at, content_hash, -1, answer_values FROM responses WHERE experiment_id = $1`, f.e.ID); err == nil ||
		!strings.Contains(err.Error(), "key set -1 does not exist") {
		t.Errorf("response of a key set that does not exist: err = %v", err)
	}
	// No setting turns the checks off (the setting krslab.checked once did, migration 00019).
	for _, setting := range []string{"on", "outcomes"} {
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tx.ExecContext(ctx, `SET LOCAL krslab.checked = `+setting); err != nil {
			t.Fatal(err)
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO responses (experiment_id, response_id, customer_id, arm_key, answered_at, content_hash, key_set, answer_values)
			SELECT experiment_id, 'x-nobody', 'nobody', arm_key, answered_at, content_hash, key_set, answer_values FROM responses WHERE experiment_id = $1`, f.e.ID)
		tx.Rollback()
		if err == nil || !strings.Contains(err.Error(), "customer nobody is not assigned") {
			t.Errorf("krslab.checked = %s: err = %v, want the customer named", setting, err)
		}
	}
	// An update is checked as an insert is.
	for _, c := range []struct{ set, want string }{
		{"arm_key = '" + other + "'", "assigned to another arm"},
		{"customer_id = 'nobody'", "customer nobody is not assigned"},
		{"answer_values = '{NaN,1}'", "responses_values_check"},
		{"key_set = -1", "key set -1 does not exist"},
	} {
		if _, err := db.ExecContext(ctx, `UPDATE responses SET `+c.set+` WHERE experiment_id = $1`, f.e.ID); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("SET %s: err = %v, want one naming %q", c.set, err, c.want)
		}
	}
	if _, err := db.ExecContext(ctx, `UPDATE responses SET received_at = received_at + interval '1 second' WHERE experiment_id = $1`, f.e.ID); err != nil {
		t.Errorf("an update of no checked column: %v", err)
	}
	// The assignment of a customer with responses stays as it is.
	for _, q := range []string{
		`UPDATE assignments SET arm_key = '` + other + `' WHERE experiment_id = $1`,
		`UPDATE assignments SET customer_id = 'c2' WHERE experiment_id = $1`,
		`DELETE FROM assignments WHERE experiment_id = $1`,
	} {
		if _, err := db.ExecContext(ctx, q, f.e.ID); err == nil || !strings.Contains(err.Error(), "customer c1 of experiment") {
			t.Errorf("%s: err = %v, want a refusal naming customer c1", q, err)
		}
	}
	// A component of the experiment's freedom_of_choice composite is answerable although the
	// experiment does not list it.
	if _, err := db.ExecContext(ctx, insert, f.e.ID, "r-component", arm, "{choice_channels}", "{3}"); err != nil {
		t.Errorf("component answer refused: %v", err)
	}

	latest := func() map[string]string {
		t.Helper()
		var rows []struct {
			Outcome  string  `db:"outcome_key"`
			Response string  `db:"response_id"`
			Value    float64 `db:"value"`
		}
		if err := db.SelectContext(ctx, &rows, `SELECT outcome_key, response_id, value FROM answers
			WHERE experiment_id = $1 AND latest ORDER BY outcome_key`, f.e.ID); err != nil {
			t.Fatal(err)
		}
		out := map[string]string{}
		for _, r := range rows {
			out[r.Outcome] = fmt.Sprintf("%s=%g", r.Response, r.Value)
		}
		return out
	}
	check := func(step string, want map[string]string) {
		t.Helper()
		if got := latest(); !maps.Equal(got, want) {
			t.Errorf("%s: latest answers %v, want %v", step, got, want)
		}
	}
	check("one response", map[string]string{"trust": "r1=5", "nps": "r1=9", "choice_channels": "r-component=3"})
	// A later answer supersedes trust only; an earlier one that arrives later supersedes
	// nothing; the same answered_at is broken by arrival.
	record("r2", "2026-03-02T08:00:00Z", map[string]float64{"trust": 3})
	record("r0", "2026-02-28T08:00:00Z", map[string]float64{"trust": 1, "nps": 1})
	record("r3", "2026-03-02T08:00:00Z", map[string]float64{"trust": 4})
	check("later and earlier", map[string]string{"trust": "r3=4", "nps": "r1=9", "choice_channels": "r-component=3"})
	if _, err := db.ExecContext(ctx, `DELETE FROM responses WHERE experiment_id = $1 AND response_id IN ('r3', 'r1')`, f.e.ID); err != nil {
		t.Fatal(err)
	}
	check("after deleting r3 and r1", map[string]string{"trust": "r2=3", "nps": "r0=1", "choice_channels": "r-component=3"})
	if _, err := db.ExecContext(ctx, `DELETE FROM responses WHERE experiment_id = $1`, f.e.ID); err != nil {
		t.Fatal(err)
	}
	if n := f.count(t, `SELECT count(*) FROM answers WHERE experiment_id = $1`); n != 0 {
		t.Errorf("%d answers outlived their response", n)
	}
}

// TestConcurrentResponsesOfOneCustomer stores two responses of each customer from two
// writers at once: each must see the other's, so that exactly the later answer counts.
func TestConcurrentResponsesOfOneCustomer(t *testing.T) {
	f := newImportFixture(t, "concurrent-latest")
	ctx := context.Background()
	ids := make([]string, 40)
	for i := range ids {
		ids[i] = fmt.Sprintf("cc%d", i)
	}
	f.assign(t, ids...)
	base := mustTime(t, "2026-03-01T08:00:00Z")
	var wg sync.WaitGroup
	for _, id := range ids {
		for j := range 2 {
			wg.Go(func() {
				_, err := f.svc.RecordResponses(ctx, f.e.Key, []experiment.Response{{ResponseID: fmt.Sprintf("%s-%d", id, j), CustomerID: id,
					AnsweredAt: base.Add(time.Duration(j) * time.Hour), Answers: map[string]float64{"trust": float64(1 + j)}}}, false)
				if err != nil {
					t.Error(err)
				}
			})
		}
	}
	wg.Wait()
	if n := f.count(t, `SELECT count(*) FROM latest_answers WHERE experiment_id = $1 AND value = 2`); n != int64(len(ids)) {
		t.Errorf("%d customers have the later answer as their latest, want %d", n, len(ids))
	}
	if n := f.count(t, `SELECT count(*) FROM latest_answers WHERE experiment_id = $1`); n != int64(len(ids)) {
		t.Errorf("%d latest answers, want one per customer: %d", n, len(ids))
	}
	if n := f.count(t, `SELECT count(*) FROM (SELECT customer_id FROM responses WHERE experiment_id = $1
		GROUP BY customer_id HAVING bool_and(first_response)) c`); n != 0 {
		t.Errorf("%d customers with two responses have no repeat", n)
	}
}

// responseInFlight writes a response of customer (answered at, trust = value) in a
// transaction it leaves open, as a writer that has not committed yet.
func responseInFlight(t *testing.T, f importFixture, id, customer, at string, value float64) *sqlx.Tx {
	t.Helper()
	tx, err := pgtest.Store(t).DB().BeginTxx(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tx.Rollback() })
	if _, err := pgtest.Store(t).DB().Exec(`INSERT INTO answer_key_sets VALUES (answer_key_set_id('{trust}'), '{trust}') ON CONFLICT DO NOTHING`); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(`INSERT INTO responses (experiment_id, response_id, customer_id, arm_key, answered_at, content_hash, key_set, answer_values)
		SELECT experiment_id, $3::text, customer_id, arm_key, $4::timestamptz, sha256($3::text::bytea),
		       answer_key_set_id('{trust}'), ARRAY[$5::float8]
		FROM assignments WHERE experiment_id = $1 AND customer_id = $2`, f.e.ID, customer, id, at, value); err != nil {
		t.Fatal(err)
	}
	return tx
}

// waitsFor runs fn, checks that it is still waiting while tx is open, commits tx and
// returns fn's error. (A machine too slow to end fn in the pause passes without proving it.)
func waitsFor(t *testing.T, what string, tx *sqlx.Tx, fn func() error) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- fn() }()
	select {
	case err := <-done:
		t.Fatalf("%s ended (%v) while another transaction of its experiment was in flight", what, err)
	case <-time.After(300 * time.Millisecond):
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	return <-done
}

// TestImportWaitsForResponsesInFlight: a bulk import of an experiment waits for a writer of
// its responses that has not committed yet, and then counts that writer's response.
func TestImportWaitsForResponsesInFlight(t *testing.T) {
	f := newImportFixture(t, "import-waits")
	ctx := context.Background()
	f.assign(t, "w1", "w2")
	tx := responseInFlight(t, f, "in-flight", "w1", "2026-03-02T08:00:00Z", 7)
	err := waitsFor(t, "the import", tx, func() error {
		_, err := f.im.ImportResponses(ctx, f.e.Key, text(responsesHeader+"f1,w1,2026-03-01T08:00:00Z,2,,,\nf2,w2,2026-03-01T08:00:00Z,3,,,\n"), experiment.ImportOptions{})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	var latest []string
	if err := pgtest.Store(t).DB().SelectContext(ctx, &latest, `SELECT response_id || '=' || value FROM answers
		WHERE experiment_id = $1 AND outcome_key = 'trust' AND latest ORDER BY customer_id`, f.e.ID); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(latest, []string{"in-flight=7", "f2=3"}) {
		t.Errorf("latest trust answers %v, want [in-flight=7 f2=3]", latest)
	}
}

// TestErasureWaitsForResponsesInFlight: erasing a customer waits for a response of it that
// is being written, and erases that one too.
func TestErasureWaitsForResponsesInFlight(t *testing.T) {
	f := newImportFixture(t, "erasure-waits")
	f.assign(t, "e1")
	tx := responseInFlight(t, f, "in-flight", "e1", "2026-03-02T08:00:00Z", 7)
	if err := waitsFor(t, "the erasure", tx, func() error {
		_, err := f.svc.EraseCustomer(context.Background(), "e1")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if n := f.count(t, `SELECT count(*) FROM responses WHERE experiment_id = $1`); n != 0 {
		t.Errorf("%d responses outlived the erasure of their customer", n)
	}
}

// TestResponsesWaitForAnErasureInFlight: a response of a customer whose erasure is being
// committed waits for it, and is then refused: the customer is no longer assigned.
func TestResponsesWaitForAnErasureInFlight(t *testing.T) {
	f := newImportFixture(t, "responses-wait")
	ctx := context.Background()
	f.assign(t, "e2")
	tx, err := pgtest.Store(t).DB().BeginTxx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	// What EraseCustomer does, up to its commit.
	if _, err := tx.Exec(`SELECT pg_advisory_xact_lock(7541, ($1::bigint & 2147483647)::int)`, f.e.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(`UPDATE assignments SET customer_id = 'erased-e2' WHERE experiment_id = $1 AND customer_id = 'e2'`, f.e.ID); err != nil {
		t.Fatal(err)
	}
	err = waitsFor(t, "the response", tx, func() error {
		_, err := f.svc.RecordResponses(ctx, f.e.Key, []experiment.Response{{ResponseID: "late", CustomerID: "e2",
			AnsweredAt: mustTime(t, "2026-03-01T08:00:00Z"), Answers: map[string]float64{"trust": 5}}}, false)
		return err
	})
	if err == nil || !strings.Contains(err.Error(), "not assigned") {
		t.Errorf("response of an erased customer: err = %v, want a refusal: not assigned", err)
	}
	if n := f.count(t, `SELECT count(*) FROM responses WHERE experiment_id = $1`); n != 0 {
		t.Errorf("%d responses of an erased customer stored", n)
	}
}

// Concurrent batches that assign some of the same new customers, in opposite orders (two
// API instances, or two groups), wait for each other in one order and never deadlock.
func TestConcurrentAssignmentBatchesDoNotDeadlock(t *testing.T) {
	f := newImportFixture(t, "concurrent-batches")
	ctx := context.Background()
	for round := range 10 {
		ids := make([]string, 50)
		for i := range ids {
			ids[i] = fmt.Sprintf("b%d-%02d", round, i)
		}
		reversed := slices.Clone(ids)
		slices.Reverse(reversed)
		var wg sync.WaitGroup
		got := make([][]experiment.Assignment, 2)
		for k, batch := range [][]string{ids, reversed} {
			wg.Go(func() {
				a, err := f.svc.AssignBatch(ctx, f.e.Key, batch)
				if err != nil {
					t.Errorf("round %d: %v", round, err)
				}
				got[k] = a
			})
		}
		wg.Wait()
		if t.Failed() {
			return
		}
		for i, a := range got[0] {
			if b := got[1][len(ids)-1-i]; a.CustomerID != b.CustomerID || a.Arm != b.Arm {
				t.Fatalf("round %d: %+v and %+v", round, a, b)
			}
		}
	}
}
