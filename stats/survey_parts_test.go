package stats_test

import (
	"encoding/json"
	"fmt"
	"math"
	"path/filepath"
	"testing"

	"github.com/krslab/krslab/stats"
	"gonum.org/v1/gonum/stat/distuv"
)

// Each formula of STATS.md's second part on its own, against the expected
// numbers of every case of surveyDir (TestSurveyReferenceCases checks them
// again through Analyze).

// eachSurveyComparison calls fn for every (case, outcome, treatment) with the
// expected comparison of the case file.
func eachSurveyComparison(t *testing.T, fn func(t *testing.T, c surveyCase, d stats.Design, o stats.Outcome, arm string, want map[string]any)) {
	for _, file := range surveyCaseFiles(t) {
		c := loadSurveyCase(t, file)
		d := c.design()
		for _, o := range c.outcomes(t) {
			exp, _ := c.refCase.Expected.Outcomes[o.Key]["comparisons"].(map[string]any)
			for arm, w := range exp {
				t.Run(fmt.Sprintf("%s/%s/%s", filepath.Base(file), o.Key, arm), func(t *testing.T) {
					fn(t, c, d, o, arm, w.(map[string]any))
				})
			}
		}
	}
}

// checkBlock compares a block's JSON with the expected one, null included.
func checkBlock(t *testing.T, name string, want map[string]any, got any) {
	t.Helper()
	w, ok := want[name]
	if !ok {
		t.Fatalf("%s: not in the case file", name)
	}
	b, err := json.Marshal(got)
	if err != nil {
		t.Fatal(err)
	}
	var g any
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatal(err)
	}
	if w == nil || g == nil {
		if w != g {
			t.Errorf("%s: got %v, want %v", name, g, w)
		}
		return
	}
	compareJSON(t, name, w, g)
}

// TestResponseCheckReference: Pearson's chi-square of responded vs not per arm,
// against every case's response_check (edge_equal_rates: equal rates, chi2 0;
// edge_separation: everyone answered, null).
func TestResponseCheckReference(t *testing.T) {
	for _, file := range surveyCaseFiles(t) {
		c := loadSurveyCase(t, file)
		d := c.design()
		var responded, assigned []int64
		for _, a := range d.Arms {
			responded, assigned = append(responded, d.Responded[a]), append(assigned, d.Assigned[a])
		}
		got := stats.ResponseCheckTest(responded, assigned, d.Alpha)
		b, _ := json.Marshal(got)
		var g any
		json.Unmarshal(b, &g)
		compareJSON(t, filepath.Base(file)+": response_check", c.Expected.ResponseCheck, g)
	}
}

// TestResponseCheckEdges: the table's degenerate cases are null, not NaN errors.
func TestResponseCheckEdges(t *testing.T) {
	for _, tc := range []struct {
		name                string
		responded, assigned []int64
		df                  int
	}{
		{"nobody answered", []int64{0, 0}, []int64{10, 12}, 1},
		{"everyone answered", []int64{10, 12}, []int64{10, 12}, 1},
		{"nobody assigned", []int64{0, 0}, []int64{0, 0}, 0},
		{"one arm with assignments", []int64{3, 0}, []int64{10, 0}, 0},
	} {
		r := stats.ResponseCheckTest(tc.responded, tc.assigned, 0.05)
		if !math.IsNaN(float64(r.Chi2)) || !math.IsNaN(float64(r.PValue)) || r.Differential || r.DF != tc.df {
			t.Errorf("%s: got %+v, want null chi2 and p, df %d, not differential", tc.name, r, tc.df)
		}
	}
	// An arm nobody was assigned to has no row: the test is that of the other arms.
	with := stats.ResponseCheckTest([]int64{5, 9, 0}, []int64{10, 12, 0}, 0.05)
	without := stats.ResponseCheckTest([]int64{5, 9}, []int64{10, 12}, 0.05)
	if with != without {
		t.Errorf("with an empty arm %+v, without %+v", with, without)
	}
}

