package stats_test

import (
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/krslab/krslab/stats"
	"gonum.org/v1/gonum/integrate/quad"
	"gonum.org/v1/gonum/stat/distuv"
)

// randomCounts draws n Likert answers on min..max with a per-arm shift.
func randomCounts(r *rand.Rand, n, min, max int, shift float64) stats.Counts {
	xs := make([]float64, n)
	for i := range xs {
		v := math.Round(float64(min+max)/2 + shift + 1.5*r.NormFloat64())
		xs[i] = math.Max(float64(min), math.Min(float64(max), v))
	}
	return stats.CountsOf(xs, min, max)
}

// randomExperiment is a 4-arm experiment with scale, net, binary and
// composite outcomes, so the family mixes every kind of test.
func randomExperiment(seed uint64, correction string) (stats.Design, []stats.Outcome) {
	r := rand.New(rand.NewPCG(seed, 1))
	arms := []string{"control", "a", "b", "c"}
	d := stats.Design{Alpha: 0.05, Correction: correction, Control: "control", Arms: arms,
		Weights: map[string]float64{}, Assigned: map[string]int64{}}
	var outs []stats.Outcome
	for _, k := range []stats.Kind{stats.KindScale, stats.KindNet, stats.KindBinary, stats.KindComposite} {
		o := stats.Outcome{Key: string(k), Kind: k, HigherIsBetter: true, Arms: map[string]stats.ArmData{}}
		lo, hi := 1, 7
		switch k {
		case stats.KindNet:
			lo, hi, o.TopMin, o.BottomMax = 0, 10, 9, 6
		case stats.KindBinary:
			lo, hi = 0, 1
		}
		o.Min, o.Max = float64(lo), float64(hi)
		for i, a := range arms {
			n := 20 + r.IntN(200)
			shift := 0.4 * float64(i) * r.Float64()
			var ad stats.ArmData
			if k == stats.KindComposite {
				xs := make([]float64, n)
				for j := range xs {
					xs[j] = 60 + 10*shift + 15*r.NormFloat64()
				}
				ad.Moments = stats.MomentsOf(xs)
			} else if k == stats.KindBinary {
				xs := make([]float64, n)
				for j := range xs {
					if r.Float64() < 0.2+0.05*shift {
						xs[j] = 1
					}
				}
				c := stats.CountsOf(xs, 0, 1)
				ad.Counts = &c
			} else {
				c := randomCounts(r, n, lo, hi, shift)
				ad.Counts = &c
			}
			o.Arms[a] = ad
			d.Weights[a] = 1
			d.Assigned[a] = int64(2 * n)
		}
		outs = append(outs, o)
	}
	return d, outs
}

// TestAdjustmentOrder checks on whole analyses that Holm >= BH >= raw for
// every comparison, and that both adjustments keep the order of the raw
// p-values across the family.
func TestAdjustmentOrder(t *testing.T) {
	for seed := range uint64(50) {
		d, outs := randomExperiment(seed, stats.CorrectionHolm)
		holm := stats.Analyze(d, outs)
		d.Correction = stats.CorrectionBH
		bh := stats.Analyze(d, outs)
		d.Correction = stats.CorrectionNone
		raw := stats.Analyze(d, outs)
		var rawP, holmP, bhP []float64
		for i, o := range raw.Outcomes {
			for arm, c := range o.Comparisons {
				h := holm.Outcomes[i].Comparisons[arm].PAdjusted
				b := bh.Outcomes[i].Comparisons[arm].PAdjusted
				if c.PAdjusted != c.FamilyP {
					t.Errorf("seed %d %s/%s: none adjusted %v != raw %v", seed, o.Key, arm, c.PAdjusted, c.FamilyP)
				}
				if !(h >= b && b >= c.PAdjusted) || h > 1 {
					t.Errorf("seed %d %s/%s: holm %v, bh %v, raw %v", seed, o.Key, arm, h, b, c.PAdjusted)
				}
				rawP, holmP, bhP = append(rawP, c.FamilyP), append(holmP, h), append(bhP, b)
			}
		}
		for i := range rawP {
			for j := range rawP {
				if rawP[i] < rawP[j] && (holmP[i] > holmP[j] || bhP[i] > bhP[j]) {
					t.Errorf("seed %d: p %v < %v but adjusted holm %v > %v or bh %v > %v",
						seed, rawP[i], rawP[j], holmP[i], holmP[j], bhP[i], bhP[j])
				}
			}
		}
	}
}

