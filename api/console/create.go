package console

import (
	"errors"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/krslab/krslab/experiment"
)

// newExperimentData is the create form: what was entered (strings, as typed, so that a
// refused form comes back as it was sent) and the choices.
type newExperimentData struct {
	Key, Name, Hypothesis string
	Arms                  []armRow
	Control               int
	Primary               string
	Outcomes, Guardrails  []string
	Margins               map[string]string
	Alpha, Correction     string
	Target, Coverage      string
	Layer                 string
	Rules                 []ruleRow
	Plan                  planForm
	Choices               []outcomeChoice
	Experiments           []armChoice // earlier experiments to plan from
	Problem               *problem
	Planned               string // the power planner's answer, in words
}

type armRow struct{ Key, Name, Description, Weight string }

type ruleRow struct{ Attribute, Op, Values, Min, Max string }

type planForm struct{ SD, BaselineRate, MDE, Power, From, FromOutcome string }

type outcomeChoice struct {
	Key, Name, Kind string
}

// The form's fields, as the service names them in its problems.
var experimentFields = []string{"key", "name", "hypothesis", "arms", "primary_outcome", "outcomes", "guardrails",
	"guardrail_margins", "alpha", "correction", "target_responses_per_arm", "coverage", "layer", "eligibility",
	"sd", "baseline_rate", "mde", "power", "from", "from_outcome", "kind"}

func (c *Console) newExperimentPage(r *request) error {
	d := newExperimentData{
		Arms:    []armRow{{Key: "control", Name: r.T("arm_control_default"), Weight: "1"}, {Key: "treatment", Weight: "1"}},
		Primary: "krs", Outcomes: slices.Clone(experiment.DefaultOutcomes), Alpha: "0.05", Correction: "holm",
		Coverage: "1", Margins: map[string]string{}, Rules: []ruleRow{{}}, Plan: planForm{Power: "0.8"},
	}
	return c.showNewExperiment(r, http.StatusOK, &d)
}

func (c *Console) showNewExperiment(r *request, status int, d *newExperimentData) error {
	outcomes, err := c.svc.Outcomes(r.Ctx())
	if err != nil {
		return err
	}
	d.Choices = d.Choices[:0]
	for _, o := range outcomes {
		d.Choices = append(d.Choices, outcomeChoice{Key: o.Key, Name: o.Name(r.Lang), Kind: string(o.Kind)})
	}
	list, err := c.svc.Experiments(r.Ctx(), "")
	if err != nil {
		return err
	}
	d.Experiments = d.Experiments[:0]
	for _, e := range list {
		if e.Status != experiment.Draft {
			d.Experiments = append(d.Experiments, armChoice{Key: e.Key, Name: e.Name})
		}
	}
	return c.render(r, status, "new", d)
}

// createExperiment stores the experiment as a draft, or plans its target when the power
// planner's button sent the form; either way nothing is stored unless all of it is valid.
func (c *Console) createExperiment(r *request) error {
	d, e, p := readExperimentForm(r)
	if r.FormValue("action") == "plan" {
		return c.plan(r, &d, e, p)
	}
	if p.Len() > 0 {
		// Report the service's problems with the form's own, all at once.
		var de *experiment.Error
		if err := c.svc.CheckExperiment(r.Ctx(), e); errors.As(err, &de) && de.Code == experiment.Invalid {
			p.Add(de.Details...)
		}
		return c.refuseNew(r, &d, p.Err("invalid experiment"))
	}
	created, err := c.svc.CreateExperiment(r.Ctx(), e)
	if err != nil {
		return c.refuseNew(r, &d, err)
	}
	return r.Redirect(http.StatusSeeOther, experimentPath(created.Key))
}

func (c *Console) refuseNew(r *request, d *newExperimentData, err error) error {
	p, status, ok := toProblem(r, err, experimentFields...)
	if !ok {
		return err
	}
	d.Problem = p
	return c.showNewExperiment(r, status, d)
}

