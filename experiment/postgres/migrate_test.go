package postgres_test

import (
	"context"
	"database/sql"
	"testing"

	"github.com/lib/pq"
	"github.com/pressly/goose/v3"

	"github.com/krslab/krslab/experiment/postgres"
	"github.com/krslab/krslab/experiment/postgres/pgtest"
	"github.com/krslab/krslab/migrations"
)

// migratedTo is a fresh database (its name starting with prefix) migrated up to version,
// with the provider that takes it further.
func migratedTo(t *testing.T, prefix string, version int64) (*sql.DB, *goose.Provider) {
	t.Helper()
	db, _ := emptyDatabase(t, prefix)
	p, err := goose.NewProvider(goose.DialectPostgres, db, migrations.FS, goose.WithLogger(goose.NopLogger()))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.UpTo(context.Background(), version); err != nil {
		t.Fatal(err)
	}
	return db, p
}

// Migration 00012 moves the keys of every response into shared key sets: the answers read
// the same before and after, and each distinct list of keys becomes one key set.
func TestAnswerKeySetsMigrationKeepsTheAnswers(t *testing.T) {
	ctx := context.Background()
	db, p := migratedTo(t, "krslab_migrate", 11)
	for _, q := range []string{
		`INSERT INTO experiments (key, name, status, primary_outcome, salt, started_at) VALUES ('m', 'm', 'running', 'krs', 's', now())`,
		`INSERT INTO arms (experiment_id, key, position, weight, control) SELECT id, 'control', 0, 1, true FROM experiments`,
		`INSERT INTO arms (experiment_id, key, position, weight, control) SELECT id, 'call', 1, 1, false FROM experiments`,
		`INSERT INTO experiment_outcomes (experiment_id, outcome_key, position) SELECT id, 'krs', 0 FROM experiments`,
		`INSERT INTO experiment_outcomes (experiment_id, outcome_key, position) SELECT id, 'nps', 1 FROM experiments`,
		`INSERT INTO assignments (experiment_id, customer_id, arm_key) SELECT id, c, 'control' FROM experiments, unnest('{c1,c2,c3}'::text[]) c`,
		`INSERT INTO responses (experiment_id, response_id, customer_id, arm_key, answered_at, content_hash, outcome_keys, answer_values)
		 SELECT e.id, r.id, r.c, 'control', r.at::timestamptz, sha256(r.id::bytea), r.k::text[], r.v::float8[]
		 FROM experiments e, (VALUES ('r1', 'c1', '2026-03-01T10:00:00Z', '{love,nps,satisfaction,trust}', '{5,9,6,7}'),
		                             ('r2', 'c1', '2026-03-02T10:00:00Z', '{trust}', '{2}'),
		                             ('r3', 'c2', '2026-03-01T10:00:00Z', '{love,nps,satisfaction,trust}', '{1,0,2,3}'),
		                             ('r4', 'c3', '2026-03-01T10:00:00Z', '{nps}', '{10}')) AS r(id, c, at, k, v)`,
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	answers := func() string {
		t.Helper()
		var s string
		if err := db.QueryRowContext(ctx, `SELECT string_agg(format('%s/%s/%s=%s latest=%s', response_id, customer_id, outcome_key, value, latest), ' '
			ORDER BY response_id, outcome_key) FROM answers`).Scan(&s); err != nil {
			t.Fatal(err)
		}
		return s
	}
	before := answers()
	if _, err := p.UpTo(ctx, 12); err != nil {
		t.Fatal(err)
	}
	if after := answers(); after != before {
		t.Errorf("answers after the migration:\n%s\nbefore:\n%s", after, before)
	}
	var sets int
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM answer_key_sets`).Scan(&sets); err != nil || sets != 3 {
		t.Errorf("%d key sets, want 3 (%v)", sets, err)
	}
}

// The store and the database derive the same id from a key set (the database checks it on
// every key set it stores).
func TestAnswerKeySetIDsAgree(t *testing.T) {
	db := pgtest.Store(t).DB()
	for _, keys := range [][]string{{}, {"trust"}, {"ces", "choice_channels", "love", "nps", "satisfaction", "trust"}, {"a_1", "z9"}} {
		var id int64
		if err := db.Get(&id, `SELECT answer_key_set_id($1)`, pq.StringArray(keys)); err != nil {
			t.Fatal(err)
		}
		if want := postgres.AnswerKeySetID(keys); id != want {
			t.Errorf("%v: the database says %d, the store %d", keys, id, want)
		}
	}
}

// Migration 00021 marks which rows of experiment_outcomes are listed in outcomes: the rows
// that were not guardrails, and each guardrail before the last row known to be listed (one
// that was no guardrail, or the primary outcome, which the validation has always required
// among the outcomes); a guardrail after it stays a guardrail only. Each guardrail keeps
// its place among the guardrails as it was read. The rows are what the store wrote before
// for outcomes [krs trust nps love] and guardrails [nps ces krs].
func TestOutcomeListsMigrationKeepsWhatWasRead(t *testing.T) {
	ctx := context.Background()
	db, p := migratedTo(t, "krslab_migrate_lists", 20)
	for _, q := range []string{
		`INSERT INTO experiments (key, name, status, primary_outcome, salt) VALUES ('m', 'm', 'draft', 'krs', 's')`,
		`INSERT INTO experiment_outcomes (experiment_id, outcome_key, position, guardrail, margin)
		 SELECT id, k, p, g, m FROM experiments, (VALUES ('krs', 0, true, NULL::float8), ('trust', 1, false, NULL),
		                                                 ('nps', 2, true, NULL), ('love', 3, false, NULL), ('ces', 5, true, 5.0)) AS o(k, p, g, m)`,
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	if _, err := p.UpTo(ctx, 21); err != nil {
		t.Fatal(err)
	}
	var got string
	if err := db.QueryRowContext(ctx, `SELECT string_agg(format('%s listed=%s guardrail=%s at %s', outcome_key, listed, guardrail,
		coalesce(guardrail_position::text, '-')), ', ' ORDER BY position) FROM experiment_outcomes`).Scan(&got); err != nil {
		t.Fatal(err)
	}
	if want := "krs listed=t guardrail=t at 0, trust listed=t guardrail=f at -, nps listed=t guardrail=t at 2, " +
		"love listed=t guardrail=f at -, ces listed=f guardrail=t at 5"; got != want {
		t.Errorf("after the migration: %s\nwant %s", got, want)
	}
}
