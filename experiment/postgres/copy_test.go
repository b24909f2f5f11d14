package postgres_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/krslab/krslab/experiment"
	"github.com/krslab/krslab/experiment/postgres"
	"github.com/krslab/krslab/experiment/postgres/pgtest"
)

// importFixture is a running experiment over the default outcomes, for import tests.
type importFixture struct {
	svc *experiment.Service
	im  *experiment.Importer
	e   experiment.Experiment
}

func newImportFixture(t *testing.T, key string) importFixture {
	t.Helper()
	s := pgtest.Store(t)
	svc := experiment.NewService(s)
	ctx := context.Background()
	e, err := svc.CreateExperiment(ctx, experiment.Experiment{Key: key, Arms: []experiment.Arm{
		{Key: "control", Weight: 1, Control: true}, {Key: "call", Weight: 2}}})
	if err != nil {
		t.Fatal(err)
	}
	if e, err = svc.Start(ctx, key); err != nil {
		t.Fatal(err)
	}
	return importFixture{svc: svc, im: experiment.NewImporter(svc, s), e: e}
}

func text(s string) experiment.ImportSource {
	return func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(s)), nil }
}

func (f importFixture) count(t *testing.T, query string) int64 {
	t.Helper()
	var n int64
	if err := pgtest.Store(t).DB().Get(&n, query, f.e.ID); err != nil {
		t.Fatal(err)
	}
	return n
}

func (f importFixture) assign(t *testing.T, ids ...string) {
	t.Helper()
	if _, err := f.svc.AssignBatch(context.Background(), f.e.Key, ids); err != nil {
		t.Fatal(err)
	}
}

const responsesHeader = "response_id,customer_id,answered_at,trust,satisfaction,love,nps\n"

func TestImportResponsesStoresAndKeepsTheLatestAnswerRule(t *testing.T) {
	staged := postgres.CountStagedImports(t.Cleanup)
	f := newImportFixture(t, "import-good")
	ctx := context.Background()
	f.assign(t, "c1", "c2", "c3")
	// c1 answers trust three times: 11:00 wins over 10:00, and of the two at 11:00 the
	// later line (arrival) wins: 4. c2's answer before the file is older than the file's.
	if _, err := f.svc.RecordResponses(ctx, f.e.Key, []experiment.Response{{ResponseID: "api-1", CustomerID: "c2",
		AnsweredAt: mustTime(t, "2026-03-01T08:00:00Z"), Answers: map[string]float64{"trust": 1}}}, false); err != nil {
		t.Fatal(err)
	}
	file := responsesHeader +
		"r1,c1,2026-03-01T10:00:00Z,1,5,5,9\n" +
		"r2,c1,2026-03-01T11:00:00Z,7,,,\n" +
		"r3,c1,2026-03-01T11:00:00Z,4,,,\n" +
		"r4,c2,2026-03-01T09:00:00Z,6,6,6,10\n" +
		"r5,c3,2026-03-01T09:30:00+01:00,1,7,7,0\n"
	res, err := f.im.ImportResponses(ctx, f.e.Key, text(file), experiment.ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Lines != 5 || res.Stored != 5 || res.Answers != 4+1+1+4+4 || res.Replayed != 0 || res.Rejected != 0 || *staged != 0 {
		t.Fatalf("result %+v (staged %d times)", res, *staged)
	}
	if n := f.count(t, `SELECT count(*) FROM answers WHERE experiment_id = $1`); n != 14+1 { // and the API's
		t.Errorf("%d answers stored, want 15", n)
	}
	// The answers carry the arm of the assignment.
	if n := f.count(t, `SELECT count(*) FROM answers w JOIN assignments a USING (experiment_id, customer_id)
		WHERE w.experiment_id = $1 AND w.arm_key <> a.arm_key`); n != 0 {
		t.Errorf("%d answers with another arm than the assignment", n)
	}
	results, err := f.svc.Results(ctx, f.e.Key)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]float64{"c1": 4, "c2": 6, "c3": 1}
	arms := map[string]string{}
	for c := range want {
		a, err := f.svc.Assignment(ctx, f.e.Key, c)
		if err != nil {
			t.Fatal(err)
		}
		arms[c] = a.Arm
	}
	for _, o := range results.Outcomes {
		if o.Outcome.Key != "trust" {
			continue
		}
		sum, n := map[string]float64{}, map[string]int64{}
		for c, v := range want {
			sum[arms[c]] += v
			n[arms[c]]++
		}
		for arm, st := range o.Arms {
			if st.N != n[arm] || n[arm] > 0 && st.Mean != sum[arm]/float64(n[arm]) {
				t.Errorf("trust in arm %s: n=%d mean=%g, want n=%d mean=%g", arm, st.N, st.Mean, n[arm], sum[arm]/float64(max(1, n[arm])))
			}
		}
	}
	audit, err := f.svc.Audit(ctx, f.e.Key, 10)
	if err != nil {
		t.Fatal(err)
	}
	if audit[0].Action != "responses.import" || !strings.Contains(string(audit[0].Diff.(json.RawMessage)), `"answers": 14`) {
		t.Errorf("audit %+v %s", audit[0], audit[0].Diff)
	}
}

