package stats_test

import (
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/stat/distuv"

	"github.com/krslab/krslab/stats"
)

// Values with a large offset and a small spread (STATS.md: 1e9 + N(0,1),
// timestamps, balances) against a two-pass computation in math/big, which has
// no cancellation to lose digits to: every number to 1e-9 relative, well
// inside the contract's 1e-6.

// exactMoments is the two-pass reference: the mean and the centred sum of
// squares of xs in 256-bit floating point.
func exactMoments(xs []float64) (mean, ss *big.Float) { return bigMoments(bigs(xs)) }

const prec = 256

func bigs(xs []float64) []*big.Float {
	out := make([]*big.Float, len(xs))
	for i, x := range xs {
		out[i] = new(big.Float).SetPrec(prec).SetFloat64(x)
	}
	return out
}

func bigMoments(xs []*big.Float) (mean, ss *big.Float) {
	sum := new(big.Float).SetPrec(prec)
	for _, x := range xs {
		sum.Add(sum, x)
	}
	mean = new(big.Float).SetPrec(prec).Quo(sum, big.NewFloat(float64(len(xs))))
	ss = new(big.Float).SetPrec(prec)
	for _, x := range xs {
		d := new(big.Float).SetPrec(prec).Sub(x, mean)
		ss.Add(ss, d.Mul(d, d))
	}
	return mean, ss
}

func f64(x *big.Float) float64 { f, _ := x.Float64(); return f }

// refWelch is Welch's test on raw values by the two-pass reference.
type refWelch struct{ meanT, meanC, sdT, sdC, diff, se, df, t, p float64 }

func twoPassWelch(t, c []float64) refWelch { return twoPassWelchBig(bigs(t), bigs(c)) }

func twoPassWelchBig(t, c []*big.Float) refWelch {
	mt, sst := bigMoments(t)
	mc, ssc := bigMoments(c)
	nt, nc := float64(len(t)), float64(len(c))
	vt, vc := f64(sst)/(nt-1), f64(ssc)/(nc-1)
	a, b := vt/nt, vc/nc
	r := refWelch{meanT: f64(mt), meanC: f64(mc), sdT: math.Sqrt(vt), sdC: math.Sqrt(vc)}
	r.diff = f64(new(big.Float).SetPrec(256).Sub(mt, mc))
	r.se = math.Sqrt(a + b)
	r.df = (a + b) * (a + b) / (a*a/(nt-1) + b*b/(nc-1))
	r.t = r.diff / r.se
	r.p = 2 * distuv.StudentsT{Mu: 0, Sigma: 1, Nu: r.df}.Survival(math.Abs(r.t))
	return r
}

func closeRel(got, want, rel float64) bool {
	return math.Abs(got-want) <= rel*math.Abs(want) || math.Abs(got-want) <= 1e-12
}

func offsetSample(r *rand.Rand, n int, offset, shift float64) []float64 {
	xs := make([]float64, n)
	for i := range xs {
		xs[i] = offset + shift + r.NormFloat64()
	}
	return xs
}

// TestLargeOffsetMomentsAndWelch: per-arm mean and sd and the Welch test of
// offset + N(0,1) against offset + 0.1 + N(0,1), for offsets up to 1e12.
// With raw sums 1e7 already reads as sd 0 (insufficient_data) and 1e5 is off
// by 4e-6.
func TestLargeOffsetMomentsAndWelch(t *testing.T) {
	r := rand.New(rand.NewPCG(8, 9))
	for _, offset := range []float64{0, 1e5, 1e7, 1e9, 1e12, -3e9} {
		t.Run(fmt.Sprint(offset), func(t *testing.T) {
			tv := offsetSample(r, 3000, offset, 0.1)
			cv := offsetSample(r, 2800, offset, 0)
			want := twoPassWelch(tv, cv)
			mt, mc := stats.MomentsOf(tv), stats.MomentsOf(cv)
			for _, c := range []struct {
				name      string
				got, want float64
			}{
				{"mean_t", mt.Mean(), want.meanT}, {"mean_c", mc.Mean(), want.meanC},
				{"sd_t", mt.SD(), want.sdT}, {"sd_c", mc.SD(), want.sdC},
			} {
				if !closeRel(c.got, c.want, 1e-9) {
					t.Errorf("%s = %.17g, two-pass %.17g", c.name, c.got, c.want)
				}
			}
			w := stats.WelchFromMoments(mt, mc, 0.05)
			for _, c := range []struct {
				name      string
				got, want float64
			}{
				{"diff", w.Diff, want.diff}, {"se", w.SE, want.se}, {"df", w.DF, want.df},
				{"t", w.T, want.t}, {"p_value", w.PValue, want.p},
			} {
				if !closeRel(c.got, c.want, 1e-9) {
					t.Errorf("welch %s = %.17g, two-pass %.17g", c.name, c.got, c.want)
				}
			}
		})
	}
}

