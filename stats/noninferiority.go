package stats

import (
	"encoding/json"
	"math"

	"gonum.org/v1/gonum/stat/distuv"
)

// NonInferiority is the one-sided test that a guardrail is not worse than
// control by more than its margin m (in the outcome's units), at alpha, on
// the effect the verdict rests on. It is not in the multiple-comparison
// family.
type NonInferiority struct {
	Margin float64
	Bound  float64 // the one-sided 1-alpha confidence bound of the effect on the bad side
	PValue float64 // of H0: the effect is worse than the margin
	Holds  bool    // the bound stays within the margin
}

// MarshalJSON writes margin, bound, p_value and holds.
func (n NonInferiority) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Margin Float `json:"margin"`
		Bound  Float `json:"bound"`
		PValue Float `json:"p_value"`
		Holds  bool  `json:"holds"`
	}{Float(n.Margin), Float(n.Bound), Float(n.PValue), n.Holds})
}

// NonInferiorityTest tests margin m > 0 on effect e with q = t(1-alpha, df)
// (Welch's or CUPED's df for means) or z(1-alpha) (net and binary, df = +Inf),
// F the matching distribution function:
//
//	higher is better: bound = diff - q*se, holds = bound > -m, p = 1 - F((diff + m)/se)
//	lower is better:  bound = diff + q*se, holds = bound < m,  p = F((diff - m)/se)
func NonInferiorityTest(e Effect, m, alpha float64, higherIsBetter bool) NonInferiority {
	var dist interface {
		Quantile(float64) float64
		Survival(float64) float64
	} = distuv.UnitNormal
	if !math.IsInf(e.DF, 1) {
		dist = distuv.StudentsT{Mu: 0, Sigma: 1, Nu: e.DF}
	}
	q := dist.Quantile(1 - alpha)
	n := NonInferiority{Margin: m}
	if higherIsBetter {
		n.Bound = e.Diff - q*e.SE
		n.Holds = n.Bound > -m
		n.PValue = dist.Survival((e.Diff + m) / e.SE)
	} else {
		n.Bound = e.Diff + q*e.SE
		n.Holds = n.Bound < m
		n.PValue = dist.Survival((m - e.Diff) / e.SE) // F(x) = S(-x) for symmetric F
	}
	return n
}
