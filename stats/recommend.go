package stats

import (
	"fmt"
	"math"
	"strings"

	"github.com/krslab/krslab/stats/i18n"
)

// Recommendation actions, in the order STATS.md checks them.
const (
	ActionInvestigate = "investigate"
	ActionRollOut     = "roll_out"
	ActionKeepControl = "keep_control"
	ActionKeepRunning = "keep_running"
)

// CaveatDifferentialResponse is listed whenever the arms answered at different
// rates (ResponseCheck.Differential), whatever the action.
const CaveatDifferentialResponse = "differential_response"

// Recommendation is what a product owner reads first. Arm is the arm to
// roll out, or the control arm's key for keep_control; it is empty (and
// omitted from JSON) for investigate and keep_running. The reason is one
// plain sentence naming the numbers, in English (Reason) and Dutch
// (ReasonNL); In picks one.
type Recommendation struct {
	Action   string   `json:"action"`
	Arm      string   `json:"arm,omitempty"`
	Reason   string   `json:"reason"`
	ReasonNL string   `json:"-"`
	Caveats  []string `json:"caveats"` // never nil: [] when there are none
}

// In returns the recommendation with its reason in lang: "nl" for Dutch,
// anything else English.
func (r Recommendation) In(lang string) Recommendation {
	if i18n.Normalize(lang) == i18n.Dutch {
		r.Reason = r.ReasonNL
	}
	return r
}

// Recommend applies the rules of STATS.md (second part) to an analysis:
//
//  1. investigate when the split is broken (SRM mismatch);
//  2. an arm qualifies when its primary verdict is better, no guardrail is
//     worse and every guardrail margin holds; while the experiment runs short
//     of the target on the primary (or without one), its primary sequential
//     p-value must also be below alpha/m (m treatment arms); when the arms
//     answered at different rates, its primary bounds must clear zero on the
//     good side;
//  3. roll_out the qualifying arm with the largest effect in the good direction;
//  4. investigate when an arm failed only for its bounds;
//  5. keep_control when every arm reached the target on the primary (without
//     a target: the experiment is stopped), else keep_running.
//
// Analyze calls it; a caller that changes the sequential p-values afterwards
// (the running minimum over looks) calls it again.
func Recommend(d Design, a Analysis) Recommendation {
	rec := Recommendation{Caveats: []string{}}
	differential := a.ResponseCheck.Differential
	if differential {
		rec.Caveats = append(rec.Caveats, CaveatDifferentialResponse)
	}
	say := func(action, arm string, reason func(l lang) string) Recommendation {
		rec.Action, rec.Arm = action, arm
		rec.Reason, rec.ReasonNL = reason(english), reason(dutch)
		return rec
	}
	if a.SRM.Mismatch {
		return say(ActionInvestigate, "", func(l lang) string { return srmReason(l, d, a.SRM) })
	}
	prim, found := a.Outcome(d.Primary)
	if d.Primary == "" || !found {
		return say(ActionKeepRunning, "", func(l lang) string {
			return l.pick("No primary outcome is analysed, so no arm can be recommended; keep running.",
				"Er wordt geen primaire uitkomst geanalyseerd, dus geen variant kan worden aanbevolen; laat het experiment doorlopen.")
		})
	}
	r := recommender{d: d, a: a, prim: prim, differential: differential}
	r.reached, r.behind = targetReached(d, prim)
	r.early = !d.Stopped && !(d.TargetResponsesPerArm > 0 && r.reached)
	treatments := d.treatments()
	r.threshold = d.alpha() / float64(max(len(treatments), 1))
	var checks []armCheck
	best := -1
	for _, t := range treatments {
		k := r.check(t)
		checks = append(checks, k)
		if k.qualifies() && (best < 0 || k.c.goodDiff(prim.HigherIsBetter) > checks[best].c.goodDiff(prim.HigherIsBetter)) {
			best = len(checks) - 1
		}
	}
	if best >= 0 {
		k := checks[best]
		return say(ActionRollOut, k.arm, func(l lang) string { return r.rollOut(l, k) })
	}
	for _, k := range checks {
		if k.onlyBounds() {
			return say(ActionInvestigate, "", func(l lang) string { return r.unbounded(l, k) })
		}
	}
	done := r.reached
	if d.TargetResponsesPerArm <= 0 {
		done = d.Stopped
	}
	if done {
		return say(ActionKeepControl, d.Control, func(l lang) string { return r.keepControl(l, checks) })
	}
	return say(ActionKeepRunning, "", func(l lang) string { return r.keepRunning(l, checks) })
}