func TestHolmBHAdjust(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 7))
	for range 200 {
		p := make([]float64, 1+r.IntN(12))
		for i := range p {
			p[i] = r.Float64() * r.Float64()
		}
		h, b := stats.HolmAdjust(p), stats.BHAdjust(p)
		for i := range p {
			if !(h[i] >= b[i] && b[i] >= p[i] && h[i] <= 1) {
				t.Fatalf("p %v: holm %v bh %v", p, h, b)
			}
			for j := range p {
				if p[i] <= p[j] && (h[i] > h[j] || b[i] > b[j]) {
					t.Fatalf("p %v: not monotone, holm %v bh %v", p, h, b)
				}
			}
		}
	}
	if got := stats.HolmAdjust(nil); len(got) != 0 {
		t.Errorf("HolmAdjust(nil) = %v", got)
	}
	if _, err := stats.AdjustP([]float64{0.1}, "bonferroni"); err == nil {
		t.Error("AdjustP accepted an unknown correction")
	}
}

// TestComparisonProperties checks that every interval contains its
// estimate and that swapping the arms flips the sign of diff and keeps the
// p-value.
func TestComparisonProperties(t *testing.T) {
	for seed := range uint64(30) {
		_, outs := randomExperiment(seed, stats.CorrectionNone)
		for _, o := range outs {
			for _, arm := range []string{"a", "b", "c"} {
				c := stats.Compare(o, o.Arms[arm], o.Arms["control"], 0.05)
				s := stats.Compare(o, o.Arms["control"], o.Arms[arm], 0.05)
				if !c.Sufficient() {
					t.Fatalf("seed %d %s/%s: insufficient", seed, o.Key, arm)
				}
				if !(c.CILow <= c.Diff && c.Diff <= c.CIHigh) {
					t.Errorf("seed %d %s/%s: diff %v outside [%v, %v]", seed, o.Key, arm, c.Diff, c.CILow, c.CIHigh)
				}
				if c.Sequential != nil && !(c.Sequential.CILow <= c.Diff && c.Diff <= c.Sequential.CIHigh) {
					t.Errorf("seed %d %s/%s: diff outside the sequential CI", seed, o.Key, arm)
				}
				if s.Diff != -c.Diff || math.Abs(s.PValue-c.PValue) > 1e-12 {
					t.Errorf("seed %d %s/%s: swapped diff %v p %v, want %v p %v", seed, o.Key, arm, s.Diff, s.PValue, -c.Diff, c.PValue)
				}
				if c.MannWhitney != nil && math.Abs(c.MannWhitney.ProbSuperiority+s.MannWhitney.ProbSuperiority-1) > 1e-12 {
					t.Errorf("seed %d %s/%s: P(T>C) + P(C>T) != 1", seed, o.Key, arm)
				}
			}
		}
	}
}

// TestMannWhitneyCountsMatchesRaw checks the counts path against ranking
// the raw answers.
func TestMannWhitneyCountsMatchesRaw(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 3))
	expand := func(c stats.Counts) []float64 {
		var xs []float64
		for i, k := range c.N {
			for range k {
				xs = append(xs, float64(c.Level(i)))
			}
		}
		r.Shuffle(len(xs), func(i, j int) { xs[i], xs[j] = xs[j], xs[i] })
		return xs
	}
	for range 50 {
		ct := randomCounts(r, 1+r.IntN(300), 1, 7, r.Float64())
		cc := randomCounts(r, 1+r.IntN(300), 0, 5, 0) // different ranges must align
		got := stats.MannWhitneyFromCounts(ct, cc)
		want := stats.MannWhitney(expand(ct), expand(cc))
		if math.Abs(got.U-want.U) > 1e-9 || math.Abs(got.PValue-want.PValue) > 1e-12 {
			t.Fatalf("counts %+v, raw %+v", got, want)
		}
	}
}

// TestCUPEDWithoutCovariateVariance: a constant covariate cannot explain
// anything, so no CUPED block and the Welch p enters the family.
func TestCUPEDWithoutCovariateVariance(t *testing.T) {
	y := []float64{3, 4, 5, 6, 2, 4}
	x := []float64{1, 1, 1, 1, 1, 1}
	cov := stats.CovariateSumsOf(y, x)
	if _, ok := stats.CUPED(stats.MomentsOf(y), stats.MomentsOf(y), cov, cov, 0.05); ok {
		t.Error("CUPED with a constant covariate")
	}
}