// plan fills the target with the power planner's answer for the primary outcome: from an
// sd (or baseline rate) typed in, or from an earlier experiment's control arm.
func (c *Console) plan(r *request, d *newExperimentData, e experiment.Experiment, p experiment.Problems) error {
	var pp experiment.PowerPlan
	var pr experiment.Problems
	if d.Plan.From != "" {
		outcome := d.Plan.FromOutcome
		if outcome == "" {
			outcome = e.PrimaryOutcome
		}
		from, err := c.svc.PlanFrom(r.Ctx(), d.Plan.From, outcome)
		if err != nil {
			return c.refuseNew(r, d, err)
		}
		pp = from
	} else {
		o, err := c.svc.Outcome(r.Ctx(), e.PrimaryOutcome)
		if err != nil {
			return c.refuseNew(r, d, &experiment.Error{Code: experiment.Invalid, Message: "choose a primary outcome first",
				Details: []experiment.Detail{{Field: "primary_outcome", Message: "is not a known outcome"}}})
		}
		pp.Kind = o.Kind
		if o.Kind == experiment.Binary {
			pp.BaselineRate = formFloat(&pr, "baseline_rate", d.Plan.BaselineRate)
		} else {
			pp.SD = formFloat(&pr, "sd", d.Plan.SD)
		}
	}
	if v := formFloat(&pr, "mde", d.Plan.MDE); v != nil {
		pp.MDE = *v
	}
	if v := formFloat(&pr, "power", d.Plan.Power); v != nil {
		pp.Power = *v
	}
	pp.Alpha = e.Alpha
	if pp.Alpha <= 0 {
		pp.Alpha = 0.05
	}
	pp.Comparisons = max(1, len(e.Arms)-1)
	if pr.Len() > 0 {
		return c.refuseNew(r, d, pr.Err("invalid power plan"))
	}
	ans, err := pp.SampleSize()
	if err != nil {
		return c.refuseNew(r, d, err)
	}
	d.Target = strconv.Itoa(ans.NPerArm)
	d.Planned = r.T("planned", r.Count(int64(ans.NPerArm)), r.Num(ans.EffectiveAlpha, 4))
	_ = p // the rest of the form is checked when it is created
	return c.showNewExperiment(r, http.StatusOK, d)
}

