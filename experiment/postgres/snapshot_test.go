package postgres_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"math"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/krslab/krslab/experiment"
	"github.com/krslab/krslab/experiment/postgres"
	"github.com/krslab/krslab/experiment/postgres/pgtest"
	"github.com/krslab/krslab/stats"
)

// snapshotFixture is a running experiment with some responses on the KRS components, seen
// by two instances (services over stores of their own, one database), each counting the
// analyses it computes.
type snapshotFixture struct {
	importFixture
	a, b     *experiment.Service
	analyses [2]*atomic.Int64
	store    *postgres.Store
}

func newSnapshotFixture(t *testing.T, key string) snapshotFixture {
	t.Helper()
	f := snapshotFixture{importFixture: newImportFixture(t, key), store: pgtest.Store(t)}
	other, err := postgres.Open(context.Background(), pgtest.URL(t), postgres.Options{MaxOpenConns: 4})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { other.Close() })
	f.a, f.b = f.svc, experiment.NewService(other)
	for i, svc := range []*experiment.Service{f.a, f.b} {
		n := new(atomic.Int64)
		f.analyses[i] = n
		svc.ObserveAnalyses(func(string) { n.Add(1) })
	}
	var ids []string
	for i := range 40 {
		ids = append(ids, fmt.Sprintf("%s-c%02d", key, i))
	}
	f.assign(t, ids...)
	var rs []experiment.Response
	for i, id := range ids {
		rs = append(rs, experiment.Response{ResponseID: "first-" + id, CustomerID: id, AnsweredAt: time.Now().Add(-time.Hour),
			Answers: map[string]float64{"satisfaction": float64(1 + i%7), "trust": float64(1 + (i*3)%7), "love": float64(1 + (i*5)%7)}})
	}
	if _, err := f.a.RecordResponses(context.Background(), key, rs, true); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f snapshotFixture) version(t *testing.T) experiment.DataVersion {
	t.Helper()
	v, err := f.store.DataVersion(context.Background(), f.e.Key)
	if err != nil {
		t.Fatal(err)
	}
	if v.Running {
		if v.Assigned, err = f.store.AssignedPerArm(context.Background(), f.e.Key); err != nil {
			t.Fatal(err)
		}
	}
	return v
}