func TestVarianceCancellation(t *testing.T) {
	m := stats.MomentsOf([]float64{64.6144, 64.6144, 64.6144})
	if v := m.Variance(); v != 0 {
		t.Errorf("variance of identical values = %v", v)
	}
	// One composite computed in two orders of summation differs in its last bit:
	// that is no spread either, and neither are rounded sums about another shift.
	up := math.Nextafter(64.6144, 100)
	for _, m := range []stats.Moments{
		stats.MomentsOf([]float64{64.6144, up, 64.6144, up, up}),
		stats.MomentsOf([]float64{64.6144, 64.6144, 64.6144, 64.6144}).ShiftedTo(50),
		stats.MomentsOf([]float64{1e9 + 0.5, 1e9 + 0.5, 1e9 + 0.5}).ShiftedTo(0),
	} {
		if v := m.Variance(); v != 0 {
			t.Errorf("variance of %+v = %v, want 0", m, v)
		}
	}
	if v := stats.MomentsOf([]float64{1e9, 1e9 + 1}).Variance(); v != 0.5 {
		t.Errorf("variance of 1e9, 1e9 + 1 = %v, want 0.5", v)
	}
	if v := (stats.Moments{N: 1, Sum: 3, SumSq: 9}).Variance(); !math.IsNaN(v) {
		t.Errorf("variance of one value = %v", v)
	}
}

// TestNoncentralTCDF checks Lenth's series against direct integration of
// P(T <= t) = E[Phi(t*sqrt(V/df) - nc)], V ~ chi2(df), and against the
// central t and the reflection P(T <= t; nc) = 1 - P(T <= -t; -nc).
func TestNoncentralTCDF(t *testing.T) {
	for _, tc := range []struct{ t, df, nc float64 }{
		{1.96, 1540, 2.8}, {-1.96, 1540, 2.8}, {2.6, 346, 3.1}, {0.5, 3, 1},
		{-3, 5, -2}, {10, 4, 8}, {1, 30, 0.5}, {2.1, 12.5, -1.2}, {0.01, 50, 4},
	} {
		chi := distuv.ChiSquared{K: tc.df}
		f := func(v float64) float64 {
			return distuv.UnitNormal.CDF(tc.t*math.Sqrt(v/tc.df)-tc.nc) * chi.Prob(v)
		}
		// Split at the mode so the Legendre rule sees smooth pieces.
		lo, mid, hi := chi.Quantile(1e-15), math.Max(tc.df-2, chi.Quantile(0.01)), chi.Quantile(1-1e-15)
		want := quad.Fixed(f, lo, mid, 1000, quad.Legendre{}, 0) + quad.Fixed(f, mid, hi, 1000, quad.Legendre{}, 0)
		got := stats.NoncentralTCDF(tc.t, tc.df, tc.nc)
		if math.Abs(got-want) > 1e-10 {
			t.Errorf("NoncentralTCDF(%v, %v, %v) = %.15g, integral %.15g", tc.t, tc.df, tc.nc, got, want)
		}
		if r := 1 - stats.NoncentralTCDF(-tc.t, tc.df, -tc.nc); math.Abs(got-r) > 1e-12 {
			t.Errorf("reflection: %v vs %v", got, r)
		}
	}
	central := distuv.StudentsT{Mu: 0, Sigma: 1, Nu: 7}
	if got, want := stats.NoncentralTCDF(1.3, 7, 0), central.CDF(1.3); got != want {
		t.Errorf("nc = 0: %v, want %v", got, want)
	}
}

