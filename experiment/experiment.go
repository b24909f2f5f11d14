package experiment

import (
	"fmt"
	"maps"
	"math"
	"regexp"
	"slices"
	"sort"
	"time"
)

// Status is the lifecycle state of an experiment: draft -> running -> stopped -> decided.
type Status string

// The lifecycle states.
const (
	Draft   Status = "draft"
	Running Status = "running"
	Stopped Status = "stopped"
	Decided Status = "decided"
)

// Parts is the status as a Text (its code is its English word), so that a refusal that
// names it says it in the reader's language.
func (s Status) Parts() (format string, args []any) { return string(s), nil }

// Corrections for multiple comparisons.
var corrections = map[string]bool{"holm": true, "bh": true, "none": true}

// DefaultOutcomes are analysed when an experiment names none: the five building blocks,
// the KRS with its components, and the loyalty metrics.
var DefaultOutcomes = []string{
	"krs", "satisfaction", "trust", "love",
	"involvement", "freedom_of_choice", "fairness", "influence",
	"nps", "ces",
}

// Arm is one variant of an experiment: the control or an intervention.
type Arm struct {
	Key         string
	Name        string
	Description string
	Weight      float64
	Control     bool
}

// Decision records which arm a product owner chose and why.
type Decision struct {
	Arm       string
	Reason    string
	DecidedBy string
	DecidedAt time.Time
}

// Experiment is an A/B test of relationship interventions.
type Experiment struct {
	ID                    int64
	Key                   string
	Name                  string
	Hypothesis            string
	Status                Status
	Arms                  []Arm
	PrimaryOutcome        string
	Outcomes              []string
	Guardrails            []string
	GuardrailMargins      map[string]float64 // non-inferiority margin of a guardrail, in the outcome's units
	Alpha                 float64
	Correction            string
	TargetResponsesPerArm *int
	MDE                   *float64
	Salt                  string
	Eligibility           []Rule  // every customer must pass these, on its attributes
	Coverage              float64 // share of customers admitted, 0 < Coverage <= 1
	Layer                 string  // experiments of one layer never share a customer
	LayerOffset           float64 // start of this experiment's range in its layer's hash space
	Waves                 []Wave  // survey waves by days since assignment, ascending (waves.go)
	DecisionWave          string  // the wave whose results the recommendation is; "" = the whole experiment
	Erasures              int64   // customers erased from this experiment (read-only)
	Version               int64   // moved by every stored change (read-only): the API's ETag
	CreatedAt             time.Time
	UpdatedAt             time.Time
	StartedAt             *time.Time
	StoppedAt             *time.Time
	Decision              *Decision
}

var experimentKeyPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)

// MaxWeight bounds an arm's weight. Weights are relative shares, so the bound costs
// nothing (a split of one in a million still fits) and keeps their total finite.
const MaxWeight = 1e6

// nameArms gives an arm without a name its key as its name, on create and on a patch of
// the arms alike.
func nameArms(arms []Arm) {
	for i := range arms {
		if arms[i].Name == "" {
			arms[i].Name = arms[i].Key
		}
	}
}

// ApplyDefaults fills the DOMAIN.md defaults of optional fields.
func (e *Experiment) ApplyDefaults() {
	if e.PrimaryOutcome == "" {
		e.PrimaryOutcome = "krs"
	}
	if e.Outcomes == nil {
		e.Outcomes = append([]string(nil), DefaultOutcomes...)
	}
	if e.Guardrails == nil {
		e.Guardrails = []string{}
	}
	if e.GuardrailMargins == nil {
		e.GuardrailMargins = map[string]float64{}
	}
	if e.Waves == nil {
		e.Waves = []Wave{}
	}
	for i := range e.Waves {
		if e.Waves[i].Label == "" {
			e.Waves[i].Label = e.Waves[i].Key
		}
	}
	if e.Alpha == 0 {
		e.Alpha = 0.05
	}
	if e.Correction == "" {
		e.Correction = "holm"
	}
	if e.Salt == "" {
		e.Salt = e.Key
	}
	if e.Name == "" {
		e.Name = e.Key
	}
	nameArms(e.Arms)
	if e.Status == "" {
		e.Status = Draft
	}
	if e.Coverage == 0 {
		e.Coverage = 1
	}
}

