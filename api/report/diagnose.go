package report

import (
	"math"
	"strings"

	"github.com/krslab/krslab/stats"
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

// levelText is the reading of a level pattern.
var levelText = map[string][2]string{
	"balanced": {"Satisfaction, trust and love are at a similar level: a balanced relationship.",
		"Tevredenheid, vertrouwen en liefde liggen op een vergelijkbaar niveau: een evenwichtige relatie."},
	"little_love": {"Satisfied, but little love: the basics are right, but the brand is not yet meaningful.",
		"Tevreden, maar weinig liefde: de basis is op orde, maar het merk betekent nog weinig."},
	"less_trust": {"Love and satisfaction, but less trust: customers doubt whether promises are kept.",
		"Liefde en tevredenheid, maar minder vertrouwen: klanten twijfelen of beloftes worden nagekomen."},
	"less_satisfaction": {"Trust and love, but less satisfaction: the bond holds, the day-to-day service disappoints.",
		"Vertrouwen en liefde, maar minder tevredenheid: de band is er, de dagelijkse dienstverlening stelt teleur."},
	"trust_and_love_lag": {"Satisfied, but trust and love lag: the basics are right, the relationship is still transactional.",
		"Tevreden, maar vertrouwen en liefde blijven achter: de basis is op orde, de relatie is nog zakelijk."},
	"satisfaction_and_love_lag": {"Trust leads; satisfaction and love lag: reliable, but neither pleasing nor meaningful yet.",
		"Vertrouwen voert de boventoon; tevredenheid en liefde blijven achter: betrouwbaar, maar nog niet prettig of betekenisvol."},
	"satisfaction_and_trust_lag": {"Love leads, but satisfaction and trust lag: goodwill that the service and promises do not yet earn.",
		"Liefde voert de boventoon, maar tevredenheid en vertrouwen blijven achter: goodwill die dienstverlening en beloftes nog niet waarmaken."},
}

// effectText is the reading of which components did NOT move while others did.
var effectText = map[string][2]string{
	"balanced": {"All three components moved: the whole relationship improved.",
		"Alle drie de componenten bewogen: de hele relatie verbeterde."},
	"little_love": {"It raised satisfaction and trust but not love: the basics improved, the brand did not become more meaningful.",
		"Het verhoogde tevredenheid en vertrouwen maar niet de liefde: de basis verbeterde, het merk werd niet betekenisvoller."},
	"less_trust": {"It raised satisfaction and love but not trust: customers still doubt whether promises are kept.",
		"Het verhoogde tevredenheid en liefde maar niet het vertrouwen: klanten twijfelen nog of beloftes worden nagekomen."},
	"less_satisfaction": {"It raised trust and love but not satisfaction: the bond grew, the day-to-day service did not.",
		"Het verhoogde vertrouwen en liefde maar niet de tevredenheid: de band groeide, de dagelijkse dienstverlening niet."},
	"trust_and_love_lag": {"It raised satisfaction only: the basics improved, trust and love lag.",
		"Het verhoogde alleen de tevredenheid: de basis verbeterde, vertrouwen en liefde blijven achter."},
	"satisfaction_and_love_lag": {"It raised trust only: satisfaction and love lag.",
		"Het verhoogde alleen het vertrouwen: tevredenheid en liefde blijven achter."},
	"satisfaction_and_trust_lag": {"It raised love only: satisfaction and trust lag.",
		"Het verhoogde alleen de liefde: tevredenheid en vertrouwen blijven achter."},
}

// LevelDiagnosis is the sentence for an arm's levels; "" when a component
// is missing.
func LevelDiagnosis(l Levels, lang string) string {
	t, ok := levelText[LevelPattern(l)]
	if !ok {
		return ""
	}
	return pick(lang, t[0], t[1])
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

// EffectDiagnosis is the sentence for a treatment's effect on the components.
func EffectDiagnosis(e map[string]ComponentEffect, lang string) string {
	p := EffectPattern(e)
	if t, ok := effectText[p]; ok {
		return pick(lang, t[0], t[1])
	}
	names := map[string][2]string{
		compSatisfaction: {"satisfaction", "tevredenheid"},
		compTrust:        {"trust", "vertrouwen"},
		compLove:         {"love", "liefde"},
	}
	switch p {
	case "insufficient":
		return pick(lang, "Too few answers to compare every component yet.",
			"Nog te weinig antwoorden om elke component te vergelijken.")
	case "worse":
		var fell []string
		for _, c := range components {
			if e[c].Verdict == stats.VerdictWorse {
				fell = append(fell, pick(lang, names[c][0], names[c][1]))
			}
		}
		return pick(lang, "It made ", "Het verslechterde ") + joinAnd(fell, lang) +
			pick(lang, " significantly worse: look at what the intervention does to it before rolling out.",
				" significant: kijk wat de interventie daaraan doet voordat je uitrolt.")
	}
	// No component moved: name the largest shift, which may show a trend.
	best, bestD := "", math.Inf(-1)
	for _, c := range components {
		if d := e[c].Std; d > bestD {
			best, bestD = c, d
		}
	}
	if best == "" {
		return pick(lang, "No component moved significantly yet.", "Nog geen component bewoog significant.")
	}
	return pick(lang, "No component moved significantly yet; the largest shift is in ", "Nog geen component bewoog significant; de grootste verschuiving zit in ") +
		pick(lang, names[best][0], names[best][1]) + " (d = " + signedText(bestD, 2, lang) + ")."
}

// joinAnd is "a", "a and b", "a, b and c".
func joinAnd(xs []string, lang string) string {
	and := pick(lang, " and ", " en ")
	if len(xs) <= 1 {
		return strings.Join(xs, "")
	}
	return strings.Join(xs[:len(xs)-1], ", ") + and + xs[len(xs)-1]
}
