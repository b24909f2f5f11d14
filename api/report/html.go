package report

import (
	_ "embed"
	"encoding/base64"
	"fmt"
	"html/template"
	"io"
	"math"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/krslab/krslab/experiment"
	"github.com/krslab/krslab/stats"
	"github.com/krslab/krslab/stats/i18n"
	"github.com/krslab/krslab/stats/plot"
)

//go:embed report.tmpl
var reportTemplate string

var pageTemplate = template.Must(template.New("report").Parse(reportTemplate))

// HTML writes report.html: one self-contained page (figures inline as PNG
// data URIs, no scripts, no external assets) that a product owner reads top
// down: the recommendation, the effects at a glance, the KRS with its
// components and a diagnosis, the building blocks, loyalty, the primary
// outcome over time and data quality. lang is "en" or "nl" ("" = en).
func HTML(w io.Writer, res experiment.Results, timeline []experiment.TimelinePoint, lang string) error {
	return HTMLWithWaves(w, res, timeline, nil, lang)
}

// HTMLWithWaves is HTML with a "Does it last?" section after the timeline, from the
// experiment's persistence across its survey waves (nil: none).
func HTMLWithWaves(w io.Writer, res experiment.Results, timeline []experiment.TimelinePoint, persistence *experiment.PersistenceResults, lang string) error {
	return HTMLInSlots(w, res, timeline, persistence, lang, 1)
}

// HTMLInSlots is HTMLWithWaves drawing up to slots figures at once (one when slots < 1): the
// page's figures do not depend on each other, so a caller holding several render slots
// draws them side by side, the largest first. A figure shown twice (trust, in the KRS and
// the building blocks) is drawn once.
func HTMLInSlots(w io.Writer, res experiment.Results, timeline []experiment.TimelinePoint, persistence *experiment.PersistenceResults, lang string, slots int) error {
	lang = i18n.Normalize(lang)
	p, figs, err := newPage(res, timeline, lang)
	if err != nil {
		return err
	}
	if persistence != nil && len(persistence.Experiment.Waves) > 0 {
		l, err := Lasting(*persistence, lang)
		if err != nil {
			return err
		}
		p.Lasting = &lastingSection{Title: l.Title, Intro: l.Intro, Durable: l.Durable, Changes: l.Changes}
		// After the timeline, before the distributions: the largest first.
		figs = slices.Insert(figs, 2, pending{into: []*figure{&p.Lasting.Figure}, draw: func() (figure, error) {
			return render(func(o plot.Options) ([]byte, error) { return plot.Persistence(l.Figure, o) },
				PageWidth, PersistenceHeight(l.Figure), lang, l.Alt)
		}})
	}
	if err := drawAll(figs, slots); err != nil {
		return err
	}
	return pageTemplate.Execute(w, p)
}

// pending is a figure of a page yet to be drawn, and the places it goes.
type pending struct {
	into []*figure
	draw func() (figure, error)
}

