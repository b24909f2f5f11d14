package stats

import "math"

// Sequential is the always-valid (mixture SPRT) test of one look at a
// comparison; valid however often the results are peeked at.
type Sequential struct {
	PValue float64 // min(1, 1/Lambda) at this look; callers keep the running minimum
	CILow  float64
	CIHigh float64
}

// SequentialTest is the normal-mixture sequential test with mixing variance
// tau^2 on a difference with standard error se:
// Lambda = sqrt(V/(V+tau^2)) * exp(diff^2 tau^2 / (2V(V+tau^2))), V = se^2.
func SequentialTest(diff, se, tau, alpha float64) Sequential {
	// In z = diff/se and r = tau²/V the same Lambda is
	// ln Lambda = -ln(1+r)/2 + z²/2 · r/(1+r), and the half-width
	// se·sqrt((1+1/r)(ln(1+r) - 2 ln alpha)): V, tau² and their products, which
	// overflow (or underflow to 0) for outcomes on a scale of 1e150 (or 1e-150),
	// never appear. In logs, too: the exponent overflows for large effects long
	// before 1/Lambda stops being a useful (tiny) p-value.
	z, q := diff/se, tau/se
	r := q * q
	lr := math.Log1p(r)
	if math.IsInf(r, 1) {
		lr = 2 * math.Log(q) // ln(1+r) = ln r to the last bit once r passes 1e32
	}
	logLambda := -0.5*lr + 0.5*z*z/(1+1/r)
	h := se * math.Sqrt((1+1/r)*(lr-2*math.Log(alpha)))
	return Sequential{
		PValue: math.Min(1, math.Exp(-logLambda)),
		CILow:  diff - h,
		CIHigh: diff + h,
	}
}
