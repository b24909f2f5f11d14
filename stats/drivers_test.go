package stats_test

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/krslab/krslab/stats"
)

// driversDir holds the survey-aware reference cases (see its README.md): each case asks a
// drivers question over the control arm's values and gives the expected regression,
// computed independently with numpy/scipy. Read at test time; no expected number is copied
// into Go source.
const driversDir = "../../shared/testdata/survey"

// driversCase is the part of a survey case the drivers question needs.
type driversCase struct {
	Control  string `json:"control"`
	Outcomes []struct {
		Key  string                `json:"key"`
		Arms map[string][]*float64 `json:"arms"` // null = the customer gave no value
	} `json:"outcomes"`
	Drivers struct {
		Outcome string   `json:"outcome"`
		Drivers []string `json:"drivers"`
	} `json:"drivers"`
	Expected struct {
		Drivers map[string]any `json:"drivers"`
	} `json:"expected"`
}

func loadDriversCase(t testing.TB, file string) driversCase {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var c driversCase
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	if c.Drivers.Outcome == "" || c.Expected.Drivers == nil {
		t.Fatalf("%s: no drivers question", file)
	}
	return c
}

// sums are the cross-products of the control arm's aligned lists, Y first (NaN where a
// customer has no value; such a customer does not count).
func (c driversCase) sums(t testing.TB) stats.CrossProducts {
	t.Helper()
	byKey := map[string][]*float64{}
	for _, o := range c.Outcomes {
		byKey[o.Key] = o.Arms[c.Control]
	}
	var vars [][]float64
	for _, key := range append([]string{c.Drivers.Outcome}, c.Drivers.Drivers...) {
		vs, ok := byKey[key]
		if !ok {
			t.Fatalf("no values of %s in the control arm", key)
		}
		f := make([]float64, len(vs))
		for i, v := range vs {
			f[i] = math.NaN()
			if v != nil {
				f[i] = *v
			}
		}
		vars = append(vars, f)
	}
	// Lists of different lengths: the missing tail has no values.
	longest := 0
	for _, v := range vars {
		longest = max(longest, len(v))
	}
	for i, v := range vars {
		for len(v) < longest {
			v = append(v, math.NaN())
		}
		vars[i] = v
	}
	return stats.CrossProductsOf(vars...)
}

// driversJSON is the result as the API writes it (undefined numbers null).
func driversJSON(t testing.TB, r stats.DriversResult, keys []string) map[string]any {
	t.Helper()
	type driver struct {
		Key        string      `json:"key"`
		Coef       stats.Float `json:"coef"`
		SE         stats.Float `json:"se"`
		T          stats.Float `json:"t"`
		PValue     stats.Float `json:"p_value"`
		Beta       stats.Float `json:"beta"`
		Importance stats.Float `json:"importance"`
		Share      stats.Float `json:"share"`
		Mean       stats.Float `json:"mean"`
	}
	out := struct {
		N           int64       `json:"n"`
		RSquared    stats.Float `json:"r_squared"`
		AdjRSquared stats.Float `json:"adj_r_squared"`
		Intercept   stats.Float `json:"intercept"`
		Drivers     []driver    `json:"drivers"`
	}{N: r.N, RSquared: stats.Float(r.RSquared), AdjRSquared: stats.Float(r.AdjRSquared), Intercept: stats.Float(r.Intercept)}
	for i, d := range r.Drivers {
		out.Drivers = append(out.Drivers, driver{Key: keys[i], Coef: stats.Float(d.Coef), SE: stats.Float(d.SE), T: stats.Float(d.T),
			PValue: stats.Float(d.PValue), Beta: stats.Float(d.Beta), Importance: stats.Float(d.Importance),
			Share: stats.Float(d.Share), Mean: stats.Float(d.Mean)})
	}
	return asJSON(t, out)
}

