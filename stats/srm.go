package stats

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/stat/distuv"
)

// SRMThreshold is the p-value below which a sample ratio mismatch is
// declared. It is far stricter than a usual alpha because SRM is checked on
// every look and a false alarm halts the experiment.
const SRMThreshold = 0.001

// SRM is the chi-square goodness-of-fit test of the assigned counts against
// the arm weights.
type SRM struct {
	Chi2     Float `json:"chi2"`
	DF       int   `json:"df"`
	PValue   Float `json:"p_value"`
	Mismatch bool  `json:"mismatch"`
}

// SRMTest compares observed assignment counts with the split the weights
// promise. With nothing assigned, fewer than two arms or a weight that is not
// positive there is nothing to test: chi2 and p are NaN and there is no mismatch.
func SRMTest(observed []int64, weights []float64) SRM {
	if len(observed) != len(weights) {
		panic(fmt.Sprintf("stats: SRMTest: %d counts but %d weights", len(observed), len(weights)))
	}
	var total int64
	var wsum float64
	positive := true
	for i, o := range observed {
		total += o
		wsum += weights[i]
		positive = positive && weights[i] > 0
	}
	df := len(observed) - 1
	if total == 0 || df < 1 || !positive {
		return SRM{Chi2: Float(math.NaN()), DF: max(df, 0), PValue: Float(math.NaN())}
	}
	var chi2 float64
	for i, o := range observed {
		e := float64(total) * weights[i] / wsum
		d := float64(o) - e
		chi2 += d * d / e
	}
	p := distuv.ChiSquared{K: float64(df)}.Survival(chi2)
	return SRM{Chi2: Float(chi2), DF: df, PValue: Float(p), Mismatch: p < SRMThreshold}
}