// TestSequentialIsScaleFree: the always-valid test of an outcome in other units (cents
// for euros, 1e150 for 1) is the same test. On V and tau² directly, a scale of 1e150 made
// them +Inf, and 1e-150 made them 0: the p-value NaN, the interval null.
func TestSequentialIsScaleFree(t *testing.T) {
	for _, c := range []struct{ diff, se, tau float64 }{
		{0.3, 0.1, 0.28}, {-1.2, 0.4, 0.05}, {0.01, 0.2, 3}, {40, 1, 0.2}, {0, 0.5, 0.5},
	} {
		want := stats.SequentialTest(c.diff, c.se, c.tau, 0.05)
		for _, k := range []float64{1e150, 1e-150, 1e300, 1e-300, 100} {
			got := stats.SequentialTest(c.diff*k, c.se*k, c.tau*k, 0.05)
			if !closeRel(got.PValue, want.PValue, 1e-12) || !closeRel(got.CILow/k, want.CILow, 1e-12) ||
				!closeRel(got.CIHigh/k, want.CIHigh, 1e-12) {
				t.Errorf("%+v at scale %g: %+v, want %+v scaled", c, k, got, want)
			}
		}
	}
	// tau far beyond the standard error: 1/Lambda = sqrt(1+r) exp(-z²/2 r/(1+r)) stays finite.
	if s := stats.SequentialTest(1, 0.5, 1e300, 0.05); !(s.PValue == 1) || math.IsInf(s.CILow, 0) || math.IsNaN(s.CILow) {
		t.Errorf("tau 1e300: %+v", s)
	}
}

// TestWelchIsScaleFree: the Welch test, and CUPED on it, of an outcome in other units is
// the same test, over the whole range the product takes (answers and covariates of 1e-100
// to 1e100). On the variances' squares, the degrees of freedom were Inf/Inf or 0/0 from a
// scale of about 1e±80: the p-value, the interval and CUPED's came out null.
func TestWelchIsScaleFree(t *testing.T) {
	yt, yc := []float64{1, 2, 3, 4, 5, 3, 4}, []float64{2, 3, 4, 5, 6, 6, 5}
	xt, xc := []float64{2, 2, 3, 5, 4, 3, 5}, []float64{1, 3, 4, 4, 6, 5, 6}
	scaled := func(xs []float64, k float64) []float64 {
		out := make([]float64, len(xs))
		for i, x := range xs {
			out[i] = x * k
		}
		return out
	}
	want := stats.WelchTTest(yt, yc, 0.05)
	wantCUPED, ok := stats.CUPED(stats.MomentsOf(yt), stats.MomentsOf(yc), stats.CovariateSumsOf(yt, xt), stats.CovariateSumsOf(yc, xc), 0.05)
	if !ok {
		t.Fatal("CUPED at scale 1 not computed")
	}
	for _, k := range []float64{1e100, 1e-100, 1e80, 1e-80, 100} {
		got := stats.WelchTTest(scaled(yt, k), scaled(yc, k), 0.05)
		if !closeRel(got.DF, want.DF, 1e-12) || !closeRel(got.PValue, want.PValue, 1e-12) ||
			!closeRel(got.CILow/k, want.CILow, 1e-12) || !closeRel(got.CIHigh/k, want.CIHigh, 1e-12) {
			t.Errorf("Welch at scale %g: %+v, want %+v scaled", k, got, want)
		}
		c, ok := stats.CUPED(stats.MomentsOf(scaled(yt, k)), stats.MomentsOf(scaled(yc, k)),
			stats.CovariateSumsOf(scaled(yt, k), scaled(xt, k)), stats.CovariateSumsOf(scaled(yc, k), scaled(xc, k)), 0.05)
		if !ok || !closeRel(c.PValue, wantCUPED.PValue, 1e-9) || !closeRel(c.CILow/k, wantCUPED.CILow, 1e-9) ||
			!closeRel(c.VarianceReduction, wantCUPED.VarianceReduction, 1e-9) || !closeRel(c.Theta, wantCUPED.Theta, 1e-9) {
			t.Errorf("CUPED at scale %g: %+v, want %+v scaled", k, c, wantCUPED)
		}
	}
}

func TestFloatJSON(t *testing.T) {
	for _, tc := range []struct {
		in   float64
		want string
	}{{math.NaN(), "null"}, {math.Inf(1), "null"}, {math.Inf(-1), "null"}, {0, "0"}, {0.25, "0.25"}, {-1e-300, "-1e-300"}} {
		b, err := json.Marshal(stats.Float(tc.in))
		if err != nil || string(b) != tc.want {
			t.Errorf("Marshal(%v) = %s, %v; want %s", tc.in, b, err, tc.want)
		}
	}
	var f stats.Float
	if err := json.Unmarshal([]byte("null"), &f); err != nil || !math.IsNaN(float64(f)) {
		t.Errorf("Unmarshal(null) = %v, %v", f, err)
	}
}

