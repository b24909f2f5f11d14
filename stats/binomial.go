package stats

import (
	"math"

	"gonum.org/v1/gonum/stat/distuv"
)

// BinomialInterval is the Clopper-Pearson ("exact") interval at level 1 - alpha for the
// probability behind k events in n trials: the probabilities under which k or more, and k
// or fewer, events have at least alpha/2 chance. It never covers less than promised, so a
// simulated rate read against it (an A/A test's false-positive rate at most alpha) errs on
// the safe side. With n = 0 both ends are NaN.
func BinomialInterval(k, n int64, alpha float64) (lo, hi float64) {
	if n <= 0 || k < 0 || k > n {
		return math.NaN(), math.NaN()
	}
	lo, hi = 0, 1
	if k > 0 {
		lo = distuv.Beta{Alpha: float64(k), Beta: float64(n - k + 1)}.Quantile(alpha / 2)
	}
	if k < n {
		hi = distuv.Beta{Alpha: float64(k + 1), Beta: float64(n - k)}.Quantile(1 - alpha/2)
	}
	return lo, hi
}