// readExperimentForm reads the create form into what was typed and the experiment it
// asks for; numbers that are not numbers are problems of their fields, everything else
// is the service's to check.
func readExperimentForm(r *request) (newExperimentData, experiment.Experiment, experiment.Problems) {
	var p experiment.Problems
	f, _ := r.FormParams()
	d := newExperimentData{Key: strings.TrimSpace(f.Get("key")), Name: strings.TrimSpace(f.Get("name")),
		Hypothesis: strings.TrimSpace(f.Get("hypothesis")), Primary: f.Get("primary_outcome"),
		Outcomes: f["outcomes"], Guardrails: f["guardrails"], Alpha: f.Get("alpha"), Correction: f.Get("correction"),
		Target: f.Get("target_responses_per_arm"), Coverage: f.Get("coverage"), Layer: strings.TrimSpace(f.Get("layer")),
		Margins: map[string]string{},
		Plan: planForm{SD: f.Get("sd"), BaselineRate: f.Get("baseline_rate"), MDE: f.Get("mde"), Power: f.Get("power"),
			From: f.Get("from"), FromOutcome: f.Get("from_outcome")}}
	d.Control, _ = strconv.Atoi(f.Get("control"))
	e := experiment.Experiment{Key: d.Key, Name: d.Name, Hypothesis: d.Hypothesis, PrimaryOutcome: d.Primary,
		Outcomes: d.Outcomes, Guardrails: d.Guardrails, Correction: d.Correction, Layer: d.Layer,
		GuardrailMargins: map[string]float64{}}
	if e.Outcomes == nil {
		e.Outcomes = []string{}
	}
	if e.Guardrails == nil {
		e.Guardrails = []string{}
	}
	keys, names, descs, weights := f["arm_key"], f["arm_name"], f["arm_description"], f["arm_weight"]
	for i := range keys {
		row := armRow{Key: strings.TrimSpace(keys[i]), Name: strings.TrimSpace(at(names, i)),
			Description: strings.TrimSpace(at(descs, i)), Weight: strings.TrimSpace(at(weights, i))}
		if row.Key == "" && row.Name == "" && row.Description == "" && (row.Weight == "" || row.Weight == "1") && i >= 2 {
			continue // an empty row added and left
		}
		d.Arms = append(d.Arms, row)
		a := experiment.Arm{Key: row.Key, Name: row.Name, Description: row.Description, Weight: 1, Control: i == d.Control}
		if row.Weight != "" {
			if w := formFloat(&p, "arms["+strconv.Itoa(len(e.Arms))+"].weight", row.Weight); w != nil {
				a.Weight = *w
			}
		}
		e.Arms = append(e.Arms, a)
	}
	for _, g := range d.Guardrails {
		if v := strings.TrimSpace(f.Get("margin_" + g)); v != "" {
			d.Margins[g] = v
			if m := formFloat(&p, "guardrail_margins."+g, v); m != nil {
				e.GuardrailMargins[g] = *m
			}
		}
	}
	if v := formFloat(&p, "alpha", d.Alpha); v != nil {
		e.Alpha = *v
		if e.Alpha == 0 {
			e.Alpha = -1 // an explicit 0 is invalid, not "use the default"
		}
	}
	if d.Target != "" {
		if n, err := strconv.Atoi(strings.TrimSpace(d.Target)); err != nil {
			p.Field("target_responses_per_arm", "must be a whole number")
		} else {
			e.TargetResponsesPerArm = &n
		}
	}
	if v := formFloat(&p, "coverage", d.Coverage); v != nil {
		e.Coverage = *v
		if e.Coverage == 0 {
			e.Coverage = -1
		}
	}
	attrs, ops, vals, mins, maxs := f["rule_attribute"], f["rule_op"], f["rule_values"], f["rule_min"], f["rule_max"]
	for i := range attrs {
		row := ruleRow{Attribute: strings.TrimSpace(attrs[i]), Op: at(ops, i), Values: strings.TrimSpace(at(vals, i)),
			Min: strings.TrimSpace(at(mins, i)), Max: strings.TrimSpace(at(maxs, i))}
		d.Rules = append(d.Rules, row)
		if row.Attribute == "" && row.Values == "" && row.Min == "" && row.Max == "" {
			continue
		}
		n := "eligibility[" + strconv.Itoa(len(e.Eligibility)) + "]"
		rule := experiment.Rule{Attribute: row.Attribute, Op: row.Op}
		switch row.Op {
		case experiment.OpEq, experiment.OpNeq:
			rule.Value = row.Values
		case experiment.OpRange:
			if row.Min != "" {
				rule.Min = formFloat(&p, n+".min", row.Min)
			}
			if row.Max != "" {
				rule.Max = formFloat(&p, n+".max", row.Max)
			}
		default:
			for _, v := range strings.Split(row.Values, ",") {
				if v = strings.TrimSpace(v); v != "" {
					rule.Values = append(rule.Values, v)
				}
			}
		}
		e.Eligibility = append(e.Eligibility, rule)
	}
	if len(d.Rules) == 0 {
		d.Rules = []ruleRow{{}}
	}
	return d, e, p
}

// formFloat reads a number typed in a form (a decimal comma too, as Dutch users type it);
// "" is nil without a problem.
func formFloat(p *experiment.Problems, field, v string) *float64 {
	v = strings.TrimSpace(v)
	if v == "" {
		return nil
	}
	x, err := strconv.ParseFloat(strings.Replace(v, ",", ".", 1), 64)
	if err != nil || math.IsNaN(x) || math.IsInf(x, 0) {
		p.Field(field, "must be a number")
		return nil
	}
	return &x
}

func at(xs []string, i int) string {
	if i < len(xs) {
		return xs[i]
	}
	return ""
}
