package postgres_test

import (
	"context"
	"fmt"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/krslab/krslab/experiment"
	"github.com/krslab/krslab/experiment/postgres"
	"github.com/krslab/krslab/experiment/postgres/pgtest"
	"github.com/krslab/krslab/stats"
)

// segmentFixture is a running experiment whose customers (prefix-N) carry a channel
// attribute (phone, email or none), answer trust, satisfaction, love and nps, and some
// have a trust covariate. It keeps the raw answers to check the SQL against.
type segmentFixture struct {
	svc    *experiment.Service
	e      experiment.Experiment
	arm    map[string]string             // customer -> arm
	chan_  map[string]string             // customer -> channel ("" = none)
	answer map[string]map[string]float64 // customer -> outcome -> answer
	cov    map[string]float64            // customer -> trust covariate
}

func newSegmentFixture(t *testing.T, key, prefix string, n int) segmentFixture {
	t.Helper()
	s := pgtest.Store(t)
	svc := experiment.NewService(s)
	ctx := context.Background()
	if _, err := svc.CreateExperiment(ctx, experiment.Experiment{Key: key, Arms: []experiment.Arm{
		{Key: "control", Weight: 1, Control: true}, {Key: "call", Weight: 1}}}); err != nil {
		t.Fatal(err)
	}
	e, err := svc.Start(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	f := segmentFixture{svc: svc, e: e, arm: map[string]string{}, chan_: map[string]string{},
		answer: map[string]map[string]float64{}, cov: map[string]float64{}}
	var ids []string
	for i := range n {
		ids = append(ids, fmt.Sprintf("%s-%d", prefix, i))
	}
	as, err := svc.AssignBatch(ctx, key, ids)
	if err != nil {
		t.Fatal(err)
	}
	var attrs []experiment.CustomerAttributes
	var rs []experiment.Response
	var cs []experiment.Covariate
	at := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	for i, a := range as {
		id := a.CustomerID
		f.arm[id] = a.Arm
		switch i % 3 {
		case 0:
			f.chan_[id] = "phone"
		case 1:
			f.chan_[id] = "email"
		}
		if c := f.chan_[id]; c != "" {
			attrs = append(attrs, experiment.CustomerAttributes{CustomerID: id, Attributes: map[string]string{"channel": c, "tenure": "new"}})
		}
		if i%5 == 4 {
			continue // no answer
		}
		ans := map[string]float64{"trust": float64(1 + (i*7+3)%7), "satisfaction": float64(1 + (i*5+1)%7), "nps": float64((i * 3) % 11)}
		if i%4 != 0 {
			ans["love"] = float64(1 + (i*3+2)%7)
		}
		f.answer[id] = ans
		rs = append(rs, experiment.Response{ResponseID: "r-" + id, CustomerID: id, AnsweredAt: at, Answers: ans})
		if i%2 == 0 {
			f.cov[id] = float64(1 + i%7)
			cs = append(cs, experiment.Covariate{CustomerID: id, Outcome: "trust", Value: f.cov[id]})
		}
	}
	if err := svc.RecordAttributes(ctx, attrs); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.RecordResponses(ctx, key, rs, true); err != nil {
		t.Fatal(err)
	}
	if err := svc.RecordCovariates(ctx, key, cs); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f segmentFixture) summarize(t *testing.T, name string, max int) ([]experiment.SegmentSummary, []string) {
	t.Helper()
	outcomes, err := f.svc.OutcomeMap(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	keys := f.e.AnalysedOutcomes()
	sums, err := pgtest.Store(t).SummarizeSegments(context.Background(), f.e.ID, name, experiment.SummarySpecs(keys, outcomes, time.Time{}), max)
	if err != nil {
		t.Fatal(err)
	}
	return sums, keys
}

// TestSummarizeSegmentsAgreesWithTheRawAnswers recomputes every cell's sufficient
// statistics from the raw answers in Go.
func TestSummarizeSegmentsAgreesWithTheRawAnswers(t *testing.T) {
	f := newSegmentFixture(t, "segments-raw", "segraw", 90)
	sums, keys := f.summarize(t, "channel", experiment.MaxSegmentValues)
	var values []string
	for _, s := range sums {
		values = append(values, s.Value)
	}
	if fmt.Sprint(values) != "[email phone (none)]" {
		t.Fatalf("values %v, want [email phone (none)] (NoSegment last)", values)
	}
	index := map[string]int{}
	for i, k := range keys {
		index[k] = i
	}
	for _, s := range sums {
		want := s.Value
		if want == experiment.NoSegment {
			want = ""
		}
		for _, arm := range []string{"control", "call"} {
			var assigned, responded int64
			var trust, krs stats.Moments
			var cov stats.CovariateSums
			var love int64
			for id, a := range f.arm {
				if a != arm || f.chan_[id] != want {
					continue
				}
				assigned++
				ans, ok := f.answer[id]
				if !ok {
					continue
				}
				responded++
				y := ans["trust"]
				trust.N++
				trust.Sum += y
				trust.SumSq += y * y
				if x, ok := f.cov[id]; ok {
					cov.NX++
					cov.SumX += x
					cov.SumXX += x * x
					cov.SumXY += x * y
					cov.SumY += y
				}
				if l, ok := ans["love"]; ok {
					love++
					k := (100*(ans["satisfaction"]-1)/6 + 100*(y-1)/6 + 100*(l-1)/6) / 3
					krs.N++
					krs.Sum += k
					krs.SumSq += k * k
				}
			}
			if got := s.Summary.Arms[arm]; got.Assigned != assigned || got.Responded != responded {
				t.Errorf("%s/%s: traffic %+v, want %d assigned, %d responded", s.Value, arm, got, assigned, responded)
			}
			got := s.Summary.Outcomes[index["trust"]][arm]
			if m := got.Counts.Moments(); m.N != trust.N || !near(m.Sum, trust.Sum) || !near(m.SumSq, trust.SumSq) {
				t.Errorf("%s/%s trust: %+v, want %+v", s.Value, arm, m, trust)
			}
			// The sums come about reference values; about 0 they are the raw sums.
			if got.Cov == nil || !nearCov(got.Cov.ShiftedTo(0, 0), cov) {
				t.Errorf("%s/%s trust covariates: %+v, want %+v", s.Value, arm, got.Cov, cov)
			}
			k := s.Summary.Outcomes[index["krs"]][arm].Moments.ShiftedTo(0)
			if k.N != krs.N || !near(k.Sum, krs.Sum) || !near(k.SumSq, krs.SumSq) {
				t.Errorf("%s/%s krs: %+v, want %+v", s.Value, arm, k, krs)
			}
			if n := s.Summary.Outcomes[index["love"]][arm].Counts.Moments().N; n != love {
				t.Errorf("%s/%s love: n %d, want %d", s.Value, arm, n, love)
			}
		}
	}

	// The cells add up to the whole experiment.
	whole, err := pgtest.Store(t).Summarize(context.Background(), f.e.ID, experiment.SummarySpecs(keys, mustOutcomes(t, f.svc), time.Time{}))
	if err != nil {
		t.Fatal(err)
	}
	for i, k := range keys {
		for _, arm := range []string{"control", "call"} {
			var n int64
			for _, s := range sums {
				d := s.Summary.Outcomes[i][arm]
				if d.Counts != nil {
					n += d.Counts.Moments().N
				} else {
					n += d.Moments.N
				}
			}
			w := whole.Outcomes[i][arm]
			wn := w.Moments.N
			if w.Counts != nil {
				wn = w.Counts.Moments().N
			}
			if n != wn {
				t.Errorf("%s/%s: cells hold %d answers, the experiment %d", k, arm, n, wn)
			}
		}
	}
}

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(b)) }