// drawAll draws figs, up to slots at once, in order, and returns the first error (by order).
func drawAll(figs []pending, slots int) error {
	errs := make([]error, len(figs))
	var next atomic.Int64
	work := func() {
		for {
			i := int(next.Add(1) - 1)
			if i >= len(figs) {
				return
			}
			f, err := figs[i].draw()
			errs[i] = err
			for _, dst := range figs[i].into {
				*dst = f
			}
		}
	}
	var wg sync.WaitGroup
	for range min(slots, len(figs)) - 1 {
		wg.Go(work)
	}
	work()
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

type lastingSection struct {
	Title, Intro     string
	Figure           figure
	Durable, Changes []string
}

// PersistenceHeight: see EffectsHeight.
func PersistenceHeight(in plot.PersistenceInput) int { return 440 + 30*len(in.Series) }

// Figure widths in CSS pixels: the page's text column is 920 px wide.
// Figures are rendered at twice the density for print and sharp screens.
const (
	PageWidth = 920
	HalfWidth = 452
	figScale  = 2
)

type page struct {
	Lang       string
	T          map[string]string
	Name       string
	Meta       string
	Hypothesis string
	Rec        recommendation
	Effects    figure
	Sections   []pageSection
	Timeline   figure
	Lasting    *lastingSection // with survey waves
	Quality    quality
	Computed   string
}

type recommendation struct {
	Class, Headline, Reason, Decision string
	Caveats                           []caveat
	Guardrails                        []string // each guardrail per treatment arm, in words
}

// caveat is one reason to read the recommendation with care, in words.
type caveat struct {
	Title string
	Lines []string
}

type figure struct {
	Src           template.URL
	Alt           string
	Width, Height int
}

type pageSection struct {
	ID, Title, Intro string
	Arms             []string
	Keys             []string // the outcomes of Rows, in order
	Rows             []tableRow
	Diagnosis        []diagnosis
	Figures          []figure
}

type diagnosis struct{ Arm, Levels, Effect string }

type tableRow struct {
	Name, Question string
	Tags           []plot.Tag
	Cells          []tableCell
}

type tableCell struct {
	Level, CI, N string
	Diff, DiffCI string
	Verdict      string
	Class        string
	Margin       string // a guardrail's margin, in words
	MarginClass  string // held, unheld or "" (not tested)
	Ordinal      string // the proportional-odds ratio of scale and net outcomes
}

type quality struct {
	Class, Verdict, SRM string
	// The response check: whether the arms answered at different rates.
	ResponseClass, Response, ResponseStat string
	Arms                                  []armTraffic
}

type armTraffic struct {
	Arm, Expected, Assigned, Responded, Rate string
}

// newPage is the page of res, with its figures to draw into it: the effects, the timeline,
// then each distinct outcome's distribution in the order the sections show them.
func newPage(res experiment.Results, timeline []experiment.TimelinePoint, lang string) (*page, []pending, error) {
	e := res.Experiment
	p := &page{Lang: lang, T: uiText(lang), Name: e.Name, Hypothesis: e.Hypothesis}
	if p.Name == "" {
		p.Name = e.Key
	}
	p.Meta = fmt.Sprintf("%s · %s · α = %s · %s", e.Key, statusText(e.Status, lang),
		i18n.Num(alphaOf(e), 2, lang), correctionText(e.Correction, lang))
	at := res.ComputedAt.UTC()
	p.Computed = i18n.Date(at, lang) + " " + at.Format("15:04") + " UTC"
	p.Rec = recommendationOf(res, lang)

	eff := EffectsOf(res, lang)
	tl := TimelineOf(res, timeline, lang)
	figs := []pending{
		{into: []*figure{&p.Effects}, draw: func() (figure, error) {
			return render(func(o plot.Options) ([]byte, error) { return plot.Effects(eff, o) },
				PageWidth, EffectsHeight(eff), lang, p.T["effects_alt"])
		}},
		{into: []*figure{&p.Timeline}, draw: func() (figure, error) {
			return render(func(o plot.Options) ([]byte, error) { return plot.Timeline(tl, o) },
				PageWidth, TimelineHeight(tl), lang, p.T["timeline_alt"])
		}},
	}
	for _, s := range sections(res, lang) {
		ps := tableOf(res, s, lang)
		ps.Figures = make([]figure, len(ps.Keys))
		p.Sections = append(p.Sections, ps)
	}
	// The sections are all in place: their figures may be pointed at.
	drawn := map[string]int{} // outcome key -> its figure in figs
	for i := range p.Sections {
		ps := &p.Sections[i]
		for j, k := range ps.Keys {
			if at, ok := drawn[k]; ok {
				figs[at].into = append(figs[at].into, &ps.Figures[j])
				continue
			}
			d, err := DistributionOf(res, k, lang)
			if err != nil {
				return p, nil, err
			}
			drawn[k] = len(figs)
			figs = append(figs, pending{into: []*figure{&ps.Figures[j]}, draw: func() (figure, error) {
				return render(func(op plot.Options) ([]byte, error) { return plot.Distribution(d, op) }, HalfWidth, DistributionHeight(d), lang, d.Title)
			}})
		}
	}
	p.Quality = qualityOf(res, lang)
	return p, figs, nil
}

// render draws one figure as a PNG data URI, at figScale unless a tall figure (many arms
// or outcomes) would exceed the pixels any PNG may have.
func render(fn func(plot.Options) ([]byte, error), w, h int, lang, alt string) (figure, error) {
	b, err := fn(plot.Options{Width: w, Height: h, Format: plot.PNG, Lang: lang, Scale: plot.FitScale(w, h, figScale)})
	if err != nil {
		return figure{}, err
	}
	src := template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(b))
	return figure{Src: src, Alt: alt, Width: w, Height: h}, nil
}

