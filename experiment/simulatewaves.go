package experiment

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/krslab/krslab/stats"
)

// WaveSimulation describes repeated two-arm experiments whose customers are surveyed again
// in several waves (after a week, a month, a quarter), analysed as GET .../persistence
// analyses them: every wave through Analyze over that wave's answers, and the change
// between the first and the last wave with a comparison by stats.WaveChange over the
// customers' deltas, counted by their two answers as the store counts them. A customer's
// latent answers share a part of their own (a content customer stays fairly content), so
// that the same customer's answers correlate across waves as real ones do: that is what a
// within-customer test gains from. With the same effect in every wave (0: an A/A test) the
// change should be called fading or growing in about alpha of the runs; with an effect
// that falls away, the share called fading is the power of the persistence test.
type WaveSimulation struct {
	Runs  int
	N     int // customers assigned per arm, all of them surveyed in every wave
	Waves int // survey waves, at least 2
	// Response is the share of the customers who answer a wave, each wave on its own: some
	// answer every wave, most a few.
	Response float64
	// Correlation of a customer's latent answers in two waves, 0 <= Correlation < 1.
	Correlation float64
	Effect      float64 // shift of the treatment's latent answer in the first wave, in answer points
	// Remaining is the share of Effect left in the last wave (0.5: it halves); the waves
	// between lie on the straight line.
	Remaining float64
	Alpha     float64
	Seed      uint64
	Workers   int // runs simulated at once; 0: GOMAXPROCS
	// Latent answers are normal with this mean and sd, rounded and clamped to 1..7, as in
	// Simulation.
	LatentMean, LatentSD float64
}

// DefaultWaveSimulation is an A/A design of three waves: 400 customers per arm, 45% of them
// answering each wave, their latent answers correlated 0.6 from one wave to the next (as
// repeated satisfaction surveys correlate over months).
func DefaultWaveSimulation() WaveSimulation {
	return WaveSimulation{Runs: 2000, N: 400, Waves: 3, Response: 0.45, Correlation: 0.6, Remaining: 1,
		Alpha: 0.05, Seed: 1, LatentMean: 4.6, LatentSD: 1.4}
}

// DefaultFadeSimulation is a treatment that lifts the latent answer by 0.4 points in the
// first wave and by half as much in the last, over 2,000 customers per arm.
func DefaultFadeSimulation() WaveSimulation {
	sim := DefaultWaveSimulation()
	sim.N, sim.Effect, sim.Remaining = 2000, 0.4, 0.5
	return sim
}

// WaveSimulationResult counts the runs by what persistence said of them.
type WaveSimulationResult struct {
	Runs                    int
	Fading, Growing, Stable int // by the change's trend
	NoChange                int // runs without a change to test (too few waves with a comparison or deltas)
	Durable                 int // the last wave with a comparison is better
	FirstBetter             int // the first wave is better
	// Pairs is the mean over runs of the treated customers with a delta (who answered both
	// the first and the last wave).
	Pairs float64
	// MeanChange is the mean over runs of the change's difference of deltas, in answer
	// points; TrueChange is what it estimates: the treatment's effect on the answers in the
	// last wave less that in the first, after rounding and clamping.
	MeanChange, TrueChange float64
	// PlannedPower is the power of Welch's test of the deltas for TrueChange, with the
	// deltas' true sd and the expected number of customers with a delta: alpha when the
	// effect does not change.
	PlannedPower float64
}

// FadingRate is the share of runs whose change was called fading.
func (r WaveSimulationResult) FadingRate() float64 { return float64(r.Fading) / float64(r.Runs) }

// TrendRate is the share of runs whose change was called fading or growing.
func (r WaveSimulationResult) TrendRate() float64 {
	return float64(r.Fading+r.Growing) / float64(r.Runs)
}

// DurableRate is the share of runs whose effect was durable.
func (r WaveSimulationResult) DurableRate() float64 { return float64(r.Durable) / float64(r.Runs) }

