package stats

import (
	"math"

	"gonum.org/v1/gonum/stat/distuv"
)

// Welch is the result of Welch's unequal-variance t-test of a treatment
// against control. Every field but Diff is NaN when either arm has fewer
// than 2 values or the standard error is 0.
type Welch struct {
	Diff   float64 // mean_t - mean_c
	SE     float64 // sqrt(v_t/n_t + v_c/n_c)
	DF     float64 // Welch-Satterthwaite
	T      float64
	PValue float64 // two-sided
	CILow  float64 // diff -+ t(1-alpha/2, df) * se
	CIHigh float64
}

// WelchFromMoments is Welch's t-test from the arms' sufficient statistics.
// The difference is taken from the shifted sums (meanDiff), so an offset
// common to both arms does not round it away.
func WelchFromMoments(t, c Moments, alpha float64) Welch {
	w := Welch{Diff: meanDiff(t, c)}
	nan := math.NaN()
	w.SE, w.DF, w.T, w.PValue, w.CILow, w.CIHigh = nan, nan, nan, nan, nan, nan
	if t.N < 2 || c.N < 2 {
		return w
	}
	a := t.Variance() / float64(t.N)
	b := c.Variance() / float64(c.N)
	se := math.Sqrt(a + b)
	if !(se > 0) {
		return w
	}
	w.SE = se
	// (a+b)²/(a²/(n_t-1) + b²/(n_c-1)), in a and b over their larger: the squares of the
	// variances themselves leave float64 for an outcome on a scale of 1e±80 or beyond.
	m := max(a, b)
	ra, rb := a/m, b/m
	w.DF = (ra + rb) * (ra + rb) / (ra*ra/float64(t.N-1) + rb*rb/float64(c.N-1))
	w.T = w.Diff / se
	w.PValue = tTwoSidedP(w.T, w.DF)
	h := tCrit(alpha, w.DF) * se
	w.CILow, w.CIHigh = w.Diff-h, w.Diff+h
	return w
}

// WelchTTest is WelchFromMoments on raw values.
func WelchTTest(t, c []float64, alpha float64) Welch {
	return WelchFromMoments(MomentsOf(t), MomentsOf(c), alpha)
}

// MeanCI is the t interval mean -+ t(1-alpha/2, n-1)*sd/sqrt(n); NaN when n < 2.
func MeanCI(m Moments, alpha float64) (lo, hi float64) {
	if m.N < 2 {
		return math.NaN(), math.NaN()
	}
	h := tCrit(alpha, float64(m.N-1)) * m.SD() / math.Sqrt(float64(m.N))
	return m.Mean() - h, m.Mean() + h
}

// PooledSD is sqrt(((n_t-1)v_t + (n_c-1)v_c)/(n_t+n_c-2)), the scale of
// Cohen's d and of the default sequential tau.
func PooledSD(t, c Moments) float64 {
	if t.N < 2 || c.N < 2 {
		return math.NaN()
	}
	ss := float64(t.N-1)*t.Variance() + float64(c.N-1)*c.Variance()
	return math.Sqrt(ss / float64(t.N+c.N-2))
}

// ZTest is a normal-approximation comparison: z = diff/se,
// p = 2(1 - Phi(|z|)), CI = diff -+ z(1-alpha/2)*se.
type ZTest struct {
	Diff, SE, Z, PValue, CILow, CIHigh float64
}

// NewZTest fills a ZTest from a difference and its standard error.
func NewZTest(diff, se, alpha float64) ZTest {
	h := zCrit(alpha) * se
	z := diff / se
	return ZTest{Diff: diff, SE: se, Z: z, PValue: zTwoSidedP(z), CILow: diff - h, CIHigh: diff + h}
}

// ChanceToBeat is the posterior probability (flat prior, normal
// approximation) that the treatment is better than control.
func ChanceToBeat(diff, se float64, higherIsBetter bool) float64 {
	if !higherIsBetter {
		diff = -diff
	}
	return distuv.UnitNormal.CDF(diff / se)
}

// tCrit is the two-sided critical value t(1-alpha/2, df).
func tCrit(alpha, df float64) float64 {
	return distuv.StudentsT{Mu: 0, Sigma: 1, Nu: df}.Quantile(1 - alpha/2)
}

// zCrit is the two-sided critical value z(1-alpha/2).
func zCrit(alpha float64) float64 {
	return distuv.UnitNormal.Quantile(1 - alpha/2)
}

// tTwoSidedP uses the survival function directly, not 1 - CDF, to keep the
// relative precision of tiny p-values.
func tTwoSidedP(t, df float64) float64 {
	if math.IsNaN(t) {
		return math.NaN()
	}
	return math.Min(1, 2*distuv.StudentsT{Mu: 0, Sigma: 1, Nu: df}.Survival(math.Abs(t)))
}

// zTwoSidedP is 2(1 - Phi(|z|)).
func zTwoSidedP(z float64) float64 {
	return math.Min(1, 2*normalSurvival(math.Abs(z)))
}

// normalSurvival is 1 - Phi(z) via erfc, exact in the far tail where
// 1 - CDF would round to 0.
func normalSurvival(z float64) float64 {
	return 0.5 * math.Erfc(z/math.Sqrt2)
}
