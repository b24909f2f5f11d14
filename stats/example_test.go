package stats_test

import (
	"fmt"

	"github.com/krslab/krslab/stats"
)

func ExampleAnalyze() {
	treat := stats.CountsOf([]float64{5, 6, 4, 7, 5, 6, 5, 4, 6, 7, 5, 6, 6}, 1, 7)
	control := stats.CountsOf([]float64{3, 4, 4, 5, 2, 4, 3, 5, 4, 4, 3, 6}, 1, 7)
	d := stats.Design{
		Alpha:      0.05,
		Correction: stats.CorrectionHolm,
		Control:    "control",
		Arms:       []string{"control", "call"},
		Weights:    map[string]float64{"control": 1, "call": 1},
		Assigned:   map[string]int64{"control": 40, "call": 41},
		Primary:    "involvement",
		Stopped:    true,
	}
	a := stats.Analyze(d, []stats.Outcome{{
		Key: "involvement", Kind: stats.KindScale, Min: 1, Max: 7, HigherIsBetter: true,
		Arms: map[string]stats.ArmData{"control": {Counts: &control}, "call": {Counts: &treat}},
	}})
	c := a.Outcomes[0].Comparisons["call"]
	fmt.Printf("diff %.2f, p_adj %.4f, %s\n", c.Diff, c.PAdjusted, c.Verdict)
	fmt.Println(a.Recommendation.Action, a.Recommendation.Arm)
	fmt.Println(a.Recommendation.Reason)
	// Output:
	// diff 1.62, p_adj 0.0007, better
	// roll_out call
	// call raised involvement by 1.62 points (95% CI 0.767 to 2.48, p_adj < 0.001).
}

func ExampleWelchFromMoments() {
	t := stats.Moments{N: 400, Sum: 400 * 5.1, SumSq: 399*1.4*1.4 + 400*5.1*5.1}
	c := stats.Moments{N: 380, Sum: 380 * 4.9, SumSq: 379*1.3*1.3 + 380*4.9*4.9}
	w := stats.WelchFromMoments(t, c, 0.05)
	fmt.Printf("diff %.2f, t %.2f, df %.0f, p %.3f, 95%% CI %.3f to %.3f\n", w.Diff, w.T, w.DF, w.PValue, w.CILow, w.CIHigh)
	// Output:
	// diff 0.20, t 2.07, df 778, p 0.039, 95% CI 0.010 to 0.390
}

func ExampleHolmAdjust() {
	p := []float64{0.01, 0.04, 0.03, 0.2}
	fmt.Printf("%.2f\n", stats.HolmAdjust(p))
	fmt.Printf("%.3f\n", stats.BHAdjust(p))
	// Output:
	// [0.04 0.09 0.09 0.20]
	// [0.040 0.053 0.053 0.200]
}

func ExampleSampleSizeMeans() {
	// Detect 0.2 points on a 1..7 scale with sd 1.4 at alpha 0.05, power 0.8.
	n, err := stats.SampleSizeMeans(0.2, 1.4, 0.05, 0.8)
	if err != nil {
		panic(err)
	}
	fmt.Println(n, "per arm")
	// Output:
	// 771 per arm
}

func ExampleSampleSizeProportions() {
	n, _ := stats.SampleSizeProportions(0.20, 0.05, 0.05, 0.8)
	fmt.Println(n, "per arm")
	// Output:
	// 1091 per arm
}

func ExampleMannWhitneyFromCounts() {
	t := stats.Counts{Min: 1, N: []int64{0, 0, 0, 2, 4, 5, 2}}
	c := stats.Counts{Min: 1, N: []int64{0, 1, 3, 5, 2, 1, 0}}
	r := stats.MannWhitneyFromCounts(t, c)
	fmt.Printf("U %.1f, p %.4f, P(T>C) %.3f\n", r.U, r.PValue, r.ProbSuperiority)
	// Output:
	// U 134.5, p 0.0018, P(T>C) 0.862
}

func ExampleWaveChange() {
	// Each customer's trust in the last wave less that in the first: the treated
	// customers' effect wore off, the control customers stayed where they were.
	treated := stats.MomentsOf([]float64{-1, -2, 0, -1, -1, -2, 0, -1})
	control := stats.MomentsOf([]float64{0, 1, 0, -1, 0, 0, 1, 0})
	ch := stats.WaveChange("week_1", "month_3", treated, control, 0.05, true)
	fmt.Printf("%s -> %s: diff %.2f, p %.4f, %s\n", ch.FromWave, ch.ToWave, ch.Diff, ch.PValue, ch.Trend)
	// Output: week_1 -> month_3: diff -1.12, p 0.0065, fading
}
