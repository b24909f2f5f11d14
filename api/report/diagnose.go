package report

import (
	"math"
	"strings"

	"github.com/krslab/krslab/stats"
	"github.com/krslab/krslab/stats/i18n"
)

// The KRS diagnosis puts DOMAIN.md's reading into rules: "satisfied but
// little love means the basics are right but the brand is not yet
// meaningful; love and satisfaction but less trust means doubt whether
// promises are kept". It reads the three components two ways.
//
// Levels (per arm): each component's mean rescaled to 0..100 like the KRS
// composite. A component lags when it is at least LagGap points below the
// highest of the three; which components lag names the pattern.
//
// Effects (per treatment arm): a component moved when its comparison with
// control is significantly better, fell when significantly worse; the others
// did not move. Which moved names the pattern, in the same words.

// LagGap is how far (0..100 points, about 0.6 on a 1..7 scale) a component
// must trail the strongest one to count as lagging.
const LagGap = 10.0

// The three KRS components, in the order the KRS lists them.
const (
	compSatisfaction = "satisfaction"
	compTrust        = "trust"
	compLove         = "love"
)

var components = []string{compSatisfaction, compTrust, compLove}

// Levels are an arm's KRS components on 0..100; NaN when not answered.
type Levels struct{ Satisfaction, Trust, Love float64 }

func (l Levels) of(c string) float64 {
	switch c {
	case compSatisfaction:
		return l.Satisfaction
	case compTrust:
		return l.Trust
	}
	return l.Love
}

// LevelPattern names which components lag: "balanced", "little_love",
// "less_trust", "less_satisfaction", "trust_and_love_lag",
// "satisfaction_and_love_lag", "satisfaction_and_trust_lag", or "" when a
// component is missing.
func LevelPattern(l Levels) string {
	top := math.Inf(-1)
	for _, c := range components {
		v := l.of(c)
		if math.IsNaN(v) {
			return ""
		}
		top = math.Max(top, v)
	}
	var lag []string
	for _, c := range components {
		if l.of(c) <= top-LagGap {
			lag = append(lag, c)
		}
	}
	return patternOf(lag)
}

// patternOf names a set of components (in component order) that lag or
// did not move.
func patternOf(lag []string) string {
	switch strings.Join(lag, "+") {
	case "":
		return "balanced"
	case compLove:
		return "little_love"
	case compTrust:
		return "less_trust"
	case compSatisfaction:
		return "less_satisfaction"
	case compTrust + "+" + compLove:
		return "trust_and_love_lag"
	case compSatisfaction + "+" + compLove:
		return "satisfaction_and_love_lag"
	}
	return "satisfaction_and_trust_lag"
}

// LevelDiagnosis is the sentence for an arm's levels (the message
// report.diagnosis.level.<pattern>); "" when a component is missing.
func LevelDiagnosis(l Levels, lang string) string {
	p := LevelPattern(l)
	if p == "" {
		return ""
	}
	return i18n.T(lang, "report.diagnosis.level."+p)
}

// ComponentEffect is a treatment's comparison on one component.
type ComponentEffect struct {
	Verdict stats.Verdict
	Std     float64 // standardized effect, for naming the largest shift
}

// EffectPattern names which components did not move when at least one
// moved the good way (the same names as LevelPattern); "none" when none
// did, "worse" when one got significantly worse, "insufficient" when a
// component could not be compared.
func EffectPattern(e map[string]ComponentEffect) string {
	var still []string
	moved, worse := 0, false
	for _, c := range components {
		switch e[c].Verdict {
		case stats.VerdictBetter:
			moved++
		case stats.VerdictWorse:
			worse = true
		case stats.VerdictInconclusive:
			still = append(still, c)
		default:
			return "insufficient"
		}
	}
	switch {
	case worse:
		return "worse"
	case moved == 0:
		return "none"
	}
	return patternOf(still)
}

// EffectDiagnosis is the sentence for a treatment's effect on the components
// (the message report.diagnosis.effect.<pattern>, with the components that
// fell, or the largest shift when none moved).
func EffectDiagnosis(e map[string]ComponentEffect, lang string) string {
	p := EffectPattern(e)
	component := func(c string) string { return i18n.T(lang, "report.component."+c) }
	switch p {
	case "worse":
		var fell []string
		for _, c := range components {
			if e[c].Verdict == stats.VerdictWorse {
				fell = append(fell, component(c))
			}
		}
		return i18n.T(lang, "report.diagnosis.effect.worse", i18n.List(fell, lang))
	case "none":
		// No component moved: name the largest shift, which may show a trend.
		best, bestD := "", math.Inf(-1)
		for _, c := range components {
			if d := e[c].Std; d > bestD {
				best, bestD = c, d
			}
		}
		if best == "" {
			return i18n.T(lang, "report.diagnosis.effect.none")
		}
		return i18n.T(lang, "report.diagnosis.effect.largest", component(best), i18n.Signed(bestD, 2, lang))
	}
	return i18n.T(lang, "report.diagnosis.effect."+p)
}
