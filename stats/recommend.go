package stats

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Recommendation actions, in the order STATS.md checks them.
const (
	ActionInvestigate = "investigate"
	ActionRollOut     = "roll_out"
	ActionKeepControl = "keep_control"
	ActionKeepRunning = "keep_running"
)

// Recommendation is what a product owner reads first. Arm is the arm to
// roll out, or the control arm's key for keep_control; it is empty (and
// omitted from JSON) for investigate and keep_running.
type Recommendation struct {
	Action string `json:"action"`
	Arm    string `json:"arm,omitempty"`
	Reason string `json:"reason"` // one plain sentence naming the numbers
}

func recommend(d Design, outcomes []Outcome, a Analysis) Recommendation {
	if a.SRM.Mismatch {
		return Recommendation{Action: ActionInvestigate, Reason: srmReason(d, a.SRM)}
	}
	var prim Outcome
	var pres OutcomeResult
	found := false
	for i, o := range outcomes {
		if o.Key == d.Primary && d.Primary != "" {
			prim, pres, found = o, a.Outcomes[i], true
			break
		}
	}
	if !found {
		return Recommendation{Action: ActionKeepRunning,
			Reason: "No primary outcome is analysed, so no arm can be recommended; keep running."}
	}

	// Rule 2: the primary is better and no guardrail is worse.
	best, bestDiff := "", math.Inf(-1)
	var blocked []string // better on the primary but worse on a guardrail
	for _, t := range d.treatments() {
		c := pres.Comparisons[t]
		if c.Verdict != VerdictBetter {
			continue
		}
		if worse := worseGuardrails(d, a, t); len(worse) > 0 {
			blocked = append(blocked, fmt.Sprintf("%s beat control on %s but was worse on %s", t, prim.Key, strings.Join(worse, " and ")))
			continue
		}
		if g := c.goodDiff(prim.HigherIsBetter); g > bestDiff {
			best, bestDiff = t, g
		}
	}
	if best != "" {
		guard := ""
		if len(d.Guardrails) > 0 {
			guard = " with no guardrail worse"
		}
		return Recommendation{Action: ActionRollOut, Arm: best,
			Reason: fmt.Sprintf("%s %s%s.", best, effectPhrase(prim, pres.Comparisons[best], d.alpha()), guard)}
	}

	// Rules 3 and 4: no arm qualifies; stop or keep collecting.
	why := closest(d, prim, pres)
	if len(blocked) > 0 {
		why = strings.Join(blocked, "; ")
	}
	reached, short := targetReached(d, pres)
	if reached {
		end := "the experiment is stopped"
		if d.TargetResponsesPerArm > 0 {
			end = fmt.Sprintf("every arm reached the target of %d responses", d.TargetResponsesPerArm)
		}
		return Recommendation{Action: ActionKeepControl, Arm: d.Control,
			Reason: fmt.Sprintf("%s, and %s, so keep control.", why, end)}
	}
	return Recommendation{Action: ActionKeepRunning,
		Reason: fmt.Sprintf("%s; keep running%s.", why, short)}
}

// worseGuardrails lists the guardrails on which arm t is significantly worse.
func worseGuardrails(d Design, a Analysis, t string) []string {
	var worse []string
	for _, g := range d.Guardrails {
		if r, ok := a.Outcome(g); ok && r.Comparisons[t].Verdict == VerdictWorse {
			worse = append(worse, g)
		}
	}
	return worse
}

// targetReached applies rule 3: every arm has the target number of primary
// responses, or without a target the experiment is stopped. short says what
// is still missing when not.
func targetReached(d Design, pres OutcomeResult) (bool, string) {
	if d.TargetResponsesPerArm <= 0 {
		return d.Stopped, ""
	}
	var behind []string
	for _, arm := range d.Arms {
		if n := pres.Arms[arm].N; n < d.TargetResponsesPerArm {
			behind = append(behind, fmt.Sprintf("%s has %d", arm, n))
		}
	}
	if len(behind) == 0 {
		return true, ""
	}
	return false, fmt.Sprintf(" until every arm has %d responses (%s)", d.TargetResponsesPerArm, strings.Join(behind, ", "))
}

// closest describes the comparison nearest to significance on the primary.
func closest(d Design, prim Outcome, pres OutcomeResult) string {
	best := ""
	for _, t := range d.treatments() {
		c := pres.Comparisons[t]
		if c.Sufficient() && (best == "" || c.PAdjusted < pres.Comparisons[best].PAdjusted) {
			best = t
		}
	}
	if best == "" {
		return fmt.Sprintf("No arm has enough answers on %s to compare with control yet", prim.Key)
	}
	diff, lo, hi, unit := effect(prim, pres.Comparisons[best])
	return fmt.Sprintf("No arm beat control on %s (closest: %s, %s%s, %s%% CI %s to %s, p_adj %s)",
		prim.Key, best, signed(diff), unit, num(100*(1-d.alpha())), num(lo), num(hi), pText(pres.Comparisons[best].PAdjusted))
}

// effectPhrase is e.g. "raised krs by 4.77 points (95% CI 1.3 to 8.24, p_adj = 0.004)".
func effectPhrase(o Outcome, c Comparison, alpha float64) string {
	diff, lo, hi, unit := effect(o, c)
	verb := "raised"
	if diff < 0 {
		verb = "lowered"
	}
	return fmt.Sprintf("%s %s by %s%s (%s%% CI %s to %s, p_adj %s)",
		verb, o.Key, num(math.Abs(diff)), unit, num(100*(1-alpha)), num(lo), num(hi), pText(c.PAdjusted))
}

// effect is the deciding effect in the units a reader expects: rates as
// percentage points, numeric outcomes in their own unit.
func effect(o Outcome, c Comparison) (diff, lo, hi float64, unit string) {
	diff, lo, hi = c.Effect()
	switch o.Kind {
	case KindBinary:
		return 100 * diff, 100 * lo, 100 * hi, " percentage points"
	case KindNumeric:
		return diff, lo, hi, ""
	}
	return diff, lo, hi, " points"
}

func signed(x float64) string {
	if x > 0 {
		return "+" + num(x)
	}
	return num(x)
}

func srmReason(d Design, s SRM) string {
	counts := make([]string, len(d.Arms))
	weights := make([]string, len(d.Arms))
	for i, a := range d.Arms {
		counts[i] = fmt.Sprintf("%s %d", a, d.Assigned[a])
		weights[i] = num(d.Weights[a])
	}
	return fmt.Sprintf("The assigned counts (%s) do not match the %s weights (chi2 = %s, p = %s < %s), so the split is broken and no effect can be trusted.",
		strings.Join(counts, ", "), strings.Join(weights, ":"), num(float64(s.Chi2)), strconv.FormatFloat(float64(s.PValue), 'g', 2, 64), num(SRMThreshold))
}

// num formats to three significant digits without exponent noise for
// everyday magnitudes.
func num(x float64) string {
	if x == math.Trunc(x) && math.Abs(x) < 1e6 {
		return strconv.FormatFloat(x, 'f', -1, 64)
	}
	return strconv.FormatFloat(x, 'g', 3, 64)
}

// pText is "= 0.004" or "< 0.001".
func pText(p float64) string {
	if p < 0.001 {
		return "< 0.001"
	}
	return "= " + strconv.FormatFloat(p, 'g', 2, 64)
}
