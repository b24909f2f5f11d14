package experiment

import (
	"math"
	"math/rand/v2"

	"gonum.org/v1/gonum/stat/distuv"

	"github.com/krslab/krslab/stats"
)

// Simulation describes repeated two-arm experiments on a 1..7 scale outcome, analysed by
// the same Analyze as /results, to check that the statistics keep their promises: an A/A
// test (Effect 0) should be significant in about alpha of the runs, a real effect in about
// the planned power.
type Simulation struct {
	Runs   int     // experiments to simulate
	N      int     // customers answering per arm
	Alpha  float64 // significance level
	Effect float64 // shift of the treatment's latent answer, in answer points (0 = A/A)
	Seed   uint64
	// Latent answers are normal with this mean and sd, rounded and clamped to 1..7: a
	// realistic, slightly left-skewed Likert distribution.
	LatentMean, LatentSD float64
}

// SimulationResult counts the runs where the primary outcome came out significant.
type SimulationResult struct {
	Runs         int
	Significant  int
	PlannedPower float64 // the power STATS.md's sample-size rule promises for this design
}

// Rate is the share of significant runs.
func (r SimulationResult) Rate() float64 { return float64(r.Significant) / float64(r.Runs) }

// DefaultSimulation is an A/A design with realistic trust answers.
func DefaultSimulation() Simulation {
	return Simulation{Runs: 2000, N: 400, Alpha: 0.05, Seed: 1, LatentMean: 4.6, LatentSD: 1.4}
}

// Run simulates; progress, if not nil, is called after every run with the runs done.
func (sim Simulation) Run(progress func(done int)) SimulationResult {
	outcome := Outcome{Key: "trust", Kind: Scale, Label: "trust", Min: ptr(1.0), Max: ptr(7.0), HigherIsBetter: true}
	e := Experiment{Key: "simulation", Status: Running, Alpha: sim.Alpha, Correction: "holm",
		PrimaryOutcome: outcome.Key, Outcomes: []string{outcome.Key},
		Arms: []Arm{{Key: "control", Weight: 1, Control: true}, {Key: "treatment", Weight: 1}}}
	outcomes := map[string]Outcome{outcome.Key: outcome}
	keys := []string{outcome.Key}
	res := SimulationResult{Runs: sim.Runs, PlannedPower: sim.plannedPower()}
	for run := range sim.Runs {
		rng := rand.New(rand.NewPCG(sim.Seed, uint64(run)))
		sum := Summary{
			Arms: map[string]ArmCount{"control": {Assigned: int64(sim.N), Responded: int64(sim.N)},
				"treatment": {Assigned: int64(sim.N), Responded: int64(sim.N)}},
			Outcomes: []map[string]stats.ArmData{{
				"control":   sim.arm(rng, 0),
				"treatment": sim.arm(rng, sim.Effect),
			}},
		}
		r := Analyze(e, outcomes, keys, sum)
		if r.Outcomes[0].Comparisons["treatment"].Significant {
			res.Significant++
		}
		if progress != nil {
			progress(run + 1)
		}
	}
	return res
}

func (sim Simulation) arm(rng *rand.Rand, shift float64) stats.ArmData {
	c := stats.Counts{Min: 1, N: make([]int64, 7)}
	for range sim.N {
		v := math.Round(sim.LatentMean + shift + sim.LatentSD*rng.NormFloat64())
		c.N[int(math.Max(1, math.Min(7, v)))-1]++
	}
	return stats.ArmData{Counts: &c, Moments: c.Moments()}
}

// levels returns the probabilities of the answers 1..7 for a latent mean.
func (sim Simulation) levels(mean float64) [7]float64 {
	latent := distuv.Normal{Mu: mean, Sigma: sim.LatentSD}
	var p [7]float64
	for i := range p {
		lo, hi := float64(i+1)-0.5, float64(i+1)+0.5
		p[i] = latent.CDF(hi) - latent.CDF(lo)
		if i == 0 {
			p[i] = latent.CDF(hi)
		}
		if i == 6 {
			p[i] = 1 - latent.CDF(lo)
		}
	}
	return p
}

// plannedPower is the power of the t-test for the true difference of answer means and
// their pooled sd, as the sample-size rule plans it.
func (sim Simulation) plannedPower() float64 {
	moments := func(p [7]float64) (mean, variance float64) {
		for i, q := range p {
			mean += q * float64(i+1)
		}
		for i, q := range p {
			d := float64(i+1) - mean
			variance += q * d * d
		}
		return mean, variance
	}
	mc, vc := moments(sim.levels(sim.LatentMean))
	mt, vt := moments(sim.levels(sim.LatentMean + sim.Effect))
	d := math.Abs(mt-mc) / math.Sqrt((vc+vt)/2)
	if d == 0 {
		return sim.Alpha
	}
	return stats.PowerMeans(d, float64(sim.N), sim.Alpha)
}