// recommender holds what the rules of one recommendation share.
type recommender struct {
	d            Design
	a            Analysis
	prim         OutcomeResult
	differential bool
	reached      bool     // every arm has the target number of primary answers
	behind       []string // arms short of it, by key
	early        bool     // the peeking rule applies
	threshold    float64  // alpha/m for the sequential p-value
}

// armCheck is one treatment arm measured against rule 2.
type armCheck struct {
	arm       string
	c         Comparison      // on the primary
	worse     []OutcomeResult // guardrails on which the arm is worse
	unheld    []OutcomeResult // guardrails whose margin did not hold
	early     bool            // better on the primary, but the sequential p is not below alpha/m yet
	unbounded bool            // the arms answered at different rates and the bounds do not clear zero
}

func (k armCheck) better() bool { return k.c.Verdict == VerdictBetter }

func (k armCheck) qualifies() bool { return k.allButBounds() && !k.unbounded }

// onlyBounds is rule 4: everything but the bounds qualifies the arm.
func (k armCheck) onlyBounds() bool { return k.allButBounds() && k.unbounded }

// allButBounds: better on the primary, no guardrail worse, every margin held, and
// conclusive at this look.
func (k armCheck) allButBounds() bool {
	return k.better() && len(k.worse) == 0 && len(k.unheld) == 0 && !k.early
}

func (r recommender) check(t string) armCheck {
	k := armCheck{arm: t, c: r.prim.Comparisons[t]}
	for _, g := range r.d.Guardrails {
		o, ok := r.a.Outcome(g)
		if !ok {
			continue
		}
		c := o.Comparisons[t]
		if c.Verdict == VerdictWorse {
			k.worse = append(k.worse, o)
		}
		if _, margin := r.d.Margins[g]; margin && (c.NonInferiority == nil || !c.NonInferiority.Holds) {
			k.unheld = append(k.unheld, o)
		}
	}
	if r.early {
		s := k.c.Sequential
		k.early = s == nil || !(s.PValue < r.threshold)
	}
	if r.differential {
		b := k.c.Bounds
		k.unbounded = b == nil || !(r.prim.HigherIsBetter && b.CILow > 0 || !r.prim.HigherIsBetter && b.CIHigh < 0)
	}
	return k
}

// rollOut is e.g. "Call-back raised Trust by 0.334 points (95% CI 0.177 to
// 0.492, p_adj < 0.001) with no guardrail worse."
func (r recommender) rollOut(l lang, k armCheck) string {
	var b strings.Builder
	b.WriteString(r.d.armName(k.arm, l.code()) + " " + r.effectPhrase(l, k.c))
	switch {
	case len(r.d.Margins) > 0:
		b.WriteString(l.pick(" with no guardrail worse and every guardrail margin held",
			", zonder dat een vangrail verslechterde en met elke vangrailmarge gehaald"))
	case len(r.d.Guardrails) > 0:
		b.WriteString(l.pick(" with no guardrail worse", ", zonder dat een vangrail verslechterde"))
	}
	if r.differential {
		b.WriteString(l.pick("; the arms answered at different rates (", "; de varianten reageerden in verschillende mate ("))
		b.WriteString(r.responseRates(l) + l.pick("), but the bounds for that ", "), maar de grenzen daarvoor ") + r.boundsPhrase(l, k.c.Bounds))
		b.WriteString(l.pick(" stay clear of zero", " blijven weg van nul"))
	}
	if r.early {
		b.WriteString(l.pick("; at this early look the always-valid p ", "; bij deze vroege blik is de altijd-geldige p "))
		b.WriteString(l.pval(k.c.Sequential.PValue) + l.pick(" is already below ", " al onder ") + l.num(r.threshold))
	}
	b.WriteString(".")
	return b.String()
}