// Run simulates; progress, if not nil, is called after every run with the runs done.
func (sim WaveSimulation) Run(progress func(done int)) WaveSimulationResult {
	res := WaveSimulationResult{Runs: sim.Runs}
	res.TrueChange, res.PlannedPower = sim.planned()
	for _, p := range simulateRuns(sim.Runs, sim.Workers, sim.Persistence, progress) {
		switch {
		case p.Change == nil:
			res.NoChange++
		case p.Change.Trend == stats.TrendFading:
			res.Fading++
		case p.Change.Trend == stats.TrendGrowing:
			res.Growing++
		default:
			res.Stable++
		}
		if p.Change != nil {
			res.Pairs += float64(p.Change.NT) / float64(sim.Runs)
			res.MeanChange += p.Change.Diff / float64(sim.Runs)
		}
		if p.Durable {
			res.Durable++
		}
		if len(p.Waves) > 0 && p.Waves[0].Verdict == stats.VerdictBetter {
			res.FirstBetter++
		}
	}
	return res
}

// WaveKey is the key of wave i (from 0) of the simulated experiments.
func WaveKey(i int) string { return fmt.Sprintf("wave_%d", i+1) }

// Persistence simulates run number run (of the seed) and returns the treatment's
// persistence block, as GET .../persistence gives it.
func (sim WaveSimulation) Persistence(run int) stats.Persistence {
	rng := rand.New(rand.NewPCG(sim.Seed, uint64(run)))
	e, outcomes, keys := trustDesign(sim.Alpha)
	trust := outcomes[keys[0]]
	// answers[arm][customer*Waves + wave] is the customer's answer in the wave, 0 for none.
	shared, own := sim.LatentSD*math.Sqrt(sim.Correlation), sim.LatentSD*math.Sqrt(1-sim.Correlation)
	var answers [2][]int8
	for arm := range answers {
		a := make([]int8, sim.N*sim.Waves)
		for i := range sim.N {
			mood := shared * rng.NormFloat64()
			for w := range sim.Waves {
				if rng.Float64() >= sim.Response {
					continue
				}
				shift := 0.0
				if arm == 1 {
					shift = sim.effect(w)
				}
				a[i*sim.Waves+w] = int8(clampRound(sim.LatentMean+shift+mood+own*rng.NormFloat64(), 1, 7))
			}
		}
		answers[arm] = a
	}
	p := stats.Persistence{Waves: make([]stats.WaveEffect, sim.Waves)}
	for w := range sim.Waves {
		sum := Summary{Arms: map[string]ArmCount{}, Outcomes: []map[string]stats.ArmData{{}}}
		for arm, key := range []string{"control", "treatment"} {
			c := stats.Counts{Min: 1, N: make([]int64, 7)}
			var responded int64
			for i := range sim.N {
				if v := answers[arm][i*sim.Waves+w]; v > 0 {
					c.N[v-1]++
					responded++
				}
			}
			// Every customer is eligible in every wave: the waves are read once all have passed.
			sum.Arms[key] = ArmCount{Assigned: int64(sim.N), Responded: responded}
			if responded > 0 {
				sum.Outcomes[0][key] = stats.ArmData{Counts: &c, Moments: c.Moments()}
			}
		}
		r := Analyze(e, outcomes, keys, sum)
		p.Waves[w] = stats.WaveEffectOf(WaveKey(w), r.comparison(trust.Key, "treatment"))
	}
	p.Durable = stats.Durable(p.Waves)
	first, last, ok := stats.ChangeWaves(p.Waves)
	if !ok {
		return p
	}
	var deltas [2]stats.Moments
	for arm := range answers {
		// Counted by the pair of answers, as SummarizeChange counts them.
		var cells [7][7]int64
		for i := range sim.N {
			f, l := answers[arm][i*sim.Waves+first], answers[arm][i*sim.Waves+last]
			if f > 0 && l > 0 {
				cells[f-1][l-1]++
			}
		}
		var pairs stats.LevelPairs
		for f := range cells {
			for l, n := range cells[f] {
				if n > 0 {
					pairs.Add(float64(f+1), float64(l+1), n)
				}
			}
		}
		deltas[arm] = pairs.DeltaMoments(statsOutcome(trust))
	}
	p.Change = stats.WaveChange(WaveKey(first), WaveKey(last), deltas[1], deltas[0], sim.Alpha, trust.HigherIsBetter)
	return p
}

