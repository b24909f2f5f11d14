package experiment

import (
	"fmt"
	"math"
	"regexp"
)

// Kind is the kind of an outcome (DOMAIN.md "Outcome kinds").
type Kind string

// The outcome kinds.
const (
	Scale     Kind = "scale"
	Net       Kind = "net"
	Binary    Kind = "binary"
	Numeric   Kind = "numeric"
	Composite Kind = "composite"
)

// Outcome is something measured on customers: a building block, a KRS component, a loyalty
// metric or a team's own outcome.
type Outcome struct {
	Key            string
	Kind           Kind
	Label          string
	LabelNL        string
	HigherIsBetter bool
	Min, Max       *float64 // scale and net bounds; optional for numeric
	TopMin         *float64 // net: answers >= TopMin are promoters
	BottomMax      *float64 // net: answers <= BottomMax are detractors
	Components     []string // composite only
	BuiltIn        bool
}

// shortNames are the built-ins' names in English and Dutch, for sentences and figure
// rows; their Label is the survey question, too long for either.
var shortNames = map[string][2]string{
	"krs":               {"KRS", "KRS"},
	"satisfaction":      {"Satisfaction", "Tevredenheid"},
	"trust":             {"Trust", "Vertrouwen"},
	"trust_cognitive":   {"Trust (cognitive)", "Vertrouwen (cognitief)"},
	"trust_affective":   {"Trust (affective)", "Vertrouwen (affectief)"},
	"love":              {"Love", "Liefde"},
	"involvement":       {"Involvement", "Betrokkenheid"},
	"choice_products":   {"Choice of products", "Keuze in producten"},
	"choice_channels":   {"Choice of channels", "Keuze in kanalen"},
	"freedom_of_choice": {"Freedom of choice", "Keuzevrijheid"},
	"fairness":          {"Fairness", "Rechtvaardigheid"},
	"influence":         {"Influence", "Invloed"},
	"nps":               {"NPS", "NPS"},
	"ces":               {"CES", "CES"},
}

// Name is the outcome's short name in lang ("nl" for Dutch, else English): the
// built-in's name, else its label (the Dutch label for nl when set), else its key.
func (o Outcome) Name(lang string) string {
	if n, ok := shortNames[o.Key]; ok {
		if lang == "nl" {
			return n[1]
		}
		return n[0]
	}
	if lang == "nl" && o.LabelNL != "" {
		return o.LabelNL
	}
	if o.Label != "" {
		return o.Label
	}
	return o.Key
}

// HasShortName reports whether the outcome is a built-in with a short name of its own.
func (o Outcome) HasShortName() bool {
	_, ok := shortNames[o.Key]
	return ok
}

var keyPattern = regexp.MustCompile(`^[a-z][a-z0-9_]{0,62}$`)

// reservedKeys name the experiment-wide plots (plots/effects.png, timeline.png, segments.png, drivers.png), so no
// outcome may take them.
var reservedKeys = map[string]bool{"drivers": true, "effects": true, "timeline": true, "segments": true}

// Bounds returns the range a component is rescaled from. Composites range 0..100.
func (o Outcome) Bounds() (lo, hi float64, ok bool) {
	if o.Kind == Composite {
		return 0, 100, true
	}
	if o.Kind == Binary {
		return 0, 1, true
	}
	if o.Min == nil || o.Max == nil {
		return 0, 0, false
	}
	return *o.Min, *o.Max, true
}

// Normalize fills the defaults of a kind: 1..7 for scale, 0..1 for binary.
func (o *Outcome) Normalize() {
	switch o.Kind {
	case Scale:
		if o.Min == nil && o.Max == nil {
			o.Min, o.Max = ptr(1.0), ptr(7.0)
		}
	case Binary:
		o.Min, o.Max = ptr(0.0), ptr(1.0)
	case Composite:
		o.Min, o.Max = ptr(0.0), ptr(100.0)
	}
	if o.LabelNL == "" {
		o.LabelNL = o.Label
	}
}