func TestImportResponsesOneBadLineStoresNothing(t *testing.T) {
	f := newImportFixture(t, "import-bad")
	var b strings.Builder
	b.WriteString(responsesHeader)
	ids := make([]string, 100)
	for i := range ids {
		ids[i] = fmt.Sprintf("c%03d", i)
		v := "5"
		if i == 56 {
			v = "8" // out of range 1..7: file line 58
		}
		fmt.Fprintf(&b, "r%03d,%s,2026-03-01T10:00:00Z,%s,4,4,9\n", i, ids[i], v)
	}
	f.assign(t, ids...)
	_, err := f.im.ImportResponses(context.Background(), f.e.Key, text(b.String()), experiment.ImportOptions{})
	e, ok := err.(*experiment.Error)
	if !ok || e.Code != experiment.Invalid || len(e.Details) != 1 || e.Details[0].Row != 58 ||
		!strings.Contains(e.Details[0].Message, "answers.trust: 8 is out of range 1..7") || !strings.Contains(e.Message, "1 bad line") {
		t.Fatalf("err = %#v", err)
	}
	if n := f.count(t, `SELECT count(*) FROM responses WHERE experiment_id = $1`); n != 0 {
		t.Errorf("%d responses stored", n)
	}
	if n := f.count(t, `SELECT count(*) FROM audit_log WHERE experiment_id = $1 AND action = 'responses.import'`); n != 0 {
		t.Errorf("audit entry of a failed import")
	}
}

func TestImportResponsesRefusesWhatTheAPIRefuses(t *testing.T) {
	f := newImportFixture(t, "import-rules")
	ctx := context.Background()
	f.assign(t, "c1", "c2")
	if _, err := f.svc.RecordResponses(ctx, f.e.Key, []experiment.Response{{ResponseID: "old", CustomerID: "c1",
		AnsweredAt: mustTime(t, "2026-03-01T08:00:00Z"), Answers: map[string]float64{"trust": 3}}}, false); err != nil {
		t.Fatal(err)
	}
	file := responsesHeader +
		"ok,c1,2026-03-01T10:00:00Z,5,,,\n" + // 2
		"ghost1,ghost,2026-03-01T10:00:00Z,5,,,\n" + // 3: unassigned
		"ok,c2,2026-03-01T10:00:00Z,5,,,\n" + // 4: duplicates line 2
		"old,c1,2026-03-01T08:00:00Z,4,,,\n" + // 5: stored with other content
		"x,c1,yesterday,5,,,\n" + // 6
		"y,c1,2099-01-01T00:00:00Z,5,,,\n" + // 7: future
		"z,c1,2026-03-01T10:00:00Z,,,,\n" + // 8: no answers
		"w,c1,2026-03-01T10:00:00Z,5,,\n" + // 9: a column short
		",c1,2026-03-01T10:00:00Z,2.5,,,\n" // 10: no id, not an integer
	_, err := f.im.ImportResponses(ctx, f.e.Key, text(file), experiment.ImportOptions{})
	e, ok := err.(*experiment.Error)
	if !ok {
		t.Fatalf("err = %v", err)
	}
	want := map[int]string{3: "not assigned", 4: "duplicates line 2", 5: "recorded before with other content",
		6: "RFC 3339", 7: "future", 8: "at least one answer", 9: "columns", 10: "response_id: is required"}
	got := map[int]string{}
	for _, d := range e.Details {
		got[d.Row] = d.Message
	}
	for line, msg := range want {
		if !strings.Contains(got[line], msg) {
			t.Errorf("line %d: %q, want %q", line, got[line], msg)
		}
	}
	if len(got) != len(want) || !strings.Contains(e.Message, "8 bad lines") {
		t.Errorf("bad lines %v, message %q", got, e.Message)
	}
	if got[10] != "response_id: is required; answers.trust: must be an integer from 1 to 7" {
		t.Errorf("line 10: %q", got[10])
	}
}