func (f snapshotFixture) results(t *testing.T, svc *experiment.Service) experiment.Results {
	t.Helper()
	res, err := svc.Results(context.Background(), f.e.Key)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// looks is the most looks recorded at any comparison: one per analysis computed.
func (f snapshotFixture) looks(t *testing.T) int64 {
	return f.count(t, `SELECT coalesce(max(looks), 0) FROM sequential_looks WHERE experiment_id = $1`)
}

// total is the sum of an outcome's counting answers over the arms.
func total(res experiment.Results, outcome string) (sum float64) {
	for _, o := range res.Outcomes {
		if o.Outcome.Key == outcome {
			for _, a := range o.Arms {
				sum += a.Mean * float64(a.N)
			}
		}
	}
	return sum
}

func responded(res experiment.Results) (n int64) {
	for _, c := range res.Arms {
		n += c.Responded
	}
	return n
}

func assigned(res experiment.Results) (n int64) {
	for _, c := range res.Arms {
		n += c.Assigned
	}
	return n
}

// TestEveryWriteMovesTheDataVersion goes through every writer of what an analysis reads:
// each moves the version it should, in its own transaction; assignments move none and are
// counted instead.
func TestEveryWriteMovesTheDataVersion(t *testing.T) {
	f := newSnapshotFixture(t, "versions")
	ctx := context.Background()
	customer := func(i int) string { return fmt.Sprintf("versions-c%02d", i) }
	at := time.Now().Add(-time.Minute).UTC().Truncate(time.Second)
	response := func(id string, i int) experiment.Response {
		return experiment.Response{ResponseID: id, CustomerID: customer(i), AnsweredAt: at, Answers: map[string]float64{"trust": 6}}
	}
	type moved int
	const (
		data moved = iota
		attributes
		design
		assignments
	)
	for _, tc := range []struct {
		name  string
		write func() error
		moves moved
	}{
		{"a single response", func() error {
			_, err := f.b.RecordResponses(ctx, f.e.Key, []experiment.Response{response("single", 1)}, false)
			return err
		}, data},
		{"a batch of repeat responses", func() error {
			_, err := f.b.RecordResponses(ctx, f.e.Key, []experiment.Response{response("batch-1", 2), response("batch-2", 3)}, true)
			return err
		}, data},
		{"an import copied straight", func() error {
			_, err := f.im.ImportResponses(ctx, f.e.Key, text(responsesHeader+"imp-1,versions-c04,2026-03-01T10:00:00Z,5,,,\n"), experiment.ImportOptions{})
			return err
		}, data},
		{"an import through staging", func() error {
			_, err := f.im.ImportResponses(ctx, f.e.Key, text(responsesHeader+
				"imp-2,versions-c05,2026-03-01T10:00:00Z,5,,,\nimp-3,ghost,2026-03-01T10:00:00Z,5,,,\n"), experiment.ImportOptions{SkipBad: true})
			return err
		}, data},
		{"covariates", func() error {
			return f.b.RecordCovariates(ctx, f.e.Key, []experiment.Covariate{{CustomerID: customer(6), Outcome: "trust", Value: 4}})
		}, data},
		{"a covariate import", func() error {
			_, err := f.im.ImportCovariates(ctx, f.e.Key, text("customer_id,outcome,value\nversions-c07,trust,3\n"), experiment.ImportOptions{})
			return err
		}, data},
		{"an erasure", func() error {
			_, err := f.b.EraseCustomer(ctx, customer(8))
			return err
		}, data},
		{"an ad-hoc SQL delete", func() error {
			_, err := f.store.DB().ExecContext(ctx, `DELETE FROM responses WHERE experiment_id = $1 AND response_id = 'single'`, f.e.ID)
			return err
		}, data},
		{"customer attributes", func() error {
			return f.b.RecordAttributes(ctx, []experiment.CustomerAttributes{{CustomerID: customer(9), Attributes: map[string]string{"channel": "phone"}}})
		}, attributes},
		{"a change of the experiment", func() error {
			name := "Renamed"
			_, err := f.b.PatchExperiment(ctx, f.e.Key, experiment.Patch{Name: &name}, experiment.AnyVersion)
			return err
		}, design},
		{"an assignment", func() error {
			_, err := f.b.Assign(ctx, f.e.Key, "versions-new", nil)
			return err
		}, assignments},
		{"an assignment import", func() error {
			_, err := f.im.ImportAssignments(ctx, f.e.Key, text("customer_id\nversions-imported\n"), experiment.ImportOptions{})
			return err
		}, assignments},
	} {
		before := f.version(t)
		if err := tc.write(); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		after := f.version(t)
		changed := map[moved]bool{
			data:        after.Data > before.Data,
			attributes:  after.Attributes > before.Attributes,
			design:      after.Experiment > before.Experiment,
			assignments: fmt.Sprint(after.Assigned) != fmt.Sprint(before.Assigned),
		}
		for m, c := range changed {
			if c != (m == tc.moves) {
				t.Errorf("%s: versions %+v -> %+v", tc.name, before, after)
				break
			}
		}
	}
	// Statements that write nothing move nothing.
	before := f.version(t)
	if _, err := f.b.RecordResponses(ctx, f.e.Key, []experiment.Response{response("batch-1", 2)}, false); err != nil {
		t.Fatal(err)
	}
	if _, err := f.store.DB().ExecContext(ctx, `DELETE FROM covariates WHERE experiment_id = $1 AND customer_id = 'nobody'`, f.e.ID); err != nil {
		t.Fatal(err)
	}
	if after := f.version(t); after.Data != before.Data {
		t.Errorf("a replay and an empty delete moved the version: %d -> %d", before.Data, after.Data)
	}
}

// TestResultsServedWhileTheDataHolds: an unchanged experiment is not analysed again, and
// a look is recorded once per analysis, not per request.
func TestResultsServedWhileTheDataHolds(t *testing.T) {
	f := newSnapshotFixture(t, "snapshot-served")
	first := f.results(t, f.a)
	for range 3 {
		again := f.results(t, f.a)
		if !again.ComputedAt.Equal(first.ComputedAt) {
			t.Errorf("served an analysis computed at %v, want the one of %v", again.ComputedAt, first.ComputedAt)
		}
	}
	if n := f.analyses[0].Load(); n != 1 {
		t.Errorf("%d analyses for 4 requests on unchanged data, want 1", n)
	}
	if n := f.looks(t); n != 1 {
		t.Errorf("%d looks recorded, want 1", n)
	}
	if _, err := f.a.RecordResponses(context.Background(), f.e.Key, []experiment.Response{{ResponseID: "later", CustomerID: "snapshot-served-c00",
		AnsweredAt: time.Now(), Answers: map[string]float64{"trust": 7}}}, false); err != nil {
		t.Fatal(err)
	}
	f.results(t, f.a)
	f.results(t, f.a)
	if n := f.analyses[0].Load(); n != 2 {
		t.Errorf("%d analyses after a write, want 2", n)
	}
	if n := f.looks(t); n != 2 {
		t.Errorf("%d looks recorded after a write, want 2", n)
	}
}

// TestConcurrentRequestsShareOneAnalysis: requests that arrive together on unchanged data
// wait for one analysis.
func TestConcurrentRequestsShareOneAnalysis(t *testing.T) {
	f := newSnapshotFixture(t, "snapshot-shared")
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := f.a.Results(context.Background(), f.e.Key); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if n := f.analyses[0].Load(); n != 1 {
		t.Errorf("%d analyses for 8 concurrent requests, want 1", n)
	}
}

// TestSnapshotsAreNeverStaleAcrossInstances: a write on instance B is in the very next
// /results of instance A, which had kept an analysis from before it.
func TestSnapshotsAreNeverStaleAcrossInstances(t *testing.T) {
	f := newSnapshotFixture(t, "snapshot-stale")
	ctx := context.Background()
	for i, tc := range []struct {
		name  string
		write func(i int) error
		shows func(before, after experiment.Results) bool
	}{
		{"a response", func(i int) error {
			_, err := f.b.RecordResponses(ctx, f.e.Key, []experiment.Response{{ResponseID: fmt.Sprintf("b-%d", i),
				CustomerID: "snapshot-stale-new", AnsweredAt: time.Now(), Answers: map[string]float64{"trust": 7}}}, false)
			return err
		}, func(before, after experiment.Results) bool { return responded(after) == responded(before)+1 }},
		{"a repeat response", func(i int) error {
			_, err := f.b.RecordResponses(ctx, f.e.Key, []experiment.Response{{ResponseID: fmt.Sprintf("b-%d", i),
				CustomerID: "snapshot-stale-c01", AnsweredAt: time.Now(), Answers: map[string]float64{"satisfaction": 7, "trust": 7, "love": 7}}}, false)
			return err
		}, func(before, after experiment.Results) bool {
			// The customer's satisfaction went from 2 to 7.
			return math.Abs(total(after, "satisfaction")-total(before, "satisfaction")-5) < 1e-9
		}},
		{"an assignment", func(i int) error {
			_, err := f.b.AssignBatch(ctx, f.e.Key, []string{fmt.Sprintf("snapshot-stale-a%d", i)})
			return err
		}, func(before, after experiment.Results) bool { return assigned(after) == assigned(before)+1 }},
		{"an erasure", func(int) error {
			_, err := f.b.EraseCustomer(ctx, "snapshot-stale-c02")
			return err
		}, func(before, after experiment.Results) bool { return responded(after) == responded(before)-1 }},
		{"a rename", func(i int) error {
			name := fmt.Sprintf("Renamed %d", i)
			_, err := f.b.PatchExperiment(ctx, f.e.Key, experiment.Patch{Name: &name}, experiment.AnyVersion)
			return err
		}, func(before, after experiment.Results) bool { return after.Experiment.Name != before.Experiment.Name }},
	} {
		// The new customer is assigned on B first (not part of the write measured).
		if _, err := f.b.Assign(ctx, f.e.Key, "snapshot-stale-new", nil); err != nil {
			t.Fatal(err)
		}
		before := f.results(t, f.a)
		f.results(t, f.a) // kept
		if err := tc.write(i); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if after := f.results(t, f.a); !tc.shows(before, after) {
			t.Errorf("%s on B: A served %+v, kept from before (%+v)", tc.name, after.Arms, before.Arms)
		}
	}
}

// TestTimelineGoesWithItsResults: the timeline of an analysis is computed once per data
// version, from the experiment the analysis read.
func TestTimelineGoesWithItsResults(t *testing.T) {
	f := newSnapshotFixture(t, "snapshot-timeline")
	ctx := context.Background()
	res := f.results(t, f.a)
	first, err := f.a.TimelineOf(ctx, res)
	if err != nil || len(first) == 0 {
		t.Fatalf("%d points, %v", len(first), err)
	}
	again, err := f.a.TimelineOf(ctx, f.results(t, f.a))
	if err != nil || &again[0] != &first[0] {
		t.Errorf("the timeline was computed again on unchanged data (%v)", err)
	}
	if n := f.analyses[0].Load(); n != 1 {
		t.Errorf("%d analyses, want 1", n)
	}
	if _, err := f.b.RecordResponses(ctx, f.e.Key, []experiment.Response{{ResponseID: "tl", CustomerID: "snapshot-timeline-c03",
		AnsweredAt: time.Now(), Answers: map[string]float64{"satisfaction": 7, "trust": 7, "love": 7}}}, false); err != nil {
		t.Fatal(err)
	}
	fresh, err := f.a.TimelineOf(ctx, f.results(t, f.a))
	if err != nil || &fresh[0] == &first[0] {
		t.Errorf("the timeline of changed data was served from before the change (%v)", err)
	}
}

// TestSegmentsFollowTheAttributes: a segmented analysis is kept until an attribute (or
// the experiment's data) changes.
func TestSegmentsFollowTheAttributes(t *testing.T) {
	f := newSnapshotFixture(t, "snapshot-segments")
	ctx := context.Background()
	var cs []experiment.CustomerAttributes
	for i := range 40 {
		cs = append(cs, experiment.CustomerAttributes{CustomerID: fmt.Sprintf("snapshot-segments-c%02d", i),
			Attributes: map[string]string{"channel": []string{"phone", "mail"}[i%2]}})
	}
	if err := f.a.RecordAttributes(ctx, cs); err != nil {
		t.Fatal(err)
	}
	cells := func() []experiment.SegmentCell {
		t.Helper()
		res, err := f.a.SegmentResults(ctx, f.e.Key, "channel")
		if err != nil {
			t.Fatal(err)
		}
		return res.Cells
	}
	first := cells()
	if again := cells(); &again[0] != &first[0] {
		t.Error("the segmented analysis was computed again on unchanged data")
	}
	if err := f.b.RecordAttributes(ctx, []experiment.CustomerAttributes{{CustomerID: "snapshot-segments-c00",
		Attributes: map[string]string{"channel": "chat"}}}); err != nil {
		t.Fatal(err)
	}
	if after := cells(); len(after) != len(first)+1 {
		t.Errorf("%d cells after a new channel on B, want %d", len(after), len(first)+1)
	}
}

// TestOverviewReadsTheHeadlines: one query lists the experiments with the headline of their
// latest analysis, whether it is still current, and their open alerts; by status and by a
// part of the name.
func TestOverviewReadsTheHeadlines(t *testing.T) {
	f := newSnapshotFixture(t, "overview-analysed")
	ctx := context.Background()
	target := 30
	if _, err := f.a.CreateExperiment(ctx, experiment.Experiment{Key: "overview-draft", Name: "Birthday Zebra Message",
		TargetResponsesPerArm: &target, Arms: []experiment.Arm{{Key: "control", Weight: 1, Control: true}, {Key: "card", Name: "Card", Weight: 1}}}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.a.SetAlertRules(ctx, f.e.Key, experiment.AlertRules{Rules: []experiment.AlertRule{{Outcome: "trust", Op: "<=", Value: 2}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.a.RecordResponses(ctx, f.e.Key, []experiment.Response{{ResponseID: "unhappy", CustomerID: "overview-analysed-c05",
		AnsweredAt: time.Now(), Answers: map[string]float64{"trust": 1}}}, false); err != nil {
		t.Fatal(err)
	}
	res := f.results(t, f.a)

	find := func(list []experiment.Headline, key string) *experiment.Headline {
		for i := range list {
			if list[i].Key == key {
				return &list[i]
			}
		}
		return nil
	}
	all, err := f.b.Overview(ctx, "", "")
	if err != nil {
		t.Fatal(err)
	}
	got, draft := find(all, f.e.Key), find(all, "overview-draft")
	if got == nil || draft == nil {
		t.Fatalf("overview %+v lacks an experiment", all)
	}
	if draft.Analysis != nil || draft.Status != experiment.Draft || draft.StartedAt != nil || *draft.TargetResponsesPerArm != 30 ||
		len(draft.Arms) != 2 || draft.Arms[1] != (experiment.HeadlineArm{Key: "card", Name: "Card"}) {
		t.Errorf("draft %+v", *draft)
	}
	a := got.Analysis
	if a == nil || !a.Current || a.ComputedAt.Sub(res.ComputedAt).Abs() > time.Microsecond ||
		a.Action != res.Recommendation.Action || a.SRMMismatch != res.SRM.Mismatch ||
		a.DifferentialResponse != res.ResponseCheck.Differential || got.StartedAt == nil || got.OpenAlerts != 1 {
		t.Fatalf("analysed %+v (analysis %+v), results at %v recommend %+v", *got, a, res.ComputedAt, res.Recommendation)
	}
	var primary map[string]stats.ArmStats
	for _, o := range res.Outcomes {
		if o.Primary {
			primary = o.Arms
		}
	}
	if a.Responses["control"] != primary["control"].N || a.Responses["call"] != primary["call"].N ||
		a.MinResponses != min(primary["control"].N, primary["call"].N) || a.MinResponses == 0 {
		t.Errorf("responses %v (min %d), primary per arm control %d, call %d", a.Responses, a.MinResponses, primary["control"].N, primary["call"].N)
	}

	// A write on any instance: the headline is no longer current until analysed again.
	if err := f.b.RecordCovariates(ctx, f.e.Key, []experiment.Covariate{{CustomerID: "overview-analysed-c01", Outcome: "trust", Value: 3}}); err != nil {
		t.Fatal(err)
	}
	list, err := f.a.Overview(ctx, experiment.Running, "")
	if err != nil {
		t.Fatal(err)
	}
	if h := find(list, f.e.Key); h == nil || h.Analysis == nil || h.Analysis.Current || find(list, "overview-draft") != nil {
		t.Errorf("running after a write: %+v", list)
	}
	f.results(t, f.b)
	list, _ = f.a.Overview(ctx, experiment.Running, "")
	if h := find(list, f.e.Key); h == nil || !h.Analysis.Current {
		t.Errorf("after analysing again on B: %+v", h)
	}

	for search, want := range map[string]string{"BIRTHDAY": "overview-draft", "day zebra mess": "overview-draft", "overview-dr": "overview-draft", "no such name": ""} {
		list, err := f.a.Overview(ctx, "", search)
		if err != nil {
			t.Fatal(err)
		}
		var keys []string
		for _, h := range list {
			keys = append(keys, h.Key)
		}
		if fmt.Sprint(keys) != fmt.Sprint([]string{want}) && !(want == "" && len(keys) == 0) {
			t.Errorf("search %q: %v, want %q", search, keys, want)
		}
	}
	if _, err := f.a.Overview(ctx, "paused", ""); experiment.ErrorCode(err) != experiment.Invalid {
		t.Errorf("status paused: %v, want invalid", err)
	}
}

// TestTheListLeavesAnUnanalysableExperimentAlone: the background pass that keeps the list's
// headlines current tries an experiment whose analysis fails (here an answer of 1e200,
// stored before the rule that refuses it, whose square is no float8) once per version of
// its data: the next passes leave it alone, and log nothing more, until it is written to or
// RetryFailedAnalysisAfter has gone by. A timeout would otherwise hold a connection for the
// whole statement timeout on every pass.
func TestTheListLeavesAnUnanalysableExperimentAlone(t *testing.T) {
	f := newSnapshotFixture(t, "refresh-fails")
	ctx := context.Background()
	var mine atomic.Int64
	f.a.ObserveAnalyses(func(key string) {
		if key == f.e.Key {
			mine.Add(1)
		}
	})
	var logged bytes.Buffer // the pass logs from the caller's goroutine
	log := slog.New(slog.NewTextHandler(&logged, nil))
	failures := func() int { return strings.Count(logged.String(), "experiment="+f.e.Key) }
	now := time.Now().UTC()
	f.a.Now = func() time.Time { return now }
	pass := func(what string, analyses int64, logs int) {
		t.Helper()
		mine.Store(0)
		if _, err := f.a.RefreshHeadlines(ctx, log); err != nil {
			t.Fatal(err)
		}
		if got := mine.Load(); got != analyses || failures() != logs {
			t.Errorf("%s: analysed %d times, logged %d failures; want %d and %d\n%s", what, got, failures(), analyses, logs, logged.String())
		}
	}
	if _, err := f.store.DB().Exec(`UPDATE responses SET answer_values = array_fill(1e200::float8, ARRAY[cardinality(answer_values)])
		WHERE response_id = 'first-refresh-fails-c03'`); err != nil {
		t.Fatal(err)
	}
	if _, err := f.a.Results(ctx, f.e.Key); experiment.ErrorCode(err) != experiment.Conflict {
		t.Fatalf("results with 1e200 stored: %v, want a conflict", err)
	}
	mine.Store(0)
	pass("first pass", 1, 1)
	pass("second pass, nothing changed", 0, 1)
	now = now.Add(experiment.RetryFailedAnalysisAfter - time.Minute)
	pass("a pass within the hour", 0, 1)

	// A write (another instance's) has it tried again, and its failure is news.
	if err := f.b.RecordCovariates(ctx, f.e.Key, []experiment.Covariate{{CustomerID: "refresh-fails-c01", Outcome: "trust", Value: 3}}); err != nil {
		t.Fatal(err)
	}
	pass("after a write", 1, 2)
	pass("after a write, again", 0, 2)
	// After the hour it is tried again, without a second line in the log.
	now = now.Add(experiment.RetryFailedAnalysisAfter)
	pass("after the hour", 1, 2)

	// Repaired, it is analysed and its headline is current; the next pass has nothing to do.
	if _, err := f.store.DB().Exec(`UPDATE responses SET answer_values = array_fill(4::float8, ARRAY[cardinality(answer_values)])
		WHERE response_id = 'first-refresh-fails-c03'`); err != nil {
		t.Fatal(err)
	}
	pass("repaired", 1, 2)
	pass("repaired, again", 0, 2)
	list, err := f.b.Overview(ctx, "", "refresh-fails")
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0].Analysis == nil || !list[0].Analysis.Current || list[0].DataVersion == 0 || list[0].ExperimentVersion == 0 {
		t.Errorf("the list after the repair: %+v", list)
	}
}

// TestErasureWaitsForACovariateWriterWithoutDeadlock: a writer holds a covariate row of a
// customer being erased and then moves the experiment's data version (the statement's
// trigger). The erasure waits for the covariate row before it takes any version row, so
// the writer commits and the erasure follows; were the order the other way round, the
// database would end one of them as a deadlock.
func TestErasureWaitsForACovariateWriterWithoutDeadlock(t *testing.T) {
	f := newSnapshotFixture(t, "erase-order")
	ctx := context.Background()
	const who = "erase-order-c03"
	if err := f.a.RecordCovariates(ctx, f.e.Key, []experiment.Covariate{{CustomerID: who, Outcome: "trust", Value: 3}}); err != nil {
		t.Fatal(err)
	}
	tx, err := f.store.DB().BeginTxx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `SELECT 1 FROM covariates WHERE experiment_id = $1 AND customer_id = $2 FOR UPDATE`, f.e.ID, who); err != nil {
		t.Fatal(err)
	}
	erased := make(chan error, 1)
	go func() {
		_, err := f.b.EraseCustomer(ctx, who)
		erased <- err
	}()
	waitForLock(t, f.store, f.e.ID)
	if _, err := tx.ExecContext(ctx, `UPDATE covariates SET value = 4 WHERE experiment_id = $1 AND customer_id = $2`, f.e.ID, who); err != nil {
		t.Fatalf("the covariate writer: %v", err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := <-erased; err != nil {
		t.Fatalf("the erasure: %v", err)
	}
	if n := f.count(t, `SELECT count(*) FROM covariates WHERE experiment_id = $1 AND customer_id = 'erase-order-c03'`); n != 0 {
		t.Errorf("%d covariates of the erased customer left", n)
	}
}

// TestDataWritersNeverDeadlock runs the writers that move data versions at once over two
// experiments: response batches in opposite experiment orders, covariates of customers
// being erased, the erasures themselves (each customer in both experiments, with
// covariates in both) and attributes. None fails; a deadlock would fail one of them.
func TestDataWritersNeverDeadlock(t *testing.T) {
	ctx := context.Background()
	fs := []snapshotFixture{newSnapshotFixture(t, "deadlock-one"), newSnapshotFixture(t, "deadlock-two")}
	const n = 12
	id := func(i int) string { return fmt.Sprintf("deadlock-shared-%02d", i) }
	var shared []string
	for i := range n {
		shared = append(shared, id(i))
	}
	for _, f := range fs {
		f.assign(t, shared...)
	}
	at := time.Now().Add(-time.Minute)
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := w; i < n; i += 4 {
				order := []snapshotFixture{fs[0], fs[1]}
				if i%2 == 1 {
					order[0], order[1] = order[1], order[0]
				}
				for _, f := range order {
					rs := []experiment.Response{{ResponseID: fmt.Sprintf("dl-%d", i), CustomerID: id(i), AnsweredAt: at,
						Answers: map[string]float64{"trust": 4}}, {ResponseID: fmt.Sprintf("dl-%d-next", i), CustomerID: id((i + 1) % n),
						AnsweredAt: at, Answers: map[string]float64{"trust": 5}}}
					if _, err := f.b.RecordResponses(ctx, f.e.Key, rs, true); err != nil && experiment.ErrorCode(err) != experiment.Invalid {
						t.Errorf("responses: %v", err)
					}
					if err := f.a.RecordCovariates(ctx, f.e.Key, []experiment.Covariate{{CustomerID: id((i + 2) % n), Outcome: "trust", Value: 3}}); err != nil {
						t.Errorf("covariates: %v", err)
					}
				}
				if err := fs[0].a.RecordAttributes(ctx, []experiment.CustomerAttributes{{CustomerID: id((i + 3) % n),
					Attributes: map[string]string{"channel": "mail"}}}); err != nil {
					t.Errorf("attributes: %v", err)
				}
				if _, err := fs[w%2].b.EraseCustomer(ctx, id(i)); err != nil {
					t.Errorf("erasure: %v", err)
				}
			}
		})
	}
	wg.Wait()
}

// countingStore counts the reads of the assignments per arm.
type countingStore struct {
	*postgres.Store
	counts atomic.Int64
}

func (s *countingStore) AssignedPerArm(ctx context.Context, key string) (map[string]int64, error) {
	s.counts.Add(1)
	return s.Store.AssignedPerArm(ctx, key)
}

// TestColdReadsCountNoAssignments: the customers assigned per arm are counted only to check
// an analysis kept at the versions of the data as they stand; after a write none is, and
// the analysis counts them itself.
func TestColdReadsCountNoAssignments(t *testing.T) {
	f := newSnapshotFixture(t, "snapshot-counts")
	ctx := context.Background()
	cs := &countingStore{Store: f.store}
	svc := experiment.NewService(cs)
	read := func(want int64, what string) experiment.Results {
		t.Helper()
		before := cs.counts.Load()
		res, err := svc.Results(ctx, f.e.Key)
		if err != nil {
			t.Fatal(err)
		}
		if n := cs.counts.Load() - before; n != want {
			t.Errorf("%s: counted the assignments %d times, want %d", what, n, want)
		}
		return res
	}
	first := read(0, "the first read")
	if again := read(1, "a read of unchanged data"); !again.ComputedAt.Equal(first.ComputedAt) {
		t.Errorf("unchanged data analysed again")
	}
	if _, err := svc.RecordResponses(ctx, f.e.Key, []experiment.Response{{ResponseID: "counts-later", CustomerID: "snapshot-counts-c00",
		AnsweredAt: time.Now(), Answers: map[string]float64{"trust": 7}}}, false); err != nil {
		t.Fatal(err)
	}
	read(0, "the read after a response")
	if _, err := svc.Assign(ctx, f.e.Key, "snapshot-counts-new", nil); err != nil {
		t.Fatal(err)
	}
	// An assignment moves no version: the count tells, and the analysis is made again.
	if after := read(1, "the read after an assignment"); assigned(after) != assigned(first)+1 {
		t.Errorf("assigned %d after an assignment, want %d", assigned(after), assigned(first)+1)
	}
	read(1, "the next read")
}
