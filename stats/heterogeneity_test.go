package stats_test

import (
	"fmt"
	"math"
	"testing"

	"github.com/krslab/krslab/stats"
)

// TestCochranQ checks Q, d̄, p and I² against values computed independently in Python
// with the formulas of STATS-style definitions and closed-form chi-square tails (no
// scipy): for df = 1 p = erfc(sqrt(Q/2)), for df = 2 p = exp(-Q/2), for df = 3
// p = erfc(sqrt(Q/2)) + sqrt(2Q/pi) exp(-Q/2).
func TestCochranQ(t *testing.T) {
	for _, tc := range []struct {
		name             string
		d, se            []float64
		q, pooled, p, i2 float64
		df               int
		heterogeneous    bool
	}{
		{name: "three segments, one apart", d: []float64{1.0, 0.1, -0.2}, se: []float64{0.3, 0.25, 0.4},
			q: 7.583680266444628, pooled: 0.3435470441298918, df: 2, p: 0.02255406116539708, i2: 0.7362758014931927, heterogeneous: true},
		{name: "two alike", d: []float64{0.5, 0.3}, se: []float64{0.2, 0.25},
			q: 0.3902439024390244, pooled: 0.42195121951219505, df: 1, p: 0.5321712241488489, i2: 0},
		{name: "four, phone helps", d: []float64{0.8, 0.05, 0.1, -0.05}, se: []float64{0.15, 0.2, 0.18, 0.3},
			q: 14.955755617112956, pooled: 0.3530470914127423, df: 3, p: 0.0018548518498731387, i2: 0.7994083296889872, heterogeneous: true},
		{name: "homogeneous", d: []float64{0.2, 0.22, 0.18}, se: []float64{0.1, 0.1, 0.1},
			q: 0.08, pooled: 0.2, df: 2, p: 0.9607894391523232, i2: 0},
		// A segment without a comparison (NaN) is left out: the same as "two alike".
		{name: "insufficient segment left out", d: []float64{0.5, math.NaN(), 0.3, 0.9}, se: []float64{0.2, math.NaN(), 0.25, 0},
			q: 0.3902439024390244, pooled: 0.42195121951219505, df: 1, p: 0.5321712241488489, i2: 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := stats.CochranQ(tc.d, tc.se, 0.05)
			for _, c := range []struct {
				what      string
				got, want float64
			}{{"q", h.Q, tc.q}, {"pooled", h.Pooled, tc.pooled}, {"p", h.PValue, tc.p}, {"i2", h.I2, tc.i2}} {
				if !close(c.got, c.want) {
					t.Errorf("%s = %.15g, want %.15g", c.what, c.got, c.want)
				}
			}
			if h.DF != tc.df || h.K != tc.df+1 || h.Heterogeneous != tc.heterogeneous {
				t.Errorf("df %d, k %d, heterogeneous %v; want df %d, heterogeneous %v", h.DF, h.K, h.Heterogeneous, tc.df, tc.heterogeneous)
			}
		})
	}
}

func TestCochranQTooFewSegments(t *testing.T) {
	for _, d := range [][]float64{nil, {0.4}, {0.4, math.NaN()}} {
		se := make([]float64, len(d))
		for i := range se {
			se[i] = 0.1
		}
		h := stats.CochranQ(d, se, 0.05)
		if !math.IsNaN(h.Q) || !math.IsNaN(h.PValue) || !math.IsNaN(h.I2) || h.DF != 0 || h.Heterogeneous {
			t.Errorf("%v: %+v, want NaN statistics, df 0, not heterogeneous", d, h)
		}
	}
}

func TestCochranQAlpha(t *testing.T) {
	d, se := []float64{1.0, 0.1, -0.2}, []float64{0.3, 0.25, 0.4} // p = 0.02255
	if !stats.CochranQ(d, se, 0).Heterogeneous {
		t.Error("alpha 0 should mean 0.05")
	}
	if stats.CochranQ(d, se, 0.01).Heterogeneous {
		t.Error("p 0.0226 is heterogeneous at alpha 0.01")
	}
}

