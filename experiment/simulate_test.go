package experiment_test

import (
	"reflect"
	"testing"

	"github.com/krslab/krslab/experiment"
	"github.com/krslab/krslab/stats"
)

// TestPeekingTrace checks the structure of simulated experiments: one look a day, counts
// that only grow, a running minimum that never rises and is the smallest p seen, a target
// that stays reached, and the same looks again from the same seed.
func TestPeekingTrace(t *testing.T) {
	for _, tc := range []struct {
		name   string
		arms   int
		target int
		seed   uint64
	}{
		{"two arms", 2, 100, 1},
		{"three arms", 3, 100, 7},
		{"target never reached", 3, 100_000, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sim := experiment.DefaultPeekingSimulation()
			sim.Looks, sim.Arms, sim.PerDay, sim.Target, sim.Seed = 12, tc.arms, 30, tc.target, tc.seed
			for run := range 3 {
				looks := sim.Trace(run)
				if again := sim.Trace(run); !reflect.DeepEqual(looks, again) {
					t.Fatalf("run %d: the same seed gave other looks", run)
				}
				checkTrace(t, sim, looks)
			}
		})
	}
}

func checkTrace(t *testing.T, sim experiment.PeekingSimulation, looks []experiment.PeekingLook) {
	t.Helper()
	if len(looks) != sim.Looks {
		t.Fatalf("%d looks, want %d", len(looks), sim.Looks)
	}
	smallest := map[string]float64{}
	var prev experiment.PeekingLook
	for i, l := range looks {
		if l.Day != i+1 {
			t.Fatalf("look %d is of day %d", i, l.Day)
		}
		var assigned int64
		for arm, n := range l.Assigned {
			assigned += n
			if l.Responded[arm] > n {
				t.Errorf("day %d, %s: %d responded of %d assigned", l.Day, arm, l.Responded[arm], n)
			}
			if i > 0 && (n < prev.Assigned[arm] || l.Responded[arm] < prev.Responded[arm]) {
				t.Errorf("day %d, %s: the counts fell (%d/%d after %d/%d)", l.Day, arm, l.Responded[arm], n, prev.Responded[arm], prev.Assigned[arm])
			}
		}
		// Every day brings PerDay customers per arm (split at random): the looks are cumulative.
		if want := int64(l.Day * sim.Arms * sim.PerDay); assigned != want || len(l.Assigned) != sim.Arms {
			t.Errorf("day %d: %d assigned over %d arms, want %d over %d", l.Day, assigned, len(l.Assigned), want, sim.Arms)
		}
		for arm, p := range l.Sequential {
			if s, seen := smallest[arm]; !seen || p < s {
				smallest[arm] = p
			}
			m, ok := l.RunningMinimum[arm]
			if !ok || m != smallest[arm] || m > p {
				t.Errorf("day %d, %s: running minimum %v, this look %v, smallest so far %v", l.Day, arm, m, p, smallest[arm])
			}
			if old, had := prev.RunningMinimum[arm]; i > 0 && had && m > old {
				t.Errorf("day %d, %s: the running minimum rose from %v to %v", l.Day, arm, old, m)
			}
		}
		if i > 0 && prev.TargetReached && !l.TargetReached {
			t.Errorf("day %d: the target was reached and is not any more", l.Day)
		}
		switch l.Recommendation.Action {
		case stats.ActionRollOut, stats.ActionInvestigate, stats.ActionKeepRunning, stats.ActionKeepControl:
		default:
			t.Errorf("day %d: action %q", l.Day, l.Recommendation.Action)
		}
		if l.Recommendation.Action == stats.ActionRollOut && !l.FirstPart {
			t.Errorf("day %d: the second part rolls out where the first part would not", l.Day)
		}
		prev = l
	}
	last := looks[len(looks)-1]
	if last.Responded["control"] == 0 || len(last.Sequential) != sim.Arms-1 {
		t.Errorf("last look: %d control responses, sequential p for %d arms", last.Responded["control"], len(last.Sequential))
	}
	// Some 13 answers a day per arm reach 100 in about eight days.
	if reached := sim.Target <= 100; last.TargetReached != reached {
		t.Errorf("target %d reached: %v", sim.Target, last.TargetReached)
	}
}

// TestPeekingRunIsDeterministic: the result depends on the seed, not on the workers.
func TestPeekingRunIsDeterministic(t *testing.T) {
	sim := experiment.DefaultPeekingSimulation()
	sim.Runs, sim.Looks, sim.PerDay, sim.Target = 40, 10, 40, 150
	sim.Workers = 1
	one := sim.Run(nil)
	sim.Workers = 3
	if three := sim.Run(nil); one != three {
		t.Errorf("1 worker: %+v, 3 workers: %+v", one, three)
	}
	if one.Runs != 40 || one.TargetReached == 0 {
		t.Errorf("%+v", one)
	}
}