// tableOf is a section's table, with its intro and diagnosis, without figures.
func tableOf(res experiment.Results, s section, lang string) pageSection {
	ps := pageSection{Title: s.title}
	for _, a := range res.Experiment.Arms {
		ps.Arms = append(ps.Arms, armNameIn(res.Experiment, a.Key, lang))
	}
	switch ps.ID = s.id; s.id {
	case "krs":
		ps.Intro = i18n.T(lang, "report.intro.krs")
		ps.Diagnosis = diagnose(res, lang)
	case "blocks", "loyalty":
		ps.Intro = i18n.T(lang, "report.intro."+s.id)
	}
	for _, o := range s.outcomes {
		ps.Rows = append(ps.Rows, newRow(res, o, lang))
		ps.Keys = append(ps.Keys, o.Outcome.Key)
	}
	return ps
}

// EffectsHeight, TimelineHeight and DistributionHeight are the heights the figures are
// drawn at in the report and the console (CSS pixels, at PageWidth or HalfWidth): enough
// for every row, panel and arm.
func EffectsHeight(in plot.EffectsInput) int {
	rows := len(in.Rows)
	for i := range in.Rows {
		if i == 0 || in.Rows[i].Group != in.Rows[i-1].Group {
			rows++
		}
	}
	return min(plot.MaxHeight, 170+24*rows)
}

// TimelineHeight: see EffectsHeight.
func TimelineHeight(in plot.TimelineInput) int { return 360 + 180*((len(in.Series)-1)/3) }

// DistributionHeight: see EffectsHeight.
func DistributionHeight(in plot.DistributionInput) int {
	h := 150 + 62*len(in.Arms)
	if in.Segments != nil {
		h += 20
	}
	return h
}

// newRow is one outcome: each arm's level, and each treatment's difference.
func newRow(res experiment.Results, o experiment.OutcomeResults, lang string) tableRow {
	r := tableRow{Name: Name(o.Outcome, lang), Question: Question(o.Outcome, lang)}
	if r.Question == r.Name {
		r.Question = ""
	}
	r.Tags = roleTags(o, lang)
	scale, unit := displayUnit(o.Outcome.Kind, lang)
	for _, a := range res.Experiment.Arms {
		s := o.Arms[a.Key]
		c := tableCell{N: i18n.T(lang, "label.n", i18n.Count(s.N, lang))}
		est, lo, hi := s.Estimate(), s.CILow, s.CIHigh
		d := levelDecimals(o.Outcome.Kind, est)
		switch o.Outcome.Kind {
		case experiment.Binary:
			lo, hi = 100*lo, 100*hi
			c.Level = i18n.Percent(est, d, lang)
		case experiment.Net:
			c.Level = i18n.Signed(est, d, lang)
		default:
			c.Level = i18n.Num(est, d, lang)
		}
		if !math.IsNaN(lo) {
			c.CI = i18n.Interval(lo, hi, d, lang)
		}
		if cmp, ok := o.Comparisons[a.Key]; ok && !a.Control {
			c.Verdict, c.Class = verdictText(cmp.Verdict, lang), string(cmp.Verdict)
			if cmp.Sufficient() {
				diff, dlo, dhi := cmp.Effect()
				dd := levelDecimals(o.Outcome.Kind, diff*scale)
				c.Diff = i18n.Signed(diff*scale, dd, lang) + unit
				c.DiffCI = i18n.Interval(dlo*scale, dhi*scale, dd, lang) + ", p_adj " + i18n.P(cmp.PAdjusted, lang)
				if od := cmp.Ordinal; od != nil {
					c.Ordinal = i18n.T(lang, "report.ordinal", i18n.Num(od.OddsRatio, 2, lang), i18n.Interval(od.CILow, od.CIHigh, 2, lang))
				}
			}
			if cmp.HasMargin {
				c.Margin, c.MarginClass = marginText(o, cmp, res.Experiment, unit, lang)
			}
		}
		r.Cells = append(r.Cells, c)
	}
	return r
}

// levelDecimals suits a kind's numbers: 2 for means on 1..7 scales, 1 for
// points and percentages, and for numeric outcomes 2 below 10, else 1.
func levelDecimals(k experiment.Kind, x float64) int {
	switch k {
	case experiment.Scale:
		return 2
	case experiment.Net, experiment.Composite, experiment.Binary:
		return 1
	}
	if math.Abs(x) < 10 {
		return 2
	}
	return 1
}