// TestLargeOffsetCUPED: CUPED with y = 1e9 + N(0,1) and a covariate
// 5e8 + 0.8*(y - 1e9) + N(0, 0.5), some covariates missing: theta, the
// adjusted difference, its p-value and the variance reduction against the
// two-pass computation on the adjusted values themselves.
func TestLargeOffsetCUPED(t *testing.T) {
	r := rand.New(rand.NewPCG(10, 11))
	for _, offset := range []float64{1e7, 1e9} {
		t.Run(fmt.Sprint(offset), func(t *testing.T) {
			gen := func(n int, shift float64) (ys, xs []float64) {
				for i := range n {
					e := r.NormFloat64()
					ys = append(ys, offset+shift+e)
					x := math.NaN()
					if i%7 != 3 {
						x = offset/2 + 0.8*e + 0.5*r.NormFloat64()
					}
					xs = append(xs, x)
				}
				return ys, xs
			}
			yt, xt := gen(2500, 0.05)
			yc, xc := gen(2400, 0)

			// Reference: x_bar and theta pooled over both arms, in math/big.
			var px, py []float64
			for i, x := range append(append([]float64{}, xt...), xc...) {
				if !math.IsNaN(x) {
					px = append(px, x)
					py = append(py, append(append([]float64{}, yt...), yc...)[i])
				}
			}
			xbar, sxx := exactMoments(px)
			ybar, _ := exactMoments(py)
			sxy := new(big.Float).SetPrec(256)
			for i := range px {
				dx := new(big.Float).SetPrec(256).Sub(big.NewFloat(px[i]), xbar)
				dy := new(big.Float).SetPrec(256).Sub(big.NewFloat(py[i]), ybar)
				sxy.Add(sxy, dx.Mul(dx, dy))
			}
			bigTheta := new(big.Float).SetPrec(prec).Quo(sxy, sxx)
			theta := f64(bigTheta)
			adjust := func(ys, xs []float64) []*big.Float {
				out := bigs(ys)
				for i := range ys {
					if !math.IsNaN(xs[i]) {
						d := new(big.Float).SetPrec(prec).Sub(big.NewFloat(xs[i]), xbar)
						out[i].Sub(out[i], d.Mul(d, bigTheta))
					}
				}
				return out
			}
			raw := twoPassWelch(yt, yc)
			adj := twoPassWelchBig(adjust(yt, xt), adjust(yc, xc))

			ct, cc := stats.CovariateSumsOf(yt, xt), stats.CovariateSumsOf(yc, xc)
			got, ok := stats.CUPED(stats.MomentsOf(yt), stats.MomentsOf(yc), ct, cc, 0.05)
			if !ok {
				t.Fatal("no CUPED")
			}
			for _, c := range []struct {
				name      string
				got, want float64
			}{
				{"theta", got.Theta, theta}, {"diff", got.Diff, adj.diff}, {"se", got.SE, adj.se},
				{"df", got.DF, adj.df}, {"p_value", got.PValue, adj.p},
				{"variance_reduction", got.VarianceReduction, 1 - adj.se*adj.se/(raw.se*raw.se)},
			} {
				if !closeRel(c.got, c.want, 1e-9) {
					t.Errorf("cuped %s = %.17g, two-pass %.17g", c.name, c.got, c.want)
				}
			}
		})
	}
}

// TestRelativeLiftAgainstAnExactlyZeroMean: control values that cancel
// exactly (1e16, 3, -1e16, -3: mean 0, however a float sum rounds them) give
// relative_lift null; one unit less (mean 0.25 exactly) gives diff/0.25.
func TestRelativeLiftAgainstAnExactlyZeroMean(t *testing.T) {
	treat := []float64{1, 2, 3, 4}
	for _, tc := range []struct {
		control []float64
		lift    float64 // NaN: null
		diff    float64
	}{
		{[]float64{1e16, 3, -1e16, -3}, math.NaN(), 2.5},
		{[]float64{1e16, 3, -1e16, -2}, 9, 2.25},
		{[]float64{0.1, 0.2, -0.3, 0}, math.NaN(), 2.5},
		{[]float64{-1e16, -2, 1.0000000000000002e16, 0}, math.NaN(), 2.5},
	} {
		o := stats.Outcome{Key: "balance", Kind: stats.KindNumeric, HigherIsBetter: true, Arms: map[string]stats.ArmData{
			"control": {Moments: stats.MomentsOf(tc.control)}, "treat": {Moments: stats.MomentsOf(treat)}}}
		a := stats.Analyze(stats.Design{Control: "control", Arms: []string{"control", "treat"}}, []stats.Outcome{o})
		b, err := json.Marshal(a.Outcomes[0].Comparisons["treat"])
		if err != nil {
			t.Fatal(err)
		}
		var got struct {
			Diff         *float64 `json:"diff"`
			RelativeLift *float64 `json:"relative_lift"`
			Verdict      string   `json:"verdict"`
		}
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatal(err)
		}
		switch {
		case got.Diff == nil || *got.Diff != tc.diff:
			t.Errorf("control %v: want diff %v, got %s", tc.control, tc.diff, b)
		case math.IsNaN(tc.lift) && got.RelativeLift != nil:
			t.Errorf("control %v: relative_lift %v, want null", tc.control, *got.RelativeLift)
		case !math.IsNaN(tc.lift) && (got.RelativeLift == nil || !closeRel(*got.RelativeLift, tc.lift, 1e-12)):
			t.Errorf("control %v: want relative_lift %v, got %s", tc.control, tc.lift, b)
		}
	}
}
