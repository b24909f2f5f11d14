package console

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/krslab/krslab/experiment"
)

type powerData struct {
	Kind, SD, BaselineRate, MDE, Alpha, Power, Comparisons, From, FromOutcome string
	Experiments                                                               []armChoice
	Outcomes                                                                  []outcomeChoice
	Answer                                                                    string
	Problem                                                                   *problem
}

var powerFields = []string{"kind", "sd", "baseline_rate", "mde", "alpha", "power", "comparisons", "from", "from_outcome"}

// powerPage is the power planner: a GET, since planning stores nothing. With an earlier
// experiment chosen, its control arm gives the kind and the spread.
func (c *Console) powerPage(r *request) error {
	q := r.QueryParams()
	d := powerData{Kind: q.Get("kind"), SD: q.Get("sd"), BaselineRate: q.Get("baseline_rate"), MDE: q.Get("mde"),
		Alpha: q.Get("alpha"), Power: q.Get("power"), Comparisons: q.Get("comparisons"), From: q.Get("from"),
		FromOutcome: q.Get("from_outcome")}
	if d.Alpha == "" {
		d.Alpha = "0.05"
	}
	if d.Power == "" {
		d.Power = "0.8"
	}
	if d.FromOutcome == "" {
		d.FromOutcome = "krs" // the default primary outcome
	}
	if d.Comparisons == "" {
		d.Comparisons = "1"
	}
	list, err := c.svc.Experiments(r.Ctx(), "")
	if err != nil {
		return err
	}
	for _, e := range list {
		if e.Status != experiment.Draft {
			d.Experiments = append(d.Experiments, armChoice{Key: e.Key, Name: e.Name})
		}
	}
	outcomes, err := c.svc.Outcomes(r.Ctx())
	if err != nil {
		return err
	}
	for _, o := range outcomes {
		d.Outcomes = append(d.Outcomes, outcomeChoice{Key: o.Key, Name: o.Name(r.Lang), Kind: string(o.Kind)})
	}
	if !q.Has("mde") {
		return c.render(r, http.StatusOK, "power", d)
	}
	var p experiment.Problems
	plan := experiment.PowerPlan{Kind: experiment.Kind(d.Kind)}
	if d.From != "" {
		from, err := c.svc.PlanFrom(r.Ctx(), d.From, d.FromOutcome)
		if err != nil {
			return c.refusePower(r, &d, err)
		}
		plan = from
		d.Kind = string(plan.Kind)
	} else if plan.Kind == experiment.Binary {
		plan.BaselineRate = formFloat(&p, "baseline_rate", d.BaselineRate)
	} else {
		plan.SD = formFloat(&p, "sd", d.SD)
	}
	for _, f := range []struct {
		name, v string
		dst     *float64
	}{{"mde", d.MDE, &plan.MDE}, {"alpha", d.Alpha, &plan.Alpha}, {"power", d.Power, &plan.Power}} {
		if x := formFloat(&p, f.name, f.v); x != nil {
			*f.dst = *x
		}
	}
	if n, err := strconv.Atoi(strings.TrimSpace(d.Comparisons)); err != nil {
		p.Field("comparisons", "must be a whole number")
	} else {
		plan.Comparisons = n
	}
	if p.Len() > 0 {
		return c.refusePower(r, &d, p.Err("invalid power plan"))
	}
	ans, err := plan.SampleSize()
	if err != nil {
		return c.refusePower(r, &d, err)
	}
	d.Answer = r.T("planned", r.Count(int64(ans.NPerArm)), r.Num(ans.EffectiveAlpha, 4))
	return c.render(r, http.StatusOK, "power", d)
}

func (c *Console) refusePower(r *request, d *powerData, err error) error {
	p, status, ok := toProblem(r, err, powerFields...)
	if !ok {
		return err
	}
	d.Problem = p
	return c.render(r, status, "power", d)
}