// unbounded explains rule 4.
func (r recommender) unbounded(l lang, k armCheck) string {
	ctrl := r.d.armName(r.d.Control, l.code())
	s := fmt.Sprintf(l.pick("%s beat %s on %s (%s), but the arms answered at different rates (%s; p %s), and ",
		"%s was beter dan %s op %s (%s), maar de varianten reageerden in verschillende mate (%s; p %s), en "),
		r.d.armName(k.arm, l.code()), ctrl, r.prim.name(l.nl()), r.effectNumbers(l, k.c), r.responseRates(l), l.pval(float64(r.a.ResponseCheck.PValue)))
	if k.c.Bounds == nil {
		s += l.pick("no bounds can be computed for that", "daarvoor zijn geen grenzen te berekenen")
	} else {
		s += l.pick("the bounds for that ", "de grenzen daarvoor ") + r.boundsPhrase(l, k.c.Bounds) + l.pick(" include zero", " omvatten nul")
	}
	return s + l.pick(", so who answered alone could explain the effect; investigate before deciding.",
		", dus wie er reageerde kan het effect alleen al verklaren; onderzoek dit voor een besluit.")
}

func (r recommender) keepControl(l lang, checks []armCheck) string {
	end := l.pick("the experiment is stopped", "het experiment is gestopt")
	if r.d.TargetResponsesPerArm > 0 {
		end = fmt.Sprintf(l.pick("every arm reached the target of %s responses", "elke variant haalde het doel van %s reacties"), l.count(r.d.TargetResponsesPerArm))
	}
	return fmt.Sprintf(l.pick("%s%s, and %s, so keep control.", "%s%s, en %s, dus houd de controle aan."),
		r.why(l, checks), r.responseNote(l), end)
}

func (r recommender) keepRunning(l lang, checks []armCheck) string {
	short := ""
	if len(r.behind) > 0 {
		names := make([]string, len(r.behind))
		for i, b := range r.behind {
			names[i] = fmt.Sprintf(l.pick("%s has %s", "%s heeft %s"), r.d.armName(b, l.code()), l.count(r.prim.Arms[b].N))
		}
		short = fmt.Sprintf(l.pick(" until every arm has %s responses (%s)", " tot elke variant %s reacties heeft (%s)"),
			l.count(r.d.TargetResponsesPerArm), strings.Join(names, ", "))
	}
	return fmt.Sprintf(l.pick("%s%s; keep running%s.", "%s%s; laat het experiment doorlopen%s."), r.why(l, checks), r.responseNote(l), short)
}

