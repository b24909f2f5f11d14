package experiment

import (
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"

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
	e, outcomes, keys := trustDesign(sim.Alpha)
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

// plannedPower is the power of the t-test for the true difference of answer means and
// their pooled sd, as the sample-size rule plans it.
func (sim Simulation) plannedPower() float64 {
	mc, vc := levelMoments(likertLevels(sim.LatentMean, sim.LatentSD))
	mt, vt := levelMoments(likertLevels(sim.LatentMean+sim.Effect, sim.LatentSD))
	d := math.Abs(mt-mc) / math.Sqrt((vc+vt)/2)
	if d == 0 {
		return sim.Alpha
	}
	return stats.PowerMeans(d, float64(sim.N), sim.Alpha)
}

// The survey both simulations below ask: the KRS with its components, two building
// blocks, NPS (0..10) and CES (1..7) as a guardrail, answered as the demo answers them.
// Every answer shares the customer's mood (their latent satisfaction, sd moodSD) and adds
// noise of its own: base + scale*(mood + 0.95*N(0, 1)), rounded and clamped.
var surveyItems = []struct {
	outcome      Outcome
	base, scale  float64
	lo, hi       int
	pre          bool // has a pre-experiment covariate (last quarter's answer)
	krsComponent bool
}{
	{outcome: scaleOutcome("satisfaction"), base: 4.9, scale: 1, lo: 1, hi: 7, krsComponent: true},
	{outcome: scaleOutcome("trust"), base: 4.6, scale: 1, lo: 1, hi: 7, krsComponent: true, pre: true},
	{outcome: scaleOutcome("love"), base: 3.9, scale: 1, lo: 1, hi: 7, krsComponent: true},
	{outcome: scaleOutcome("involvement"), base: 4.1, scale: 1, lo: 1, hi: 7},
	{outcome: scaleOutcome("fairness"), base: 4.8, scale: 1, lo: 1, hi: 7},
	{outcome: Outcome{Key: "nps", Kind: Net, Min: ptr(0.0), Max: ptr(10.0), TopMin: ptr(9.0), BottomMax: ptr(6.0), HigherIsBetter: true, BuiltIn: true},
		base: 6.9, scale: 1.6, lo: 0, hi: 10},
	{outcome: Outcome{Key: "ces", Kind: Net, Min: ptr(1.0), Max: ptr(7.0), TopMin: ptr(6.0), BottomMax: ptr(3.0), HigherIsBetter: true, BuiltIn: true},
		base: 4.8, scale: 1, lo: 1, hi: 7},
}

const (
	surveyQuestions = 7 // len(surveyItems)
	moodSD          = 0.9
	// preShare of the customers answered last quarter's survey: they have a covariate.
	preShare = 0.9
	// krsLevels are the sums of the three 1..7 KRS components, 3..21: the KRS of a
	// customer is 100*(sum - 3)/18, the mean of the components rescaled to 0..100.
	krsLevels = 19
	// krsShift is the reference value the KRS sums are taken about, as the store takes
	// them about one customer's KRS (midComposite when it has none).
	krsShift = 50
)

func scaleOutcome(key string) Outcome {
	return Outcome{Key: key, Kind: Scale, Min: ptr(1.0), Max: ptr(7.0), HigherIsBetter: true, BuiltIn: true}
}

// surveyArms are the arms of the simulated experiments, control first.
var surveyArms = []Arm{
	{Key: "control", Name: "Standard reply", Weight: 1, Control: true},
	{Key: "callback", Name: "Personal call-back", Weight: 1},
	{Key: "letter", Name: "Personal letter", Weight: 1},
}

// surveyDesign is the experiment the simulations run: krs primary, the components, two
// building blocks and NPS in the family, CES the guardrail (with its margin when
// cesMargin > 0), over the first arms of surveyArms.
func surveyDesign(arms int, alpha float64, correction string, cesMargin float64) (Experiment, map[string]Outcome, []string) {
	outcomes := map[string]Outcome{"krs": {Key: "krs", Kind: Composite, Min: ptr(0.0), Max: ptr(100.0), HigherIsBetter: true,
		Components: []string{"satisfaction", "trust", "love"}, BuiltIn: true}}
	for _, it := range surveyItems {
		outcomes[it.outcome.Key] = it.outcome
	}
	e := Experiment{Key: "simulation", Status: Running, Alpha: alpha, Correction: correction,
		PrimaryOutcome: "krs", Outcomes: []string{"krs", "satisfaction", "trust", "love", "involvement", "fairness", "nps"},
		Guardrails: []string{"ces"}, GuardrailMargins: map[string]float64{}, Arms: surveyArms[:arms]}
	if cesMargin > 0 {
		e.GuardrailMargins["ces"] = cesMargin
	}
	return e, outcomes, e.AnalysedOutcomes()
}

// surveyAnswers are one respondent's answers, in the order of surveyItems, with the
// covariate of trust (NaN: none).
type surveyAnswers struct {
	v   [surveyQuestions]int8
	pre float64
}

// drawCustomer draws a customer's mood and what they would answer.
func drawCustomer(rng *rand.Rand) (mood float64, a surveyAnswers) {
	mood = moodSD * rng.NormFloat64()
	a.pre = math.NaN()
	for i, it := range surveyItems {
		v := math.Round(it.base + it.scale*(mood+0.95*rng.NormFloat64()))
		a.v[i] = int8(math.Max(float64(it.lo), math.Min(float64(it.hi), v)))
		if it.pre && rng.Float64() < preShare {
			a.pre = math.Max(1, math.Min(7, math.Round(it.base+mood+0.8*rng.NormFloat64())))
		}
	}
	return mood, a
}

// surveyTally is what the store would summarize of one arm: counts per level, the KRS by
// its distinct values, and trust's CUPED sums.
type surveyTally struct {
	assigned, responded int64
	levels              [surveyQuestions][11]int64 // by answer - lo
	krs                 [krsLevels]int64
	cov                 stats.CovariateSums // trust and its covariate, about 4 (x) and 0 (y, a counted outcome)
}

func (t *surveyTally) add(a surveyAnswers) {
	t.responded++
	sum := 0
	for i, it := range surveyItems {
		t.levels[i][int(a.v[i])-it.lo]++
		if it.krsComponent {
			sum += int(a.v[i])
		}
		if it.pre && !math.IsNaN(a.pre) {
			t.cov = t.cov.Merge(stats.CovariateSums{NX: 1, ShiftX: 4, SumX: a.pre - 4, SumXX: (a.pre - 4) * (a.pre - 4),
				SumXY: (a.pre - 4) * float64(a.v[i]), SumY: float64(a.v[i])})
		}
	}
	t.krs[sum-3]++
}

// surveySummary is the Summary of the tallies (one per arm of e) for the outcomes keys, as
// Store.Summarize gives it: arms without respondents have no data.
func surveySummary(e Experiment, keys []string, tallies []surveyTally) Summary {
	sum := Summary{Arms: map[string]ArmCount{}, Outcomes: make([]map[string]stats.ArmData, len(keys))}
	item := map[string]int{}
	for i, it := range surveyItems {
		item[it.outcome.Key] = i
	}
	for k := range keys {
		sum.Outcomes[k] = map[string]stats.ArmData{}
	}
	for a, arm := range e.Arms {
		t := &tallies[a]
		sum.Arms[arm.Key] = ArmCount{Assigned: t.assigned, Responded: t.responded}
		if t.responded == 0 {
			continue
		}
		for k, key := range keys {
			if key == "krs" {
				sum.Outcomes[k][arm.Key] = krsData(t.krs[:])
				continue
			}
			it := surveyItems[item[key]]
			c := stats.Counts{Min: it.lo, N: append([]int64(nil), t.levels[item[key]][:it.hi-it.lo+1]...)}
			d := stats.ArmData{Counts: &c, Moments: c.Moments()}
			if it.pre {
				cov := t.cov
				d.Cov = &cov
			}
			sum.Outcomes[k][arm.Key] = d
		}
	}
	return sum
}

// krsData are the KRS moments about krsShift and its distinct values (for the bounds).
func krsData(counts []int64) stats.ArmData {
	m := stats.Moments{Shift: krsShift}
	var values []float64
	var ns []int64
	for s, n := range counts {
		if n == 0 {
			continue
		}
		v := 100 * float64(s) / (krsLevels - 1)
		d := v - krsShift
		m.N += n
		m.Sum += float64(n) * d
		m.SumSq += float64(n) * d * d
		values, ns = append(values, v), append(ns, n)
	}
	dv := stats.DistinctFrom(values, ns)
	return stats.ArmData{Moments: m, Distinct: &dv}
}

// lookMinima keeps the running minimum of the sequential p-values over looks, as
// Store.RecordLooks keeps it in sequential_looks.
type lookMinima map[[2]string]float64

func (m lookMinima) record(looks []Look) []float64 {
	mins := make([]float64, len(looks))
	for i, l := range looks {
		k := [2]string{l.Outcome, l.Arm}
		p, seen := m[k]
		if !seen || l.PValue < p {
			p = l.PValue
		}
		m[k], mins[i] = p, p
	}
	return mins
}

// firstPartRollOut is the first part's recommendation (STATS.md, rules 1 and 2) as it
// read every look: some arm's primary verdict is better and none of its guardrails
// worse, with no sample ratio mismatch. The verdicts are the fixed-horizon ones.
func firstPartRollOut(res Results) bool {
	if res.SRM.Mismatch {
		return false
	}
	for _, o := range res.Outcomes {
		if !o.Primary {
			continue
		}
	arms:
		for arm, c := range o.Comparisons {
			if c.Verdict != stats.VerdictBetter {
				continue
			}
			for _, g := range res.Outcomes {
				if g.Guardrail && g.Comparisons[arm].Verdict == stats.VerdictWorse {
					continue arms
				}
			}
			return true
		}
	}
	return false
}

// PeekingSimulation describes repeated A/A experiments on the survey above, read every
// day as a product team reads /results each morning: customers are assigned day by day,
// answer (or not) a few days later, and every look analyses all answers so far through
// Analyze, keeps the running minimum of the sequential p-values over the looks as the
// service does, and reads the recommendation. No arm does anything, so every roll_out is a
// false one. While the experiment is short of its target, the second part asks for the
// always-valid p below alpha/m, which keeps them below alpha over all those looks
// together; reading the fixed-horizon verdict every day (the first part's rule) peeks.
type PeekingSimulation struct {
	Runs       int
	Looks      int     // days the experiment runs, one look at the end of each
	Arms       int     // arms, control included: 2 or 3
	PerDay     int     // customers assigned per arm and day, on average (each is assigned at random)
	Response   float64 // share of the assigned customers who answer, 0..6 days later
	Target     int     // target_responses_per_arm
	Alpha      float64
	Correction string
	CESMargin  float64 // non-inferiority margin of the CES guardrail in net-score points; 0: none
	Seed       uint64
	Workers    int // runs simulated at once; 0: GOMAXPROCS
}

// DefaultPeekingSimulation is four weeks of daily looks at three arms that reach their
// target of 400 responses in the last days (day 25 or 26, typically).
func DefaultPeekingSimulation() PeekingSimulation {
	return PeekingSimulation{Runs: 2000, Looks: 28, Arms: 3, PerDay: 37, Response: 0.45, Target: 400,
		Alpha: 0.05, Correction: "holm", CESMargin: 15, Seed: 1}
}

// PeekingLook is one day's look at one simulated experiment.
type PeekingLook struct {
	Day       int
	Assigned  map[string]int64 // so far, per arm
	Responded map[string]int64
	// TargetReached: every arm has Target answers on the primary, so the look is no
	// longer early.
	TargetReached bool
	// Sequential and RunningMinimum are the primary's always-valid p-values per
	// treatment arm: this look's, and the minimum over the looks so far that
	// /results reports and the recommendation reads.
	Sequential     map[string]float64
	RunningMinimum map[string]float64
	Recommendation stats.Recommendation // the second part's, as /results gives it
	FirstPart      bool                 // the first part's rule would roll out
}

// PeekingResult counts the runs told to roll out at one look or more.
type PeekingResult struct {
	Runs        int
	SecondPart  int // by the recommendation (STATS.md, second part)
	AfterTarget int // of those, runs whose first roll_out came once the target was reached
	// UntilTarget counts the runs told to roll out at a look up to the first one that
	// reached the target: what a team that stops the experiment at its target sees.
	UntilTarget   int
	FirstPart     int // by the first part's rule, read at every look
	FirstPartLast int // by the first part's rule, read once at the last look
	TargetReached int // runs that reached the target by the last look
}

// SecondPartRate is the share of runs told to roll out at some look.
func (r PeekingResult) SecondPartRate() float64 { return float64(r.SecondPart) / float64(r.Runs) }

// FirstPartRate is the share of runs the first part's rule rolls out at some look.
func (r PeekingResult) FirstPartRate() float64 { return float64(r.FirstPart) / float64(r.Runs) }

// Run simulates; progress, if not nil, is called after every run with the runs done.
func (sim PeekingSimulation) Run(progress func(done int)) PeekingResult {
	res := PeekingResult{Runs: sim.Runs}
	one := func(run int) PeekingResult { return countLooks(sim.Trace(run)) }
	for _, r := range simulateRuns(sim.Runs, sim.Workers, one, progress) {
		res.SecondPart += r.SecondPart
		res.AfterTarget += r.AfterTarget
		res.UntilTarget += r.UntilTarget
		res.FirstPart += r.FirstPart
		res.FirstPartLast += r.FirstPartLast
		res.TargetReached += r.TargetReached
	}
	return res
}

// countLooks is the result of one run from its looks.
func countLooks(looks []PeekingLook) PeekingResult {
	res := PeekingResult{Runs: 1}
	if i := slices.IndexFunc(looks, func(l PeekingLook) bool { return l.Recommendation.Action == stats.ActionRollOut }); i >= 0 {
		res.SecondPart = 1
		if looks[i].TargetReached {
			res.AfterTarget = 1
		}
		if t := slices.IndexFunc(looks, func(l PeekingLook) bool { return l.TargetReached }); t < 0 || i <= t {
			res.UntilTarget = 1
		}
	}
	if slices.ContainsFunc(looks, func(l PeekingLook) bool { return l.FirstPart }) {
		res.FirstPart = 1
	}
	last := looks[len(looks)-1]
	if last.FirstPart {
		res.FirstPartLast = 1
	}
	if last.TargetReached {
		res.TargetReached = 1
	}
	return res
}

// Trace simulates run number run (of the seed) and returns its looks, day by day.
func (sim PeekingSimulation) Trace(run int) []PeekingLook {
	rng := rand.New(rand.NewPCG(sim.Seed, uint64(run)))
	target := sim.Target
	e, outcomes, keys := surveyDesign(sim.Arms, sim.Alpha, sim.Correction, sim.CESMargin)
	e.TargetResponsesPerArm = &target
	// Answers by the day they arrive; customers by the day they are assigned.
	type arrival struct {
		arm int
		a   surveyAnswers
	}
	arriving := make([][]arrival, sim.Looks)
	assigned := make([][]int64, sim.Looks)
	for day := range sim.Looks {
		assigned[day] = make([]int64, sim.Arms)
		for range sim.Arms * sim.PerDay {
			arm := rng.IntN(sim.Arms)
			assigned[day][arm]++
			_, a := drawCustomer(rng)
			if rng.Float64() >= sim.Response {
				continue
			}
			// Half answer the same day, a quarter the next, ... (at most 6 days later).
			delay := 0
			for delay < 6 && rng.Float64() < 0.5 {
				delay++
			}
			if day+delay < sim.Looks {
				arriving[day+delay] = append(arriving[day+delay], arrival{arm, a})
			}
		}
	}
	tallies := make([]surveyTally, sim.Arms)
	minima := lookMinima{}
	looks := make([]PeekingLook, sim.Looks)
	for day := range sim.Looks {
		for a := range tallies {
			tallies[a].assigned += assigned[day][a]
		}
		for _, r := range arriving[day] {
			tallies[r.arm].add(r.a)
		}
		res := Analyze(e, outcomes, keys, surveySummary(e, keys, tallies))
		primary := slices.IndexFunc(res.Outcomes, func(o OutcomeResults) bool { return o.Primary })
		l := PeekingLook{Day: day + 1, Assigned: map[string]int64{}, Responded: map[string]int64{},
			Sequential: map[string]float64{}, RunningMinimum: map[string]float64{}, TargetReached: true}
		for a, arm := range e.Arms {
			l.Assigned[arm.Key], l.Responded[arm.Key] = tallies[a].assigned, tallies[a].responded
			l.TargetReached = l.TargetReached && res.Outcomes[primary].Arms[arm.Key].N >= int64(target)
		}
		ls := res.Looks()
		mins := minima.record(ls)
		res.AtRunningMinimum(ls, mins)
		for i, lk := range ls {
			if lk.Outcome == e.PrimaryOutcome {
				l.Sequential[lk.Arm], l.RunningMinimum[lk.Arm] = lk.PValue, mins[i]
			}
		}
		l.Recommendation = res.Recommendation
		l.FirstPart = firstPartRollOut(res)
		looks[day] = l
	}
	return looks
}

// ResponseBiasSimulation describes repeated experiments whose treatment changes nobody's
// answer but makes happy customers answer more often: in the treatment arm, customers
// whose mood (their latent satisfaction) lies above HappyQuantile answer at HappyResponse
// instead of Response. The respondents' means then differ while the true effect is zero.
// Each experiment is read once, stopped, so that the peeking rule plays no part: the
// first part's rule rolls the useless treatment out whenever the respondents' difference
// is significant; the second part's sees the differential response and asks for bounds
// that clear zero, which should leave it at most alpha.
type ResponseBiasSimulation struct {
	Runs          int
	N             int     // customers assigned per arm
	Response      float64 // response rate of control, and of treated customers up to HappyQuantile
	HappyResponse float64 // response rate of treated customers above it
	HappyQuantile float64 // share of customers, by mood, that is not happy
	Alpha         float64
	Correction    string
	CESMargin     float64 // as in PeekingSimulation
	Seed          uint64
	Workers       int
}

// DefaultResponseBiasSimulation: 2,000 customers per arm, 40% answer, and 60% of the
// happier half of the treated customers.
func DefaultResponseBiasSimulation() ResponseBiasSimulation {
	return ResponseBiasSimulation{Runs: 2000, N: 2000, Response: 0.40, HappyResponse: 0.60, HappyQuantile: 0.5,
		Alpha: 0.05, Correction: "holm", CESMargin: 15, Seed: 1}
}

// ResponseBiasResult counts the runs that roll the useless treatment out.
type ResponseBiasResult struct {
	Runs         int
	FirstPart    int // by the first part's rule
	SecondPart   int // by the recommendation (second part)
	Investigate  int // runs the recommendation asks to investigate
	Differential int // runs whose response check flagged differential response
	// Unflagged counts the roll-outs in runs whose response check did not flag the
	// differential response: the bounds were not asked for.
	Unflagged int
	// KRSDiff is the mean over runs of the respondents' KRS difference, treatment less
	// control (0..100 points): what the treatment seems to do.
	KRSDiff float64
}

// FirstPartRate is the share of runs the first part's rule rolls out.
func (r ResponseBiasResult) FirstPartRate() float64 { return float64(r.FirstPart) / float64(r.Runs) }

// SecondPartRate is the share of runs the recommendation rolls out.
func (r ResponseBiasResult) SecondPartRate() float64 { return float64(r.SecondPart) / float64(r.Runs) }

// Run simulates; progress, if not nil, is called after every run with the runs done.
func (sim ResponseBiasSimulation) Run(progress func(done int)) ResponseBiasResult {
	res := ResponseBiasResult{Runs: sim.Runs}
	one := func(run int) ResponseBiasResult { return countResults(sim.Analyze(run)) }
	for _, r := range simulateRuns(sim.Runs, sim.Workers, one, progress) {
		res.FirstPart += r.FirstPart
		res.SecondPart += r.SecondPart
		res.Investigate += r.Investigate
		res.Differential += r.Differential
		res.Unflagged += r.Unflagged
		res.KRSDiff += r.KRSDiff / float64(sim.Runs)
	}
	return res
}

// countResults is the result of one run from its analysis.
func countResults(r Results) ResponseBiasResult {
	res := ResponseBiasResult{Runs: 1}
	if firstPartRollOut(r) {
		res.FirstPart = 1
	}
	switch r.Recommendation.Action {
	case stats.ActionRollOut:
		res.SecondPart = 1
		if !r.ResponseCheck.Differential {
			res.Unflagged = 1
		}
	case stats.ActionInvestigate:
		res.Investigate = 1
	}
	if r.ResponseCheck.Differential {
		res.Differential = 1
	}
	for _, o := range r.Outcomes {
		if o.Primary {
			res.KRSDiff = o.Comparisons["callback"].Diff
		}
	}
	return res
}

// Analyze simulates run number run (of the seed) and returns its results.
func (sim ResponseBiasSimulation) Analyze(run int) Results {
	rng := rand.New(rand.NewPCG(sim.Seed, uint64(run)))
	e, outcomes, keys := surveyDesign(2, sim.Alpha, sim.Correction, sim.CESMargin)
	e.Status = Stopped
	happy := moodSD * distuv.UnitNormal.Quantile(sim.HappyQuantile)
	tallies := make([]surveyTally, 2)
	for arm := range tallies {
		tallies[arm].assigned = int64(sim.N)
		for range sim.N {
			mood, a := drawCustomer(rng)
			rate := sim.Response
			if arm == 1 && mood > happy {
				rate = sim.HappyResponse
			}
			if rng.Float64() < rate {
				tallies[arm].add(a)
			}
		}
	}
	return Analyze(e, outcomes, keys, surveySummary(e, keys, tallies))
}

// simulateRuns calls one for runs 0..runs-1 on a bounded pool of workers (0: GOMAXPROCS)
// and returns the results in run order, so that they depend on the seed alone; progress,
// if not nil, is called after every run with the runs done.
func simulateRuns[T any](runs, workers int, one func(run int) T, progress func(done int)) []T {
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	out := make([]T, runs)
	var mu sync.Mutex
	next, done := 0, 0
	var wg sync.WaitGroup
	for range min(workers, runs) {
		wg.Go(func() {
			for {
				mu.Lock()
				run := next
				next++
				mu.Unlock()
				if run >= runs {
					return
				}
				out[run] = one(run)
				mu.Lock()
				done++
				if progress != nil {
					progress(done)
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return out
}