// TestLeeBoundsReference: Lee's trimming bounds with the Imbens-Manski interval
// against every comparison's bounds (random_1001: treatment trimmed for treat_1,
// control for treat_2; edge_heavy_trim: n_eff < 2, null; composites from their
// distinct values).
func TestLeeBoundsReference(t *testing.T) {
	eachSurveyComparison(t, func(t *testing.T, c surveyCase, d stats.Design, o stats.Outcome, arm string, want map[string]any) {
		got := stats.LeeBounds(o, o.Arms[arm], o.Arms[d.Control], d.Assigned[arm], d.Assigned[d.Control], d.Alpha)
		checkBlock(t, "bounds", want, got)
	})
}

// TestLeeBoundsProperties: no differential response means no trimming, and
// bounds equal to the plain difference with the z interval.
func TestLeeBoundsProperties(t *testing.T) {
	tr := stats.CountsOf([]float64{5, 6, 6, 7, 4, 5}, 1, 7)
	co := stats.CountsOf([]float64{3, 4, 4, 5, 2, 4}, 1, 7)
	o := stats.Outcome{Kind: stats.KindScale, Min: 1, Max: 7}
	b := stats.LeeBounds(o, stats.ArmData{Counts: &tr}, stats.ArmData{Counts: &co}, 12, 12, 0.05)
	w := stats.WelchTTest([]float64{5, 6, 6, 7, 4, 5}, []float64{3, 4, 4, 5, 2, 4}, 0.05)
	z := distuv.UnitNormal.Quantile(0.975)
	if b == nil || b.TrimShare != 0 || !close(b.Lower, w.Diff) || !close(b.Upper, w.Diff) ||
		!close(b.CILow, w.Diff-z*w.SE) || !close(b.CIHigh, w.Diff+z*w.SE) {
		t.Errorf("equal response: got %+v, want diff %v -+ %v*%v", b, w.Diff, z, w.SE)
	}
	num := stats.Outcome{Kind: stats.KindNumeric}
	m := stats.MomentsOf([]float64{1, 2, 3})
	if b := stats.LeeBounds(num, stats.ArmData{Moments: m}, stats.ArmData{Moments: m}, 5, 9, 0.05); b != nil {
		t.Errorf("numeric outcome: got %+v, want nil", b)
	}
	comp := stats.Outcome{Kind: stats.KindComposite}
	if b := stats.LeeBounds(comp, stats.ArmData{Moments: m}, stats.ArmData{Moments: m}, 5, 9, 0.05); b != nil {
		t.Errorf("composite without distinct values: got %+v, want nil", b)
	}
}

// TestOrdinalReference: the proportional-odds fit against every scale and net
// comparison's ordinal block (edge_separation trust: complete separation, null).
func TestOrdinalReference(t *testing.T) {
	eachSurveyComparison(t, func(t *testing.T, c surveyCase, d stats.Design, o stats.Outcome, arm string, want map[string]any) {
		if o.Kind != stats.KindScale && o.Kind != stats.KindNet {
			if _, ok := want["ordinal"]; ok {
				t.Errorf("%s outcome has an ordinal block", o.Kind)
			}
			return
		}
		got := stats.OrdinalFromCounts(*o.Arms[arm].Counts, *o.Arms[d.Control].Counts, d.Alpha)
		checkBlock(t, "ordinal", want, got)
	})
}

