package api

import (
	"encoding/json"
	"strconv"
	"time"

	"github.com/krslab/krslab/experiment"
)

// JSON shapes of the API. They are kept apart from the domain types so that the wire
// contract can stay stable while the domain evolves.

// outcomeRequest is what POST /v1/outcomes accepts (builtin is not settable).
type outcomeRequest struct {
	Key            string   `json:"key"`
	Kind           string   `json:"kind"`
	Label          string   `json:"label"`
	LabelNL        string   `json:"label_nl"`
	HigherIsBetter *bool    `json:"higher_is_better"`
	Min            *float64 `json:"min"`
	Max            *float64 `json:"max"`
	TopMin         *float64 `json:"top_min"`
	BottomMax      *float64 `json:"bottom_max"`
	Components     []string `json:"components"`
}

// outcomeJSON is an outcome as the API shows it.
type outcomeJSON struct {
	outcomeRequest
	BuiltIn bool `json:"builtin"`
}

func (r outcomeRequest) domain() experiment.Outcome {
	o := experiment.Outcome{Key: r.Key, Kind: experiment.Kind(r.Kind), Label: r.Label, LabelNL: r.LabelNL,
		HigherIsBetter: true, Min: r.Min, Max: r.Max, TopMin: r.TopMin, BottomMax: r.BottomMax, Components: r.Components}
	if r.HigherIsBetter != nil {
		o.HigherIsBetter = *r.HigherIsBetter
	}
	return o
}

func toOutcomeJSON(o experiment.Outcome) outcomeJSON {
	hib := o.HigherIsBetter
	comps := o.Components
	if comps == nil {
		comps = []string{}
	}
	return outcomeJSON{BuiltIn: o.BuiltIn, outcomeRequest: outcomeRequest{Key: o.Key, Kind: string(o.Kind), Label: o.Label,
		LabelNL: o.LabelNL, HigherIsBetter: &hib, Min: o.Min, Max: o.Max, TopMin: o.TopMin, BottomMax: o.BottomMax,
		Components: comps}}
}

type armJSON struct {
	Key         string   `json:"key"`
	Name        string   `json:"name"`
	Description string   `json:"description"`
	Weight      *float64 `json:"weight"`
	Control     bool     `json:"control"`
}

type decisionJSON struct {
	Arm       string    `json:"arm"`
	Reason    string    `json:"reason"`
	DecidedBy string    `json:"decided_by"`
	DecidedAt time.Time `json:"decided_at"`
}

type experimentJSON struct {
	Key                   string             `json:"key"`
	Name                  string             `json:"name"`
	Hypothesis            string             `json:"hypothesis"`
	Status                string             `json:"status"`
	Arms                  []armJSON          `json:"arms"`
	PrimaryOutcome        string             `json:"primary_outcome"`
	Outcomes              []string           `json:"outcomes"`
	Guardrails            []string           `json:"guardrails"`
	GuardrailMargins      map[string]float64 `json:"guardrail_margins"`
	Alpha                 float64            `json:"alpha"`
	Correction            string             `json:"correction"`
	TargetResponsesPerArm *int               `json:"target_responses_per_arm"`
	MDE                   *float64           `json:"mde"`
	Salt                  string             `json:"salt"`
	Eligibility           []ruleJSON         `json:"eligibility"`
	Coverage              float64            `json:"coverage"`
	Layer                 *string            `json:"layer"`
	LayerOffset           *float64           `json:"layer_offset"`
	Waves                 []waveJSON         `json:"waves"`
	DecisionWave          *string            `json:"decision_wave"`
	CreatedAt             time.Time          `json:"created_at"`
	UpdatedAt             time.Time          `json:"updated_at"`
	StartedAt             *time.Time         `json:"started_at"`
	StoppedAt             *time.Time         `json:"stopped_at"`
	Decision              *decisionJSON      `json:"decision"`
	Version               int64              `json:"version"`
}

func toExperimentJSON(e experiment.Experiment) experimentJSON {
	out := experimentJSON{Key: e.Key, Name: e.Name, Hypothesis: e.Hypothesis, Status: string(e.Status),
		PrimaryOutcome: e.PrimaryOutcome, Outcomes: e.Outcomes, Guardrails: e.Guardrails,
		GuardrailMargins: e.GuardrailMargins, Alpha: e.Alpha,
		Correction: e.Correction, TargetResponsesPerArm: e.TargetResponsesPerArm, MDE: e.MDE, Salt: e.Salt,
		Coverage: e.Coverage, Eligibility: toRulesJSON(e.Eligibility),
		CreatedAt: e.CreatedAt, UpdatedAt: e.UpdatedAt, StartedAt: e.StartedAt, StoppedAt: e.StoppedAt,
		Arms: make([]armJSON, len(e.Arms)), Version: e.Version, Waves: toWavesJSON(e.Waves)}
	if e.DecisionWave != "" {
		w := e.DecisionWave
		out.DecisionWave = &w
	}
	for i, a := range e.Arms {
		w := a.Weight
		out.Arms[i] = armJSON{Key: a.Key, Name: a.Name, Description: a.Description, Weight: &w, Control: a.Control}
	}
	if out.GuardrailMargins == nil {
		out.GuardrailMargins = map[string]float64{}
	}
	if e.Layer != "" {
		layer, offset := e.Layer, e.LayerOffset
		out.Layer, out.LayerOffset = &layer, &offset
	}
	if d := e.Decision; d != nil {
		out.Decision = &decisionJSON{Arm: d.Arm, Reason: d.Reason, DecidedBy: d.DecidedBy, DecidedAt: d.DecidedAt}
	}
	return out
}

