package stats_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/krslab/krslab/stats"
)

// TestRecommendation walks the rules of STATS.md on reference cases, with
// designs (primary, guardrails, target) chosen for each rule.
func TestRecommendation(t *testing.T) {
	for _, tc := range []struct {
		name       string
		file       string
		primary    string
		guardrails []string
		target     int64
		stopped    bool
		flip       string // outcome whose higher_is_better is inverted to make a guardrail worse
		action     string
		arm        string
		mention    []string
	}{
		// random_18: SRM p < 0.001, so rule 1 wins over a better krs.
		{name: "srm mismatch", file: "random_18.json", primary: "krs", action: stats.ActionInvestigate,
			mention: []string{"chi2", "1:1:2", "broken"}},
		// random_11: krs better for treat_1 at alpha 0.1, complaint_repeated inconclusive.
		{name: "roll out", file: "random_11.json", primary: "krs", guardrails: []string{"complaint_repeated"},
			action: stats.ActionRollOut, arm: "treat_1", mention: []string{"treat_1 raised krs by", "90% CI", "no guardrail worse"}},
		// random_11 with nps counted lower-is-better: treat_1 is significantly worse on it.
		{name: "guardrail blocks", file: "random_11.json", primary: "krs", guardrails: []string{"nps"}, flip: "nps",
			stopped: true, action: stats.ActionKeepControl, arm: "control", mention: []string{"worse on nps", "stopped"}},
		{name: "guardrail blocks, running", file: "random_11.json", primary: "krs", guardrails: []string{"nps"}, flip: "nps",
			action: stats.ActionKeepRunning},
		// random_15: nothing significant; arms have 134, 185 and 243 krs answers.
		{name: "target reached", file: "random_15.json", primary: "krs", target: 100,
			action: stats.ActionKeepControl, arm: "control", mention: []string{"target of 100"}},
		{name: "target not reached", file: "random_15.json", primary: "krs", target: 200, stopped: true,
			action: stats.ActionKeepRunning, mention: []string{"control has 134", "treat_1 has 185"}},
		{name: "no target, stopped", file: "random_15.json", primary: "krs", stopped: true,
			action: stats.ActionKeepControl, arm: "control"},
		{name: "no target, running", file: "random_15.json", primary: "krs", action: stats.ActionKeepRunning,
			mention: []string{"closest"}},
		{name: "no primary", file: "random_15.json", stopped: true, action: stats.ActionKeepRunning},
		// edge_cases: involvement better, with Holm over 3 valid comparisons.
		{name: "edge roll out", file: "edge_cases.json", primary: "involvement", action: stats.ActionRollOut, arm: "treat"},
		// edge_cases: trust has one control answer; no comparison possible.
		{name: "insufficient primary", file: "edge_cases.json", primary: "trust", action: stats.ActionKeepRunning,
			mention: []string{"enough answers"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := loadCase(t, filepath.Join(refDir, tc.file))
			d := c.design()
			d.Primary, d.Guardrails, d.TargetResponsesPerArm, d.Stopped = tc.primary, tc.guardrails, tc.target, tc.stopped
			outs := c.outcomes(t)
			for i := range outs {
				if outs[i].Key == tc.flip {
					outs[i].HigherIsBetter = !outs[i].HigherIsBetter
				}
			}
			r := stats.Analyze(d, outs).Recommendation
			if r.Action != tc.action || r.Arm != tc.arm {
				t.Errorf("got %s %q, want %s %q (%s)", r.Action, r.Arm, tc.action, tc.arm, r.Reason)
			}
			for _, m := range tc.mention {
				if !strings.Contains(r.Reason, m) {
					t.Errorf("reason %q does not mention %q", r.Reason, m)
				}
			}
			if strings.Count(r.Reason, ". ") > 0 || !strings.HasSuffix(r.Reason, ".") {
				t.Errorf("reason is not one sentence: %q", r.Reason)
			}
			t.Log(r.Reason)
		})
	}
}

// TestVerdictWorse: random_11's nps comparison is significant; counted
// lower-is-better it must turn worse, with chance_to_beat mirrored.
func TestVerdictWorse(t *testing.T) {
	c := loadCase(t, filepath.Join(refDir, "random_11.json"))
	outs := c.outcomes(t)
	before, _ := stats.Analyze(c.design(), outs).Outcome("nps")
	for i := range outs {
		if outs[i].Key == "nps" {
			outs[i].HigherIsBetter = false
		}
	}
	after, _ := stats.Analyze(c.design(), outs).Outcome("nps")
	b, a := before.Comparisons["treat_1"], after.Comparisons["treat_1"]
	if b.Verdict != stats.VerdictBetter || a.Verdict != stats.VerdictWorse {
		t.Errorf("verdicts %s -> %s, want better -> worse", b.Verdict, a.Verdict)
	}
	if !close(a.ChanceToBeat, 1-b.ChanceToBeat) {
		t.Errorf("chance_to_beat %v, want %v", a.ChanceToBeat, 1-b.ChanceToBeat)
	}
}