// TestAdjustFamilyMatchesAnalyze: the same family adjusted by AdjustFamily and by Analyze
// gives the same p_adjusted, significance and verdicts; a wider family only raises them.
func TestAdjustFamilyMatchesAnalyze(t *testing.T) {
	scale := func(vals ...float64) *stats.Counts { c := stats.CountsOf(vals, 1, 7); return &c }
	outcomes := []stats.Outcome{
		{Key: "trust", Kind: stats.KindScale, Min: 1, Max: 7, HigherIsBetter: true, Arms: map[string]stats.ArmData{
			"control": {Counts: scale(3, 4, 4, 5, 2, 4, 3, 5, 4, 4, 3, 6)},
			"call":    {Counts: scale(5, 6, 4, 7, 5, 6, 5, 4, 6, 7, 5, 6, 6)}}},
		{Key: "ces", Kind: stats.KindScale, Min: 1, Max: 7, HigherIsBetter: false, Arms: map[string]stats.ArmData{
			"control": {Counts: scale(3, 4, 4, 5, 2, 4, 3, 5, 4, 4, 3, 6)},
			"call":    {Counts: scale(4, 5, 4, 6, 5, 5, 5, 4, 6, 6, 5, 5, 6)}}},
		{Key: "love", Kind: stats.KindScale, Min: 1, Max: 7, HigherIsBetter: true, Arms: map[string]stats.ArmData{
			"control": {Counts: scale(4)}, "call": {Counts: scale(5, 6)}}},
	}
	for _, correction := range []string{"holm", "bh", "none", "bogus"} {
		t.Run(correction, func(t *testing.T) {
			d := stats.Design{Alpha: 0.05, Correction: correction, Control: "control", Arms: []string{"control", "call"}}
			want := stats.Analyze(d, outcomes)
			var cs []stats.Comparison
			for _, o := range outcomes {
				cs = append(cs, stats.Compare(o, o.Arms["call"], o.Arms["control"], 0.05))
			}
			members := make([]stats.FamilyMember, len(cs))
			for i := range cs {
				members[i] = stats.FamilyMember{C: &cs[i], HigherIsBetter: outcomes[i].HigherIsBetter}
			}
			if n := stats.AdjustFamily(members, correction, 0.05); n != 2 {
				t.Errorf("family of %d, want 2 (love has too few answers)", n)
			}
			for i, o := range want.Outcomes {
				w, g := o.Comparisons["call"], cs[i]
				if w.Verdict != g.Verdict || w.Significant != g.Significant || !(w.PAdjusted == g.PAdjusted || math.IsNaN(w.PAdjusted) && math.IsNaN(g.PAdjusted)) {
					t.Errorf("%s: got %s %v %g, Analyze %s %v %g", o.Key, g.Verdict, g.Significant, g.PAdjusted, w.Verdict, w.Significant, w.PAdjusted)
				}
			}
			if cs[1].Verdict != stats.VerdictWorse && cs[1].Significant {
				t.Errorf("ces went up and lower is better: %s", cs[1].Verdict)
			}

			// The same two comparisons in a family of six (four more segments' worth).
			wide := append([]stats.Comparison(nil), cs[:2]...)
			for _, p := range []float64{0.2, 0.5, 0.03, 0.9} {
				c := cs[0]
				c.FamilyP = p
				wide = append(wide, c)
			}
			ms := make([]stats.FamilyMember, len(wide))
			for i := range wide {
				ms[i] = stats.FamilyMember{C: &wide[i], HigherIsBetter: true}
			}
			stats.AdjustFamily(ms, correction, 0.05)
			for i := range 2 {
				if wide[i].PAdjusted < cs[i].PAdjusted || wide[i].PAdjusted < wide[i].FamilyP {
					t.Errorf("comparison %d: p_adjusted %g in the wide family, %g in the narrow one, p %g",
						i, wide[i].PAdjusted, cs[i].PAdjusted, wide[i].FamilyP)
				}
			}
		})
	}
}

func ExampleCochranQ() {
	// The call-back's effect on trust in three channels: it helps phone customers only.
	effects := []float64{1.0, 0.1, -0.2} // phone, e-mail, chat
	ses := []float64{0.3, 0.25, 0.4}
	h := stats.CochranQ(effects, ses, 0.05)
	fmt.Printf("Q %.3f, df %d, p %.4f, I² %.2f, heterogeneous %v\n", h.Q, h.DF, h.PValue, h.I2, h.Heterogeneous)
	// Output:
	// Q 7.584, df 2, p 0.0226, I² 0.74, heterogeneous true
}