// experimentRequest is the body of POST /v1/experiments. Pointers and nil slices tell
// "absent" (gets the default) from a value.
type experimentRequest struct {
	Key                   string             `json:"key"`
	Name                  string             `json:"name"`
	Hypothesis            string             `json:"hypothesis"`
	Arms                  []armJSON          `json:"arms"`
	PrimaryOutcome        string             `json:"primary_outcome"`
	Outcomes              []string           `json:"outcomes"`
	Guardrails            []string           `json:"guardrails"`
	GuardrailMargins      map[string]float64 `json:"guardrail_margins"`
	Alpha                 *float64           `json:"alpha"`
	Correction            string             `json:"correction"`
	TargetResponsesPerArm *int               `json:"target_responses_per_arm"`
	MDE                   *float64           `json:"mde"`
	Salt                  string             `json:"salt"`
	Coverage              *float64           `json:"coverage"`
	Layer                 string             `json:"layer"`
	Eligibility           []ruleJSON         `json:"eligibility"`
	Waves                 []waveJSON         `json:"waves"`
	DecisionWave          string             `json:"decision_wave"`
}

// waveJSON is a survey wave: {"key": "month_1", "label": "After a month", "label_nl": "Na een
// maand", "from_day": 21, "to_day": 45}.
type waveJSON struct {
	Key     string `json:"key"`
	Label   string `json:"label"`
	LabelNL string `json:"label_nl"`
	FromDay int    `json:"from_day"`
	ToDay   int    `json:"to_day"`
}

func toWaves(in []waveJSON) []experiment.Wave {
	if in == nil {
		return nil
	}
	out := make([]experiment.Wave, len(in))
	for i, w := range in {
		out[i] = experiment.Wave(w)
	}
	return out
}

func toWavesJSON(in []experiment.Wave) []waveJSON {
	out := make([]waveJSON, len(in))
	for i, w := range in {
		out[i] = waveJSON(w)
	}
	return out
}

func toArms(in []armJSON) []experiment.Arm {
	arms := make([]experiment.Arm, len(in))
	for i, a := range in {
		arms[i] = experiment.Arm{Key: a.Key, Name: a.Name, Description: a.Description, Control: a.Control}
		if a.Weight != nil {
			arms[i].Weight = *a.Weight
		} else {
			arms[i].Weight = 1
		}
	}
	return arms
}

func (r experimentRequest) domain() experiment.Experiment {
	e := experiment.Experiment{Key: r.Key, Name: r.Name, Hypothesis: r.Hypothesis, Arms: toArms(r.Arms),
		PrimaryOutcome: r.PrimaryOutcome, Outcomes: r.Outcomes, Guardrails: r.Guardrails, GuardrailMargins: r.GuardrailMargins,
		Correction: r.Correction, TargetResponsesPerArm: r.TargetResponsesPerArm, MDE: r.MDE, Salt: r.Salt,
		Layer: r.Layer, Eligibility: toRules(r.Eligibility), Waves: toWaves(r.Waves), DecisionWave: r.DecisionWave}
	if r.Coverage != nil {
		e.Coverage = *r.Coverage
		if e.Coverage == 0 {
			e.Coverage = -1 // an explicit 0 is invalid, not "use the default"
		}
	}
	if r.Alpha != nil {
		e.Alpha = *r.Alpha
		if e.Alpha == 0 {
			e.Alpha = -1 // an explicit 0 is invalid, not "use the default"
		}
	}
	return e
}

// patchRequest is the body of PATCH /v1/experiments/{key}.
type patchRequest struct {
	Name                  *string             `json:"name"`
	Hypothesis            *string             `json:"hypothesis"`
	Arms                  *[]armJSON          `json:"arms"`
	PrimaryOutcome        *string             `json:"primary_outcome"`
	Outcomes              *[]string           `json:"outcomes"`
	Guardrails            *[]string           `json:"guardrails"`
	GuardrailMargins      *map[string]float64 `json:"guardrail_margins"`
	Alpha                 *float64            `json:"alpha"`
	Correction            *string             `json:"correction"`
	TargetResponsesPerArm *int                `json:"target_responses_per_arm"`
	MDE                   *float64            `json:"mde"`
	Salt                  *string             `json:"salt"`
	Coverage              *float64            `json:"coverage"`
	Layer                 *string             `json:"layer"`
	Eligibility           *[]ruleJSON         `json:"eligibility"`
	Waves                 *[]waveJSON         `json:"waves"`
	DecisionWave          *string             `json:"decision_wave"`
}