func TestImportResponsesSkipBadWritesRejects(t *testing.T) {
	f := newImportFixture(t, "import-skip")
	f.assign(t, "c1", "c2")
	file := responsesHeader +
		"r1,c1,2026-03-01T10:00:00Z,5,,,\n" +
		"r2,ghost,2026-03-01T10:00:00Z,5,,,\n" +
		"\"r3\nsecond line\",c2,2026-03-01T10:00:00Z,9,,,\n" + // lines 4-5, quoted newline
		"r4,c2,2026-03-01T10:00:00Z,6,,,\n"
	var rejects bytes.Buffer
	res, err := f.im.ImportResponses(context.Background(), f.e.Key, text(file), experiment.ImportOptions{SkipBad: true, Rejects: &rejects})
	if err != nil {
		t.Fatal(err)
	}
	if res.Stored != 2 || res.Answers != 2 || res.Rejected != 2 || res.Lines != 4 {
		t.Errorf("result %+v", res)
	}
	recs, err := csv.NewReader(&rejects).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 3 || strings.Join(recs[0], ",") != "response_id,customer_id,answered_at,trust,satisfaction,love,nps,reason" ||
		recs[1][0] != "r2" || !strings.Contains(recs[1][7], "not assigned") ||
		recs[2][0] != "r3\nsecond line" || !strings.Contains(recs[2][7], "out of range") {
		t.Errorf("rejects %q", recs)
	}
}

