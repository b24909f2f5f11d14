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
	v := se * se
	t2 := tau * tau
	// In logs: the exponent overflows for large effects long before 1/Lambda
	// stops being a useful (tiny) p-value.
	logLambda := 0.5*math.Log(v/(v+t2)) + diff*diff*t2/(2*v*(v+t2))
	h := math.Sqrt(v * (v + t2) / t2 * (math.Log((v+t2)/v) - 2*math.Log(alpha)))
	return Sequential{
		PValue: math.Min(1, math.Exp(-logLambda)),
		CILow:  diff - h,
		CIHigh: diff + h,
	}
}