func (r patchRequest) domain() experiment.Patch {
	p := experiment.Patch{Name: r.Name, Hypothesis: r.Hypothesis, PrimaryOutcome: r.PrimaryOutcome,
		Outcomes: r.Outcomes, Guardrails: r.Guardrails, GuardrailMargins: r.GuardrailMargins, Alpha: r.Alpha, Correction: r.Correction,
		TargetResponsesPerArm: r.TargetResponsesPerArm, MDE: r.MDE, Salt: r.Salt, Coverage: r.Coverage, Layer: r.Layer,
		DecisionWave: r.DecisionWave}
	if r.Waves != nil {
		waves := toWaves(*r.Waves)
		p.Waves = &waves
	}
	if r.Arms != nil {
		arms := toArms(*r.Arms)
		p.Arms = &arms
	}
	if r.Eligibility != nil {
		rules := toRules(*r.Eligibility)
		p.Eligibility = &rules
	}
	return p
}

type assignmentJSON struct {
	Experiment string     `json:"experiment,omitempty"`
	CustomerID string     `json:"customer_id"`
	Arm        *string    `json:"arm"`
	AssignedAt *time.Time `json:"assigned_at"`
	New        bool       `json:"new"`
	Decided    bool       `json:"decided"`
	Reason     string     `json:"reason,omitempty"`
}

// MarshalJSON writes the assignment as its struct tags say, without reflection: it is the
// answer the API gives most. FuzzAssignmentJSONAsTagged holds it to encoding/json's bytes
// for the same fields.
func (a assignmentJSON) MarshalJSON() ([]byte, error) { return a.appendJSON(nil) }

func (a assignmentJSON) appendJSON(b []byte) ([]byte, error) {
	b = append(b, '{')
	if a.Experiment != "" {
		b = appendJSONString(append(b, `"experiment":`...), a.Experiment)
		b = append(b, ',')
	}
	b = appendJSONString(append(b, `"customer_id":`...), a.CustomerID)
	b = append(b, `,"arm":`...)
	if a.Arm == nil {
		b = append(b, "null"...)
	} else {
		b = appendJSONString(b, *a.Arm)
	}
	b = append(b, `,"assigned_at":`...)
	if a.AssignedAt == nil {
		b = append(b, "null"...)
	} else {
		var err error
		// time.Time's own JSON: RFC 3339 with nanoseconds, refused outside years 0–9999
		// (and for zone offsets of a day or more).
		if b, err = a.AssignedAt.AppendText(append(b, '"')); err != nil {
			return nil, err
		}
		b = append(b, '"')
	}
	b = strconv.AppendBool(append(b, `,"new":`...), a.New)
	b = strconv.AppendBool(append(b, `,"decided":`...), a.Decided)
	if a.Reason != "" {
		b = appendJSONString(append(b, `,"reason":`...), a.Reason)
	}
	return append(b, '}'), nil
}

// appendJSONString appends s as a JSON string: as is when it is printable ASCII that
// needs no escape, else as marshalJSON writes it (escapes, invalid UTF-8, U+2028).
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' {
			q, _ := marshalJSON(s) // a string always marshals
			return append(b, q...)
		}
	}
	return append(append(append(b, '"'), s...), '"')
}

// toAssignmentJSON shows a customer outside the experiment with arm null and the reason.
func toAssignmentJSON(experiment string, a experiment.Assignment) assignmentJSON {
	out := assignmentJSON{Experiment: experiment, CustomerID: a.CustomerID, New: a.New, Decided: a.Decided, Reason: a.Reason}
	if a.Arm != "" {
		arm, at := a.Arm, a.AssignedAt
		out.Arm, out.AssignedAt = &arm, &at
	}
	return out
}

type responseRequest struct {
	ResponseID string                     `json:"response_id"`
	CustomerID string                     `json:"customer_id"`
	AnsweredAt string                     `json:"answered_at"`
	Answers    map[string]json.RawMessage `json:"answers"`
}

type covariateJSON struct {
	CustomerID string   `json:"customer_id"`
	Outcome    string   `json:"outcome"`
	Value      *float64 `json:"value"`
}

// ruleJSON is an eligibility rule: {"attribute": "channel", "op": "in", "values": ["phone"]}.
type ruleJSON struct {
	Attribute string   `json:"attribute"`
	Op        string   `json:"op"`
	Value     string   `json:"value,omitempty"`
	Values    []string `json:"values,omitempty"`
	Min       *float64 `json:"min,omitempty"`
	Max       *float64 `json:"max,omitempty"`
}

func toRules(in []ruleJSON) []experiment.Rule {
	out := make([]experiment.Rule, len(in))
	for i, r := range in {
		out[i] = experiment.Rule(r)
	}
	return out
}

func toRulesJSON(in []experiment.Rule) []ruleJSON {
	out := make([]ruleJSON, len(in))
	for i, r := range in {
		out[i] = ruleJSON(r)
	}
	return out
}