func TestImportResponsesReplays(t *testing.T) {
	f := newImportFixture(t, "import-replay")
	ctx := context.Background()
	f.assign(t, "c1", "c2")
	file := responsesHeader + "r1,c1,2026-03-01T10:00:00.123456789+02:00,5,3,,\nr2,c2,2026-03-01T10:00:00Z,5,,,10\n"
	if _, err := f.im.ImportResponses(ctx, f.e.Key, text(file), experiment.ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	// The same content again, partly through the API, is a replay; r3 is new.
	replayed, err := f.svc.RecordResponses(ctx, f.e.Key, []experiment.Response{{ResponseID: "r2", CustomerID: "c2",
		AnsweredAt: mustTime(t, "2026-03-01T10:00:00Z"), Answers: map[string]float64{"trust": 5, "nps": 10}}}, false)
	if err != nil || !replayed[0] {
		t.Fatalf("API replay of an imported response: %v %v", replayed, err)
	}
	res, err := f.im.ImportResponses(ctx, f.e.Key, text(file+"r3,c2,2026-03-02T10:00:00Z,1,,,\n"), experiment.ImportOptions{})
	if err != nil || res.Replayed != 2 || res.Stored != 1 || res.Answers != 1 {
		t.Fatalf("replay: %+v %v", res, err)
	}
	// Other content under a stored response_id is refused, and nothing else is stored.
	_, err = f.im.ImportResponses(ctx, f.e.Key, text(responsesHeader+"r4,c1,2026-03-03T10:00:00Z,1,,,\nr1,c1,2026-03-01T10:00:00Z,5,3,,\n"), experiment.ImportOptions{})
	if e, ok := err.(*experiment.Error); !ok || len(e.Details) != 1 || e.Details[0].Row != 3 || !strings.Contains(e.Details[0].Message, "other content") {
		t.Fatalf("conflict: %v", err)
	}
	if n := f.count(t, `SELECT count(*) FROM responses WHERE experiment_id = $1`); n != 3 {
		t.Errorf("%d responses stored, want 3", n)
	}
}

func TestImportResponsesNeedsAnExperimentThatTakesResponses(t *testing.T) {
	s := pgtest.Store(t)
	svc := experiment.NewService(s)
	ctx := context.Background()
	if _, err := svc.CreateExperiment(ctx, experiment.Experiment{Key: "import-draft", Arms: []experiment.Arm{
		{Key: "control", Weight: 1, Control: true}, {Key: "b", Weight: 1}}}); err != nil {
		t.Fatal(err)
	}
	im := experiment.NewImporter(svc, s)
	if _, err := im.ImportResponses(ctx, "import-draft", text(responsesHeader), experiment.ImportOptions{}); experiment.ErrorCode(err) != experiment.Conflict {
		t.Errorf("draft experiment: %v", err)
	}
	if _, err := im.ImportAssignments(ctx, "import-draft", text("customer_id\nc1\n"), experiment.ImportOptions{}); experiment.ErrorCode(err) != experiment.Conflict {
		t.Errorf("draft experiment: %v", err)
	}
	if _, err := im.ImportResponses(ctx, "nope", text(responsesHeader), experiment.ImportOptions{}); experiment.ErrorCode(err) != experiment.NotFound {
		t.Errorf("unknown experiment: %v", err)
	}
}

func TestImportAssignmentsFollowTheHashRuleAndAreIdempotent(t *testing.T) {
	f := newImportFixture(t, "import-assign")
	ctx := context.Background()
	f.assign(t, "c0003") // assigned before the file
	if _, err := f.svc.EraseCustomer(ctx, "c0003"); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	b.WriteString("customer_id,assigned_at\n")
	for i := range 500 {
		fmt.Fprintf(&b, "c%04d,\n", i)
	}
	b.WriteString("c0001,2026-01-01T00:00:00Z\n") // listed twice: the first line counts
	b.WriteString(",\n")                          // bad
	file := b.String()
	if _, err := f.im.ImportAssignments(ctx, f.e.Key, text(file), experiment.ImportOptions{}); experiment.ErrorCode(err) != experiment.Invalid ||
		!strings.Contains(err.Error(), "row 503: customer_id: is required") {
		t.Fatalf("bad line: %v", err)
	}
	res, err := f.im.ImportAssignments(ctx, f.e.Key, text(file), experiment.ImportOptions{SkipBad: true})
	// The erased customer comes back as a new customer: nothing links it to its anonymous row.
	if err != nil || res.Stored != 500 || res.Replayed != 1 || res.Rejected != 1 {
		t.Fatalf("%+v %v", res, err)
	}
	for i := range 500 {
		id := fmt.Sprintf("c%04d", i)
		a, err := f.svc.Assignment(ctx, f.e.Key, id)
		if err != nil || a.Arm != experiment.AssignArm(f.e.Salt, id, f.e.Arms) {
			t.Fatalf("%s: %+v %v", id, a, err)
		}
	}
	if n := f.count(t, `SELECT count(*) FROM assignments WHERE experiment_id = $1`); n != 501 {
		t.Errorf("%d assignments, want 501 (500 customers and the erased one's anonymous row)", n)
	}
	res, err = f.im.ImportAssignments(ctx, f.e.Key, text(file), experiment.ImportOptions{SkipBad: true})
	if err != nil || res.Stored != 0 || res.Replayed != 501 {
		t.Fatalf("second import: %+v %v", res, err)
	}
}

func TestImportCovariates(t *testing.T) {
	f := newImportFixture(t, "import-cov")
	ctx := context.Background()
	file := "customer_id,outcome,value\nc1,trust,4.5\nc2,trust,3\nc1,nps,3\nc1,trust,2\nc3,happiness,1\n"
	_, err := f.im.ImportCovariates(ctx, f.e.Key, text(file), experiment.ImportOptions{})
	e, ok := err.(*experiment.Error)
	if !ok || len(e.Details) != 3 || e.Details[0].Row != 4 || e.Details[1].Row != 5 || e.Details[2].Row != 6 ||
		!strings.Contains(e.Details[0].Message, "not net") || !strings.Contains(e.Details[1].Message, "duplicates line 2") {
		t.Fatalf("err = %#v", err)
	}
	res, err := f.im.ImportCovariates(ctx, f.e.Key, text(file), experiment.ImportOptions{SkipBad: true})
	if err != nil || res.Stored != 2 || res.Rejected != 3 {
		t.Fatalf("%+v %v", res, err)
	}
	// A later import replaces a value.
	if _, err := f.im.ImportCovariates(ctx, f.e.Key, text("customer_id,outcome,value\nc1,trust,6\n"), experiment.ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	if n := f.count(t, `SELECT sum(value)::bigint FROM covariates WHERE experiment_id = $1`); n != 9 {
		t.Errorf("sum of covariates %d, want 9", n)
	}
}

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	ts, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatal(err)
	}
	return ts
}