// diagnose reads the KRS components of every arm (levels) and of every
// treatment against control (effects).
func diagnose(res experiment.Results, lang string) []diagnosis {
	byKey := map[string]experiment.OutcomeResults{}
	for _, o := range res.Outcomes {
		byKey[o.Outcome.Key] = o
	}
	for _, c := range components {
		if _, ok := byKey[c]; !ok {
			return nil
		}
	}
	control := res.Experiment.Control().Key
	var out []diagnosis
	for _, a := range res.Experiment.Arms {
		var l Levels
		for _, c := range components {
			o := byKey[c]
			v := math.NaN()
			if lo, hi, ok := o.Outcome.Bounds(); ok && hi > lo {
				v = 100 * (o.Arms[a.Key].Mean - lo) / (hi - lo)
			}
			switch c {
			case compSatisfaction:
				l.Satisfaction = v
			case compTrust:
				l.Trust = v
			default:
				l.Love = v
			}
		}
		d := diagnosis{Arm: armNameIn(res.Experiment, a.Key, lang), Levels: LevelDiagnosis(l, lang)}
		if !a.Control {
			eff := map[string]ComponentEffect{}
			for _, c := range components {
				o := byKey[c]
				cmp := o.Comparisons[a.Key]
				diff, _, _ := cmp.Effect()
				eff[c] = ComponentEffect{Verdict: cmp.Verdict, Std: diff / standardizer(o.Outcome.Kind, o.Arms[a.Key], o.Arms[control])}
			}
			d.Effect = EffectDiagnosis(eff, lang)
		}
		if d.Levels != "" || d.Effect != "" {
			out = append(out, d)
		}
	}
	return out
}

func recommendationOf(res experiment.Results, lang string) recommendation {
	e := res.Experiment
	r := res.Recommendation.In(lang)
	rec := recommendation{Class: r.Action, Reason: r.Reason,
		Headline: ActionHeadline(r.Action, armNameIn(e, r.Arm, lang), res.SRM.Mismatch, lang)}
	switch r.Action {
	case stats.ActionRollOut, stats.ActionKeepControl, stats.ActionInvestigate:
	default:
		rec.Class = stats.ActionKeepRunning
	}
	for _, c := range r.Caveats {
		rec.Caveats = append(rec.Caveats, caveatOf(res, c, lang))
	}
	rec.Guardrails = guardrailLines(res, lang)
	if d := e.Decision; d != nil {
		rec.Decision = i18n.T(lang, "report.decision", armNameIn(e, d.Arm, lang), d.DecidedBy, i18n.Date(d.DecidedAt.UTC(), lang), d.Reason)
	}
	return rec
}

// caveatOf says a caveat of the recommendation in words: for differential
// response, the response rates and, per treatment arm, the bounds on the
// primary outcome.
func caveatOf(res experiment.Results, code, lang string) caveat {
	if code != stats.CaveatDifferentialResponse {
		return caveat{Title: i18n.T(lang, "report.caveat", code)}
	}
	e := res.Experiment
	rc := res.ResponseCheck
	cv := caveat{Title: i18n.T(lang, "report.caveat.differential")}
	var rates []string
	for _, a := range e.Arms {
		rates = append(rates, armNameIn(e, a.Key, lang)+" "+rateText(res, a.Key, lang))
	}
	cv.Lines = append(cv.Lines, i18n.T(lang, "report.caveat.rates",
		i18n.List(rates, lang), i18n.Num(float64(rc.Chi2), 2, lang), i18n.PSentence(float64(rc.PValue), lang)))
	for _, o := range res.Outcomes {
		if !o.Primary {
			continue
		}
		for _, t := range treatments(e) {
			cv.Lines = append(cv.Lines, boundsSentence(res, o, t, lang))
		}
	}
	return cv
}