// Validate checks every rule of an experiment definition against the known outcomes and
// reports all problems at once.
func (e Experiment) Validate(known map[string]Outcome) error {
	var p Problems
	if !experimentKeyPattern.MatchString(e.Key) {
		p.Field("key", "must be 1-63 lower-case letters, digits, '-' or '_'")
	}
	if len(e.Arms) < 2 {
		p.Field("arms", "an experiment needs at least 2 arms (a control and a treatment)")
	}
	controls := 0
	armKeys := map[string]bool{}
	for i, a := range e.Arms {
		field := fmt.Sprintf("arms[%d]", i)
		if !experimentKeyPattern.MatchString(a.Key) {
			p.Field(field+".key", "must be 1-63 lower-case letters, digits, '-' or '_'")
		} else if armKeys[a.Key] {
			p.Field(field+".key", "duplicate arm key %q", a.Key)
		}
		armKeys[a.Key] = true
		switch {
		case !(a.Weight > 0) || math.IsInf(a.Weight, 0):
			p.Field(field+".weight", "must be a finite number > 0")
		case a.Weight > MaxWeight:
			// Finite weights are not enough: the total of [1e308, 1e308] is infinite and
			// sends every customer to the last arm. Bounded, the 50 arms at most add up to
			// a total far from overflow.
			p.Field(field+".weight", "at most %g (weights are relative shares)", MaxWeight)
		}
		if msg := CheckText(a.Name, MaxName); !msg.IsZero() {
			p.Field(field+".name", "%s", msg)
		}
		if msg := CheckText(a.Description, MaxDescription); !msg.IsZero() {
			p.Field(field+".description", "%s", msg)
		}
		if a.Control {
			controls++
		}
	}
	if len(e.Arms) > 0 && controls != 1 {
		p.Field("arms", "exactly one arm must be the control (found %d)", controls)
	}
	if len(e.Arms) > 50 {
		p.Field("arms", "at most 50 arms")
	}
	checkOutcomes := func(field string, keys []string) map[string]bool {
		set := map[string]bool{}
		for i, k := range keys {
			f := fmt.Sprintf("%s[%d]", field, i)
			if _, ok := known[k]; !ok {
				p.Field(f, "unknown outcome %q", k)
			} else if set[k] {
				p.Field(f, "outcome %q is listed twice", k)
			}
			set[k] = true
		}
		return set
	}
	outcomes := checkOutcomes("outcomes", e.Outcomes)
	if len(e.Outcomes) == 0 {
		p.Field("outcomes", "at least one outcome is needed")
	}
	guardrails := checkOutcomes("guardrails", e.Guardrails)
	for _, k := range slices.Sorted(maps.Keys(e.GuardrailMargins)) {
		m := e.GuardrailMargins[k]
		switch {
		case !guardrails[k]:
			p.Field("guardrail_margins."+k, "%q must be one of guardrails", k)
		case !(m > 0) || math.IsInf(m, 0):
			p.Field("guardrail_margins."+k, "must be a finite number > 0")
		}
	}
	if _, ok := known[e.PrimaryOutcome]; !ok {
		p.Field("primary_outcome", "unknown outcome %q", e.PrimaryOutcome)
	} else if !outcomes[e.PrimaryOutcome] {
		p.Field("primary_outcome", "%q must be one of outcomes", e.PrimaryOutcome)
	}
	if !(e.Alpha > 0 && e.Alpha < 0.5) {
		p.Field("alpha", "must be > 0 and < 0.5")
	}
	if !corrections[e.Correction] {
		p.Field("correction", "must be holm, bh or none")
	}
	if e.TargetResponsesPerArm != nil && *e.TargetResponsesPerArm <= 0 {
		p.Field("target_responses_per_arm", "must be > 0")
	}
	if e.MDE != nil && (!(*e.MDE > 0) || math.IsInf(*e.MDE, 0)) {
		p.Field("mde", "must be a finite number > 0")
	}
	validateRules(e.Eligibility, &p)
	e.validateWaves(&p)
	if !(e.Coverage > 0 && e.Coverage <= 1) {
		p.Field("coverage", "must be > 0 and <= 1")
	}
	if e.Layer != "" && !experimentKeyPattern.MatchString(e.Layer) {
		p.Field("layer", "must be 1-63 lower-case letters, digits, '-' or '_'")
	}
	for _, f := range []struct {
		name, text string
		max        int
	}{{"salt", e.Salt, MaxSalt}, {"name", e.Name, MaxName}, {"hypothesis", e.Hypothesis, MaxDescription}} {
		if msg := CheckText(f.text, f.max); !msg.IsZero() {
			p.Field(f.name, "%s", msg)
		}
	}
	return p.Err("invalid experiment")
}

