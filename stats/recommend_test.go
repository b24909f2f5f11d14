package stats_test

import (
	"path/filepath"
	"slices"
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
		// random_11: krs better for treat_1 at alpha 0.1, complaint_repeated inconclusive;
		// stopped, so the fixed-horizon p-value is read at the horizon.
		{name: "roll out", file: "random_11.json", primary: "krs", guardrails: []string{"complaint_repeated"}, stopped: true,
			action: stats.ActionRollOut, arm: "treat_1", mention: []string{"treat_1 raised krs by", "90% CI", "no guardrail worse"}},
		// Running without a target, the same look is early: its always-valid p (0.293) is not below alpha/m.
		{name: "early look", file: "random_11.json", primary: "krs", guardrails: []string{"complaint_repeated"},
			action: stats.ActionKeepRunning, mention: []string{"treat_1 beat control on krs", "not yet conclusive at this early look", "always-valid p = 0.293"}},
		// Running, but every arm has reached the target: the look is no longer early.
		{name: "roll out at the target", file: "random_11.json", primary: "krs", guardrails: []string{"complaint_repeated"}, target: 10,
			action: stats.ActionRollOut, arm: "treat_1"},
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
		{name: "edge roll out", file: "edge_cases.json", primary: "involvement", stopped: true, action: stats.ActionRollOut, arm: "treat"},
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
			checkOneSentence(t, r)
			if r.Action != tc.action || r.Arm != tc.arm {
				t.Errorf("got %s %q, want %s %q (%s)", r.Action, r.Arm, tc.action, tc.arm, r.Reason)
			}
			for _, m := range tc.mention {
				if !strings.Contains(r.Reason, m) {
					t.Errorf("reason %q does not mention %q", r.Reason, m)
				}
			}
			t.Log(r.Reason)
		})
	}
}

// checkOneSentence: the reason is one plain sentence in each language.
func checkOneSentence(t *testing.T, r stats.Recommendation) {
	t.Helper()
	for _, s := range []string{r.Reason, r.ReasonNL} {
		if s == "" || strings.Count(s, ". ") > 0 || !strings.HasSuffix(s, ".") {
			t.Errorf("reason is not one sentence: %q", s)
		}
	}
	if r.Caveats == nil {
		t.Error("caveats are nil, want a list")
	}
}

// TestRecommendationSurvey walks the second part's rules on the survey cases,
// with the designs of their files (running, guardrails, margins, target) and
// changes chosen for each rule; names, when given, replace keys in the reason
// (arms have one name; outcomes one per language).
func TestRecommendationSurvey(t *testing.T) {
	for _, tc := range []struct {
		name    string
		file    string
		primary string // "" = the file's (the first outcome)
		stopped bool
		names   bool
		action  string
		arm     string
		caveats []string
		mention []string // in the English reason
		nl      []string // in the Dutch reason
	}{
		// random_1006: the arms answered at different rates; treat_1's involvement bounds
		// (CI 0.108 to 1.91) clear zero, so it is still rolled out, with the caveat.
		{name: "differential, bounds clear zero", file: "random_1006.json", names: true,
			action: stats.ActionRollOut, arm: "treat_1", caveats: []string{"differential_response"},
			mention: []string{"Call-back raised Involvement by 0.847 points", "different rates (Email 78.8%, Call-back 55.2%, Letter 46.7%)", "(0.354 to 1.67, 95% CI 0.108 to 1.91)"},
			nl:      []string{"Call-back verhoogde Betrokkenheid met 0,847 punten", "(Email 78,8%, Call-back 55,2%, Letter 46,7%)", "(0,354 tot 1,67, 95%-BI 0,108 tot 1,91)"}},
		// With nps primary treat_1 is better (p 0.0045) but its bounds (CI -23.6 to 84.1)
		// include zero, and that alone keeps it out: rule 4.
		{name: "differential, bounds include zero", file: "random_1006.json", primary: "nps", names: true,
			action: stats.ActionInvestigate, caveats: []string{"differential_response"},
			mention: []string{"Call-back beat Email on NPS", "different rates", "include zero", "investigate"},
			nl:      []string{"Call-back was beter dan Email op NPS", "omvatten nul", "onderzoek"}},
		// edge_separation: trust is better (and its always-valid p 0.022 < 0.05), but nps's
		// margin of 20 does not hold (bound -25.1).
		{name: "margin does not hold", file: "edge_separation.json",
			action: stats.ActionKeepRunning, caveats: []string{},
			mention: []string{"treat beat control on trust but missed the margin on nps (bound −25.1 beyond −20)"},
			nl:      []string{"treat was beter dan controle op trust", "haalde de marge op nps niet (grens −25,1 voorbij −20)"}},
		// Stopped, the same experiment keeps control (no target): the margin still fails.
		{name: "margin does not hold, stopped", file: "edge_separation.json", stopped: true,
			action: stats.ActionKeepControl, arm: "control", caveats: []string{}, mention: []string{"missed the margin", "stopped"}},
		// random_1002: roll-out with the ces margin held, past the target.
		{name: "margins held", file: "random_1002.json",
			action: stats.ActionRollOut, arm: "treat_1", caveats: []string{}, mention: []string{"every guardrail margin held"}},
		// SRM comes first, whatever the response rates (still a caveat).
		{name: "srm with differential response", file: "edge_heavy_trim.json",
			action: stats.ActionInvestigate, caveats: []string{"differential_response"}, mention: []string{"broken"}, nl: []string{"verdeling klopt niet"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := loadSurveyCase(t, filepath.Join(surveyDir, tc.file))
			d := c.design()
			d.Stopped = tc.stopped
			if tc.primary != "" {
				d.Primary = tc.primary
			}
			outs := c.outcomes(t)
			if tc.names {
				d.ArmNames = map[string]string{"control": "Email", "treat_1": "Call-back", "treat_2": "Letter"}
				nl := map[string][2]string{"involvement": {"Involvement", "Betrokkenheid"}, "nps": {"NPS", "NPS"}}
				for i := range outs {
					n := nl[outs[i].Key]
					outs[i].Name, outs[i].NameNL = n[0], n[1]
				}
			}
			r := stats.Analyze(d, outs).Recommendation
			checkOneSentence(t, r)
			if r.Action != tc.action || r.Arm != tc.arm || !slices.Equal(r.Caveats, tc.caveats) {
				t.Errorf("got %s %q %v, want %s %q %v (%s)", r.Action, r.Arm, r.Caveats, tc.action, tc.arm, tc.caveats, r.Reason)
			}
			for _, m := range tc.mention {
				if !strings.Contains(r.Reason, m) {
					t.Errorf("reason %q does not mention %q", r.Reason, m)
				}
			}
			for _, m := range tc.nl {
				if !strings.Contains(r.ReasonNL, m) {
					t.Errorf("Dutch reason %q does not mention %q", r.ReasonNL, m)
				}
			}
			if tc.names && strings.Contains(r.Reason, "treat_1") {
				t.Errorf("reason names an arm by its key: %q", r.Reason)
			}
			if r.In("nl").Reason != r.ReasonNL || r.In("en").Reason != r.Reason {
				t.Error("In does not pick the language")
			}
			t.Log(r.Reason)
			t.Log(r.ReasonNL)
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
