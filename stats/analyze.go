package stats

import "github.com/krslab/krslab/stats/i18n"

// Kind is how an outcome is measured; it decides which statistics apply.
type Kind string

// Outcome kinds (see DOMAIN.md).
const (
	KindScale     Kind = "scale"
	KindNet       Kind = "net"
	KindBinary    Kind = "binary"
	KindNumeric   Kind = "numeric"
	KindComposite Kind = "composite"
)

// meanBased kinds are compared on means with Welch's t-test. An unknown kind
// is treated as numeric: a mean is defined for any numbers.
func (k Kind) meanBased() bool { return k != KindNet && k != KindBinary }

// ArmData is what the analysis needs of one arm for one outcome. Scale, net
// and binary outcomes set Counts (Moments may be left zero and is then
// derived); numeric and composite set Moments, and composites also Distinct
// (their values with counts, for the bounds; nil: no bounds). Cov is nil
// when the outcome has no covariates in this experiment.
type ArmData struct {
	Moments  Moments
	Counts   *Counts
	Distinct *Distinct
	Cov      *CovariateSums
}

// moments prefers explicit moments and falls back to the counts.
func (a ArmData) moments() Moments {
	if a.Moments.N == 0 && a.Counts != nil {
		return a.Counts.Moments()
	}
	return a.Moments
}

func (a ArmData) counts() Counts {
	if a.Counts == nil {
		return Counts{}
	}
	return *a.Counts
}

func (a ArmData) cov() CovariateSums {
	if a.Cov == nil {
		return CovariateSums{}
	}
	return *a.Cov
}

// Outcome is one outcome of an experiment with its per-arm data.
type Outcome struct {
	Key            string
	Name, NameNL   string // as the recommendation's reason names it in English and Dutch; "" = Key
	Kind           Kind
	Min, Max       float64 // scale and net bounds (and optional numeric bounds; unused by the math)
	TopMin         float64 // net: answers >= TopMin are promoters
	BottomMax      float64 // net: answers <= BottomMax are detractors
	HigherIsBetter bool
	MDE            float64            // tau of the sequential test, outcome units; 0 = 0.2 * pooled sd
	Arms           map[string]ArmData // a missing arm has no answers
}

// Design is the experiment-level input of the analysis.
type Design struct {
	Alpha                 float64 // 0 = 0.05
	Correction            string  // "holm", "bh" or "none"; "" = holm
	Control               string
	Arms                  []string          // arm keys in defined order, control included
	ArmNames              map[string]string // as the recommendation's reason names the arms; missing = key
	Weights               map[string]float64
	Assigned              map[string]int64
	Responded             map[string]int64 // customers with at least one counted response (response check)
	Primary               string           // "" = none: the recommendation is keep_running unless SRM
	Guardrails            []string
	Margins               map[string]float64 // non-inferiority margin of guardrails, by outcome key
	TargetResponsesPerArm int64              // 0 = none
	Stopped               bool               // the experiment is stopped or decided
}

// DefaultAlpha is used when a design leaves Alpha zero.
const DefaultAlpha = 0.05

func (d Design) alpha() float64 {
	if d.Alpha > 0 && d.Alpha < 1 {
		return d.Alpha
	}
	return DefaultAlpha
}

// treatments are the arms compared with control, in defined order.
func (d Design) treatments() []string {
	var ts []string
	for _, a := range d.Arms {
		if a != d.Control {
			ts = append(ts, a)
		}
	}
	return ts
}

// isGuardrail reports whether the outcome key is one of the guardrails.
func (d Design) isGuardrail(key string) bool {
	for _, g := range d.Guardrails {
		if g == key {
			return true
		}
	}
	return false
}

// armName is how the reason names an arm in lang: its name, else its key; a control arm
// without a name is the control (in lang's word for it).
func (d Design) armName(key, lang string) string {
	if n := d.ArmNames[key]; n != "" {
		return n
	}
	if key == d.Control {
		return i18n.T(lang, "arm.control")
	}
	return key
}

