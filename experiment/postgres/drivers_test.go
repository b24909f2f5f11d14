package postgres_test

import (
	"context"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/krslab/krslab/experiment"
	"github.com/krslab/krslab/experiment/postgres/pgtest"
	"github.com/krslab/krslab/stats"
)

// driversVars resolves outcome keys into the variables of a drivers question.
func driversVars(t *testing.T, svc *experiment.Service, keys ...string) []experiment.DriverVariable {
	t.Helper()
	outcomes, err := svc.OutcomeMap(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var vars []experiment.DriverVariable
	for _, k := range keys {
		o, ok := outcomes[k]
		if !ok {
			t.Fatalf("no outcome %s", k)
		}
		v := experiment.DriverVariable{Outcome: o}
		for _, c := range o.Components {
			v.Components = append(v.Components, outcomes[c])
		}
		vars = append(vars, v)
	}
	return vars
}

// sameRegression compares two regressions field by field at tol relative (1e-9 absolute).
func sameRegression(t *testing.T, got, want stats.DriversResult, tol float64) {
	t.Helper()
	if got.N != want.N {
		t.Fatalf("n = %d, want %d", got.N, want.N)
	}
	near := func(what string, g, w float64) {
		t.Helper()
		if math.IsNaN(g) != math.IsNaN(w) || math.Abs(g-w) > tol*math.Abs(w)+1e-9 {
			t.Errorf("%s = %.15g, want %.15g", what, g, w)
		}
	}
	near("r_squared", got.RSquared, want.RSquared)
	near("adj_r_squared", got.AdjRSquared, want.AdjRSquared)
	near("intercept", got.Intercept, want.Intercept)
	for j := range want.Drivers {
		g, w := got.Drivers[j], want.Drivers[j]
		for _, f := range []struct {
			name string
			g, w float64
		}{{"coef", g.Coef, w.Coef}, {"se", g.SE, w.SE}, {"t", g.T, w.T}, {"p_value", g.PValue, w.PValue}, {"beta", g.Beta, w.Beta},
			{"importance", g.Importance, w.Importance}, {"share", g.Share, w.Share}, {"mean", g.Mean, w.Mean}} {
			near(fmt.Sprintf("drivers[%d].%s", j, f.name), f.g, f.w)
		}
	}
}

// TestDriverSumsFollowTheLatestAnswerRule builds a control arm whose customers answer in
// every way the rule covers: once with everything, once with a value missing, twice with
// the second response overriding some answers and completing others (a composite's
// components then come from different responses), and twice with the later answer given
// first. Treatment customers must not count. The sums must be those of the counted answers
// computed in Go, composites by the composite rule.
func TestDriverSumsFollowTheLatestAnswerRule(t *testing.T) {
	s := pgtest.Store(t)
	svc := experiment.NewService(s)
	ctx := context.Background()
	key := "drivers-latest"
	if _, err := svc.CreateExperiment(ctx, experiment.Experiment{Key: key, Arms: []experiment.Arm{
		{Key: "control", Weight: 1, Control: true}, {Key: "call", Weight: 1}}}); err != nil {
		t.Fatal(err)
	}
	e, err := svc.Start(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for i := range 240 {
		ids = append(ids, fmt.Sprintf("drv-%d", i))
	}
	as, err := svc.AssignBatch(ctx, key, ids)
	if err != nil {
		t.Fatal(err)
	}
	keys := []string{"satisfaction", "trust", "love", "involvement", "choice_products", "choice_channels", "fairness", "influence"}
	at := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	counted := map[string]map[string]float64{} // control customer -> key -> counted answer
	var rs []experiment.Response
	for i, a := range as {
		first := map[string]float64{}
		for j, k := range keys {
			first[k] = float64(1 + (i*(j+3)+j*j+i/7)%7)
		}
		if i%9 == 3 {
			delete(first, "fairness") // never answered: the customer does not count
		}
		if i%11 == 5 {
			delete(first, "love") // completed by a second response
		}
		rs = append(rs, experiment.Response{ResponseID: "a-" + a.CustomerID, CustomerID: a.CustomerID, AnsweredAt: at, Answers: first})
		latest := first
		if i%4 == 1 || i%11 == 5 {
			second := map[string]float64{"trust": float64(1 + (i*5)%7), "love": float64(1 + (i*3)%7), "choice_channels": float64(1 + i%7)}
			// Every eighth customer's second response is older than the first, so the
			// first keeps its answers where both have one.
			when := at.Add(time.Hour)
			if i%8 == 1 {
				when = at.Add(-time.Hour)
			}
			rs = append(rs, experiment.Response{ResponseID: "b-" + a.CustomerID, CustomerID: a.CustomerID, AnsweredAt: when, Answers: second})
			latest = map[string]float64{}
			for k, v := range first {
				latest[k] = v
			}
			for k, v := range second {
				if _, had := first[k]; !had || when.After(at) {
					latest[k] = v
				}
			}
		}
		if a.Arm == "control" {
			counted[a.CustomerID] = latest
		}
	}
	if _, err := svc.RecordResponses(ctx, key, rs, true); err != nil {
		t.Fatal(err)
	}

	// krs on freedom_of_choice, involvement, fairness and trust (a component of krs, and
	// then also a column of its own).
	question := []string{"krs", "freedom_of_choice", "involvement", "fairness", "trust"}
	got, err := s.DriverSums(ctx, e.ID, "control", driversVars(t, svc, question...))
	if err != nil {
		t.Fatal(err)
	}
	composite := func(a map[string]float64, parts ...string) float64 {
		sum := 0.0
		for _, p := range parts {
			v, ok := a[p]
			if !ok {
				return math.NaN()
			}
			sum += 100 * (v - 1) / 6
		}
		return sum / float64(len(parts))
	}
	vars := make([][]float64, len(question))
	for _, a := range counted {
		val := func(k string) float64 {
			if v, ok := a[k]; ok {
				return v
			}
			return math.NaN()
		}
		row := []float64{composite(a, "satisfaction", "trust", "love"), composite(a, "choice_products", "choice_channels"),
			val("involvement"), val("fairness"), val("trust")}
		for i, v := range row {
			vars[i] = append(vars[i], v)
		}
	}
	want := stats.CrossProductsOf(vars...)
	if got.N != want.N || got.N < 50 {
		t.Fatalf("n = %d, want %d (of %d control customers)", got.N, want.N, len(counted))
	}
	for i := range question {
		gm, wm := got.Moments(i), want.Moments(i)
		if math.Abs(gm.Mean()-wm.Mean()) > 1e-12*math.Abs(wm.Mean()) || math.Abs(gm.Variance()-wm.Variance()) > 1e-10*wm.Variance() {
			t.Errorf("%s: mean %v variance %v, want %v and %v", question[i], gm.Mean(), gm.Variance(), wm.Mean(), wm.Variance())
		}
	}
	sameRegression(t, stats.Drivers(got), stats.Drivers(want), 1e-9)
	if !stats.Drivers(got).Computable() {
		t.Error("the fixture's regression is not computable")
	}

	// An arm without answers: n 0, every sum 0.
	empty, err := s.DriverSums(ctx, e.ID, "nobody", driversVars(t, svc, "trust", "fairness"))
	if err != nil {
		t.Fatal(err)
	}
	if empty.N != 0 || empty.Sum[0] != 0 || empty.Cross[2] != 0 {
		t.Errorf("no answers: %+v", empty)
	}
}

// TestDriverSumsOfValuesWithALargeOffset: numeric outcomes at 1e9 plus a spread of a few
// units. Raw float8 sums would leave nothing of the spread's cross-products; about the
// reference values the regression must agree with the one Go computes from the values to
// the contract's 1e-6.
func TestDriverSumsOfValuesWithALargeOffset(t *testing.T) {
	s := pgtest.Store(t)
	svc := experiment.NewService(s)
	ctx := context.Background()
	keys := []string{"drv_balance", "drv_spend", "drv_visits"}
	for _, k := range keys {
		if _, err := svc.CreateOutcome(ctx, experiment.Outcome{Key: k, Kind: experiment.Numeric, Label: k, LabelNL: k, HigherIsBetter: true}); err != nil {
			t.Fatal(err)
		}
	}
	key := "drivers-offset"
	if _, err := svc.CreateExperiment(ctx, experiment.Experiment{Key: key, Outcomes: keys, PrimaryOutcome: keys[0],
		Arms: []experiment.Arm{{Key: "control", Weight: 1, Control: true}, {Key: "treat", Weight: 1}}}); err != nil {
		t.Fatal(err)
	}
	e, err := svc.Start(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for i := range 400 {
		ids = append(ids, fmt.Sprintf("drvoff-%d", i))
	}
	as, err := svc.AssignBatch(ctx, key, ids)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	var rs []experiment.Response
	vars := make([][]float64, 3)
	for i, a := range as {
		x1 := 1e9 + float64((i*37)%23)/4
		x2 := 1e9 + float64((i*11)%17)/8 + 0.3*float64((i*37)%23)/4
		y := 1e9 + 0.8*(x1-1e9) - 0.5*(x2-1e9) + float64((i*53)%29)/10
		rs = append(rs, experiment.Response{ResponseID: "r-" + a.CustomerID, CustomerID: a.CustomerID, AnsweredAt: at,
			Answers: map[string]float64{keys[0]: y, keys[1]: x1, keys[2]: x2}})
		if a.Arm == "control" {
			for j, v := range []float64{y, x1, x2} {
				vars[j] = append(vars[j], v)
			}
		}
	}
	if _, err := svc.RecordResponses(ctx, key, rs, true); err != nil {
		t.Fatal(err)
	}
	got, err := s.DriverSums(ctx, e.ID, "control", driversVars(t, svc, keys...))
	if err != nil {
		t.Fatal(err)
	}
	if got.Shift[0] < 1e9 {
		t.Errorf("shifts %v: not near the values", got.Shift)
	}
	want := stats.Drivers(stats.CrossProductsOf(vars...))
	res := stats.Drivers(got)
	res.Intercept, want.Intercept = 0, 0 // the value at x = 0, 1e9 away: see stats' own test
	sameRegression(t, res, want, 1e-6)
	if !(want.RSquared > 0.5) {
		t.Errorf("fixture: R² %v", want.RSquared)
	}
}