// perfectFitT handles the one number a perfect fit leaves undetermined. When the
// reference's standard error is itself rounding (below the absolute tolerance: R² = 1, the
// residuals are rounding error), its t is a ratio of rounding errors (some 1e15) that no
// other computation reproduces. Drivers gives se 0 and t ±Inf, null in JSON, with p 0;
// this checks that want's t is indeed that large, then leaves it out of the comparison.
func perfectFitT(t *testing.T, want, got map[string]any) {
	t.Helper()
	wds, _ := want["drivers"].([]any)
	gds, _ := got["drivers"].([]any)
	for i, w := range wds {
		wd := w.(map[string]any)
		se, ok := wd["se"].(float64)
		if !ok || se > 1e-9 || i >= len(gds) {
			continue
		}
		wt, _ := wd["t"].(float64)
		if math.Abs(wt) < 1e12 {
			t.Errorf("drivers[%d]: se %g is rounding but t %g is not huge", i, se, wt)
		}
		if g := gds[i].(map[string]any)["t"]; g != nil {
			t.Errorf("drivers[%d].t: got %v, want null (a perfect fit: se 0)", i, g)
		}
		delete(wd, "t")
	}
}

// TestDriversReferenceCases checks Drivers against the drivers question of every survey
// case: every expected number at the README's tolerance.
func TestDriversReferenceCases(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(driversDir, "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no survey cases in %s: %v", driversDir, err)
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			c := loadDriversCase(t, file)
			got := driversJSON(t, stats.Drivers(c.sums(t)), c.Drivers.Drivers)
			want := c.Expected.Drivers
			perfectFitT(t, want, got)
			n := compareJSON(t, "drivers", want, got)
			t.Logf("%s on %v: %d expected values checked", c.Drivers.Outcome, c.Drivers.Drivers, n)
		})
	}
}

// TestDriversImportanceSumsToR2 checks Johnson's identity on random correlated data, and
// that OLS residuals are orthogonal to the drivers (the normal equations hold).
func TestDriversImportanceSumsToR2(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 11))
	for trial := range 20 {
		k := 1 + trial%6
		n := k + 3 + r.IntN(200)
		vars := correlated(r, n, k, 0)
		res := stats.Drivers(stats.CrossProductsOf(vars...))
		sum := 0.0
		for _, d := range res.Drivers {
			sum += d.Importance
			if d.Importance < 0 {
				t.Errorf("trial %d: negative importance %g", trial, d.Importance)
			}
		}
		if math.Abs(sum-res.RSquared) > 1e-12 {
			t.Errorf("trial %d: importances sum to %.15g, R² %.15g", trial, sum, res.RSquared)
		}
		// Σ_i e_i x_ij = 0 and Σ e_i = 0 for the residuals e = y - ŷ.
		for j := 0; j <= k; j++ {
			dot, scale := 0.0, 0.0
			for i := range n {
				e := vars[0][i] - res.Intercept
				for l, d := range res.Drivers {
					e -= d.Coef * vars[l+1][i]
				}
				x := 1.0
				if j > 0 {
					x = vars[j][i]
				}
				dot += e * x
				scale += math.Abs(vars[0][i] * x)
			}
			if math.Abs(dot) > 1e-10*scale {
				t.Errorf("trial %d: residuals · x_%d = %g", trial, j, dot)
			}
		}
	}
}

// correlated returns Y and k drivers of n customers: drivers sharing a common factor,
// Y a combination of them plus noise, everything plus offset.
func correlated(r *rand.Rand, n, k int, offset float64) [][]float64 {
	vars := make([][]float64, k+1)
	for i := range vars {
		vars[i] = make([]float64, n)
	}
	for i := range n {
		common := r.NormFloat64()
		y := r.NormFloat64()
		for j := 1; j <= k; j++ {
			x := 0.6*common + r.NormFloat64()
			vars[j][i] = offset + 4 + x
			y += float64(j) * 0.3 * x
		}
		vars[0][i] = offset + 50 + 10*y
	}
	return vars
}

