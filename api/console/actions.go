package console

import (
	"net/http"
	"net/url"
	"strconv"

	"github.com/krslab/krslab/experiment"
)

// The lifecycle forms. Each asks for a confirmation (a box to tick, checked by the server,
// so that it holds without JavaScript), then calls the service as the API does.

func (c *Console) start(r *request) error {
	return c.transition(r, func() error { _, err := c.svc.Start(r.Ctx(), r.Param("key")); return err })
}

func (c *Console) stop(r *request) error {
	return c.transition(r, func() error { _, err := c.svc.Stop(r.Ctx(), r.Param("key")); return err })
}

func (c *Console) transition(r *request, do func() error) error {
	if p := unconfirmed(r); p != nil {
		return c.showExperiment(r, http.StatusUnprocessableEntity, p, decisionForm{})
	}
	if err := do(); err != nil {
		return c.refused(r, err, decisionForm{})
	}
	return r.Redirect(http.StatusSeeOther, experimentPath(r.Param("key")))
}

func (c *Console) decide(r *request) error {
	form := decisionForm{Arm: r.FormValue("arm"), Reason: r.FormValue("reason")}
	if p := unconfirmed(r); p != nil {
		return c.showExperiment(r, http.StatusUnprocessableEntity, p, form)
	}
	if _, err := c.svc.Decide(r.Ctx(), r.Param("key"), form.Arm, form.Reason); err != nil {
		return c.refused(r, err, form)
	}
	return r.Redirect(http.StatusSeeOther, experimentPath(r.Param("key"))+"#decision")
}

// refused shows the experiment again with the service's reason (an illegal transition, a
// missing reason), or the error page for anything else.
func (c *Console) refused(r *request, err error, form decisionForm) error {
	p, status, ok := toProblem(r, err, "arm", "reason")
	if !ok {
		return err
	}
	return c.showExperiment(r, status, p, form)
}

func (c *Console) resolveAlert(r *request) error {
	id, err := strconv.ParseInt(r.Param("id"), 10, 64)
	if err != nil {
		return experiment.Errorf(experiment.NotFound, "no such alert")
	}
	a, err := c.svc.ResolveAlert(r.Ctx(), id, r.FormValue("note"))
	if err != nil {
		return err
	}
	return r.Redirect(http.StatusSeeOther, experimentPath(a.Experiment)+"#alerts")
}

func unconfirmed(r *request) *problem {
	if r.FormValue("confirm") == "yes" {
		return nil
	}
	return &problem{Message: r.T("confirm_missing"), Fields: map[string]string{"confirm": r.T("confirm_required")}}
}

func experimentPath(key string) string { return "/experiments/" + url.PathEscape(key) }
