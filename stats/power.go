package stats

import (
	"errors"
	"fmt"
	"math"

	"gonum.org/v1/gonum/mathext"
	"gonum.org/v1/gonum/stat/distuv"
)

// MaxSampleSize bounds the search for n; a plan needing more than a billion
// customers per arm is not a plan.
const MaxSampleSize = 1 << 30

// ErrSampleTooLarge: the plan needs more than MaxSampleSize per arm.
var ErrSampleTooLarge = fmt.Errorf("stats: more than %d per arm needed", MaxSampleSize)

// SampleSizeMeans is the smallest n per arm for which the two-sided
// two-sample t-test (equal n, df = 2n-2) at alpha detects a difference of
// mde with the given power when the outcome's standard deviation is sd,
// computed with the noncentral t like statsmodels' TTestIndPower.
func SampleSizeMeans(mde, sd, alpha, power float64) (int, error) {
	if err := checkPlan(alpha, power); err != nil {
		return 0, err
	}
	if mde == 0 || math.IsNaN(mde) || math.IsInf(mde, 0) {
		return 0, errors.New("stats: mde must be a non-zero finite number")
	}
	if !(sd > 0) || math.IsInf(sd, 0) {
		return 0, errors.New("stats: sd must be positive and finite")
	}
	d := math.Abs(mde) / sd
	ok := func(n int) bool { return PowerMeans(d, float64(n), alpha) >= power }
	// Power grows with n: double to bracket, then bisect.
	lo, hi := 1, 2
	for !ok(hi) {
		lo, hi = hi, 2*hi
		if hi > MaxSampleSize {
			return 0, ErrSampleTooLarge
		}
	}
	for hi-lo > 1 {
		mid := lo + (hi-lo)/2
		if ok(mid) {
			hi = mid
		} else {
			lo = mid
		}
	}
	return hi, nil
}

// PowerMeans is the power of the two-sided two-sample t-test with n per arm
// for standardized effect size d: P(|T| > t(1-alpha/2, 2n-2)) where T is
// noncentral t with df = 2n-2 and noncentrality d*sqrt(n/2).
func PowerMeans(d, n, alpha float64) float64 {
	df := 2*n - 2
	if !(df > 0) {
		return math.NaN()
	}
	nc := d * math.Sqrt(n/2)
	crit := tCrit(alpha, df)
	return (1 - NoncentralTCDF(crit, df, nc)) + NoncentralTCDF(-crit, df, nc)
}

// SampleSizeProportions is n per arm to detect a change of mde from the
// baseline rate p1 with a two-sided z-test:
// ceil((z(1-alpha/2) + z(power))^2 * (p1(1-p1) + p2(1-p2)) / mde^2), p2 = p1 + mde.
func SampleSizeProportions(baseline, mde, alpha, power float64) (int, error) {
	if err := checkPlan(alpha, power); err != nil {
		return 0, err
	}
	p2 := baseline + mde
	if !(baseline > 0 && baseline < 1) || !(p2 > 0 && p2 < 1) || mde == 0 {
		return 0, errors.New("stats: baseline and baseline+mde must be rates strictly between 0 and 1, mde non-zero")
	}
	z := zCrit(alpha) + distuv.UnitNormal.Quantile(power)
	n := z * z * (baseline*(1-baseline) + p2*(1-p2)) / (mde * mde)
	if n > MaxSampleSize {
		return 0, ErrSampleTooLarge
	}
	return int(math.Ceil(n)), nil
}

func checkPlan(alpha, power float64) error {
	if !(alpha > 0 && alpha < 1) {
		return errors.New("stats: alpha must be between 0 and 1")
	}
	if !(power > 0 && power < 1) {
		return errors.New("stats: power must be between 0 and 1")
	}
	return nil
}

// NoncentralTCDF is P(T <= t) for the noncentral t distribution with df
// degrees of freedom and noncentrality nc. gonum has no noncentral t, so this
// is Lenth's AS 243 (1989) twin-series algorithm with the refinements of R's
// pnt: absolute error below 1e-12, and the Abramowitz & Stegun 26.7.10
// normal approximation where the series would underflow.
func NoncentralTCDF(t, df, nc float64) float64 {
	switch {
	case math.IsNaN(t) || math.IsNaN(df) || math.IsNaN(nc) || !(df > 0):
		return math.NaN()
	case nc == 0:
		return distuv.StudentsT{Mu: 0, Sigma: 1, Nu: df}.CDF(t)
	case math.IsInf(t, 1):
		return 1
	case math.IsInf(t, -1):
		return 0
	}
	// For t < 0 use P(T <= t; nc) = 1 - P(T <= -t; -nc).
	neg := t < 0
	tt, del := t, nc
	if neg {
		tt, del = -t, -nc
	}
	var p float64
	if df > 4e5 || del*del > 2*math.Ln2*1021 {
		s := 1 / (4 * df)
		p = distuv.Normal{Mu: del, Sigma: math.Sqrt(1 + tt*tt*2*s)}.CDF(tt * (1 - s))
	} else {
		p = lenthSeries(tt, df, del) + normalSurvival(del)
	}
	p = math.Min(p, 1)
	if neg {
		return 1 - p
	}
	return p
}

// lenthSeries is the twin (odd/even Poisson-weighted incomplete beta) series
// of AS 243 for t >= 0, without the final Phi(-del) term.
func lenthSeries(t, df, del float64) float64 {
	const (
		itrMax = 1000
		errMax = 1e-12
	)
	x := t * t / (t*t + df)
	if x <= 0 {
		return 0
	}
	lambda := del * del
	p := 0.5 * math.Exp(-0.5*lambda)
	if p == 0 {
		return 0
	}
	q := math.Sqrt(2/math.Pi) * p * del
	s := 0.5 - p
	if s < 1e-7 {
		s = -0.5 * math.Expm1(-0.5*lambda)
	}
	a := 0.5
	b := 0.5 * df
	rxb := math.Pow(1-x, b)
	lgb, _ := math.Lgamma(b)
	lgb5, _ := math.Lgamma(0.5 + b)
	albeta := 0.5*math.Log(math.Pi) + lgb - lgb5
	xodd := mathext.RegIncBeta(a, b, x)
	godd := 2 * rxb * math.Exp(a*math.Log(x)-albeta)
	xeven := b * x
	if xeven >= 0x1p-52 {
		xeven = 1 - rxb
	}
	geven := b * x * rxb
	tnc := p*xodd + q*xeven
	for it := 1; it <= itrMax; it++ {
		a++
		xodd -= godd
		xeven -= geven
		godd *= x * (a + b - 1) / a
		geven *= x * (a + b - 0.5) / (a + 0.5)
		p *= lambda / float64(2*it)
		q *= lambda / float64(2*it+1)
		tnc += p*xodd + q*xeven
		s -= p
		if s < -1e-10 || (s <= 0 && it > 1) {
			break
		}
		if math.Abs(2*s*(xodd-godd)) < errMax {
			break
		}
	}
	return tnc
}
