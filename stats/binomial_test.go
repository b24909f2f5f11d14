package stats_test

import (
	"math"
	"testing"

	"github.com/krslab/krslab/stats"
)

// TestBinomialInterval checks the Clopper-Pearson interval against SciPy 1.10.1,
// scipy.stats.binomtest(k, n).proportion_ci(confidence_level=0.95, method="exact").
func TestBinomialInterval(t *testing.T) {
	for _, c := range []struct {
		k, n   int64
		lo, hi float64
	}{
		{99, 2000, 0.04041037792654707, 0.059937316158436296},
		{1420, 2000, 0.6895656635395738, 0.7298169074445175},
		{5, 100, 0.01643187918172828, 0.11283491110546288},
		{1, 3, 0.008403758659612647, 0.9057006759492866},
		{0, 2000, 0, 0.0018427397936931899},
		{2000, 2000, 0.9981572602063068, 1},
	} {
		lo, hi := stats.BinomialInterval(c.k, c.n, 0.05)
		if !close(lo, c.lo) || !close(hi, c.hi) {
			t.Errorf("%d of %d: [%.12g, %.12g], want [%.12g, %.12g]", c.k, c.n, lo, hi, c.lo, c.hi)
		}
	}
	if lo, hi := stats.BinomialInterval(0, 0, 0.05); !math.IsNaN(lo) || !math.IsNaN(hi) {
		t.Errorf("0 of 0: [%v, %v]", lo, hi)
	}
}
