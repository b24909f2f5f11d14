package stats

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/stat/distuv"
)

// ResponseCheck is Pearson's chi-square test of independence of responding
// and arm: whether the arms answered the survey at different rates, which
// would make the respondents of the arms incomparable (STATS.md, second part).
type ResponseCheck struct {
	Chi2         Float `json:"chi2"`
	DF           int   `json:"df"`
	PValue       Float `json:"p_value"`
	Differential bool  `json:"differential"` // p_value < alpha
}

// ResponseCheckTest tests the k x 2 table of (responded, assigned - responded)
// per arm, without continuity correction; df = k - 1. An arm nobody was
// assigned to has no row. With no respondents or everyone responding (a
// column of zeros), or fewer than two rows, there is nothing to test: chi2 and
// p are NaN and the response is not differential.
func ResponseCheckTest(responded, assigned []int64, alpha float64) ResponseCheck {
	if len(responded) != len(assigned) {
		panic(fmt.Sprintf("stats: ResponseCheckTest: %d responded but %d assigned", len(responded), len(assigned)))
	}
	// The rows: arms with assignments, responded clamped to 0..assigned.
	var ys, ns []float64
	var yes, total float64
	for i, a := range assigned {
		if a > 0 {
			y := float64(min(max(responded[i], 0), a))
			ys, ns = append(ys, y), append(ns, float64(a))
			yes, total = yes+y, total+float64(a)
		}
	}
	r := ResponseCheck{Chi2: Float(math.NaN()), DF: max(len(ns)-1, 0), PValue: Float(math.NaN())}
	if len(ns) < 2 || yes == 0 || yes == total {
		return r
	}
	share := yes / total
	var chi2 float64
	for i, n := range ns {
		y, ey, en := ys[i], n*share, n*(1-share)
		chi2 += (y-ey)*(y-ey)/ey + (n-y-en)*(n-y-en)/en
	}
	p := distuv.ChiSquared{K: float64(r.DF)}.Survival(chi2)
	r.Chi2, r.PValue, r.Differential = Float(chi2), Float(p), p < alpha
	return r
}
