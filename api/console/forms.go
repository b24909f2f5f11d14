package console

import (
	"maps"
	"slices"
	"strings"

	"github.com/krslab/krslab/api"
	"github.com/krslab/krslab/experiment"
)

// problem is a refused form: the service's message, and its details beside the fields they
// name (Fields) or, for any other, above the form (Other).
type problem struct {
	Message string
	Fields  map[string]string
	Other   []experiment.Detail
}

// For is the message for a field, "" when it has none.
func (p *problem) For(field string) string {
	if p == nil {
		return ""
	}
	return p.Fields[field]
}

// Has reports whether any field under prefix has a message (an arm's row, say).
func (p *problem) Has(prefix string) bool {
	if p == nil {
		return false
	}
	for f := range p.Fields {
		if f == prefix || strings.HasPrefix(f, prefix+".") || strings.HasPrefix(f, prefix+"[") {
			return true
		}
	}
	return false
}

// Under joins the messages of a field and its parts (outcomes, outcomes[2]), for a group of
// checkboxes that shows them once.
func (p *problem) Under(field string) string {
	if p == nil {
		return ""
	}
	var out []string
	for _, f := range slices.Sorted(maps.Keys(p.Fields)) {
		if f == field || strings.HasPrefix(f, field+"[") {
			out = append(out, p.Fields[f])
		}
	}
	return strings.Join(out, "; ")
}

// refuse shows a form (page, with data) again with the service's refusal beside its
// fields (set into *dst), with the status the API would answer; errors that are not about
// the form (the database is down) become the error page.
func (c *Console) refuse(r *request, page string, data any, dst **problem, err error, fields ...string) error {
	p, status, ok := toProblem(r, err, fields...)
	if !ok {
		return err
	}
	*dst = p
	return c.render(r, status, page, data)
}

// toProblem turns a refusal of the service into a problem of a form with these fields (any
// field when none are named); ok is false for errors that are not about what was entered.
func toProblem(r *request, err error, fields ...string) (*problem, int, bool) {
	de, status := api.ErrorOf(err)
	switch de.Code {
	case experiment.Invalid, experiment.Unauthorized, experiment.Forbidden, experiment.Conflict, experiment.NotFound,
		experiment.PreconditionFailed:
	default:
		return nil, status, false
	}
	p := &problem{Message: r.say(de.Text()), Fields: map[string]string{}}
	if de.Code == experiment.Invalid && len(de.Details) > 0 {
		// The details say what is wrong, beside their fields; the summary says where to look.
		p.Message = r.T("problem.invalid")
	}
	for _, d := range r.said(de.Details) {
		if d.Field != "" && (len(fields) == 0 || slices.ContainsFunc(fields, func(f string) bool {
			return d.Field == f || strings.HasPrefix(d.Field, f+".") || strings.HasPrefix(d.Field, f+"[")
		})) {
			if p.Fields[d.Field] != "" {
				p.Fields[d.Field] += "; " + d.Message
			} else {
				p.Fields[d.Field] = d.Message
			}
			continue
		}
		p.Other = append(p.Other, d)
	}
	return p, status, true
}