// TestOrdinalEdges: too few levels or answers, and separation, have no fit;
// swapping the arms negates the log odds ratio.
func TestOrdinalEdges(t *testing.T) {
	one := stats.CountsOf([]float64{4, 4, 4}, 1, 7)
	two := stats.CountsOf([]float64{4, 5, 4, 5}, 1, 7)
	few := stats.CountsOf([]float64{5}, 1, 7)
	sepLow := stats.CountsOf([]float64{1, 2, 2, 3}, 1, 7)
	sepHigh := stats.CountsOf([]float64{5, 6, 7, 7}, 1, 7)
	for name, pair := range map[string][2]stats.Counts{
		"one level": {one, one}, "one answer": {two, few}, "separation": {sepHigh, sepLow}, "separation, reversed": {sepLow, sepHigh},
	} {
		if o := stats.OrdinalFromCounts(pair[0], pair[1], 0.05); o != nil {
			t.Errorf("%s: got %+v, want nil", name, o)
		}
	}
	a := stats.CountsOf([]float64{3, 4, 4, 5, 6, 6, 7, 2}, 1, 7)
	b := stats.CountsOf([]float64{2, 3, 3, 4, 5, 4, 6, 1, 3}, 1, 7)
	ab, ba := stats.OrdinalFromCounts(a, b, 0.05), stats.OrdinalFromCounts(b, a, 0.05)
	if ab == nil || ba == nil || !close(ab.LogOddsRatio, -ba.LogOddsRatio) || !close(ab.SE, ba.SE) || !close(ab.PValue, ba.PValue) {
		t.Errorf("swapped arms: %+v and %+v", ab, ba)
	}
}

// TestNonInferiorityReference: the margin test on the deciding effect against
// every guardrail with a margin (edge_separation nps: net, higher is better,
// does not hold; edge_heavy_trim complaint_repeated: binary, lower is better;
// random_1006 satisfaction: CUPED's effect and df).
func TestNonInferiorityReference(t *testing.T) {
	n := 0
	eachSurveyComparison(t, func(t *testing.T, c surveyCase, d stats.Design, o stats.Outcome, arm string, want map[string]any) {
		margin, ok := c.Margins[o.Key]
		if !ok {
			if _, ok := want["non_inferiority"]; ok {
				t.Error("an outcome without a margin has a non_inferiority block")
			}
			return
		}
		cmp := stats.Compare(o, o.Arms[arm], o.Arms[d.Control], d.Alpha)
		if cmp.Deciding == nil {
			checkBlock(t, "non_inferiority", want, nil)
			return
		}
		checkBlock(t, "non_inferiority", want, stats.NonInferiorityTest(*cmp.Deciding, margin, d.Alpha, o.HigherIsBetter))
		n++
	})
	if n == 0 {
		t.Error("no guardrail with a margin among the cases")
	}
}

// TestDecidingEffectAndSequentialReference: the effect block (cuped, welch,
// net_z, two_proportion) and the sequential test of every kind, net and binary
// included, with tau = 0.2 * the pooled per-customer sd.
func TestDecidingEffectAndSequentialReference(t *testing.T) {
	eachSurveyComparison(t, func(t *testing.T, c surveyCase, d stats.Design, o stats.Outcome, arm string, want map[string]any) {
		cmp := stats.Compare(o, o.Arms[arm], o.Arms[d.Control], d.Alpha)
		checkBlock(t, "effect", want, cmp.Deciding)
		checkBlock(t, "sequential", want, cmp.Sequential)
	})
}

// TestGuardrailsOutsideFamily: a guardrail's p_adjusted is its own effect's
// p-value, and the other comparisons are adjusted without it (random_1002,
// holm, ces the guardrail).
func TestGuardrailsOutsideFamily(t *testing.T) {
	c := loadSurveyCase(t, filepath.Join(surveyDir, "random_1002.json"))
	d := c.design()
	a := stats.Analyze(d, c.outcomes(t))
	var ps []float64
	var members []stats.Comparison
	for _, o := range a.Outcomes {
		for _, arm := range d.Arms[1:] {
			cmp := o.Comparisons[arm]
			if o.Key == "ces" {
				if !cmp.Guardrail || cmp.PAdjusted != cmp.Deciding.PValue {
					t.Errorf("guardrail ces/%s: p_adjusted %v, effect p %v", arm, cmp.PAdjusted, cmp.Deciding.PValue)
				}
				continue
			}
			ps, members = append(ps, cmp.FamilyP), append(members, cmp)
		}
	}
	adj := stats.HolmAdjust(ps)
	for i, cmp := range members {
		if !close(cmp.PAdjusted, adj[i]) {
			t.Errorf("member %d: p_adjusted %v, want %v (holm without the guardrail)", i, cmp.PAdjusted, adj[i])
		}
	}
}