// why says why no arm qualified: what stopped each arm that beat control on
// the primary, or else the comparison nearest to significance.
func (r recommender) why(l lang, checks []armCheck) string {
	var parts []string
	prim := r.prim.name(l.nl())
	for _, k := range checks {
		if !k.better() {
			continue
		}
		var buts []string
		if len(k.worse) > 0 {
			buts = append(buts, l.pick("was worse on ", "was slechter op ")+r.names(l, k.worse))
		}
		for _, g := range k.unheld {
			c := g.Comparisons[k.arm]
			if c.NonInferiority == nil {
				buts = append(buts, fmt.Sprintf(l.pick("could not show the margin on %s", "kon de marge op %s niet aantonen"), g.name(l.nl())))
				continue
			}
			ni := c.NonInferiority
			limit := -ni.Margin
			if !g.HigherIsBetter {
				limit = ni.Margin
			}
			scale, _ := unitOf(g.Kind, l)
			buts = append(buts, fmt.Sprintf(l.pick("missed the margin on %s (bound %s beyond %s)", "haalde de marge op %s niet (grens %s voorbij %s)"),
				g.name(l.nl()), l.num(scale*ni.Bound), l.num(scale*limit)))
		}
		if k.early {
			p := math.NaN()
			if k.c.Sequential != nil {
				p = k.c.Sequential.PValue
			}
			buts = append(buts, fmt.Sprintf(l.pick("is not yet conclusive at this early look (always-valid p %s, needs < %s)",
				"is bij deze vroege blik nog niet overtuigend (altijd-geldige p %s, nodig < %s)"), l.pval(p), l.num(r.threshold)))
		}
		if k.unbounded {
			buts = append(buts, l.pick("has bounds for the different response rates that do not clear zero",
				"heeft grenzen voor de verschillende responspercentages die nul niet uitsluiten"))
		}
		parts = append(parts, fmt.Sprintf(l.pick("%s beat %s on %s but %s", "%s was beter dan %s op %s, maar %s"),
			r.d.armName(k.arm, l.code()), r.d.armName(r.d.Control, l.code()), prim, strings.Join(buts, i18n.T(l.code(), "list.and"))))
	}
	if len(parts) > 0 {
		return strings.Join(parts, "; ")
	}
	return r.closest(l)
}

// closest describes the comparison nearest to significance on the primary.
func (r recommender) closest(l lang) string {
	best := ""
	for _, t := range r.d.treatments() {
		c := r.prim.Comparisons[t]
		if c.Sufficient() && (best == "" || c.PAdjusted < r.prim.Comparisons[best].PAdjusted) {
			best = t
		}
	}
	prim := r.prim.name(l.nl())
	if best == "" {
		return fmt.Sprintf(l.pick("No arm has enough answers on %s to compare with control yet", "Geen variant heeft al genoeg antwoorden op %s om met de controle te vergelijken"), prim)
	}
	return fmt.Sprintf(l.pick("No arm beat control on %s (closest: %s, %s)", "Geen variant was beter dan de controle op %s (het dichtst bij: %s, %s)"),
		prim, r.d.armName(best, l.code()), r.effectNumbers(l, r.prim.Comparisons[best]))
}

// responseNote mentions the response rates when the arms answered at different rates.
func (r recommender) responseNote(l lang) string {
	if !r.differential {
		return ""
	}
	return l.pick(", with the arms answering at different rates (", ", waarbij de varianten in verschillende mate reageerden (") + r.responseRates(l) + ")"
}

// responseRates is e.g. "Control 45.2%, Call-back 61.3%".
func (r recommender) responseRates(l lang) string {
	var parts []string
	for _, arm := range r.d.Arms {
		rate := math.NaN()
		if n := r.d.Assigned[arm]; n > 0 {
			rate = 100 * float64(r.d.Responded[arm]) / float64(n)
		}
		parts = append(parts, r.d.armName(arm, l.code())+" "+l.num(rate)+"%")
	}
	return strings.Join(parts, ", ")
}

// effectPhrase is e.g. "raised Trust by 4.77 points (95% CI 1.3 to 8.24, p_adj = 0.004)".
func (r recommender) effectPhrase(l lang, c Comparison) string {
	diff, lo, hi := c.Effect()
	scale, unit := unitOf(r.prim.Kind, l)
	verb := l.pick("raised", "verhoogde")
	if diff < 0 {
		verb = l.pick("lowered", "verlaagde")
	}
	return fmt.Sprintf(l.pick("%s %s by %s%s (%s%% CI %s to %s, p_adj %s)", "%s %s met %s%s (%s%%-BI %s tot %s, p_adj %s)"),
		verb, r.prim.name(l.nl()), l.num(math.Abs(scale*diff)), unit, l.num(100*(1-r.d.alpha())), l.num(scale*lo), l.num(scale*hi), l.pval(c.PAdjusted))
}

