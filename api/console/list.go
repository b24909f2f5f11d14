package console

import (
	"net/http"
	"strings"
	"time"

	"github.com/krslab/krslab/api/report"
	"github.com/krslab/krslab/experiment"
)

type listData struct {
	Status, Query string
	Statuses      []string
	Rows          []listRow
}

type listRow struct {
	Key, Name, Status, StatusText string
	Days                          string // days running, "" before the start
	Responses                     string // the fewest responses of any arm, against the target
	Action, Recommendation        string
	Warnings                      []string
	Stale                         bool // the recommendation is of older data
}

func (c *Console) listPage(r *request) error {
	d := listData{Status: r.QueryParam("status"), Query: strings.TrimSpace(r.QueryParam("q")),
		Statuses: []string{"", "draft", "running", "stopped", "decided"}}
	list, err := c.svc.Overview(r.Ctx(), experiment.Status(d.Status), d.Query)
	if err != nil {
		return err
	}
	now := time.Now()
	for _, h := range list {
		row := listRow{Key: h.Key, Name: h.Name, Status: string(h.Status), StatusText: r.StatusText(string(h.Status))}
		if row.Name == "" {
			row.Name = h.Key
		}
		if h.StartedAt != nil {
			end := now
			if h.StoppedAt != nil {
				end = *h.StoppedAt
			}
			row.Days = r.Count(int64(end.Sub(*h.StartedAt).Hours() / 24))
		}
		if a := h.Analysis; a != nil {
			row.Responses = r.Count(a.MinResponses)
			if t := h.TargetResponsesPerArm; t != nil {
				row.Responses = r.T("list.of", row.Responses, r.Count(int64(*t)))
			}
			row.Action, row.Stale = a.Action, !a.Current
			row.Recommendation = report.ActionHeadline(a.Action, headlineArm(h, a.Arm, r.Lang), a.SRMMismatch, r.Lang)
			if a.SRMMismatch {
				row.Warnings = append(row.Warnings, r.T("warn.srm"))
			}
			if a.DifferentialResponse {
				row.Warnings = append(row.Warnings, r.T("warn.response"))
			}
		}
		if h.OpenAlerts > 0 {
			row.Warnings = append(row.Warnings, r.T("warn.alerts", r.Count(h.OpenAlerts)))
		}
		d.Rows = append(d.Rows, row)
	}
	return c.render(r, http.StatusOK, "list", d)
}

// headlineArm names an arm of a headline as the report does.
func headlineArm(h experiment.Headline, key, lang string) string {
	e := experiment.Experiment{}
	for _, a := range h.Arms {
		e.Arms = append(e.Arms, experiment.Arm{Key: a.Key, Name: a.Name, Control: a.Control})
	}
	return report.ArmName(e, key, lang)
}
