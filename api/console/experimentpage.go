package console

import (
	"encoding/base64"
	"errors"
	"html/template"
	"math"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/krslab/krslab/api/report"
	"github.com/krslab/krslab/experiment"
	"github.com/krslab/krslab/stats/plot"
)

type experimentData struct {
	E      experiment.Experiment
	Name   string
	Status string
	Analysis
	// Unanalysed says why an experiment past its draft shows no analysis: the database
	// could not compute it (a timeout, numbers beyond what it computes with). The page
	// keeps what does not need it, so that the experiment can still be stopped or decided.
	Unanalysed string
	Segment    string
	Alerts     []alertView
	// DecidedArm names the decided arm.
	DecidedArm string
	Arms       []armChoice // for the decision form
	Problem    *problem    // a refused decision
	Decision   decisionForm
}

// Analysis is what the experiment page shows of the results.
type Analysis struct {
	Rec      *report.RecommendationView
	Progress progress
	Quality  *report.QualityView
	Effects  template.HTML // inline SVG
	Timeline template.HTML // inline SVG
	Lasting  *lasting      // with survey waves
	Tables   []table
	Files    []download
	// recommended is the recommendation's arm, where the decide form starts.
	recommended string
}

// lasting is the "Does it last?" section: the primary outcome per survey wave.
type lasting struct {
	report.LastingView
	SVG template.HTML
}

type table struct {
	report.TableView
	Figures []figure
}

type figure struct {
	Src template.URL
	Alt string
}

type armChoice struct{ Key, Name string }

type alertView struct {
	ID                     int64
	Text, When, ResponseID string
}

type decisionForm struct{ Arm, Reason string }

type download struct{ Label, Href string }

// progress is how far the experiment is: its days, each arm's responses to the primary
// outcome against the target, and when the target will be reached at the current pace.
type progress struct {
	Started, Days, Target, Projected string
	Arms                             []armProgress
}

type armProgress struct {
	Name, Responses string
	Percent         int // of the target, at most 100; -1 without a target
}

func (c *Console) experimentPage(r *request) error {
	return c.showExperiment(r, http.StatusOK, nil, decisionForm{})
}

// showExperiment renders the experiment page; a refused decision comes back with its
// problem and what was entered.
func (c *Console) showExperiment(r *request, status int, p *problem, form decisionForm) error {
	ctx := r.Ctx()
	key := r.Param("key")
	e, err := c.svc.Experiment(ctx, key)
	if err != nil {
		return err
	}
	d := experimentData{E: e, Name: e.Name, Status: r.StatusText(string(e.Status)), Problem: p, Decision: form,
		Segment: strings.TrimSpace(r.QueryParam("segment"))}
	if d.Name == "" {
		d.Name = e.Key
	}
	for _, a := range e.Arms {
		d.Arms = append(d.Arms, armChoice{Key: a.Key, Name: report.ArmName(e, a.Key, r.Lang)})
	}
	if dd := e.Decision; dd != nil {
		d.DecidedArm = report.ArmName(e, dd.Arm, r.Lang)
	}
	alerts, err := c.svc.Alerts(ctx, key, experiment.AlertOpen, 20)
	if err != nil {
		return err
	}
	if len(alerts) > 0 {
		outcomes, err := c.svc.OutcomeMap(ctx)
		if err != nil {
			return err
		}
		for _, a := range alerts {
			name := a.Outcome
			if o, ok := outcomes[a.Outcome]; ok {
				name = o.Name(r.Lang)
			}
			d.Alerts = append(d.Alerts, alertView{ID: a.ID, ResponseID: a.ResponseID, When: r.Date(a.RaisedAt),
				Text: r.T("exp.alert", name, r.Num(a.Value, -1), a.Op, r.Num(a.Threshold, -1))})
		}
	}
	if e.Status != experiment.Draft {
		a, err := c.analysis(r, e)
		var de *experiment.Error
		switch {
		case errors.As(err, &de) && (de.Code == experiment.Conflict || de.Code == experiment.DatabaseTimeout):
			d.Unanalysed = r.say(de.Text())
		case err != nil:
			return err
		default:
			d.Analysis = a
			if d.Decision.Arm == "" {
				d.Decision.Arm = a.recommended
			}
		}
	}
	return c.render(r, status, "experiment", d)
}

// analysis is the results part of the experiment page of e, which is past its draft.
func (c *Console) analysis(r *request, e experiment.Experiment) (Analysis, error) {
	ctx := r.Ctx()
	res, points, err := c.svc.ResultsWithTimeline(ctx, e.Key)
	if err != nil {
		return Analysis{}, err
	}
	rec, q := report.Recommendation(res, r.Lang), report.Quality(res, r.Lang)
	d := Analysis{Rec: &rec, Quality: &q, Progress: progressOf(r, res), recommended: res.Recommendation.Arm}
	var persistence *experiment.PersistenceResults
	if len(e.Waves) > 0 {
		p, err := c.svc.Persistence(ctx, e.Key)
		if err != nil {
			return Analysis{}, err
		}
		persistence = &p
	}
	if err := c.figures(r, &d, res, points, persistence); err != nil {
		return Analysis{}, err
	}
	base := "/v1/experiments/" + url.PathEscape(e.Key)
	lang := "?lang=" + r.Lang
	d.Files = []download{
		{r.T("dl_report"), base + "/report.html" + lang},
		{r.T("dl_csv"), base + "/results.csv"},
		{r.T("dl_effects_png"), base + "/plots/effects.png" + lang},
		{r.T("dl_effects_svg"), base + "/plots/effects.svg" + lang},
		{r.T("dl_timeline_png"), base + "/plots/timeline.png" + lang},
		{r.T("dl_drivers_png"), base + "/plots/drivers.png" + lang},
	}
	if r.May("admin") || r.Session.Key.Role.May(experiment.PermAssignments) {
		d.Files = append(d.Files, download{r.T("dl_assignments"), base + "/assignments.csv"})
	}
	return d, nil
}