// The latest-answer rule of a file copied straight into an experiment without responses,
// whose repeated customers the import finds itself: from its candidates, or, past their
// limit, among all the experiment's responses.
func TestImportResponsesCopiedStraightKeepTheLatestAnswerRule(t *testing.T) {
	for _, chunk := range []int{10_000, 1, 3} {
		t.Run(fmt.Sprintf("chunk=%d", chunk), func(t *testing.T) {
			postgres.LimitCopyChunk(chunk, t.Cleanup)
			staged := postgres.CountStagedImports(t.Cleanup)
			f := newImportFixture(t, fmt.Sprintf("import-direct-%d", chunk))
			f.assign(t, "c1", "c2", "c3", "c4", "c5")
			// The first file goes into an experiment without responses, the second into one
			// with them.
			first := responsesHeader +
				"r1,c1,2026-03-01T10:00:00Z,1,5,5,9\n" +
				"r2,c2,2026-03-01T10:00:00Z,2,,,\n" +
				"r3,c1,2026-03-01T11:00:00Z,7,,,\n" +
				"r4,c3,2026-03-01T10:00:00Z,3,,,\n" +
				"r5,c1,2026-03-01T11:00:00Z,4,,,\n" + // ties r3 on answered_at, arrives later: wins
				"r6,c2,2026-03-01T09:00:00Z,6,6,,\n" + // older than r2: r2's trust counts, r6's satisfaction
				"r7,c4,2026-03-01T10:00:00Z,5,,,\n"
			second := responsesHeader +
				"r8,c4,2026-03-02T10:00:00Z,7,,,\n" + // later than r7
				"r9,c3,2026-02-28T10:00:00Z,1,2,,\n" + // earlier than r4: r4's trust counts, r9's satisfaction
				"r10,c5,2026-03-01T10:00:00Z,6,,,\n" +
				"r11,c5,2026-03-03T10:00:00Z,,,,3\n" // a customer new to the experiment, twice in the file
			for _, step := range []struct {
				file            string
				stored, answers int64
				latest          string
				several         int64
			}{
				{first, 7, 11, "c1:love=5 c1:nps=9 c1:satisfaction=5 c1:trust=4 c2:satisfaction=6 c2:trust=2 c3:trust=3 c4:trust=5", 5},
				{second, 4, 5, "c1:love=5 c1:nps=9 c1:satisfaction=5 c1:trust=4 c2:satisfaction=6 c2:trust=2 " +
					"c3:satisfaction=2 c3:trust=3 c4:trust=7 c5:nps=3 c5:trust=6", 11},
			} {
				res, err := f.im.ImportResponses(context.Background(), f.e.Key, text(step.file), experiment.ImportOptions{})
				if err != nil {
					t.Fatal(err)
				}
				if res.Stored != step.stored || res.Answers != step.answers || *staged != 0 {
					t.Fatalf("result %+v, staged %d times", res, *staged)
				}
				var got []string
				if err := pgtest.Store(t).DB().Select(&got, `SELECT format('%s:%s=%s', customer_id, outcome_key, value)
					FROM latest_answers WHERE experiment_id = $1 ORDER BY 1`, f.e.ID); err != nil {
					t.Fatal(err)
				}
				if strings.Join(got, " ") != step.latest {
					t.Errorf("latest answers %v, want %s", got, step.latest)
				}
				if n := f.count(t, `SELECT count(*) FROM responses WHERE experiment_id = $1
					AND customer_id IN (SELECT customer_id FROM responses WHERE experiment_id = $1 AND NOT first_response)`); n != step.several {
					t.Errorf("%d responses of customers with several, want %d", n, step.several)
				}
				checkLatestAnswerFlags(t, f.e.ID)
			}
		})
	}
}

