package postgres_test

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/krslab/krslab/experiment"
	"github.com/krslab/krslab/experiment/postgres/pgtest"
	"github.com/krslab/krslab/stats"
)

// TestWaveTimelineAgreesWithTheWaveCutOffs checks the one-pass timeline of a survey wave
// (SummarizeDays with spec.Wave) against a Summarize of the wave with a cut-off at the end
// of every day, for every kind of outcome: the days must be those on which the wave was
// answered (computed here from the responses' ages), and every day's traffic, statistics,
// exact sums, comparisons and version must agree to 1e-9. Customers answer inside and
// outside each wave (before their assignment, between the waves, on the first second after
// a wave, after the last), again within a wave on a later day (partly, so that the
// composite changes), twice on one day, an earlier answer arriving later, at the same
// second, complete a composite's components over several days, and some have covariates;
// a few were assigned too recently to be eligible in the later wave, so that the traffic
// is the wave's eligible customers and the version expires when the next one becomes
// eligible.
func TestWaveTimelineAgreesWithTheWaveCutOffs(t *testing.T) {
	s := pgtest.Store(t)
	svc := experiment.NewService(s)
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	svc.Now = func() time.Time { return now }
	ctx := context.Background()
	for _, key := range []string{"wt_spend", "wt_balance"} {
		if _, err := svc.CreateOutcome(ctx, experiment.Outcome{Key: key, Kind: experiment.Numeric, Label: key, HigherIsBetter: true}); err != nil {
			t.Fatal(err)
		}
	}
	keys := []string{"krs", "trust", "satisfaction", "love", "nps", "wt_spend", "wt_balance"}
	waves := []experiment.Wave{{Key: "early", Label: "Early", FromDay: 0, ToDay: 4}, {Key: "late", Label: "Late", FromDay: 7, ToDay: 15}}
	if _, err := svc.CreateExperiment(ctx, experiment.Experiment{Key: "wave-timeline", Outcomes: keys, PrimaryOutcome: "krs",
		Waves: waves, Arms: []experiment.Arm{{Key: "control", Weight: 1, Control: true}, {Key: "call", Weight: 1}}}); err != nil {
		t.Fatal(err)
	}
	e, err := svc.Start(ctx, "wave-timeline")
	if err != nil {
		t.Fatal(err)
	}
	const n, recent = 160, 20
	assigned := map[string]time.Time{}
	var ids []string
	var file strings.Builder
	file.WriteString("customer_id,assigned_at\n")
	for i := range n {
		id := fmt.Sprintf("wt-%03d", i)
		at := time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(i) * 37 * time.Minute)
		if i >= n-recent {
			at = now.Add(-6*24*time.Hour + time.Duration(i)*time.Minute) // not eligible in late yet
		}
		ids, assigned[id] = append(ids, id), at
		fmt.Fprintf(&file, "%s,%s\n", id, at.Format(time.RFC3339))
	}
	if _, err := experiment.NewImporter(svc, s).ImportAssignments(ctx, e.Key, text(file.String()), experiment.ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	arm := map[string]string{}
	if err := svc.EachAssignment(ctx, e.Key, func(a experiment.Assignment) error {
		arm[a.CustomerID] = a.Arm
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	day := 24 * time.Hour
	perArm := map[string]int{}
	balance := []float64{1e16, -1e16, 3, -3} // values that cancel within each arm
	var first, second []experiment.Response
	var cs []experiment.Covariate
	add := func(to *[]experiment.Response, id, tag string, at time.Time, ans map[string]float64) {
		*to = append(*to, experiment.Response{ResponseID: tag + "-" + id, CustomerID: id, AnsweredAt: at, Answers: ans})
	}
	for i, id := range ids {
		a := assigned[id]
		if i%5 != 4 {
			ans := map[string]float64{"trust": float64(1 + (i*7+3)%7), "satisfaction": float64(1 + (i*5+1)%7), "nps": float64((i * 3) % 11),
				"wt_spend": 1e9 + float64(i%13)/4, "wt_balance": balance[perArm[arm[id]]%len(balance)]}
			perArm[arm[id]]++
			if i%4 != 0 {
				ans["love"] = float64(1 + (i*3+2)%7)
			}
			add(&first, id, "a", a.Add(day+time.Duration(i%10)*time.Hour), ans)
		}
		switch i % 6 {
		case 1: // a day later, partly: the composite changes
			add(&first, id, "b", a.Add(2*day), map[string]float64{"trust": float64(1 + i%7), "love": float64(1 + (i+3)%7), "wt_spend": 1e9 + 7})
		case 2: // before the assignment, arriving later: in no wave
			add(&second, id, "c", a.Add(-time.Hour), map[string]float64{"trust": 7, "satisfaction": 7, "love": 7, "nps": 10, "wt_balance": 3})
		case 3: // the same moment: arrival decides
			add(&second, id, "d", a.Add(day+time.Duration(i%10)*time.Hour), map[string]float64{"nps": float64(i % 11), "trust": 2})
		case 4: // twice on one UTC day within early: the first is replaced before the day ends
			d := a.Add(3 * day).Truncate(day)
			add(&first, id, "e", d.Add(10*time.Minute), map[string]float64{"trust": 1, "satisfaction": 1, "wt_spend": 1e9 - 5})
			add(&first, id, "f", d.Add(23*time.Hour+50*time.Minute), map[string]float64{"trust": 6})
			// and a component of the composite later, still in early: complete from then on
			add(&second, id, "g", a.Add(4*day+20*time.Hour), map[string]float64{"love": float64(1 + i%7)})
		case 5: // a later answer arrives first, an earlier one after it
			add(&first, id, "h", a.Add(4*day), map[string]float64{"trust": 3, "love": 3, "nps": 0})
			add(&second, id, "i", a.Add(2*day), map[string]float64{"trust": 5, "satisfaction": 2, "nps": 9})
		}
		if i >= n-recent {
			continue // not reached late yet
		}
		switch i % 4 {
		case 0: // in late, then again in late partly
			add(&first, id, "j", a.Add(7*day+time.Duration(i%9)*day), map[string]float64{"trust": float64(1 + (i*2)%7),
				"satisfaction": float64(1 + i%7), "love": float64(1 + (i*5)%7), "nps": float64((i * 7) % 11), "wt_spend": 1e9 + float64(i%5),
				"wt_balance": balance[i%len(balance)]})
			add(&second, id, "k", a.Add(12*day+time.Hour), map[string]float64{"trust": 4, "nps": 8})
		case 1: // the first second of late, and the first second after early (in no wave)
			add(&first, id, "l", a.Add(7*day), map[string]float64{"trust": 5, "satisfaction": 6, "love": 2, "nps": 7, "wt_spend": 1e9 + 1})
			add(&first, id, "m", a.Add(5*day), map[string]float64{"trust": 1, "satisfaction": 1, "love": 1, "nps": 0})
		case 2: // after late (in no wave), and the last second of late
			add(&first, id, "o", a.Add(16*day), map[string]float64{"trust": 7, "satisfaction": 7, "love": 7, "nps": 10})
			add(&second, id, "p", a.Add(16*day-time.Second), map[string]float64{"trust": float64(1 + i%7), "satisfaction": 3, "nps": 5,
				"wt_balance": balance[(i+1)%len(balance)]})
		}
		if i%2 == 0 {
			cs = append(cs, experiment.Covariate{CustomerID: id, Outcome: "trust", Value: float64(1 + i%7)},
				experiment.Covariate{CustomerID: id, Outcome: "krs", Value: float64(40 + i%30)})
		}
	}
	for _, rs := range [][]experiment.Response{first, second} {
		if _, err := svc.RecordResponses(ctx, e.Key, rs, true); err != nil {
			t.Fatal(err)
		}
	}
	if err := svc.RecordCovariates(ctx, e.Key, cs); err != nil {
		t.Fatal(err)
	}
	all := append(append([]experiment.Response(nil), first...), second...)
	outcomes := mustOutcomes(t, svc)
	for _, w := range waves {
		window := experiment.WaveWindow{Wave: w, At: now}
		// The customers eligible in the wave now, as its traffic counts them.
		eligible := 0
		for _, a := range assigned {
			if !a.After(w.EligibleBefore(now)) {
				eligible++
			}
		}
		for _, key := range keys {
			t.Run(w.Key+"/"+key, func(t *testing.T) {
				spec := experiment.SummarySpecs([]string{key}, outcomes, time.Time{})[0]
				spec.Wave = &window
				got, err := s.SummarizeDays(ctx, e.ID, spec)
				if err != nil {
					t.Fatal(err)
				}
				answered := []string{key}
				if o := outcomes[key]; o.Kind == experiment.Composite {
					answered = o.Components
				}
				// The days on which the wave was answered, from the responses' ages.
				var days []time.Time
				outside := 0
				for _, r := range all {
					holds := false
					for _, k := range answered {
						_, ok := r.Answers[k]
						holds = holds || ok
					}
					if !holds {
						continue
					}
					age := r.AnsweredAt.Sub(assigned[r.CustomerID])
					if age < time.Duration(w.FromDay)*day || age >= time.Duration(w.ToDay+1)*day {
						outside++
						continue
					}
					if d := r.AnsweredAt.UTC().Truncate(day); !slices.ContainsFunc(days, d.Equal) {
						days = append(days, d)
					}
				}
				slices.SortFunc(days, time.Time.Compare)
				if outside == 0 || len(days) < 3 {
					t.Fatalf("fixture: %d answer days in the wave, %d answers outside it", len(days), outside)
				}
				if len(got) != len(days) {
					t.Fatalf("%d days in the wave's timeline, %d days on which the wave was answered", len(got), len(days))
				}
				whole, err := s.Summarize(ctx, e.ID, []experiment.SummarySpec{spec})
				if err != nil {
					t.Fatal(err)
				}
				var traffic int64
				for _, a := range whole.Arms {
					traffic += a.Assigned
				}
				if traffic != int64(eligible) {
					t.Errorf("the wave's results count %d customers as assigned, %d are eligible", traffic, eligible)
				}
				pe := e
				pe.PrimaryOutcome = key
				changed := 0
				for i, d := range days {
					if !got[i].Day.Equal(d) {
						t.Fatalf("day %d: %s, want %s", i, got[i].Day, d)
					}
					cut := spec
					cut.Until = d.Add(day)
					want, err := s.Summarize(ctx, e.ID, []experiment.SummarySpec{cut})
					if err != nil {
						t.Fatal(err)
					}
					what := fmt.Sprintf("%s %s on %s", w.Key, key, d.Format(time.DateOnly))
					if !reflect.DeepEqual(got[i].Summary.Arms, want.Arms) {
						t.Errorf("%s: traffic %v, the wave's %v", what, got[i].Summary.Arms, want.Arms)
					}
					if !got[i].Summary.Version.ValidUntil.Equal(want.Version.ValidUntil) || got[i].Summary.Version.Data != want.Version.Data {
						t.Errorf("%s: version %+v, the wave's %+v", what, got[i].Summary.Version, want.Version)
					}
					sameSums(t, what, key, got[i].Summary, want)
					ga := experiment.Analyze(pe, outcomes, []string{key}, got[i].Summary).Outcomes[0].Comparisons
					wa := experiment.Analyze(pe, outcomes, []string{key}, want).Outcomes[0].Comparisons
					for a := range wa {
						sameValue(t, what+" "+a, reflect.ValueOf(ga[a]), reflect.ValueOf(wa[a]))
					}
					if i > 0 && !reflect.DeepEqual(got[i].Summary.Outcomes, got[i-1].Summary.Outcomes) {
						changed++
					}
				}
				if changed < 1 {
					t.Errorf("%s %s changed on %d of %d days: the fixture does not exercise the timeline", w.Key, key, changed, len(days))
				}
				// The last day is the wave's results.
				last := got[len(got)-1].Summary
				sameSums(t, w.Key+" "+key+" on the last day", key, last, whole)
				if w.Key == "late" && last.Version.ValidUntil.IsZero() {
					t.Error("late: the version does not expire although customers are yet to become eligible")
				}
			})
		}
	}
}

// sameSums compares the statistics of outcome key in got with want (sameSummary) and
// their exact sums. Where the values cancel the rounded sums depend on the order they were
// added in, on either path; the exact sums give the mean, so equal exact sums stand for
// the rounded ones.
func sameSums(t *testing.T, what, key string, got, want experiment.Summary) {
	t.Helper()
	cmp := experiment.Summary{Arms: got.Arms, Outcomes: []map[string]stats.ArmData{{}}}
	for a, g := range got.Outcomes[0] {
		if x := want.Outcomes[0][a]; g.Moments.Exact != nil && x.Moments.Exact != nil && g.Moments.Exact.Cmp(x.Moments.Exact) == 0 {
			g.Moments.Sum = x.Moments.Sum
		}
		cmp.Outcomes[0][a] = g
	}
	sameSummary(t, what, []string{key}, cmp, want)
	for a, x := range want.Outcomes[0] {
		if g := got.Outcomes[0][a]; (g.Moments.Exact == nil) != (x.Moments.Exact == nil) ||
			g.Moments.Exact != nil && g.Moments.Exact.Cmp(x.Moments.Exact) != 0 {
			t.Errorf("%s %s: exact sum %v, with the cut-off %v", what, a, g.Moments.Exact, x.Moments.Exact)
		}
	}
}