func nearCov(a, b stats.CovariateSums) bool {
	return a.NX == b.NX && near(a.SumX, b.SumX) && near(a.SumXX, b.SumXX) && near(a.SumXY, b.SumXY) && near(a.SumY, b.SumY)
}

func mustOutcomes(t *testing.T, svc *experiment.Service) map[string]experiment.Outcome {
	t.Helper()
	m, err := svc.OutcomeMap(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestSaveAttributesUpserts(t *testing.T) {
	f := newSegmentFixture(t, "segments-upsert", "segups", 30)
	ctx := context.Background()
	// Every phone customer becomes a chat customer; the e-mail customers stay.
	var moved []experiment.CustomerAttributes
	for id, c := range f.chan_ {
		if c == "phone" {
			moved = append(moved, experiment.CustomerAttributes{CustomerID: id, Attributes: map[string]string{"channel": "chat"}})
		}
	}
	if err := f.svc.RecordAttributes(ctx, moved); err != nil {
		t.Fatal(err)
	}
	sums, _ := f.summarize(t, "channel", experiment.MaxSegmentValues)
	var values []string
	for _, s := range sums {
		values = append(values, s.Value)
	}
	if fmt.Sprint(values) != "[chat email (none)]" {
		t.Errorf("values after the upsert %v, want [chat email (none)]", values)
	}
	var tenure string
	if err := pgtest.Store(t).DB().Get(&tenure, `SELECT value FROM customer_attributes WHERE customer_id = $1 AND name = 'tenure'`, moved[0].CustomerID); err != nil || tenure != "new" {
		t.Errorf("an attribute not sent was changed: %q, %v", tenure, err)
	}

	// Too many values for the limit.
	_, err := pgtest.Store(t).SummarizeSegments(ctx, f.e.ID, "channel", nil, 2)
	if experiment.ErrorCode(err) != experiment.Invalid {
		t.Errorf("3 values with a limit of 2: %v, want invalid", err)
	}
}

func TestRecordAttributesReportsEveryBadRow(t *testing.T) {
	svc := experiment.NewService(pgtest.Store(t))
	long := fmt.Sprintf("%0129d", 0)
	err := svc.RecordAttributes(context.Background(), []experiment.CustomerAttributes{
		{CustomerID: "ok-1", Attributes: map[string]string{"channel": "phone"}},
		{CustomerID: "", Attributes: map[string]string{"channel": "phone"}},
		{CustomerID: "ok-2", Attributes: map[string]string{"Channel": "phone", "tenure": long}},
		{CustomerID: "ok-1", Attributes: map[string]string{"nps_group": "(none)"}},
		{CustomerID: "ok-3", Attributes: map[string]string{}},
		{CustomerID: "ok-4", Attributes: map[string]string{"channel": "a\tb"}},
	})
	var e *experiment.Error
	if !asErr(err, &e) || e.Code != experiment.Invalid {
		t.Fatalf("got %v, want invalid", err)
	}
	rows := map[int]int{}
	for _, d := range e.Details {
		rows[d.Row]++
	}
	if fmt.Sprint(rows) != "map[2:1 3:2 4:2 5:1 6:1]" {
		t.Errorf("details per row %v: %v", rows, e.Details)
	}
	var n int
	if err := pgtest.Store(t).DB().Get(&n, `SELECT count(*) FROM customer_attributes WHERE customer_id = 'ok-1'`); err != nil || n != 0 {
		t.Errorf("a rejected batch stored %d attributes (%v)", n, err)
	}
}

func asErr(err error, target **experiment.Error) bool {
	e, ok := err.(*experiment.Error)
	if ok {
		*target = e
	}
	return ok
}

// TestCurrentResultsAgreeWithTheCutOffPath checks the two ways the summaries find each
// customer's latest answers against each other: the current results read the only response
// of most customers as it is and rank the answers of those with a repeat, a cut-off ranks
// all answers given before it. With a cut-off after every answer both must agree on every cell, segmented or
// not, here with customers who answered again later (partly), earlier, at the same moment,
// and who completed a composite's components over several responses.
func TestCurrentResultsAgreeWithTheCutOffPath(t *testing.T) {
	f := newSegmentFixture(t, "current-vs-cutoff", "cut", 120)
	ctx := context.Background()
	base := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	var rs []experiment.Response
	for i := 0; i < 120; i++ {
		id := fmt.Sprintf("cut-%d", i)
		switch i % 6 {
		case 1: // later, partly: trust and love again
			rs = append(rs, experiment.Response{ResponseID: "later-" + id, CustomerID: id, AnsweredAt: base.Add(24 * time.Hour),
				Answers: map[string]float64{"trust": float64(1 + i%7), "love": float64(1 + (i+3)%7)}})
		case 2: // earlier, arriving later: supersedes nothing
			rs = append(rs, experiment.Response{ResponseID: "earlier-" + id, CustomerID: id, AnsweredAt: base.Add(-24 * time.Hour),
				Answers: map[string]float64{"trust": 7, "satisfaction": 7, "love": 7, "nps": 10}})
		case 3: // the same moment: arrival decides
			rs = append(rs, experiment.Response{ResponseID: "tie-" + id, CustomerID: id, AnsweredAt: base,
				Answers: map[string]float64{"nps": float64(i % 11)}})
		}
	}
	if _, err := f.svc.RecordResponses(ctx, f.e.Key, rs, true); err != nil {
		t.Fatal(err)
	}
	outcomes, err := f.svc.OutcomeMap(ctx)
	if err != nil {
		t.Fatal(err)
	}
	keys := f.e.AnalysedOutcomes()
	now := experiment.SummarySpecs(keys, outcomes, time.Time{})
	cut := experiment.SummarySpecs(keys, outcomes, base.Add(48*time.Hour))
	s := pgtest.Store(t)
	a, err := s.Summarize(ctx, f.e.ID, now)
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.Summarize(ctx, f.e.ID, cut)
	if err != nil {
		t.Fatal(err)
	}
	sameSummary(t, "unsegmented", keys, a, b)
	// Both read the repeat customers' responses by the same ranking; the view latest_answers
	// applies the rule in SQL of its own, answer by answer.
	agreesWithLatestAnswers(t, "current", f.e.ID, keys, a)
	// The pass that looks each answer's key up, for a database with many key sets, gives
	// the same as the one with the key sets written into its statement.
	postgres.LimitInlineKeySets(0, t.Cleanup)
	looked, err := s.Summarize(ctx, f.e.ID, now)
	if err != nil {
		t.Fatal(err)
	}
	sameSummary(t, "keys looked up", keys, a, looked)
	agreesWithLatestAnswers(t, "keys looked up", f.e.ID, keys, looked)
	krs := a.Outcomes[slices.Index(keys, "krs")]["control"]
	if krs.Moments.N == 0 {
		t.Fatal("no KRS in control: the fixture does not exercise composites")
	}
	// A composite comes with its distinct values (for the bounds), counted once per customer.
	if krs.Distinct == nil || sum(krs.Distinct.N) != krs.Moments.N || len(krs.Distinct.Values) >= int(krs.Moments.N) {
		t.Errorf("KRS in control: %d customers, distinct values %+v", krs.Moments.N, krs.Distinct)
	}
	as, err := s.SummarizeSegments(ctx, f.e.ID, "channel", now, experiment.MaxSegmentValues)
	if err != nil {
		t.Fatal(err)
	}
	bs, err := s.SummarizeSegments(ctx, f.e.ID, "channel", cut, experiment.MaxSegmentValues)
	if err != nil {
		t.Fatal(err)
	}
	if len(as) != len(bs) {
		t.Fatalf("%d segments now, %d with the cut-off", len(as), len(bs))
	}
	responded := map[string]int64{}
	for i := range as {
		sameSummary(t, "segment "+as[i].Value, keys, as[i].Summary, bs[i].Summary)
		for arm, c := range as[i].Summary.Arms {
			responded[arm] += c.Responded
		}
	}
	// The unsegmented arm counts (per arm, by row) and the segmented ones (by customer).
	for arm, c := range a.Arms {
		if c.Responded != responded[arm] || c.Responded == 0 {
			t.Errorf("%s: %d responded, %d over the segments", arm, c.Responded, responded[arm])
		}
	}

	// Without covariates (the CUPED sums need each customer's) every spec here is read by
	// the pass by grouping sets, which gives what the one making a row per answer gives,
	// segmented or not.
	if _, err := s.DB().ExecContext(ctx, `DELETE FROM covariates WHERE experiment_id = $1`, f.e.ID); err != nil {
		t.Fatal(err)
	}
	postgres.LimitInlineKeySets(64, t.Cleanup)
	// The summary and the summaries by channel, by whichever pass is turned on.
	summaries := func() (experiment.Summary, []experiment.SegmentSummary) {
		whole, err := s.Summarize(ctx, f.e.ID, now)
		if err != nil {
			t.Fatal(err)
		}
		segments, err := s.SummarizeSegments(ctx, f.e.ID, "channel", now, experiment.MaxSegmentValues)
		if err != nil {
			t.Fatal(err)
		}
		return whole, segments
	}
	on := postgres.PassByLevels(true, t.Cleanup)
	levels, levelSegments := summaries()
	// (Per summary, the customers with one response and the repeat customers' responses
	// that count for every answer.)
	if on() != 4 {
		t.Fatalf("the pass by grouping sets ran %d times for 2 summaries: the fixture does not exercise it", on())
	}
	off := postgres.PassByLevels(false, t.Cleanup)
	perAnswer, perAnswerSegments := summaries()
	if off() != 0 {
		t.Error("the pass by grouping sets ran while turned off")
	}
	sameSummary(t, "by levels", keys, perAnswer, levels)
	agreesWithLatestAnswers(t, "by levels", f.e.ID, keys, levels)
	if len(levelSegments) != len(perAnswerSegments) {
		t.Fatalf("%d segments by levels, %d by answers", len(levelSegments), len(perAnswerSegments))
	}
	for i := range levelSegments {
		sameSummary(t, "segment "+levelSegments[i].Value+" by levels", keys, perAnswerSegments[i].Summary, levelSegments[i].Summary)
	}
}

// agreesWithLatestAnswers checks the simple outcomes of a summary, per arm, against the
// answers the view latest_answers counts: as many, with the same mean.
func agreesWithLatestAnswers(t *testing.T, what string, experimentID int64, keys []string, got experiment.Summary) {
	t.Helper()
	var rows []struct {
		Outcome string  `db:"outcome_key"`
		Arm     string  `db:"arm_key"`
		N       int64   `db:"n"`
		Mean    float64 `db:"mean"`
	}
	if err := pgtest.Store(t).DB().Select(&rows, `SELECT outcome_key, arm_key, count(*) AS n, avg(value) AS mean
		FROM latest_answers WHERE experiment_id = $1 GROUP BY 1, 2`, experimentID); err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, r := range rows {
		i := slices.Index(keys, r.Outcome)
		if i < 0 {
			continue
		}
		m := got.Outcomes[i][r.Arm].Moments
		if m.N != r.N || math.Abs(m.Mean()-r.Mean) > 1e-9 {
			t.Errorf("%s %s %s: %d answers, mean %v; latest_answers: %d, mean %v", what, r.Outcome, r.Arm, m.N, m.Mean(), r.N, r.Mean)
		}
		checked++
	}
	if checked == 0 {
		t.Fatalf("%s: no simple outcome in latest_answers to check", what)
	}
}

func sum(ns []int64) (n int64) {
	for _, k := range ns {
		n += k
	}
	return n
}

// sameDistinct compares a composite's distinct values with their counts; values the two
// paths compute in another order (and so differ in their last bits) count as one.
func sameDistinct(a, b stats.Distinct, near func(x, y float64) bool) bool {
	merged := func(d stats.Distinct) (vs []float64, ns []int64) {
		for i, v := range d.Values {
			if k := len(vs) - 1; k >= 0 && near(vs[k], v) {
				ns[k] += d.N[i]
				continue
			}
			vs, ns = append(vs, v), append(ns, d.N[i])
		}
		return vs, ns
	}
	av, an := merged(a)
	bv, bn := merged(b)
	return slices.Equal(an, bn) && slices.EqualFunc(av, bv, near)
}

// sameSummary compares two summaries cell by cell, sums and distinct values to 1e-9
// relative.
func sameSummary(t *testing.T, what string, keys []string, a, b experiment.Summary) {
	t.Helper()
	near := func(x, y float64) bool { return math.Abs(x-y) <= 1e-9*math.Max(1, math.Max(math.Abs(x), math.Abs(y))) }
	for i, key := range keys {
		for arm, x := range a.Outcomes[i] {
			y := b.Outcomes[i][arm]
			// Each path takes its sums about reference values of its own (the median of a
			// sample the plan finds first): the same data about another K is the same.
			x.Moments = x.Moments.ShiftedTo(y.Moments.Shift)
			if x.Cov != nil && y.Cov != nil {
				c := x.Cov.ShiftedTo(y.Cov.ShiftX, y.Cov.ShiftY)
				x.Cov = &c
			}
			switch {
			case x.Moments.N != y.Moments.N || !near(x.Moments.Sum, y.Moments.Sum) || !near(x.Moments.SumSq, y.Moments.SumSq):
				t.Errorf("%s %s %s: moments %+v, with the cut-off %+v", what, key, arm, x.Moments, y.Moments)
			case (x.Counts == nil) != (y.Counts == nil) || x.Counts != nil && !slices.Equal(x.Counts.N, y.Counts.N):
				t.Errorf("%s %s %s: counts %+v, with the cut-off %+v", what, key, arm, x.Counts, y.Counts)
			case (x.Cov == nil) != (y.Cov == nil):
				t.Errorf("%s %s %s: covariate sums %+v, with the cut-off %+v", what, key, arm, x.Cov, y.Cov)
			case x.Cov != nil && (x.Cov.NX != y.Cov.NX || !near(x.Cov.SumX, y.Cov.SumX) || !near(x.Cov.SumXX, y.Cov.SumXX) ||
				!near(x.Cov.SumXY, y.Cov.SumXY) || !near(x.Cov.SumY, y.Cov.SumY)):
				t.Errorf("%s %s %s: covariate sums %+v, with the cut-off %+v", what, key, arm, *x.Cov, *y.Cov)
			case (x.Distinct == nil) != (y.Distinct == nil) || x.Distinct != nil && !sameDistinct(*x.Distinct, *y.Distinct, near):
				t.Errorf("%s %s %s: distinct values %+v, with the cut-off %+v", what, key, arm, x.Distinct, y.Distinct)
			}
		}
		if len(a.Outcomes[i]) != len(b.Outcomes[i]) {
			t.Errorf("%s %s: arms %d, with the cut-off %d", what, key, len(a.Outcomes[i]), len(b.Outcomes[i]))
		}
	}
}