// TestPeekingRule is the peeking check at a modest size: A/A experiments read daily
// without multiplicity correction and short of their target (so every look is early).
// Reading the fixed-horizon verdict every day rolls out about a fifth of them (78 of 400
// with this seed); the recommendation, which asks for the running minimum of the
// always-valid p below alpha/m at early looks, next to none (2 of 400). The bounds (at most
// 5%, at least 12%) leave a margin of many standard errors on both sides, so a change
// of seed or of the simulated answers would not flip the test.
func TestPeekingRule(t *testing.T) {
	sim := experiment.DefaultPeekingSimulation()
	sim.Runs, sim.Looks, sim.PerDay, sim.Target, sim.Correction, sim.Seed = 400, 14, 60, 100_000, "none", 11
	res := sim.Run(nil)
	if res.TargetReached != 0 {
		t.Fatalf("%d runs reached the target", res.TargetReached)
	}
	if res.SecondPartRate() > 0.05 {
		t.Errorf("the recommendation rolled out %d of %d A/A experiments", res.SecondPart, res.Runs)
	}
	if res.FirstPartRate() < 0.12 {
		t.Errorf("the first part's rule rolled out only %d of %d A/A experiments read daily", res.FirstPart, res.Runs)
	}
}

// TestResponseBias: a treatment that only makes happy customers answer more often. The
// first part's rule rolls it out in more than half of the runs (113 of 200 with this
// seed), the second part never (the response check flags the difference in rates and the
// bounds include zero); the bounds below (at least 35%, at most 5%) leave a wide margin.
func TestResponseBias(t *testing.T) {
	sim := experiment.DefaultResponseBiasSimulation()
	sim.Runs, sim.Seed = 200, 5
	res := sim.Run(nil)
	if res.FirstPartRate() < 0.35 {
		t.Errorf("the first part's rule rolled out %d of %d", res.FirstPart, res.Runs)
	}
	if res.SecondPartRate() > 0.05 {
		t.Errorf("the recommendation rolled out %d of %d", res.SecondPart, res.Runs)
	}
	if res.Differential < res.Runs*9/10 || !(res.KRSDiff > 1) {
		t.Errorf("differential response in %d of %d runs, KRS difference %.2f", res.Differential, res.Runs, res.KRSDiff)
	}
	if again := sim.Run(nil); again != res {
		t.Errorf("the same seed gave %+v, then %+v", res, again)
	}
	// One run as /results would show it: CUPED on trust, bounds on the primary.
	r := sim.Analyze(0)
	for _, o := range r.Outcomes {
		c := o.Comparisons["callback"]
		switch o.Outcome.Key {
		case "trust":
			if c.Deciding == nil || c.Deciding.Method != stats.MethodCUPED {
				t.Errorf("trust is not decided by CUPED: %+v", c.Deciding)
			}
		case "krs":
			if c.Bounds == nil || c.Bounds.TrimmedArm != stats.TrimmedTreatment {
				t.Errorf("krs bounds %+v", c.Bounds)
			}
		}
	}
}

// TestAtRunningMinimum: the recommendation reads the sequential p-values as reported. An
// early look whose fixed-horizon verdict is better keeps running on its own p-value, and
// rolls out once the running minimum of an earlier look is below alpha.
func TestAtRunningMinimum(t *testing.T) {
	lo, hi := 1.0, 7.0
	trust := experiment.Outcome{Key: "trust", Kind: experiment.Scale, Min: &lo, Max: &hi, HigherIsBetter: true}
	e := experiment.Experiment{Key: "x", Status: experiment.Running, Alpha: 0.05, Correction: "holm",
		PrimaryOutcome: "trust", Outcomes: []string{"trust"},
		Arms: []experiment.Arm{{Key: "control", Weight: 1, Control: true}, {Key: "treatment", Weight: 1}}}
	control := stats.Counts{Min: 1, N: []int64{6, 10, 16, 28, 20, 12, 8}}
	treatment := stats.Counts{Min: 1, N: []int64{3, 6, 12, 26, 24, 17, 12}}
	sum := experiment.Summary{
		Arms: map[string]experiment.ArmCount{"control": {Assigned: 200, Responded: 100}, "treatment": {Assigned: 200, Responded: 100}},
		Outcomes: []map[string]stats.ArmData{{
			"control":   {Counts: &control, Moments: control.Moments()},
			"treatment": {Counts: &treatment, Moments: treatment.Moments()},
		}},
	}
	analyse := func() experiment.Results {
		return experiment.Analyze(e, map[string]experiment.Outcome{"trust": trust}, []string{"trust"}, sum)
	}
	res := analyse()
	c := res.Outcomes[0].Comparisons["treatment"]
	if c.Verdict != stats.VerdictBetter || !(c.Sequential.PValue > 0.05) || res.Recommendation.Action != stats.ActionKeepRunning {
		t.Fatalf("fixture: verdict %s, sequential p %v, %s", c.Verdict, c.Sequential.PValue, res.Recommendation.Action)
	}
	looks := res.Looks()
	if len(looks) != 1 || looks[0] != (experiment.Look{Outcome: "trust", Arm: "treatment", PValue: c.Sequential.PValue}) {
		t.Fatalf("looks %+v", looks)
	}
	res.AtRunningMinimum(looks, []float64{c.Sequential.PValue})
	if res.Recommendation.Action != stats.ActionKeepRunning {
		t.Errorf("at its own p: %s", res.Recommendation.Action)
	}
	res = analyse()
	res.AtRunningMinimum(looks, []float64{0.001})
	if res.Recommendation.Action != stats.ActionRollOut || res.Recommendation.Arm != "treatment" ||
		res.Outcomes[0].Comparisons["treatment"].Sequential.PValue != 0.001 {
		t.Errorf("at a running minimum of 0.001: %+v, p %v", res.Recommendation, res.Outcomes[0].Comparisons["treatment"].Sequential.PValue)
	}
}