// figures draws the effects and the timeline as inline SVG and every outcome's distribution,
// in one render slot, as report.html does.
func (c *Console) figures(r *request, d *Analysis, res experiment.Results, points []experiment.TimelinePoint, persistence *experiment.PersistenceResults) error {
	release, err := c.cfg.Renders.Acquire(r.Ctx())
	if err != nil {
		return err
	}
	defer release()
	lang := r.Lang
	eff := report.EffectsOf(res, lang)
	svg, err := plot.Effects(eff, plot.Options{Format: plot.SVG, Width: report.PageWidth, Height: report.EffectsHeight(eff), Lang: lang})
	if err != nil {
		return err
	}
	d.Effects = inlineSVG(svg, "effects", r.T("effects_alt"))
	tl := report.TimelineOf(res, points, lang)
	svg, err = plot.Timeline(tl, plot.Options{Format: plot.SVG, Width: report.PageWidth, Height: report.TimelineHeight(tl), Lang: lang})
	if err != nil {
		return err
	}
	d.Timeline = inlineSVG(svg, "timeline", r.T("timeline_alt"))
	if persistence != nil {
		l, err := report.Lasting(*persistence, lang)
		if err != nil {
			return err
		}
		svg, err := plot.Persistence(l.Figure, plot.Options{Format: plot.SVG, Width: report.PageWidth, Height: report.PersistenceHeight(l.Figure), Lang: lang})
		if err != nil {
			return err
		}
		d.Lasting = &lasting{LastingView: l, SVG: inlineSVG(svg, "lasting", l.Alt)}
	}
	for _, t := range report.Tables(res, lang) {
		tv := table{TableView: t}
		for _, k := range t.Keys {
			in, err := report.DistributionOf(res, k, lang)
			if err != nil {
				return err
			}
			b, err := plot.Distribution(in, plot.Options{Format: plot.SVG, Width: report.HalfWidth, Height: report.DistributionHeight(in), Lang: lang})
			if err != nil {
				return err
			}
			tv.Figures = append(tv.Figures, figure{Src: template.URL("data:image/svg+xml;base64," + base64.StdEncoding.EncodeToString(b)), Alt: in.Title})
		}
		d.Tables = append(d.Tables, tv)
	}
	return nil
}

var svgStart = regexp.MustCompile(`(?s)^.*?<svg`)

// inlineSVG makes a figure part of the page: the XML prologue goes, the element gets a role
// and a label for screen readers, and its ids are made unique to the figure so that two
// figures on one page never share a clip path.
func inlineSVG(b []byte, id, label string) template.HTML {
	s := svgStart.ReplaceAllString(string(b), "<svg")
	s = strings.Replace(s, "<svg", `<svg role="img" aria-label="`+template.HTMLEscapeString(label)+`" class="figure" id="`+id+`-figure"`, 1)
	s = strings.ReplaceAll(s, `id="`, `id="`+id+`-`)
	s = strings.ReplaceAll(s, `url(#`, `url(#`+id+`-`)
	s = strings.ReplaceAll(s, `href="#`, `href="#`+id+`-`)
	s = strings.Replace(s, `id="`+id+`-`+id+`-figure"`, `id="`+id+`-figure"`, 1)
	return template.HTML(s) //nolint:gosec // drawn by our own renderer from escaped text
}

func progressOf(r *request, res experiment.Results) progress {
	e := res.Experiment
	var p progress
	if e.StartedAt == nil {
		return p
	}
	end := res.ComputedAt
	if e.StoppedAt != nil {
		end = *e.StoppedAt
	}
	days := end.Sub(*e.StartedAt).Hours() / 24
	p.Started, p.Days = r.Date(*e.StartedAt), r.Count(int64(days))
	var primary *experiment.OutcomeResults
	for i := range res.Outcomes {
		if res.Outcomes[i].Primary {
			primary = &res.Outcomes[i]
		}
	}
	fewest := int64(math.MaxInt64)
	for _, a := range e.Arms {
		var n int64
		if primary != nil {
			n = primary.Arms[a.Key].N
		}
		fewest = min(fewest, n)
		ap := armProgress{Name: report.ArmName(e, a.Key, r.Lang), Responses: r.Count(n), Percent: -1}
		if t := e.TargetResponsesPerArm; t != nil && *t > 0 {
			ap.Percent = int(min(100, 100*n/int64(*t)))
		}
		p.Arms = append(p.Arms, ap)
	}
	t := e.TargetResponsesPerArm
	if t == nil || *t <= 0 {
		return p
	}
	p.Target = r.Count(int64(*t))
	switch {
	case fewest >= int64(*t):
		p.Projected = r.T("target_reached")
	case e.Status != experiment.Running:
	case fewest > 0 && days >= 1:
		left := float64(int64(*t)-fewest) / (float64(fewest) / days)
		p.Projected = r.T("projected_on", r.Date(res.ComputedAt.Add(time.Duration(left*24*float64(time.Hour)))))
	}
	return p
}