// Control returns the control arm.
func (e Experiment) Control() Arm {
	for _, a := range e.Arms {
		if a.Control {
			return a
		}
	}
	return Arm{}
}

// Arm returns the arm with the given key.
func (e Experiment) Arm(key string) (Arm, bool) {
	for _, a := range e.Arms {
		if a.Key == key {
			return a, true
		}
	}
	return Arm{}, false
}

// AnalysedOutcomes lists the outcomes in the results: the outcomes, then guardrails not
// already among them.
func (e Experiment) AnalysedOutcomes() []string {
	keys := append([]string(nil), e.Outcomes...)
	seen := map[string]bool{}
	for _, k := range keys {
		seen[k] = true
	}
	for _, g := range e.Guardrails {
		if !seen[g] {
			keys = append(keys, g)
			seen[g] = true
		}
	}
	return keys
}

// transitions lists the legal lifecycle moves.
var transitions = map[Status][]Status{
	Draft:   {Running},
	Running: {Stopped},
	Stopped: {Decided},
}

// Transition moves the experiment to status to at time now, or returns a Conflict error
// naming the current status when the move is not allowed.
func (e *Experiment) Transition(to Status, now time.Time) error {
	for _, next := range transitions[e.Status] {
		if next != to {
			continue
		}
		switch to {
		case Running:
			e.StartedAt = &now
		case Stopped:
			e.StoppedAt = &now
		}
		e.Status = to
		e.UpdatedAt = now
		return nil
	}
	return Errorf(Conflict, "experiment %q is %s; it cannot move to %s", e.Key, e.Status, to).
		With(Detail{Field: "status", Message: string(e.Status)})
}

// AcceptsAssignments reports whether customers may be assigned now.
func (e Experiment) AcceptsAssignments() bool { return e.Status == Running }

// AcceptsResponses reports whether responses may be recorded now.
func (e Experiment) AcceptsResponses() bool { return e.Status == Running || e.Status == Stopped }

// Admits reports whether a customer enters the experiment at all (before any arm): within
// the coverage, hashed apart from the arm so that raising the coverage keeps every customer
// admitted before; in a layer, within this experiment's range of the layer's hash space.
func (e Experiment) Admits(customerID string) bool {
	if e.Layer != "" {
		u := HashUnit("layer:"+e.Layer, customerID)
		return u >= e.LayerOffset && u < e.LayerOffset+e.Coverage
	}
	if e.Coverage >= 1 {
		return true
	}
	return HashUnit(e.Salt+"/coverage", customerID) < e.Coverage
}

// placeInLayer gives a layered experiment the lowest range of its layer that no other
// active experiment of the layer occupies, or reports that the layer is full.
func (e *Experiment) placeInLayer(others []Experiment) error {
	var taken []span
	for _, o := range others {
		if o.Layer == e.Layer && o.Key != e.Key && o.Status != Decided {
			taken = append(taken, span{o.LayerOffset, o.LayerOffset + o.Coverage})
		}
	}
	sort.Slice(taken, func(i, j int) bool { return taken[i].lo < taken[j].lo })
	const eps = 1e-9
	start := 0.0
	for _, t := range taken {
		if t.lo-start >= e.Coverage-eps {
			break
		}
		start = math.Max(start, t.hi)
	}
	if start+e.Coverage > 1+eps {
		return Errorf(Conflict, "layer %q has no free range of %g left", e.Layer, e.Coverage).
			With(fieldDetail("coverage", Textf("at most %g of layer %q is free", freeInLayer(taken), e.Layer)))
	}
	e.LayerOffset = start
	return nil
}

// fitsInLayer reports whether the experiment's range overlaps no other active one.
func (e Experiment) fitsInLayer(others []Experiment) bool {
	for _, o := range others {
		if o.Layer == e.Layer && o.Key != e.Key && o.Status != Decided &&
			e.LayerOffset < o.LayerOffset+o.Coverage-1e-9 && o.LayerOffset < e.LayerOffset+e.Coverage-1e-9 {
			return false
		}
	}
	return e.LayerOffset+e.Coverage <= 1+1e-9
}

// span is a range of a layer's hash space.
type span struct{ lo, hi float64 }

func freeInLayer(taken []span) float64 {
	used := 0.0
	for _, t := range taken {
		used += t.hi - t.lo
	}
	return math.Max(0, 1-used)
}