// effectNumbers is e.g. "+4.77 points, 95% CI 1.3 to 8.24, p_adj = 0.004".
func (r recommender) effectNumbers(l lang, c Comparison) string {
	diff, lo, hi := c.Effect()
	scale, unit := unitOf(r.prim.Kind, l)
	return fmt.Sprintf(l.pick("%s%s, %s%% CI %s to %s, p_adj %s", "%s%s, %s%%-BI %s tot %s, p_adj %s"),
		l.signed(scale*diff), unit, l.num(100*(1-r.d.alpha())), l.num(scale*lo), l.num(scale*hi), l.pval(c.PAdjusted))
}

// boundsPhrase is e.g. "(0.354 to 1.67, 95% CI 0.108 to 1.91)".
func (r recommender) boundsPhrase(l lang, b *Bounds) string {
	scale, _ := unitOf(r.prim.Kind, l)
	return fmt.Sprintf(l.pick("(%s to %s, %s%% CI %s to %s)", "(%s tot %s, %s%%-BI %s tot %s)"),
		l.num(scale*b.Lower), l.num(scale*b.Upper), l.num(100*(1-r.d.alpha())), l.num(scale*b.CILow), l.num(scale*b.CIHigh))
}

// names lists outcome names: "NPS and CES", "NPS, CES and KRS".
func (r recommender) names(l lang, os []OutcomeResult) string {
	ns := make([]string, len(os))
	for i, o := range os {
		ns[i] = o.name(l.nl())
	}
	return i18n.List(ns, l.code())
}

// unitOf is how a kind's differences read: rates as percentage points,
// numeric outcomes in their own unit, the rest in points.
func unitOf(k Kind, l lang) (scale float64, unit string) {
	switch k {
	case KindBinary:
		return 100, i18n.T(l.code(), "unit.pp")
	case KindNumeric:
		return 1, ""
	}
	return 1, i18n.T(l.code(), "unit.points")
}

// targetReached is whether every arm has the target number of primary
// responses (false without a target) and, when not, the arms short of it.
func targetReached(d Design, prim OutcomeResult) (bool, []string) {
	if d.TargetResponsesPerArm <= 0 {
		return false, nil
	}
	var behind []string
	for _, arm := range d.Arms {
		if prim.Arms[arm].N < d.TargetResponsesPerArm {
			behind = append(behind, arm)
		}
	}
	return len(behind) == 0, behind
}

func srmReason(l lang, d Design, s SRM) string {
	counts := make([]string, len(d.Arms))
	weights := make([]string, len(d.Arms))
	for i, a := range d.Arms {
		counts[i] = d.armName(a, l.code()) + " " + l.count(d.Assigned[a])
		weights[i] = l.num(d.Weights[a])
	}
	return fmt.Sprintf(l.pick("The assigned counts (%s) do not match the %s weights (chi2 = %s, p %s), so the split is broken and no effect can be trusted.",
		"De toegewezen aantallen (%s) passen niet bij de gewichten %s (chi2 = %s, p %s), dus de verdeling klopt niet en geen enkel effect is te vertrouwen."),
		strings.Join(counts, ", "), strings.Join(weights, ":"), l.num(float64(s.Chi2)), l.pval(float64(s.PValue)))
}

// lang is the language of a reason; its methods write words and numbers in it, the
// numbers in stats/i18n's formats (the report's): three significant digits, since a
// reason names effects of any size, with the minus sign and the decimal comma.
type lang bool

const (
	english lang = false
	dutch   lang = true
)

func (l lang) nl() bool { return bool(l) }

// code is the language's i18n code.
func (l lang) code() string {
	if l {
		return i18n.Dutch
	}
	return i18n.English
}

func (l lang) pick(en, nl string) string {
	if l {
		return nl
	}
	return en
}

func (l lang) num(x float64) string    { return i18n.Sig(x, 3, l.code()) }
func (l lang) signed(x float64) string { return i18n.SignedSig(x, 3, l.code()) }
func (l lang) count(n int64) string    { return i18n.Count(n, l.code()) }

// pval is "= 0.004" or "< 0.001", as the report writes a p-value.
func (l lang) pval(p float64) string { return i18n.PSentence(p, l.code()) }
