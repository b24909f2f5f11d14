package postgres_test

import (
	"context"
	"fmt"
	"math"
	"math/big"
	"math/rand/v2"
	"testing"
	"time"

	"gonum.org/v1/gonum/stat/distuv"

	"github.com/krslab/krslab/experiment"
	"github.com/krslab/krslab/experiment/postgres/pgtest"
	"github.com/krslab/krslab/stats"
)

// Numeric outcomes with a large offset and a small spread (STATS.md: 1e9 + N(0,1),
// timestamps, balances) through the real store: the sums PostgreSQL takes must keep the
// spread, so /results agrees with a two-pass computation on the raw values (in math/big,
// which loses nothing) to 1e-6 relative, CUPED included.

// numericExperiment is a running two-arm experiment (control, treat) on one new numeric
// outcome: the i-th customer of an arm answers value(arm, i) unless it is NaN, with the
// covariate(arm, i) unless that is NaN. It returns the answers and covariates per arm.
func numericExperiment(t *testing.T, svc *experiment.Service, key string, n int,
	value func(arm string, i int) float64, covariate func(arm string, i int) float64) (ys, xs map[string][]float64) {
	t.Helper()
	ctx := context.Background()
	if _, err := svc.CreateOutcome(ctx, experiment.Outcome{Key: key, Kind: experiment.Numeric, Label: key, LabelNL: key, HigherIsBetter: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.CreateExperiment(ctx, experiment.Experiment{Key: key, Outcomes: []string{key}, PrimaryOutcome: key,
		Arms: []experiment.Arm{{Key: "control", Weight: 1, Control: true}, {Key: "treat", Weight: 1}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Start(ctx, key); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for i := range n {
		ids = append(ids, fmt.Sprintf("%s-%d", key, i))
	}
	as, err := svc.AssignBatch(ctx, key, ids)
	if err != nil {
		t.Fatal(err)
	}
	ys, xs = map[string][]float64{}, map[string][]float64{}
	var rs []experiment.Response
	var cs []experiment.Covariate
	at := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	seen := map[string]int{}
	for _, a := range as {
		i := seen[a.Arm]
		seen[a.Arm]++
		y := value(a.Arm, i)
		if math.IsNaN(y) {
			continue // no answer
		}
		ys[a.Arm] = append(ys[a.Arm], y)
		rs = append(rs, experiment.Response{ResponseID: "r-" + a.CustomerID, CustomerID: a.CustomerID, AnsweredAt: at,
			Answers: map[string]float64{key: y}})
		x := math.NaN()
		if covariate != nil {
			x = covariate(a.Arm, i)
		}
		xs[a.Arm] = append(xs[a.Arm], x)
		if !math.IsNaN(x) {
			cs = append(cs, experiment.Covariate{CustomerID: a.CustomerID, Outcome: key, Value: x})
		}
	}
	if _, err := svc.RecordResponses(ctx, key, rs, true); err != nil {
		t.Fatal(err)
	}
	if len(cs) > 0 {
		if err := svc.RecordCovariates(ctx, key, cs); err != nil {
			t.Fatal(err)
		}
	}
	return ys, xs
}

const bigPrec = 256

func bigOf(xs []float64) []*big.Float {
	out := make([]*big.Float, len(xs))
	for i, x := range xs {
		out[i] = new(big.Float).SetPrec(bigPrec).SetFloat64(x)
	}
	return out
}

// twoPass is the mean and the centred sum of squares of xs, exactly enough.
func twoPass(xs []*big.Float) (mean, ss *big.Float) {
	sum := new(big.Float).SetPrec(bigPrec)
	for _, x := range xs {
		sum.Add(sum, x)
	}
	mean = new(big.Float).SetPrec(bigPrec).Quo(sum, big.NewFloat(float64(len(xs))))
	ss = new(big.Float).SetPrec(bigPrec)
	for _, x := range xs {
		d := new(big.Float).SetPrec(bigPrec).Sub(x, mean)
		ss.Add(ss, d.Mul(d, d))
	}
	return mean, ss
}

func flt(x *big.Float) float64 { f, _ := x.Float64(); return f }

// welchOf is Welch's test of t against c by the two-pass reference: diff, se, df, p.
func welchOf(t, c []*big.Float) (diff, se, df, p float64) {
	mt, sst := twoPass(t)
	mc, ssc := twoPass(c)
	nt, nc := float64(len(t)), float64(len(c))
	a, b := flt(sst)/(nt-1)/nt, flt(ssc)/(nc-1)/nc
	diff = flt(new(big.Float).SetPrec(bigPrec).Sub(mt, mc))
	se = math.Sqrt(a + b)
	df = (a + b) * (a + b) / (a*a/(nt-1) + b*b/(nc-1))
	p = 2 * distuv.StudentsT{Mu: 0, Sigma: 1, Nu: df}.Survival(math.Abs(diff/se))
	return diff, se, df, p
}

// cupedOf adjusts y by theta = cov(x, y)/var(x) over both arms' present covariates, a
// missing covariate standing at their mean (STATS.md), and returns theta and the
// adjusted values per arm.
func cupedOf(ys, xs map[string][]float64) (theta float64, adj map[string][]*big.Float) {
	var px, py []*big.Float
	for _, arm := range []string{"control", "treat"} {
		for i, x := range xs[arm] {
			if !math.IsNaN(x) {
				px, py = append(px, bigOf([]float64{x})[0]), append(py, bigOf([]float64{ys[arm][i]})[0])
			}
		}
	}
	xbar, sxx := twoPass(px)
	ybar, _ := twoPass(py)
	sxy := new(big.Float).SetPrec(bigPrec)
	for i := range px {
		dx := new(big.Float).SetPrec(bigPrec).Sub(px[i], xbar)
		dy := new(big.Float).SetPrec(bigPrec).Sub(py[i], ybar)
		sxy.Add(sxy, dx.Mul(dx, dy))
	}
	th := new(big.Float).SetPrec(bigPrec).Quo(sxy, sxx)
	adj = map[string][]*big.Float{}
	for arm, y := range ys {
		a := bigOf(y)
		for i, x := range xs[arm] {
			if !math.IsNaN(x) {
				d := new(big.Float).SetPrec(bigPrec).Sub(big.NewFloat(x), xbar)
				a[i].Sub(a[i], d.Mul(d, th))
			}
		}
		adj[arm] = a
	}
	return flt(th), adj
}

func within(got, want float64) bool {
	return math.Abs(got-want) <= 1e-6*math.Abs(want) || math.Abs(got-want) <= 1e-9
}

// TestResultsOfValuesWithALargeOffset: offset + N(0,1) against offset + 0.2 + N(0,1), with
// a covariate offset/2 + 0.8 e + N(0, 0.5) (every seventh missing), for offsets 1e7 and
// 1e9, and 1e9 with a few zeros in control (a reference value taken from them would leave
// the treatment's sums raw): the arms' means and sds, the Welch comparison and CUPED of
// /results, and the same comparison by the cut-off path of the timeline, against the
// two-pass reference.
func TestResultsOfValuesWithALargeOffset(t *testing.T) {
	svc := experiment.NewService(pgtest.Store(t))
	ctx := context.Background()
	for _, tc := range []struct {
		offset   float64
		outliers int // the first customers answer 0 (a balance never filled in)
	}{{1e7, 0}, {1e9, 0}, {1e9, 3}} {
		offset := tc.offset
		t.Run(fmt.Sprintf("%g+%d", offset, tc.outliers), func(t *testing.T) {
			r := rand.New(rand.NewPCG(uint64(offset), 7))
			noise := map[string][]float64{}
			answered := 0
			value := func(arm string, i int) float64 {
				e := r.NormFloat64()
				noise[arm] = append(noise[arm], e)
				answered++
				switch {
				case answered <= tc.outliers:
					return 0
				case arm == "treat":
					return offset + 0.2 + e
				}
				return offset + e
			}
			covariate := func(arm string, i int) float64 {
				if i%7 == 3 {
					return math.NaN()
				}
				return offset/2 + 0.8*noise[arm][i] + 0.5*r.NormFloat64()
			}
			key := fmt.Sprintf("balance_e%.0f_%d", math.Log10(offset), tc.outliers)
			ys, xs := numericExperiment(t, svc, key, 1500, value, covariate)
			res, err := svc.Results(ctx, key)
			if err != nil {
				t.Fatal(err)
			}
			o := res.Outcomes[0]
			for _, arm := range []string{"control", "treat"} {
				mean, ss := twoPass(bigOf(ys[arm]))
				sd := math.Sqrt(flt(ss) / float64(len(ys[arm])-1))
				if s := o.Arms[arm]; s.N != int64(len(ys[arm])) || !within(s.Mean, flt(mean)) || !within(s.SD, sd) {
					t.Errorf("%s: n %d, mean %.17g, sd %.17g; two-pass n %d, mean %.17g, sd %.17g",
						arm, s.N, s.Mean, s.SD, len(ys[arm]), flt(mean), sd)
				}
			}
			diff, se, df, p := welchOf(bigOf(ys["treat"]), bigOf(ys["control"]))
			c := o.Comparisons["treat"]
			for _, f := range []struct {
				name      string
				got, want float64
			}{{"diff", c.Diff, diff}, {"se", c.SE, se}, {"df", c.DF, df}, {"p_value", c.PValue, p}} {
				if !within(f.got, f.want) {
					t.Errorf("welch %s = %.17g, two-pass %.17g", f.name, f.got, f.want)
				}
			}
			theta, adj := cupedOf(ys, xs)
			cdiff, cse, _, cp := welchOf(adj["treat"], adj["control"])
			if c.CUPED == nil {
				t.Fatalf("no CUPED block: %+v", c)
			}
			for _, f := range []struct {
				name      string
				got, want float64
			}{{"theta", c.CUPED.Theta, theta}, {"diff", c.CUPED.Diff, cdiff}, {"se", c.CUPED.SE, cse},
				{"p_value", c.CUPED.PValue, cp}, {"variance_reduction", c.CUPED.VarianceReduction, 1 - cse*cse/(se*se)}} {
				if !within(f.got, f.want) {
					t.Errorf("cuped %s = %.17g, two-pass %.17g", f.name, f.got, f.want)
				}
			}
			points, err := svc.Timeline(ctx, key)
			if err != nil || len(points) != 1 {
				t.Fatalf("timeline %v, %v", points, err)
			}
			if got := points[0].Comparison; !within(got.Diff, diff) || !within(got.SE, se) {
				t.Errorf("cut-off path: diff %.17g, se %.17g; two-pass %.17g, %.17g", got.Diff, got.SE, diff, se)
			}
		})
	}
}

// TestResultsRelativeLiftAgainstAControlThatCancels: control values whose exact mean is 0
// (1e16, 3, -1e16, -3, ...; a sum in floating point leaves a residue of a few units) give
// relative_lift null and the exact difference; one unit less (mean 1/8) gives the lift
// against the exact mean.
func TestResultsRelativeLiftAgainstAControlThatCancels(t *testing.T) {
	svc := experiment.NewService(pgtest.Store(t))
	ctx := context.Background()
	treat := []float64{1, 2, 3, 4}
	for _, tc := range []struct {
		key     string
		control []float64
		meanC   float64
		lift    float64 // NaN: null
	}{
		{"cancels", []float64{1e16, 3, -1e16, -3, 5, -5, 7, -7}, 0, math.NaN()},
		{"cancels_not", []float64{1e16, 3, -1e16, -2, 5, -5, 7, -7}, 0.125, 19},
	} {
		t.Run(tc.key, func(t *testing.T) {
			numericExperiment(t, svc, tc.key, 60, func(arm string, i int) float64 {
				vs := tc.control
				if arm == "treat" {
					vs = treat
				}
				if i >= len(vs) {
					return math.NaN()
				}
				return vs[i]
			}, nil)
			res, err := svc.Results(ctx, tc.key)
			if err != nil {
				t.Fatal(err)
			}
			o := res.Outcomes[0]
			if nt, nc := o.Arms["treat"].N, o.Arms["control"].N; nt != int64(len(treat)) || nc != int64(len(tc.control)) {
				t.Fatalf("arms of %d and %d answers", nt, nc)
			}
			c := o.Comparisons["treat"]
			if want := 2.5 - tc.meanC; c.Diff != want || o.Arms["control"].Mean != tc.meanC {
				t.Errorf("diff %v, control mean %v; want %v, %v", c.Diff, o.Arms["control"].Mean, want, tc.meanC)
			}
			// The timeline's cut-off path takes its exact sums from the answers given by then,
			// a segmented analysis per segment (here one, holding every customer).
			points, err := svc.Timeline(ctx, tc.key)
			if err != nil || len(points) != 1 {
				t.Fatalf("timeline %v, %v", points, err)
			}
			var attrs []experiment.CustomerAttributes
			for i := range 60 {
				attrs = append(attrs, experiment.CustomerAttributes{CustomerID: fmt.Sprintf("%s-%d", tc.key, i), Attributes: map[string]string{"cohort": "all"}})
			}
			if err := svc.RecordAttributes(ctx, attrs); err != nil {
				t.Fatal(err)
			}
			seg, err := svc.SegmentResults(ctx, tc.key, "cohort")
			if err != nil || len(seg.Cells) != 1 {
				t.Fatalf("segments %+v, %v", seg, err)
			}
			for what, c := range map[string]stats.Comparison{"results": c, "timeline": points[0].Comparison,
				"segment": seg.Cells[0].Results.Outcomes[0].Comparisons["treat"]} {
				switch {
				case math.IsNaN(tc.lift) && !math.IsNaN(c.RelativeLift):
					t.Errorf("%s: relative_lift %v, want null", what, c.RelativeLift)
				case !math.IsNaN(tc.lift) && !within(c.RelativeLift, tc.lift):
					t.Errorf("%s: relative_lift %v, want %v", what, c.RelativeLift, tc.lift)
				}
			}
		})
	}
}