// checkLatestAnswerFlags checks what the readers rely on (migration 00019): no customer with
// several responses has only first responses (each has a repeat, so that its answers are
// ranked), and the answers that count (the view latest_answers) are those of the rule of
// DOMAIN.md computed from scratch: per customer and outcome, the latest answer by
// answered_at, then by arrival.
func checkLatestAnswerFlags(t *testing.T, experimentID int64) {
	t.Helper()
	var wrong []string
	if err := pgtest.Store(t).DB().Select(&wrong, `
		SELECT format('customer %s: %s responses, all written as first responses', customer_id, count(*))
		FROM responses WHERE experiment_id = $1
		GROUP BY customer_id HAVING count(*) > 1 AND bool_and(first_response)
		UNION ALL
		(WITH a AS (
			SELECT r.customer_id, k.key, k.value,
			       row_number() OVER (PARTITION BY r.customer_id, k.key ORDER BY r.answered_at DESC, r.seq DESC) AS rank
			FROM responses r JOIN answer_key_sets ks ON ks.id = r.key_set
			CROSS JOIN LATERAL unnest(ks.outcome_keys, r.answer_values) AS k(key, value)
			WHERE r.experiment_id = $1
		),
		want AS (SELECT customer_id, key AS outcome_key, value FROM a WHERE rank = 1),
		got AS (SELECT customer_id, outcome_key, value FROM latest_answers WHERE experiment_id = $1)
		SELECT format('%s/%s: latest %s, want %s', coalesce(g.customer_id, w.customer_id), coalesce(g.outcome_key, w.outcome_key), g.value, w.value)
		FROM got g FULL JOIN want w ON w.customer_id = g.customer_id AND w.outcome_key = g.outcome_key
		WHERE g.value IS DISTINCT FROM w.value)
		ORDER BY 1`, experimentID); err != nil {
		t.Fatal(err)
	}
	if len(wrong) > 0 {
		t.Errorf("latest answers differ from the rule:\n%s", strings.Join(wrong, "\n"))
	}
}

// A file without bad lines goes to staging, which names the line, when the database refuses
// a copied line: a customer without an assignment, or with another arm than the hash rule's
// (which a frozen experiment never has, but the database has the last word).
func TestImportResponsesCopiedStraightFallBackToStaging(t *testing.T) {
	staged := postgres.CountStagedImports(t.Cleanup)
	f := newImportFixture(t, "import-fallback")
	ctx := context.Background()
	f.assign(t, "c1", "c2")
	_, err := f.im.ImportResponses(ctx, f.e.Key, text(responsesHeader+"r1,c1,2026-03-01T10:00:00Z,5,,,\nr2,ghost,2026-03-01T10:00:00Z,5,,,\n"), experiment.ImportOptions{})
	if e, ok := err.(*experiment.Error); !ok || len(e.Details) != 1 || e.Details[0].Row != 3 || !strings.Contains(e.Details[0].Message, "not assigned") || *staged != 1 {
		t.Fatalf("unassigned customer: %v (staged %d times)", err, *staged)
	}
	db := pgtest.Store(t).DB()
	if _, err := db.Exec(`UPDATE assignments SET arm_key = CASE arm_key WHEN 'control' THEN 'call' ELSE 'control' END
		WHERE experiment_id = $1 AND customer_id = 'c2'`, f.e.ID); err != nil {
		t.Fatal(err)
	}
	res, err := f.im.ImportResponses(ctx, f.e.Key, text(responsesHeader+"r1,c1,2026-03-01T10:00:00Z,5,,,\nr2,c2,2026-03-01T10:00:00Z,5,,,\n"), experiment.ImportOptions{})
	if err != nil || res.Stored != 2 || *staged != 2 {
		t.Fatalf("arm of the assignment: %+v %v (staged %d times)", res, err, *staged)
	}
	if n := f.count(t, `SELECT count(*) FROM responses r JOIN assignments a USING (experiment_id, customer_id)
		WHERE r.experiment_id = $1 AND r.arm_key = a.arm_key`); n != 2 {
		t.Errorf("%d responses with the arm of their assignment, want 2", n)
	}
}