// boundsSentence is e.g. "Because Personal call answered more often than
// Usual handling (61% vs 48%), the effect of Personal call on KRS could be
// as small as +0.4 points or as large as +9.8 points (95% CI −1.3 to +11.5);
// that range includes no effect, so who answered could explain the
// difference."
func boundsSentence(res experiment.Results, o experiment.OutcomeResults, arm, lang string) string {
	e := res.Experiment
	ctrl := e.Control().Key
	name, prim := armNameIn(e, arm, lang), Name(o.Outcome, lang)
	c := o.Comparisons[arm]
	b := c.Bounds
	if b == nil || !c.Sufficient() {
		return i18n.T(lang, "report.bounds.none", name, prim)
	}
	scale, unit := wordUnit(o.Outcome.Kind, lang)
	d := levelDecimals(o.Outcome.Kind, scale*math.Max(math.Abs(b.CILow), math.Abs(b.CIHigh)))
	num := func(x float64) string { return i18n.Signed(scale*x, d, lang) }
	if b.TrimShare == 0 {
		return i18n.T(lang, "report.bounds.same", name, armNameIn(e, ctrl, lang), prim)
	}
	more, less := arm, ctrl
	if b.TrimmedArm == stats.TrimmedControl {
		more, less = ctrl, arm
	}
	// The arms' response rates, as the data quality table shows them; the
	// bounds trim by the rates of answering this outcome, which in the rare
	// case that they order the arms the other way are the ones to show.
	rate := func(a string) float64 { return ratio(res.Arms[a].Responded, res.Arms[a].Assigned) }
	if rate(more) < rate(less) {
		rate = func(a string) float64 { return ratio(o.Arms[a].N, res.Arms[a].Assigned) }
	}
	rMore, rLess := percentPair(rate(more), rate(less), lang)
	s := i18n.T(lang, "report.bounds", armNameIn(e, more, lang), armNameIn(e, less, lang), rMore, rLess, name, prim, num(b.Lower), unit, num(b.Upper), unit,
		ciLevelText(e, lang), num(b.CILow), num(b.CIHigh))
	good := b.CILow > 0
	bad := b.CIHigh < 0
	if !o.Outcome.HigherIsBetter {
		good, bad = bad, good
	}
	switch {
	case good:
		return s + i18n.T(lang, "report.bounds.good")
	case bad:
		return s + i18n.T(lang, "report.bounds.bad")
	}
	return s + i18n.T(lang, "report.bounds.open")
}

// guardrailLines are e.g. "Complaint repeated within 90 days, Personal call:
// no clear difference; shown to be no worse than the margin of 3 percentage
// points (at worst +1.2)".
func guardrailLines(res experiment.Results, lang string) []string {
	e := res.Experiment
	var out []string
	for _, o := range res.Outcomes {
		if !o.Guardrail {
			continue
		}
		_, unit := wordUnit(o.Outcome.Kind, lang)
		for _, t := range treatments(e) {
			c, ok := o.Comparisons[t]
			if !ok {
				continue
			}
			line := Name(o.Outcome, lang) + ", " + armNameIn(e, t, lang) + ": " + verdictText(c.Verdict, lang)
			if c.HasMargin {
				m, _ := marginText(o, c, e, unit, lang)
				line += "; " + m
			}
			out = append(out, line)
		}
	}
	return out
}

// marginText says whether a guardrail's margin held, in unit: "shown to be
// no worse than the margin of 3 pp (at worst +1.2)", with the class held or
// unheld ("" when there is too little data to test it).
func marginText(o experiment.OutcomeResults, c stats.Comparison, e experiment.Experiment, unit, lang string) (text, class string) {
	scale, _ := displayUnit(o.Outcome.Kind, lang)
	ni := c.NonInferiority
	if ni == nil {
		m := e.GuardrailMargins[o.Outcome.Key]
		return i18n.T(lang, "report.margin.untested", marginNum(scale*m, o.Outcome.Kind, lang), unit), ""
	}
	m := marginNum(scale*ni.Margin, o.Outcome.Kind, lang)
	worst := i18n.Signed(scale*ni.Bound, levelDecimals(o.Outcome.Kind, scale*ni.Bound), lang)
	if ni.Holds {
		return i18n.T(lang, "report.margin.held", m, unit, worst), "held"
	}
	return i18n.T(lang, "report.margin.unheld", m, unit, worst), "unheld"
}

// marginNum writes a margin as the team set it: whole numbers without decimals.
func marginNum(x float64, k experiment.Kind, lang string) string {
	if x == math.Trunc(x) {
		return i18n.Num(x, 0, lang)
	}
	return i18n.Num(x, levelDecimals(k, x), lang)
}

// wordUnit is how a kind's differences read in a sentence, as in the
// recommendation's reason: rates in percentage points, numeric outcomes in
// their own unit, the rest in points.
func wordUnit(k experiment.Kind, lang string) (scale float64, unit string) {
	switch k {
	case experiment.Binary:
		return 100, i18n.T(lang, "unit.pp")
	case experiment.Numeric:
		return 1, ""
	}
	return 1, i18n.T(lang, "unit.points")
}

// rateText is an arm's response rate (responded / assigned) in whole percent.
func rateText(res experiment.Results, arm, lang string) string {
	n := res.Arms[arm]
	return i18n.Percent(ratio(n.Responded, n.Assigned), 0, lang)
}

