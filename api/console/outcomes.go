package console

import (
	"net/http"
	"strings"

	"github.com/krslab/krslab/experiment"
)

type outcomesData struct {
	Outcomes []outcomeView
}

type outcomeView struct {
	Key, Name, Question, Kind, Range, Components string
	BuiltIn, HigherIsBetter                      bool
}

func (c *Console) outcomesPage(r *request) error {
	list, err := c.svc.Outcomes(r.Ctx())
	if err != nil {
		return err
	}
	byKey := map[string]experiment.Outcome{}
	for _, o := range list {
		byKey[o.Key] = o
	}
	var d outcomesData
	for _, o := range list {
		v := outcomeView{Key: o.Key, Name: o.Name(r.Lang), Question: o.Label, Kind: r.T("kind." + string(o.Kind)),
			BuiltIn: o.BuiltIn, HigherIsBetter: o.HigherIsBetter}
		if r.Lang == "nl" && o.LabelNL != "" {
			v.Question = o.LabelNL
		}
		if v.Question == v.Name {
			v.Question = ""
		}
		if o.Min != nil && o.Max != nil {
			v.Range = r.Num(*o.Min, -1) + "–" + r.Num(*o.Max, -1)
		}
		var comps []string
		for _, k := range o.Components {
			comps = append(comps, byKey[k].Name(r.Lang))
		}
		v.Components = strings.Join(comps, ", ")
		d.Outcomes = append(d.Outcomes, v)
	}
	return c.render(r, http.StatusOK, "outcomes", d)
}

type newOutcomeData struct {
	Key, Kind, Label, LabelNL, Min, Max, TopMin, BottomMax string
	LowerIsBetter                                          bool
	Components                                             []string
	Choices                                                []outcomeChoice
	Problem                                                *problem
}

var outcomeFields = []string{"key", "kind", "label", "label_nl", "min", "max", "top_min", "bottom_max", "components", "higher_is_better"}

func (c *Console) newOutcomePage(r *request) error {
	return c.showNewOutcome(r, http.StatusOK, &newOutcomeData{Kind: "scale", Min: "1", Max: "7"})
}

func (c *Console) showNewOutcome(r *request, status int, d *newOutcomeData) error {
	list, err := c.svc.Outcomes(r.Ctx())
	if err != nil {
		return err
	}
	for _, o := range list {
		if o.Kind == experiment.Scale || o.Kind == experiment.Numeric {
			d.Choices = append(d.Choices, outcomeChoice{Key: o.Key, Name: o.Name(r.Lang), Kind: string(o.Kind)})
		}
	}
	return c.render(r, status, "newoutcome", d)
}

func (c *Console) createOutcome(r *request) error {
	f, _ := r.FormParams()
	d := newOutcomeData{Key: strings.TrimSpace(f.Get("key")), Kind: f.Get("kind"), Label: strings.TrimSpace(f.Get("label")),
		LabelNL: strings.TrimSpace(f.Get("label_nl")), Min: f.Get("min"), Max: f.Get("max"), TopMin: f.Get("top_min"),
		BottomMax: f.Get("bottom_max"), LowerIsBetter: f.Get("lower_is_better") == "yes", Components: f["components"]}
	var p experiment.Problems
	o := experiment.Outcome{Key: d.Key, Kind: experiment.Kind(d.Kind), Label: d.Label, LabelNL: d.LabelNL,
		HigherIsBetter: !d.LowerIsBetter, Components: d.Components}
	// Only the bounds the kind has: the form shows all of them, the service refuses any
	// that do not belong.
	switch o.Kind {
	case experiment.Scale, experiment.Net:
		o.Min, o.Max = formFloat(&p, "min", d.Min), formFloat(&p, "max", d.Max)
		if o.Kind == experiment.Net {
			o.TopMin, o.BottomMax = formFloat(&p, "top_min", d.TopMin), formFloat(&p, "bottom_max", d.BottomMax)
		}
	}
	if p.Len() > 0 {
		return c.refuseOutcome(r, &d, p.Err("invalid outcome"))
	}
	if _, err := c.svc.CreateOutcome(r.Ctx(), o); err != nil {
		return c.refuseOutcome(r, &d, err)
	}
	return r.Redirect(http.StatusSeeOther, "/outcomes#outcome-"+o.Key)
}

func (c *Console) refuseOutcome(r *request, d *newOutcomeData, err error) error {
	p, status, ok := toProblem(r, err, outcomeFields...)
	if !ok {
		return err
	}
	d.Problem = p
	return c.showNewOutcome(r, status, d)
}