// Analysis is everything STATS.md defines for one experiment.
type Analysis struct {
	Outcomes       []OutcomeResult `json:"outcomes"` // same order as the input
	SRM            SRM             `json:"srm"`
	ResponseCheck  ResponseCheck   `json:"response_check"`
	Recommendation Recommendation  `json:"recommendation"`
}

// Outcome returns the result for an outcome key.
func (a Analysis) Outcome(key string) (OutcomeResult, bool) {
	for _, o := range a.Outcomes {
		if o.Key == key {
			return o, true
		}
	}
	return OutcomeResult{}, false
}

// OutcomeResult holds one outcome's per-arm statistics and comparisons.
type OutcomeResult struct {
	Key         string                `json:"key"`
	Kind        Kind                  `json:"kind"`
	Arms        map[string]ArmStats   `json:"arms"`        // every arm, also those without answers
	Comparisons map[string]Comparison `json:"comparisons"` // every treatment arm

	// What Recommend needs of the outcome besides the numbers.
	HigherIsBetter bool   `json:"-"`
	Name, NameNL   string `json:"-"`
}

// name is how the reason names the outcome in English or Dutch.
func (r OutcomeResult) name(nl bool) string {
	switch {
	case nl && r.NameNL != "":
		return r.NameNL
	case r.Name != "":
		return r.Name
	}
	return r.Key
}

// Analyze computes per-arm statistics, the comparison of each treatment with
// control (with the bounds, the ordinal effect and, for guardrails with a
// margin, non-inferiority), the family-wide p adjustment and verdicts, SRM,
// the response check and the recommendation. An unknown correction is
// treated as holm, the most conservative one offered.
func Analyze(d Design, outcomes []Outcome) Analysis {
	alpha := d.alpha()
	treatments := d.treatments()
	res := Analysis{Outcomes: make([]OutcomeResult, len(outcomes))}

	// The comparisons go into maps once the family has decided them, through
	// pointers into cs.
	cs := make([][]Comparison, len(outcomes))
	var family []FamilyMember
	for i, o := range outcomes {
		r := OutcomeResult{
			Key:            o.Key,
			Kind:           o.Kind,
			Arms:           make(map[string]ArmStats, len(d.Arms)),
			Comparisons:    make(map[string]Comparison, len(treatments)),
			HigherIsBetter: o.HigherIsBetter,
			Name:           o.Name,
			NameNL:         o.NameNL,
		}
		for _, a := range d.Arms {
			r.Arms[a] = NewArmStats(o, o.Arms[a], alpha)
		}
		guardrail := d.isGuardrail(o.Key)
		margin, hasMargin := d.Margins[o.Key]
		cs[i] = make([]Comparison, len(treatments))
		for j, t := range treatments {
			c := Compare(o, o.Arms[t], o.Arms[d.Control], alpha)
			c.Guardrail = guardrail
			if c.Sufficient() {
				c.Bounds = LeeBounds(o, o.Arms[t], o.Arms[d.Control], d.Assigned[t], d.Assigned[d.Control], alpha)
			}
			if guardrail && hasMargin {
				c.HasMargin = true
				if c.Deciding != nil {
					ni := NonInferiorityTest(*c.Deciding, margin, alpha, o.HigherIsBetter)
					c.NonInferiority = &ni
				}
			}
			cs[i][j] = c
			family = append(family, FamilyMember{C: &cs[i][j], HigherIsBetter: o.HigherIsBetter})
		}
		res.Outcomes[i] = r
	}
	AdjustFamily(family, d.Correction, alpha)
	for i := range outcomes {
		for j, t := range treatments {
			res.Outcomes[i].Comparisons[t] = cs[i][j]
		}
	}

	obs := make([]int64, len(d.Arms))
	ws := make([]float64, len(d.Arms))
	responded := make([]int64, len(d.Arms))
	for i, a := range d.Arms {
		obs[i], ws[i], responded[i] = d.Assigned[a], d.Weights[a], d.Responded[a]
	}
	res.SRM = SRMTest(obs, ws)
	res.ResponseCheck = ResponseCheckTest(responded, obs, alpha)
	res.Recommendation = Recommend(d, res)
	return res
}