// effect is the treatment's latent shift in wave w.
func (sim WaveSimulation) effect(w int) float64 {
	if sim.Waves < 2 {
		return sim.Effect
	}
	return sim.Effect * (1 - (1-sim.Remaining)*float64(w)/float64(sim.Waves-1))
}

// planned returns the true change (the treatment's mean delta less control's, in answer
// points) and the power Welch's test of the deltas has for it. Given a customer's own part
// of the latent answer, its answers in two waves are independent, so the moments of the
// deltas follow from integrating the rounded answers' conditional moments over that part.
func (sim WaveSimulation) planned() (change, power float64) {
	shared, own := sim.LatentSD*math.Sqrt(sim.Correlation), sim.LatentSD*math.Sqrt(1-sim.Correlation)
	// deltaMoments are the mean and variance of the delta of an arm whose latent answers
	// are shifted by from in the first wave and to in the last.
	deltaMoments := func(from, to float64) (mean, variance float64) {
		const h, lim = 1.0 / 64, 8.0
		var weight, m1, m2, within float64
		for u := -lim; u <= lim; u += h {
			w := math.Exp(-u * u / 2)
			mf, vf := levelMoments(likertLevels(sim.LatentMean+from+shared*u, own))
			ml, vl := levelMoments(likertLevels(sim.LatentMean+to+shared*u, own))
			weight += w
			m1 += w * (ml - mf)
			m2 += w * (ml - mf) * (ml - mf)
			within += w * (vf + vl)
		}
		mean = m1 / weight
		return mean, within/weight + m2/weight - mean*mean
	}
	mt, vt := deltaMoments(sim.effect(0), sim.effect(sim.Waves-1))
	mc, vc := deltaMoments(0, 0)
	change = mt - mc
	d := math.Abs(change) / math.Sqrt((vt+vc)/2)
	if d < 1e-12 {
		return change, sim.Alpha
	}
	return change, stats.PowerMeans(d, float64(sim.N)*sim.Response*sim.Response, sim.Alpha)
}

// trustDesign is the experiment of the one-outcome simulations: trust on 1..7, control
// against one treatment.
func trustDesign(alpha float64) (Experiment, map[string]Outcome, []string) {
	outcome := Outcome{Key: "trust", Kind: Scale, Label: "trust", Min: ptr(1.0), Max: ptr(7.0), HigherIsBetter: true}
	e := Experiment{Key: "simulation", Status: Running, Alpha: alpha, Correction: "holm",
		PrimaryOutcome: outcome.Key, Outcomes: []string{outcome.Key},
		Arms: []Arm{{Key: "control", Weight: 1, Control: true}, {Key: "treatment", Weight: 1}}}
	return e, map[string]Outcome{outcome.Key: outcome}, []string{outcome.Key}
}

// likertLevels returns the probabilities of the answers 1..7 of a latent normal answer
// with this mean and sd, rounded and clamped to 1..7.
func likertLevels(mean, sd float64) [7]float64 {
	cdf := func(x float64) float64 { return 0.5 * math.Erfc(-(x-mean)/(sd*math.Sqrt2)) }
	var p [7]float64
	for i := range p {
		lo, hi := cdf(float64(i+1)-0.5), cdf(float64(i+1)+0.5)
		switch i {
		case 0:
			lo = 0
		case 6:
			hi = 1
		}
		p[i] = hi - lo
	}
	return p
}

// levelMoments are the mean and variance of answers 1..7 with probabilities p.
func levelMoments(p [7]float64) (mean, variance float64) {
	for i, q := range p {
		mean += q * float64(i+1)
	}
	for i, q := range p {
		d := float64(i+1) - mean
		variance += q * d * d
	}
	return mean, variance
}

func clampRound(v, lo, hi float64) float64 { return math.Max(lo, math.Min(hi, math.Round(v))) }