// TestEmptyArm: an arm without answers reports n = 0 and nulls, and its
// comparison is insufficient_data.
func TestEmptyArm(t *testing.T) {
	c := stats.CountsOf([]float64{1, 2, 3}, 1, 5)
	for _, k := range []stats.Kind{stats.KindScale, stats.KindNet, stats.KindBinary, stats.KindNumeric, stats.KindComposite} {
		o := stats.Outcome{Key: "x", Kind: k, Min: 1, Max: 5, TopMin: 5, BottomMax: 2, HigherIsBetter: true,
			Arms: map[string]stats.ArmData{"control": {Counts: &c, Moments: c.Moments()}}}
		d := stats.Design{Control: "control", Arms: []string{"control", "t"}}
		a := stats.Analyze(d, []stats.Outcome{o})
		got := asJSON(t, a)["outcomes"].([]any)[0].(map[string]any)
		arm := got["arms"].(map[string]any)["t"].(map[string]any)
		for key, v := range arm {
			switch key {
			case "n":
				if v != 0.0 {
					t.Errorf("%s: n = %v", k, v)
				}
			case "distribution":
				if len(v.([]any)) != 5 {
					t.Errorf("%s: distribution %v", k, v)
				}
			default:
				if v != nil {
					t.Errorf("%s: %s = %v, want null", k, key, v)
				}
			}
		}
		if c := a.Outcomes[0].Comparisons["t"]; c.Verdict != stats.VerdictInsufficientData {
			t.Errorf("%s: verdict %s", k, c.Verdict)
		}
	}
}

// TestInsufficientComparisonShape: an insufficient_data comparison has the
// shape of a sufficient one of its kind (STATS.md: null statistics; one shape
// for clients), every field present, every statistic null, significant false.
func TestInsufficientComparisonShape(t *testing.T) {
	enough := []float64{1, 2, 3, 4, 5, 2, 3}
	one := []float64{3}
	for _, k := range []stats.Kind{stats.KindScale, stats.KindNet, stats.KindBinary, stats.KindNumeric, stats.KindComposite} {
		for _, withCov := range []bool{false, true} {
			arm := func(vs []float64) stats.ArmData {
				lo, hi := 1, 5
				if k == stats.KindBinary {
					lo, hi = 0, 1
					vs = append([]float64(nil), vs...)
					for i := range vs {
						vs[i] = float64(int(vs[i]) % 2)
					}
				}
				c := stats.CountsOf(vs, lo, hi)
				a := stats.ArmData{Counts: &c, Moments: stats.MomentsOf(vs)}
				if withCov {
					cov := stats.CovariateSumsOf(vs, vs)
					a.Cov = &cov
				}
				return a
			}
			o := stats.Outcome{Key: "x", Kind: k, Min: 1, Max: 5, TopMin: 5, BottomMax: 2, HigherIsBetter: true,
				Arms: map[string]stats.ArmData{"control": arm(enough), "t": arm(enough), "short": arm(one)}}
			d := stats.Design{Control: "control", Arms: []string{"control", "t", "short"}}
			a := stats.Analyze(d, []stats.Outcome{o})
			full := asJSON(t, a.Outcomes[0].Comparisons["t"])
			short := asJSON(t, a.Outcomes[0].Comparisons["short"])
			what := fmt.Sprintf("%s (covariates %v)", k, withCov)
			if full["verdict"] == "insufficient_data" || short["verdict"] != "insufficient_data" {
				t.Fatalf("%s: fixture verdicts %v, %v", what, full["verdict"], short["verdict"])
			}
			if !slices.Equal(slices.Sorted(maps.Keys(full)), slices.Sorted(maps.Keys(short))) {
				t.Errorf("%s: insufficient comparison has fields %v, a sufficient one %v",
					what, slices.Sorted(maps.Keys(short)), slices.Sorted(maps.Keys(full)))
			}
			for key, v := range short {
				switch key {
				case "verdict":
				case "significant":
					if v != false {
						t.Errorf("%s: significant = %v", what, v)
					}
				default:
					if v != nil {
						t.Errorf("%s: %s = %v, want null", what, key, v)
					}
				}
			}
		}
	}
}
