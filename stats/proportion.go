package stats

import "math"

// Proportion is one arm's rate of a binary outcome.
type Proportion struct {
	N      int64
	Rate   float64 // p
	SE     float64 // sqrt(p(1-p)/n)
	CILow  float64 // p -+ z(1-alpha/2)*se (Wald, as in STATS.md)
	CIHigh float64
}

// NewProportion is the rate of events among n; every field but N is NaN when n = 0.
func NewProportion(events, n int64, alpha float64) Proportion {
	if n == 0 {
		nan := math.NaN()
		return Proportion{Rate: nan, SE: nan, CILow: nan, CIHigh: nan}
	}
	p := float64(events) / float64(n)
	se := math.Sqrt(p * (1 - p) / float64(n))
	h := zCrit(alpha) * se
	return Proportion{N: n, Rate: p, SE: se, CILow: p - h, CIHigh: p + h}
}

// Proportions compares two rates. The CI uses the unpooled standard error
// (the reported SE) while z and the p-value use the pooled one, as the
// classic two-proportion z-test does under H0: p_t = p_c.
type Proportions struct {
	Diff         float64 // p_t - p_c
	SE           float64 // unpooled
	PooledSE     float64
	Z            float64 // diff / pooled se
	PValue       float64
	CILow        float64
	CIHigh       float64
	RelativeLift float64 // diff / p_c, NaN when p_c = 0
}

// TwoProportion compares xt events of nt with xc events of nc.
func TwoProportion(xt, nt, xc, nc int64, alpha float64) Proportions {
	pt := float64(xt) / float64(nt)
	pc := float64(xc) / float64(nc)
	diff := pt - pc
	se := math.Sqrt(pt*(1-pt)/float64(nt) + pc*(1-pc)/float64(nc))
	p := float64(xt+xc) / float64(nt+nc)
	pooled := math.Sqrt(p * (1 - p) * (1/float64(nt) + 1/float64(nc)))
	ci := NewZTest(diff, se, alpha)
	z := diff / pooled
	return Proportions{
		Diff:         diff,
		SE:           se,
		PooledSE:     pooled,
		Z:            z,
		PValue:       zTwoSidedP(z),
		CILow:        ci.CILow,
		CIHigh:       ci.CIHigh,
		RelativeLift: relativeLift(diff, pc),
	}
}

// relativeLift is undefined, not infinite, against a zero baseline.
func relativeLift(diff, base float64) float64 {
	if base == 0 {
		return math.NaN()
	}
	return diff / base
}

// relativeLiftOfMeans is diff/mean_c, null when the exact mean of the
// control values is 0 (Moments.zeroMean), however the floating-point sums of
// values that cancel (1e16, -1e16, 3, -3) happen to round.
func relativeLiftOfMeans(diff float64, c Moments) float64 {
	if c.zeroMean() {
		return math.NaN()
	}
	return diff / c.Mean()
}