// percentPair writes two rates in whole percent, or with a decimal when
// whole percents would not tell them apart.
func percentPair(a, b float64, lang string) (string, string) {
	ta, tb := i18n.Percent(a, 0, lang), i18n.Percent(b, 0, lang)
	if ta == tb && a != b {
		ta, tb = i18n.Percent(a, 1, lang), i18n.Percent(b, 1, lang)
	}
	return ta, tb
}

// ratio is n/of, NaN when of is 0.
func ratio(n, of int64) float64 {
	if of == 0 {
		return math.NaN()
	}
	return float64(n) / float64(of)
}

// ciLevelText is the experiment's confidence level, "95%".
func ciLevelText(e experiment.Experiment, lang string) string {
	return i18n.Percent(1-alphaOf(e), 0, lang)
}

func qualityOf(res experiment.Results, lang string) quality {
	q := quality{Class: "ok"}
	s := res.SRM
	switch {
	case math.IsNaN(float64(s.PValue)):
		q.Class = "na"
		q.Verdict = i18n.T(lang, "report.quality.srm.none")
	case s.Mismatch:
		q.Class = "bad"
		q.Verdict = i18n.T(lang, "report.quality.srm.mismatch")
	default:
		q.Verdict = i18n.T(lang, "report.quality.srm.ok")
	}
	q.SRM = i18n.T(lang, "report.quality.chi2", i18n.Num(float64(s.Chi2), 2, lang), s.DF, i18n.PSentence(float64(s.PValue), lang))
	rc := res.ResponseCheck
	q.ResponseClass = "ok"
	switch {
	case math.IsNaN(float64(rc.PValue)):
		q.ResponseClass = "na"
		q.Response = i18n.T(lang, "report.quality.response.none")
	case rc.Differential:
		q.ResponseClass = "bad"
		q.Response = i18n.T(lang, "report.quality.response.differs")
	default:
		q.Response = i18n.T(lang, "report.quality.response.ok")
	}
	q.ResponseStat = i18n.T(lang, "report.quality.chi2", i18n.Num(float64(rc.Chi2), 2, lang), rc.DF, i18n.PSentence(float64(rc.PValue), lang))
	var wsum float64
	for _, a := range res.Experiment.Arms {
		wsum += a.Weight
	}
	for _, a := range res.Experiment.Arms {
		n := res.Arms[a.Key]
		t := armTraffic{Arm: armNameIn(res.Experiment, a.Key, lang), Assigned: i18n.Count(n.Assigned, lang), Responded: i18n.Count(n.Responded, lang),
			Expected: i18n.Percent(a.Weight/wsum, 1, lang), Rate: i18n.Percent(ratio(n.Responded, n.Assigned), 1, lang)}
		q.Arms = append(q.Arms, t)
	}
	return q
}

func verdictText(v stats.Verdict, lang string) string {
	switch v {
	case stats.VerdictBetter:
		return i18n.T(lang, "report.verdict.better")
	case stats.VerdictWorse:
		return i18n.T(lang, "report.verdict.worse")
	case stats.VerdictInconclusive:
		return i18n.T(lang, "report.verdict.inconclusive")
	}
	return i18n.T(lang, "report.verdict.insufficient")
}

// statusText is an experiment's status in words (report.status.<status>); an
// unknown status as it is.
func statusText(s experiment.Status, lang string) string {
	if id := "report.status." + string(s); i18n.Has(id) {
		return i18n.T(lang, id)
	}
	return string(s)
}

func correctionText(c, lang string) string {
	switch c {
	case "bh":
		return "Benjamini-Hochberg"
	case "none":
		return i18n.T(lang, "report.correction.none")
	}
	return "Holm-Bonferroni"
}

// uiNames are the page's fixed texts as the template reads them (.T.<name>),
// each the message report.ui.<name>.
var uiNames = []string{"title", "recommend", "why", "effects", "effects_intro", "effects_alt", "diagnosis", "levels",
	"effect", "outcome", "timeline", "timeline_intro", "timeline_alt", "quality", "srm", "arm", "expected", "assigned",
	"responded", "rate", "control_note", "computed", "hypothesis", "guardrails", "response_check", "ordinal_note"}

// uiText are the page's fixed texts in lang.
func uiText(lang string) map[string]string {
	t := make(map[string]string, len(uiNames))
	for _, n := range uiNames {
		t[n] = i18n.T(lang, "report.ui."+n)
	}
	return t
}
