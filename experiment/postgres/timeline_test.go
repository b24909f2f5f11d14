package postgres_test

import (
	"context"
	"fmt"
	"math"
	"reflect"
	"testing"
	"time"

	"github.com/krslab/krslab/experiment"
	"github.com/krslab/krslab/experiment/postgres/pgtest"
	"github.com/krslab/krslab/stats"
)

// TestTimelineAgreesWithThePerDayCutOffs checks the one-pass timeline (SummarizeDays)
// against what it replaces: a Summarize with a cut-off at the end of every answer day.
// Customers answer again on later days (partly, so that their composite changes), answer
// twice on one day (the first answer never counts at a day's end), send an earlier answer
// later, tie on answered_at, complete a composite's components over several days, and some
// have covariates; the numeric outcomes have a large offset or values that cancel (exact
// sums). Every day's statistics and every day's comparison must agree to 1e-9.
func TestTimelineAgreesWithThePerDayCutOffs(t *testing.T) {
	s := pgtest.Store(t)
	svc := experiment.NewService(s)
	ctx := context.Background()
	for _, key := range []string{"tl_spend", "tl_balance"} {
		if _, err := svc.CreateOutcome(ctx, experiment.Outcome{Key: key, Kind: experiment.Numeric, Label: key, HigherIsBetter: true}); err != nil {
			t.Fatal(err)
		}
	}
	keys := []string{"krs", "trust", "satisfaction", "love", "nps", "tl_spend", "tl_balance"}
	if _, err := svc.CreateExperiment(ctx, experiment.Experiment{Key: "timeline-one-pass", Outcomes: keys, PrimaryOutcome: "krs",
		Arms: []experiment.Arm{{Key: "control", Weight: 1, Control: true}, {Key: "call", Weight: 1}}}); err != nil {
		t.Fatal(err)
	}
	e, err := svc.Start(ctx, "timeline-one-pass")
	if err != nil {
		t.Fatal(err)
	}
	const n = 150
	var ids []string
	for i := range n {
		ids = append(ids, fmt.Sprintf("tl-%d", i))
	}
	as, err := svc.AssignBatch(ctx, e.Key, ids)
	if err != nil {
		t.Fatal(err)
	}
	perArm := map[string]int{} // answering customers so far, per arm
	day := func(d int, hour int) time.Time { return time.Date(2026, 3, 1+d, hour, 0, 0, 0, time.UTC) }
	// Values that cancel within each arm, so that the rounded sums cannot tell the mean.
	balance := []float64{1e16, -1e16, 3, -3}
	var first, second []experiment.Response
	var cs []experiment.Covariate
	for i, id := range ids {
		if i%5 != 4 {
			ans := map[string]float64{"trust": float64(1 + (i*7+3)%7), "satisfaction": float64(1 + (i*5+1)%7), "nps": float64((i * 3) % 11),
				"tl_spend": 1e9 + float64(i%13)/4, "tl_balance": balance[perArm[as[i].Arm]%len(balance)]}
			perArm[as[i].Arm]++
			if i%4 != 0 {
				ans["love"] = float64(1 + (i*3+2)%7)
			}
			first = append(first, experiment.Response{ResponseID: "a-" + id, CustomerID: id, AnsweredAt: day(0, 10+i%10), Answers: ans})
		}
		switch i % 6 {
		case 1: // the next day, partly: the composite changes
			first = append(first, experiment.Response{ResponseID: "b-" + id, CustomerID: id, AnsweredAt: day(1, 9),
				Answers: map[string]float64{"trust": float64(1 + i%7), "love": float64(1 + (i+3)%7), "tl_spend": 1e9 + 7}})
		case 2: // the day before, arriving later: counts on that day only
			second = append(second, experiment.Response{ResponseID: "c-" + id, CustomerID: id, AnsweredAt: day(-1, 12),
				Answers: map[string]float64{"trust": 7, "satisfaction": 7, "love": 7, "nps": 10, "tl_balance": 3}})
		case 3: // the same moment: arrival decides
			second = append(second, experiment.Response{ResponseID: "d-" + id, CustomerID: id, AnsweredAt: day(0, 10+i%10),
				Answers: map[string]float64{"nps": float64(i % 11), "trust": 2}})
		case 4: // twice on one day: the morning answer is replaced before the day ends
			first = append(first, experiment.Response{ResponseID: "e-" + id, CustomerID: id, AnsweredAt: day(2, 8),
				Answers: map[string]float64{"trust": 1, "satisfaction": 1, "tl_spend": 1e9 - 5}})
			first = append(first, experiment.Response{ResponseID: "f-" + id, CustomerID: id, AnsweredAt: day(2, 20),
				Answers: map[string]float64{"trust": 6}})
			// and a component of the composite days later: complete from then on
			second = append(second, experiment.Response{ResponseID: "g-" + id, CustomerID: id, AnsweredAt: day(5, 12),
				Answers: map[string]float64{"love": float64(1 + i%7)}})
		case 5: // a later answer arrives first, an earlier one after it
			first = append(first, experiment.Response{ResponseID: "h-" + id, CustomerID: id, AnsweredAt: day(4, 12),
				Answers: map[string]float64{"trust": 3, "love": 3, "nps": 0}})
			second = append(second, experiment.Response{ResponseID: "i-" + id, CustomerID: id, AnsweredAt: day(3, 12),
				Answers: map[string]float64{"trust": 5, "satisfaction": 2, "nps": 9}})
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
	outcomes := mustOutcomes(t, svc)
	for _, key := range keys {
		t.Run(key, func(t *testing.T) {
			spec := experiment.SummarySpecs([]string{key}, outcomes, time.Time{})[0]
			got, err := s.SummarizeDays(ctx, e.ID, spec)
			if err != nil {
				t.Fatal(err)
			}
			answered := []string{key}
			if o := outcomes[key]; o.Kind == experiment.Composite {
				answered = o.Components
			}
			days, err := s.AnswerDays(ctx, e.ID, answered)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(days) || len(days) < 2 {
				t.Fatalf("%d days in the timeline, %d answer days", len(got), len(days))
			}
			pe := e
			pe.PrimaryOutcome = key
			changed, exact := 0, 0
			for i, d := range days {
				if !got[i].Day.Equal(d) {
					t.Fatalf("day %d: %s, want %s", i, got[i].Day, d)
				}
				want, err := s.Summarize(ctx, e.ID, experiment.SummarySpecs([]string{key}, outcomes, d.AddDate(0, 0, 1)))
				if err != nil {
					t.Fatal(err)
				}
				what := fmt.Sprintf("%s on %s", key, d.Format(time.DateOnly))
				// Where the values cancel the rounded sums depend on the order they were
				// added in, on either path; the exact sums (compared below) give the mean.
				cmp := experiment.Summary{Arms: got[i].Summary.Arms, Outcomes: []map[string]stats.ArmData{{}}}
				for arm, g := range got[i].Summary.Outcomes[0] {
					w := want.Outcomes[0][arm]
					g.Moments = g.Moments.ShiftedTo(w.Moments.Shift) // as sameSummary does
					if g.Moments.Exact != nil && w.Moments.Exact != nil && g.Moments.Exact.Cmp(w.Moments.Exact) == 0 {
						g.Moments.Sum = w.Moments.Sum
					}
					cmp.Outcomes[0][arm] = g
				}
				sameSummary(t, what, []string{key}, cmp, want)
				for arm, w := range want.Outcomes[0] {
					if w.Moments.Exact != nil {
						exact++
					}
					if g := got[i].Summary.Outcomes[0][arm]; (g.Moments.Exact == nil) != (w.Moments.Exact == nil) ||
						g.Moments.Exact != nil && g.Moments.Exact.Cmp(w.Moments.Exact) != 0 {
						t.Errorf("%s %s: exact sum %v, with the cut-off %v", what, arm, g.Moments.Exact, w.Moments.Exact)
					}
				}
				a := experiment.Analyze(pe, outcomes, []string{key}, got[i].Summary).Outcomes[0].Comparisons
				b := experiment.Analyze(pe, outcomes, []string{key}, want).Outcomes[0].Comparisons
				if len(a) != len(b) {
					t.Errorf("%s: %d comparisons, with the cut-off %d", what, len(a), len(b))
				}
				for arm := range b {
					sameValue(t, what+" "+arm, reflect.ValueOf(a[arm]), reflect.ValueOf(b[arm]))
				}
				if i > 0 && !reflect.DeepEqual(got[i].Summary.Outcomes, got[i-1].Summary.Outcomes) {
					changed++
				}
			}
			if key == "tl_balance" && exact == 0 {
				t.Error("tl_balance never needed its exact sum: the fixture does not exercise exact sums")
			}
			if changed < 1 {
				t.Errorf("%s changed on %d of %d days: the fixture does not exercise the timeline", key, changed, len(days))
			}
		})
	}
}

// sameValue compares two values field by field, floats to 1e-9 relative (NaN equal to NaN).
func sameValue(t *testing.T, what string, a, b reflect.Value) {
	t.Helper()
	switch a.Kind() {
	case reflect.Float64:
		x, y := a.Float(), b.Float()
		if !(math.IsNaN(x) && math.IsNaN(y)) && x != y && !(math.Abs(x-y) <= 1e-9*math.Max(1, math.Max(math.Abs(x), math.Abs(y)))) {
			t.Errorf("%s: %v, with the cut-off %v", what, x, y)
		}
	case reflect.Pointer, reflect.Interface:
		if a.IsNil() != b.IsNil() {
			t.Errorf("%s: %v, with the cut-off %v", what, a, b)
		} else if !a.IsNil() {
			sameValue(t, what, a.Elem(), b.Elem())
		}
	case reflect.Struct:
		for i := range a.NumField() {
			if a.Type().Field(i).IsExported() {
				sameValue(t, what+"."+a.Type().Field(i).Name, a.Field(i), b.Field(i))
			}
		}
	case reflect.Slice, reflect.Array:
		if a.Len() != b.Len() {
			t.Errorf("%s: %d elements, with the cut-off %d", what, a.Len(), b.Len())
			return
		}
		for i := range a.Len() {
			sameValue(t, fmt.Sprintf("%s[%d]", what, i), a.Index(i), b.Index(i))
		}
	case reflect.Map:
		if a.Len() != b.Len() {
			t.Errorf("%s: %d entries, with the cut-off %d", what, a.Len(), b.Len())
			return
		}
		for _, k := range a.MapKeys() {
			sameValue(t, fmt.Sprintf("%s[%v]", what, k), a.MapIndex(k), b.MapIndex(k))
		}
	default:
		if a.CanInterface() && !reflect.DeepEqual(a.Interface(), b.Interface()) {
			t.Errorf("%s: %v, with the cut-off %v", what, a, b)
		}
	}
}