// Validate checks a new outcome; known holds every existing outcome by key (for components).
func (o Outcome) Validate(known map[string]Outcome) error {
	var p Problems
	if !keyPattern.MatchString(o.Key) {
		p.Field("key", "must be 1-63 lower-case letters, digits or underscores, starting with a letter")
	} else if reservedKeys[o.Key] {
		p.Field("key", "%q is reserved (it names a plot)", o.Key)
	} else if _, dup := known[o.Key]; dup {
		return Errorf(Conflict, "outcome %q already exists", o.Key)
	}
	if o.Label == "" {
		p.Field("label", "is required")
	} else if msg := CheckText(o.Label, MaxLabel); !msg.IsZero() {
		p.Field("label", "%s", msg)
	}
	if msg := CheckText(o.LabelNL, MaxLabel); !msg.IsZero() {
		p.Field("label_nl", "%s", msg)
	}
	for _, f := range []struct {
		name string
		v    *float64
	}{{"min", o.Min}, {"max", o.Max}, {"top_min", o.TopMin}, {"bottom_max", o.BottomMax}} {
		if f.v != nil {
			if msg := CheckNumber(*f.v); msg != "" {
				p.Field(f.name, "%s", msg)
			}
		}
	}
	integer := func(field string, v *float64) {
		if v != nil && *v != math.Trunc(*v) {
			p.Field(field, "must be an integer for a %s outcome", o.Kind)
		}
	}
	switch o.Kind {
	case Scale, Net:
		if o.Min == nil {
			p.Field("min", "is required for a %s outcome", o.Kind)
		}
		if o.Max == nil {
			p.Field("max", "is required for a %s outcome", o.Kind)
		}
		integer("min", o.Min)
		integer("max", o.Max)
		if o.Min != nil && o.Max != nil && *o.Min >= *o.Max {
			p.Field("max", "must be greater than min")
		}
		if o.Min != nil && o.Max != nil && *o.Max-*o.Min > 100 {
			p.Field("max", "a %s outcome has at most 101 levels", o.Kind)
		}
	case Numeric:
		if o.Min != nil && o.Max != nil && *o.Min >= *o.Max {
			p.Field("max", "must be greater than min")
		}
	case Binary:
	case Composite:
		if len(o.Components) < 2 {
			p.Field("components", "a composite needs at least 2 components")
		}
		seen := map[string]bool{}
		for i, c := range o.Components {
			field := fmt.Sprintf("components[%d]", i)
			comp, ok := known[c]
			switch {
			case seen[c]:
				p.Field(field, "component %q is listed twice", c)
			case !ok:
				p.Field(field, "unknown outcome %q", c)
			case comp.Kind == Composite:
				p.Field(field, "component %q is itself a composite", c)
			default:
				if _, _, bounded := comp.Bounds(); !bounded {
					p.Field(field, "component %q needs min and max to be rescaled", c)
				}
			}
			seen[c] = true
		}
	default:
		p.Field("kind", "must be one of scale, net, binary, numeric, composite")
	}
	if o.Kind == Net {
		if o.TopMin == nil {
			p.Field("top_min", "is required for a net outcome")
		}
		if o.BottomMax == nil {
			p.Field("bottom_max", "is required for a net outcome")
		}
		integer("top_min", o.TopMin)
		integer("bottom_max", o.BottomMax)
		if o.TopMin != nil && o.BottomMax != nil && o.Min != nil && o.Max != nil &&
			!(*o.Min <= *o.BottomMax && *o.BottomMax < *o.TopMin && *o.TopMin <= *o.Max) {
			p.Field("top_min", "need min <= bottom_max < top_min <= max")
		}
	} else {
		if o.TopMin != nil {
			p.Field("top_min", "only net outcomes have top_min")
		}
		if o.BottomMax != nil {
			p.Field("bottom_max", "only net outcomes have bottom_max")
		}
	}
	if o.Kind != Composite && len(o.Components) > 0 {
		p.Field("components", "only composite outcomes have components")
	}
	return p.Err("invalid outcome")
}

// The numbers the analysis takes in (answers, covariates, an outcome's bounds) are 0 or of
// absolute value MinMagnitude to MaxMagnitude. Within that range the square of any
// difference of two of them, the product of any two such differences, and their sums over
// any experiment are normal float8 numbers, in PostgreSQL and in Go, so every statistic
// keeps its precision. Outside it PostgreSQL refuses the product (value out of range:
// overflow above some 1e154, underflow below some 1e-162), and Go would give +Inf or a
// spread of 0: one such answer would leave the experiment without results.
const (
	MinMagnitude = 1e-100
	MaxMagnitude = 1e100

	magnitudeMessage = "must be 0 or between 1e-100 and 1e100 in absolute value"
)

// CheckNumber is the rule above for one number: the reason v is refused, or "" when it is
// fine.
func CheckNumber(v float64) string {
	switch a := math.Abs(v); {
	case math.IsNaN(v) || math.IsInf(v, 0):
		return "must be a finite number"
	case a != 0 && (a < MinMagnitude || a > MaxMagnitude):
		return magnitudeMessage
	}
	return ""
}

// CheckAnswer validates one answered value for this outcome and returns the reason it is
// refused, or "" when it is fine.
func (o Outcome) CheckAnswer(v float64) string {
	if msg := CheckNumber(v); msg != "" {
		return msg
	}
	switch o.Kind {
	case Composite:
		return fmt.Sprintf("%s is a composite; send its components (%v) instead", o.Key, o.Components)
	case Binary:
		if v != 0 && v != 1 {
			return "must be 0 or 1 (or true/false)"
		}
		return ""
	case Scale, Net:
		if v != math.Trunc(v) {
			return fmt.Sprintf("must be an integer from %g to %g", *o.Min, *o.Max)
		}
	}
	if o.Min != nil && v < *o.Min || o.Max != nil && v > *o.Max {
		lo, hi := "-inf", "inf"
		if o.Min != nil {
			lo = fmt.Sprintf("%g", *o.Min)
		}
		if o.Max != nil {
			hi = fmt.Sprintf("%g", *o.Max)
		}
		return fmt.Sprintf("%g is out of range %s..%s", v, lo, hi)
	}
	return ""
}

func ptr[T any](v T) *T { return &v }