// TestDriversLargeOffset: values of 1e9 + a small spread give the regression of the
// spread (the shift keeps every digit of it); only the intercept depends on the offset.
func TestDriversLargeOffset(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 5))
	plain := correlated(r, 300, 4, 0)
	shifted := make([][]float64, len(plain))
	for i, v := range plain {
		shifted[i] = make([]float64, len(v))
		for j, x := range v {
			shifted[i][j] = x + 1e9
		}
	}
	a := stats.Drivers(stats.CrossProductsOf(plain...))
	b := stats.Drivers(stats.CrossProductsOf(shifted...))
	near := func(what string, got, want float64) {
		t.Helper()
		if math.Abs(got-want) > 1e-6*math.Abs(want)+1e-9 {
			t.Errorf("%s: %.12g with the offset, %.12g without", what, got, want)
		}
	}
	near("r_squared", b.RSquared, a.RSquared)
	near("adj_r_squared", b.AdjRSquared, a.AdjRSquared)
	for j := range a.Drivers {
		da, db := a.Drivers[j], b.Drivers[j]
		for _, f := range []struct {
			name   string
			gt, wt float64
		}{{"coef", db.Coef, da.Coef}, {"se", db.SE, da.SE}, {"t", db.T, da.T}, {"p_value", db.PValue, da.PValue},
			{"beta", db.Beta, da.Beta}, {"importance", db.Importance, da.Importance}, {"share", db.Share, da.Share},
			{"mean", db.Mean - 1e9, da.Mean}} {
			near(fmt.Sprintf("drivers[%d].%s", j, f.name), f.gt, f.wt)
		}
	}
	// The intercept is the value at x = 0, 1e9 away from the data: Y's offset less the
	// drivers' offsets times their coefficients.
	off := 1e9
	for _, d := range a.Drivers {
		off -= d.Coef * 1e9
	}
	if got, want := b.Intercept-off, a.Intercept; math.Abs(got-want) > 1e-6*math.Abs(off) {
		t.Errorf("intercept %.12g, want %.12g + %.12g", b.Intercept, want, off)
	}
}

// TestDriversAreScaleFree: the regression of answers in other units (1e100 for 1, 1e-100,
// or Y and its drivers on scales of their own) has the same fit, standardised weights and
// tests, and coefficients in the new units. The correlations on the product of two sums of
// squares gave r² = 0 and p = 1 at 1e100, and nothing at 1e-100.
func TestDriversAreScaleFree(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 13))
	plain := correlated(r, 200, 2, 0) // Y and two drivers
	want := stats.Drivers(stats.CrossProductsOf(plain...))
	for _, k := range [][]float64{{1e100, 1e100, 1e100}, {1e-100, 1e-100, 1e-100}, {1e100, 1e-100, 1}, {1e-90, 1e90, 1e-90}} {
		vars := make([][]float64, len(plain))
		for i, v := range plain {
			vars[i] = make([]float64, len(v))
			for j, x := range v {
				vars[i][j] = x * k[i]
			}
		}
		got := stats.Drivers(stats.CrossProductsOf(vars...))
		if !closeRel(got.RSquared, want.RSquared, 1e-9) || !closeRel(got.AdjRSquared, want.AdjRSquared, 1e-9) {
			t.Errorf("scales %v: r² %v (adjusted %v), want %v (%v)", k, got.RSquared, got.AdjRSquared, want.RSquared, want.AdjRSquared)
		}
		for j, d := range got.Drivers {
			w := want.Drivers[j]
			if !closeRel(d.Beta, w.Beta, 1e-9) || !closeRel(d.T, w.T, 1e-9) || !closeRel(d.PValue, w.PValue, 1e-9) ||
				!closeRel(d.Share, w.Share, 1e-9) || !closeRel(d.Coef/(k[0]/k[j+1]), w.Coef, 1e-9) {
				t.Errorf("scales %v, driver %d: %+v, want %+v", k, j, d, w)
			}
		}
	}
}