// Ids with the characters COPY's text format and array literals escape are stored as they
// are, on both paths.
func TestImportResponsesKeepIdsExactly(t *testing.T) {
	for _, bad := range []bool{false, true} {
		t.Run(fmt.Sprintf("staged=%v", bad), func(t *testing.T) {
			f := newImportFixture(t, fmt.Sprintf("import-ids-%v", bad))
			ids := []string{`c\1`, `c"2`, `c{3},`, `c\N`, `klant é ✓`, `\.`}
			f.assign(t, ids...)
			var b strings.Builder
			w := csv.NewWriter(&b)
			_ = w.Write(strings.Split(strings.TrimSpace(responsesHeader), ","))
			for i, id := range ids {
				_ = w.Write([]string{"r" + id, id, fmt.Sprintf("2026-03-01T10:00:0%dZ", i), "5", "", "", ""})
			}
			if bad {
				_ = w.Write([]string{"bad", ids[0], "2026-03-01T10:00:00Z", "99", "", "", ""})
			}
			w.Flush()
			res, err := f.im.ImportResponses(context.Background(), f.e.Key, text(b.String()), experiment.ImportOptions{SkipBad: bad})
			if err != nil || res.Stored != int64(len(ids)) {
				t.Fatalf("%+v %v", res, err)
			}
			var got []string
			if err := pgtest.Store(t).DB().Select(&got, `SELECT customer_id || '|' || response_id FROM responses WHERE experiment_id = $1 ORDER BY seq`, f.e.ID); err != nil {
				t.Fatal(err)
			}
			for i, id := range ids {
				if got[i] != id+"|r"+id {
					t.Errorf("stored %q, want %q", got[i], id+"|r"+id)
				}
			}
		})
	}
}

// An import whose connection is lost in the middle of its COPY (a server restart, a
// terminated backend) fails as the database's unavailability, promptly, and stores nothing.
func TestImportResponsesLosingTheConnectionFails(t *testing.T) {
	// Chunks of a few hundred lines: the file is cut after some were copied.
	postgres.LimitCopyChunk(300, t.Cleanup)
	f := newImportFixture(t, "import-lost")
	db := pgtest.Store(t).DB()
	var b strings.Builder
	b.WriteString(responsesHeader)
	ids := make([]string, 5000)
	for i := range ids {
		ids[i] = fmt.Sprintf("c%05d", i)
		fmt.Fprintf(&b, "r%05d,%s,2026-03-01T10:00:00Z,5,4,4,9\n", i, ids[i])
	}
	f.assign(t, ids...)
	file := b.String()
	src := func() (io.ReadCloser, error) {
		// Halfway through the file, the backend running the import is terminated.
		return io.NopCloser(&cutReader{r: strings.NewReader(file), at: len(file) / 2, cut: func() {
			if _, err := db.Exec(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity
				WHERE datname = current_database() AND xact_start IS NOT NULL AND pid <> pg_backend_pid()`); err != nil {
				t.Error(err)
			}
		}}), nil
	}
	done := make(chan error, 1)
	go func() {
		_, err := f.im.ImportResponses(context.Background(), f.e.Key, src, experiment.ImportOptions{})
		done <- err
	}()
	select {
	case err := <-done:
		if experiment.ErrorCode(err) != experiment.Unavailable {
			t.Errorf("err = %v, want the database unavailable", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the import still runs 30 s after its connection was lost")
	}
	if n := f.count(t, `SELECT count(*) FROM responses WHERE experiment_id = $1`); n != 0 {
		t.Errorf("%d responses stored", n)
	}
}

// cutReader calls cut once, when the reading passes byte at.
type cutReader struct {
	r   io.Reader
	at  int
	n   int
	cut func()
}

func (c *cutReader) Read(p []byte) (int, error) {
	if c.cut != nil && c.n+len(p) > c.at {
		c.cut()
		c.cut = nil
		time.Sleep(100 * time.Millisecond) // for the backend to go
	}
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}
