package experiment_test

import (
	"math"
	"testing"

	"github.com/krslab/krslab/experiment"
	"github.com/krslab/krslab/stats"
)

// TestWaveSimulationAA: A/A experiments surveyed in three waves are called fading or
// growing about as often as alpha, either way alike (60 of 1,000 with this seed: 29
// fading, 31 growing). The test is Welch's, exact only in the limit, so the check is that
// the rate is not above alpha beyond the simulation's own error: the lower end of the
// Clopper-Pearson interval at most alpha, and not far below it either.
func TestWaveSimulationAA(t *testing.T) {
	sim := experiment.DefaultWaveSimulation()
	sim.Runs, sim.Seed = 1000, 3
	res := sim.Run(nil)
	lo, hi := stats.BinomialInterval(int64(res.Fading+res.Growing), int64(res.Runs), 0.05)
	if lo > sim.Alpha || hi < sim.Alpha/2 {
		t.Errorf("%d fading, %d growing of %d A/A runs (95%% interval %.4f to %.4f)", res.Fading, res.Growing, res.Runs, lo, hi)
	}
	if res.NoChange != 0 || res.PlannedPower != sim.Alpha || res.TrueChange != 0 {
		t.Errorf("%+v", res)
	}
	// The last wave's verdict is a two-sided test too: better in about alpha/2.
	if res.Durable > res.Runs*6/100 {
		t.Errorf("%d of %d A/A runs durable", res.Durable, res.Runs)
	}
	// About 400 * 0.45² customers per arm answered both waves.
	if math.Abs(res.Pairs-81) > 5 {
		t.Errorf("%.1f customers per arm with a delta", res.Pairs)
	}
}

// TestFadeSimulation: an effect that halves between the first and the last wave is called
// fading about as often as the planned power of Welch's test of the deltas says (0.555
// for the default design; 227 of 400 with this seed), never growing; the mean change
// estimates the true one. 4 standard errors of a proportion near 0.55 over 400 runs are
// about 0.1.
func TestFadeSimulation(t *testing.T) {
	sim := experiment.DefaultFadeSimulation()
	sim.Runs, sim.Seed = 400, 5
	res := sim.Run(nil)
	if math.Abs(res.FadingRate()-res.PlannedPower) > 0.1 || res.Growing != 0 {
		t.Errorf("fading in %d of %d runs, growing in %d; planned power %.4f", res.Fading, res.Runs, res.Growing, res.PlannedPower)
	}
	if !(res.PlannedPower > 0.5 && res.PlannedPower < 0.6) {
		t.Errorf("planned power %.4f", res.PlannedPower)
	}
	// The latent effect falls by 0.2 points; rounding to 1..7 keeps most of it.
	if !(res.TrueChange < -0.17 && res.TrueChange > -0.2) || math.Abs(res.MeanChange-res.TrueChange) > 0.02 {
		t.Errorf("true change %.4f, mean estimate %.4f", res.TrueChange, res.MeanChange)
	}
	if res.FirstBetter != res.Runs || res.Durable < res.Runs*3/4 {
		t.Errorf("first wave better in %d, durable in %d of %d", res.FirstBetter, res.Durable, res.Runs)
	}
	// An effect that lasts is called fading in about alpha/2 of the runs (15 of 400).
	sim.Remaining = 1
	if res := sim.Run(nil); res.Fading > res.Runs*6/100 {
		t.Errorf("a lasting effect was called fading in %d of %d runs", res.Fading, res.Runs)
	}
}

// TestWaveSimulationPersistence: one run as GET .../persistence shows it, the change
// between the first and the last wave, and the same block again from the same seed
// whatever the workers.
func TestWaveSimulationPersistence(t *testing.T) {
	sim := experiment.DefaultFadeSimulation()
	sim.Runs, sim.Waves, sim.N = 30, 4, 300
	p := sim.Persistence(7)
	if len(p.Waves) != 4 || p.Waves[0].Wave != "wave_1" || p.Waves[3].Wave != "wave_4" {
		t.Fatalf("waves %+v", p.Waves)
	}
	for _, w := range p.Waves {
		if w.Verdict == stats.VerdictInsufficientData || !(w.CILow < w.Diff && w.Diff < w.CIHigh) {
			t.Errorf("wave %+v", w)
		}
	}
	c := p.Change
	if c == nil || c.FromWave != "wave_1" || c.ToWave != "wave_4" || c.NT < 30 || c.NC < 30 || !(c.CILow < c.Diff && c.Diff < c.CIHigh) {
		t.Fatalf("change %+v", c)
	}
	sim.Workers = 1
	one := sim.Run(nil)
	sim.Workers = 3
	if three := sim.Run(nil); one != three {
		t.Errorf("1 worker: %+v, 3 workers: %+v", one, three)
	}
	// Nobody answers twice when almost nobody answers: no change to test.
	sim.N, sim.Response = 10, 0.05
	if res := sim.Run(nil); res.NoChange != res.Runs {
		t.Errorf("%+v", res)
	}
}