// TestDriversNotComputable: too few customers, no variance, collinear drivers, and
// customers lacking a value are not counted.
func TestDriversNotComputable(t *testing.T) {
	nan := math.NaN()
	for _, tt := range []struct {
		name string
		vars [][]float64
		n    int64
	}{
		{"n < k+2", [][]float64{{1, 2, 4}, {1, 3, 2}, {5, 1, 1}}, 3},
		{"Y constant", [][]float64{{3, 3, 3, 3, 3}, {1, 2, 3, 4, 6}}, 5},
		{"driver constant", [][]float64{{1, 2, 3, 4, 6}, {2, 2, 2, 2, 2}}, 5},
		{"collinear drivers", [][]float64{{1, 2, 3, 5, 6, 2}, {1, 2, 3, 4, 5, 2}, {2, 4, 6, 8, 10, 4}}, 6},
		{"missing values", [][]float64{{1, 2, nan, 5, 6}, {1, nan, 3, 4, 5}, {2, 3, 1, nan, 2}}, 2},
		{"nobody", [][]float64{{nan}, {1}}, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := stats.Drivers(stats.CrossProductsOf(tt.vars...))
			if r.N != tt.n {
				t.Errorf("n = %d, want %d", r.N, tt.n)
			}
			if r.Computable() {
				t.Errorf("computable: %+v", r)
			}
			got := driversJSON(t, r, make([]string, len(tt.vars)-1))
			for _, f := range []string{"r_squared", "adj_r_squared", "intercept"} {
				if got[f] != nil {
					t.Errorf("%s = %v, want null", f, got[f])
				}
			}
			for i, d := range got["drivers"].([]any) {
				for f, v := range d.(map[string]any) {
					if f != "key" && f != "mean" && v != nil {
						t.Errorf("drivers[%d].%s = %v, want null", i, f, v)
					}
				}
				if mean := d.(map[string]any)["mean"]; (mean == nil) != (tt.n == 0) {
					t.Errorf("drivers[%d].mean = %v with n = %d", i, mean, tt.n)
				}
			}
		})
	}
}

// TestCrossProductsOfRows: sums about another shift are the same regression, and
// CrossIndex covers the packed triangle once.
func TestCrossProductsOfRows(t *testing.T) {
	m := 4
	seen := map[int]bool{}
	for i := range m {
		for j := i; j < m; j++ {
			p := stats.CrossIndex(i, j, m)
			if seen[p] || p != stats.CrossIndex(j, i, m) || p < 0 || p >= m*(m+1)/2 {
				t.Errorf("CrossIndex(%d, %d, %d) = %d", i, j, m, p)
			}
			seen[p] = true
		}
	}
	r := rand.New(rand.NewPCG(1, 2))
	vars := correlated(r, 50, 3, 0)
	a := stats.Drivers(stats.CrossProductsOf(vars...))
	s := stats.NewCrossProducts(4, []float64{0, 0, 0, 0}) // raw sums
	for i := range vars[0] {
		s.Add([]float64{vars[0][i], vars[1][i], vars[2][i], vars[3][i]})
	}
	b := stats.Drivers(s)
	if math.Abs(a.RSquared-b.RSquared) > 1e-12 || math.Abs(a.Drivers[2].Coef-b.Drivers[2].Coef) > 1e-10 {
		t.Errorf("shifted %+v, raw %+v", a, b)
	}
}

func ExampleDrivers() {
	// Y and two drivers of six customers (position i is the same customer).
	krs := []float64{40, 55, 62, 48, 70, 66}
	trust := []float64{3, 5, 6, 4, 7, 5}
	fairness := []float64{4, 4, 6, 5, 6, 7}
	r := stats.Drivers(stats.CrossProductsOf(krs, trust, fairness))
	fmt.Printf("n=%d R²=%.3f\n", r.N, r.RSquared)
	for i, name := range []string{"trust", "fairness"} {
		d := r.Drivers[i]
		fmt.Printf("%s: coef %.2f, share of R² %.2f, mean %.2f\n", name, d.Coef, d.Share, d.Mean)
	}
	// Output:
	// n=6 R²=0.951
	// trust: coef 5.50, share of R² 0.61, mean 5.00
	// fairness: coef 3.79, share of R² 0.39, mean 5.33
}

// BenchmarkDrivers is the regression from its sufficient statistics with 5 drivers, what
// a /drivers request computes once the database has summed.
func BenchmarkDrivers(b *testing.B) {
	r := rand.New(rand.NewPCG(5, 5))
	s := stats.CrossProductsOf(correlated(r, 10_000, 5, 0)...)
	b.ReportAllocs()
	for b.Loop() {
		stats.Drivers(s)
	}
}

// BenchmarkCrossProductsOf sums 10,000 customers' values of Y and 5 drivers.
func BenchmarkCrossProductsOf(b *testing.B) {
	r := rand.New(rand.NewPCG(5, 5))
	vars := correlated(r, 10_000, 5, 0)
	b.ReportAllocs()
	for b.Loop() {
		stats.CrossProductsOf(vars...)
	}
}
