package report

import (
	_ "embed"
	"encoding/base64"
	"fmt"
	"html/template"
	"io"
	"math"
	"strings"

	"github.com/krslab/krslab/experiment"
	"github.com/krslab/krslab/stats"
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
	if lang != plot.Dutch {
		lang = plot.English
	}
	p, err := newPage(res, timeline, lang)
	if err != nil {
		return err
	}
	return pageTemplate.Execute(w, p)
}

// Figure widths in CSS pixels: the page's text column is 920 px wide.
// Figures are rendered at twice the density for print and sharp screens.
const (
	pageWidth = 920
	halfWidth = 452
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

func newPage(res experiment.Results, timeline []experiment.TimelinePoint, lang string) (page, error) {
	e := res.Experiment
	p := page{Lang: lang, T: uiText(lang), Name: e.Name, Hypothesis: e.Hypothesis}
	if p.Name == "" {
		p.Name = e.Key
	}
	p.Meta = fmt.Sprintf("%s · %s · α = %s · %s", e.Key, statusText(e.Status, lang),
		numText(alphaOf(e), 2, lang), correctionText(e.Correction, lang))
	p.Computed = res.ComputedAt.UTC().Format("2006-01-02 15:04 UTC")
	p.Rec = recommendationOf(res, lang)

	var err error
	eff := EffectsOf(res, lang)
	rows := len(eff.Rows)
	for i := range eff.Rows {
		if i == 0 || eff.Rows[i].Group != eff.Rows[i-1].Group {
			rows++
		}
	}
	p.Effects, err = render(func(o plot.Options) ([]byte, error) { return plot.Effects(eff, o) },
		pageWidth, min(plot.MaxHeight, 170+24*rows), lang, p.T["effects_alt"])
	if err != nil {
		return p, err
	}
	for _, s := range sections(res, lang) {
		ps, err := newSection(res, s, lang)
		if err != nil {
			return p, err
		}
		p.Sections = append(p.Sections, ps)
	}
	tl := TimelineOf(res, timeline, lang)
	p.Timeline, err = render(func(o plot.Options) ([]byte, error) { return plot.Timeline(tl, o) },
		pageWidth, 360+180*((len(tl.Series)-1)/3), lang, p.T["timeline_alt"])
	if err != nil {
		return p, err
	}
	p.Quality = qualityOf(res, lang)
	return p, nil
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

func newSection(res experiment.Results, s section, lang string) (pageSection, error) {
	ps := pageSection{Title: s.title}
	for _, a := range res.Experiment.Arms {
		ps.Arms = append(ps.Arms, armName(res.Experiment, a.Key))
	}
	switch ps.ID = s.id; s.id {
	case "krs":
		ps.Intro = pick(lang, "The KlantRelatieScore (0–100) and its three components (1–7) per arm. The KRS deepens NPS: read the components to see what moved.",
			"De KlantRelatieScore (0–100) en haar drie componenten (1–7) per variant. De KRS verdiept de NPS: lees de componenten om te zien wat bewoog.")
		ps.Diagnosis = diagnose(res, lang)
	case "blocks":
		ps.Intro = pick(lang, "The five building blocks of a lasting relationship.", "De vijf bouwstenen van een duurzame relatie.")
	case "loyalty":
		ps.Intro = pick(lang, "Net scores from −100 to +100: NPS = % promoters − % detractors; CES = % easy (6–7) − % difficult (1–3).",
			"Netto-scores van −100 tot +100: NPS = % promotors − % criticasters; CES = % makkelijk (6–7) − % moeilijk (1–3).")
	}
	for _, o := range s.outcomes {
		ps.Rows = append(ps.Rows, newRow(res, o, lang))
		d, err := DistributionOf(res, o.Outcome.Key, lang)
		if err != nil {
			return ps, err
		}
		h := 150 + 62*len(d.Arms)
		if d.Segments != nil {
			h += 20
		}
		f, err := render(func(op plot.Options) ([]byte, error) { return plot.Distribution(d, op) }, halfWidth, h, lang, d.Title)
		if err != nil {
			return ps, err
		}
		ps.Figures = append(ps.Figures, f)
	}
	return ps, nil
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
		c := tableCell{N: fmt.Sprintf("n = %d", s.N)}
		est, lo, hi := s.Estimate(), s.CILow, s.CIHigh
		if o.Outcome.Kind == experiment.Binary {
			est, lo, hi = 100*est, 100*lo, 100*hi
		}
		d := levelDecimals(o.Outcome.Kind, est)
		c.Level = numText(est, d, lang)
		if o.Outcome.Kind == experiment.Net {
			c.Level = signedText(est, d, lang)
		}
		if o.Outcome.Kind == experiment.Binary && !math.IsNaN(est) {
			c.Level += "%"
		}
		if !math.IsNaN(lo) {
			c.CI = "[" + numText(lo, d, lang) + sep(lang) + numText(hi, d, lang) + "]"
		}
		if cmp, ok := o.Comparisons[a.Key]; ok && !a.Control {
			c.Verdict, c.Class = verdictText(cmp.Verdict, lang), string(cmp.Verdict)
			if cmp.Sufficient() {
				diff, dlo, dhi := cmp.Effect()
				dd := levelDecimals(o.Outcome.Kind, diff*scale)
				c.Diff = signedText(diff*scale, dd, lang) + unit
				c.DiffCI = "[" + numText(dlo*scale, dd, lang) + sep(lang) + numText(dhi*scale, dd, lang) + "], p_adj " + pText(cmp.PAdjusted, lang)
				if od := cmp.Ordinal; od != nil {
					c.Ordinal = pick(lang, "odds of a higher answer ×", "odds op een hoger antwoord ×") + fmt2(od.OddsRatio, lang) +
						" [" + fmt2(od.CILow, lang) + sep(lang) + fmt2(od.CIHigh, lang) + "]"
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

func levelDecimals(k experiment.Kind, x float64) int {
	switch k {
	case experiment.Scale:
		return 2
	case experiment.Net, experiment.Composite, experiment.Binary:
		return 1
	}
	return decimals(x)
}

func sep(lang string) string { return pick(lang, ", ", "; ") }

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
		d := diagnosis{Arm: armName(res.Experiment, a.Key), Levels: LevelDiagnosis(l, lang)}
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
	rec := recommendation{Class: r.Action, Reason: r.Reason}
	switch r.Action {
	case stats.ActionRollOut:
		rec.Headline = pick(lang, "Roll out ", "Rol uit: ") + armName(e, r.Arm)
	case stats.ActionKeepControl:
		rec.Headline = pick(lang, "Keep control", "Houd de controle aan")
	case stats.ActionInvestigate:
		rec.Headline = pick(lang, "Investigate who answered before deciding", "Onderzoek eerst wie er reageerde")
		if res.SRM.Mismatch {
			rec.Headline = pick(lang, "Investigate the split before reading any effect", "Onderzoek eerst de verdeling over de varianten")
		}
	default:
		rec.Class = stats.ActionKeepRunning
		rec.Headline = pick(lang, "Keep running", "Laat het experiment doorlopen")
	}
	for _, c := range r.Caveats {
		rec.Caveats = append(rec.Caveats, caveatOf(res, c, lang))
	}
	rec.Guardrails = guardrailLines(res, lang)
	if d := e.Decision; d != nil {
		rec.Decision = fmt.Sprintf("%s %s (%s, %s): %s", pick(lang, "Decided:", "Besloten:"), armName(e, d.Arm), d.DecidedBy,
			d.DecidedAt.UTC().Format("2006-01-02"), d.Reason)
	}
	return rec
}

// caveatOf says a caveat of the recommendation in words: for differential
// response, the response rates and, per treatment arm, the bounds on the
// primary outcome.
func caveatOf(res experiment.Results, code, lang string) caveat {
	if code != stats.CaveatDifferentialResponse {
		return caveat{Title: pick(lang, "Caveat: ", "Kanttekening: ") + code}
	}
	e := res.Experiment
	rc := res.ResponseCheck
	cv := caveat{Title: pick(lang, "The arms answered the survey at different rates", "De varianten reageerden in verschillende mate op de enquête")}
	var rates []string
	for _, a := range e.Arms {
		rates = append(rates, armName(e, a.Key)+" "+rateText(res, a.Key, lang))
	}
	cv.Lines = append(cv.Lines, fmt.Sprintf(pick(lang,
		"Response rates: %s (χ² = %s, p %s). The effects compare the customers who chose to answer, and who answers can itself depend on the arm.",
		"Responspercentages: %s (χ² = %s, p %s). De effecten vergelijken de klanten die wilden antwoorden, en wie antwoordt kan zelf van de variant afhangen."),
		joinList(rates, lang), fmt2(float64(rc.Chi2), lang), pSentence(float64(rc.PValue), lang)))
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
	name, prim := armName(e, arm), Name(o.Outcome, lang)
	c := o.Comparisons[arm]
	b := c.Bounds
	if b == nil || !c.Sufficient() {
		return fmt.Sprintf(pick(lang, "For %s no bounds on %s can be computed (too few answers).",
			"Voor %s zijn geen grenzen op %s te berekenen (te weinig antwoorden)."), name, prim)
	}
	scale, unit := wordUnit(o.Outcome.Kind, lang)
	d := levelDecimals(o.Outcome.Kind, scale*math.Max(math.Abs(b.CILow), math.Abs(b.CIHigh)))
	num := func(x float64) string { return signedText(scale*x, d, lang) }
	if b.TrimShare == 0 {
		return fmt.Sprintf(pick(lang, "%s answered just as often as %s, so who answered does not change its effect on %s.",
			"%s reageerde precies even vaak als %s, dus wie er reageerde verandert het effect op %s niet."),
			name, armName(e, ctrl), prim)
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
	s := fmt.Sprintf(pick(lang, "Because %s answered more often than %s (%s vs %s), the effect of %s on %s could be as small as %s%s or as large as %s%s (%s CI %s to %s)",
		"Omdat %s vaker reageerde dan %s (%s tegen %s), kan het effect van %s op %s zo klein zijn als %s%s of zo groot als %s%s (%s-BI %s tot %s)"),
		armName(e, more), armName(e, less), rMore, rLess, name, prim, num(b.Lower), unit, num(b.Upper), unit,
		ciLevelText(e, lang), num(b.CILow), num(b.CIHigh))
	good := b.CILow > 0
	bad := b.CIHigh < 0
	if !o.Outcome.HigherIsBetter {
		good, bad = bad, good
	}
	switch {
	case good:
		return s + pick(lang, "; even at its least favourable the effect stays on the good side of zero, so who answered cannot explain it away.",
			"; ook in het minst gunstige geval blijft het effect aan de goede kant van nul, dus wie er reageerde verklaart het niet weg.")
	case bad:
		return s + pick(lang, "; even at its most favourable the effect stays on the bad side of zero.",
			"; ook in het gunstigste geval blijft het effect aan de slechte kant van nul.")
	}
	return s + pick(lang, "; that range includes no effect, so who answered could explain the difference.",
		"; dat bereik omvat geen effect, dus wie er reageerde kan het verschil verklaren.")
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
			line := Name(o.Outcome, lang) + ", " + armName(e, t) + ": " + verdictText(c.Verdict, lang)
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
		return fmt.Sprintf(pick(lang, "too few answers to test the margin of %s%s", "te weinig antwoorden om de marge van %s%s te toetsen"),
			marginNum(scale*m, o.Outcome.Kind, lang), unit), ""
	}
	m := marginNum(scale*ni.Margin, o.Outcome.Kind, lang)
	worst := signedText(scale*ni.Bound, levelDecimals(o.Outcome.Kind, scale*ni.Bound), lang)
	if ni.Holds {
		return fmt.Sprintf(pick(lang, "shown to be no worse than the margin of %s%s (at worst %s)", "aantoonbaar niet slechter dan de marge van %s%s (in het slechtste geval %s)"),
			m, unit, worst), "held"
	}
	return fmt.Sprintf(pick(lang, "not yet shown to be no worse than the margin of %s%s (at worst %s)", "nog niet aantoonbaar niet slechter dan de marge van %s%s (in het slechtste geval %s)"),
		m, unit, worst), "unheld"
}

// marginNum writes a margin as the team set it: whole numbers without decimals.
func marginNum(x float64, k experiment.Kind, lang string) string {
	if x == math.Trunc(x) {
		return numText(x, 0, lang)
	}
	return numText(x, levelDecimals(k, x), lang)
}

// wordUnit is how a kind's differences read in a sentence, as in the
// recommendation's reason: rates in percentage points, numeric outcomes in
// their own unit, the rest in points.
func wordUnit(k experiment.Kind, lang string) (scale float64, unit string) {
	switch k {
	case experiment.Binary:
		return 100, pick(lang, " percentage points", " procentpunten")
	case experiment.Numeric:
		return 1, ""
	}
	return 1, pick(lang, " points", " punten")
}

// rateText is an arm's response rate (responded / assigned) in whole percent.
func rateText(res experiment.Results, arm, lang string) string {
	n := res.Arms[arm]
	return percentText(ratio(n.Responded, n.Assigned), 0, lang)
}

// percentPair writes two rates in whole percent, or with a decimal when
// whole percents would not tell them apart.
func percentPair(a, b float64, lang string) (string, string) {
	ta, tb := percentText(a, 0, lang), percentText(b, 0, lang)
	if ta == tb && a != b {
		ta, tb = percentText(a, 1, lang), percentText(b, 1, lang)
	}
	return ta, tb
}

func percentText(share float64, decimals int, lang string) string {
	if math.IsNaN(share) {
		return "–"
	}
	return numText(100*share, decimals, lang) + "%"
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
	return numText(100*(1-alphaOf(e)), 0, lang) + "%"
}

// pSentence is "= 0.004" or "< 0.001", for "p %s" in a sentence.
func pSentence(p float64, lang string) string {
	t := pText(p, lang)
	if strings.HasPrefix(t, "<") {
		return t
	}
	return "= " + t
}

// joinList is "a, b and c" (nl "a, b en c").
func joinList(xs []string, lang string) string {
	if len(xs) < 2 {
		return strings.Join(xs, "")
	}
	return strings.Join(xs[:len(xs)-1], ", ") + pick(lang, " and ", " en ") + xs[len(xs)-1]
}

func qualityOf(res experiment.Results, lang string) quality {
	q := quality{Class: "ok"}
	s := res.SRM
	switch {
	case math.IsNaN(float64(s.PValue)):
		q.Class = "na"
		q.Verdict = pick(lang, "No assignments to check yet.", "Nog geen toewijzingen om te controleren.")
	case s.Mismatch:
		q.Class = "bad"
		q.Verdict = pick(lang, "Sample ratio mismatch: the assigned counts do not match the arm weights, so the split is broken and no effect can be trusted.",
			"Sample ratio mismatch: de aantallen per variant passen niet bij de gewichten; de verdeling is stuk en geen effect is te vertrouwen.")
	default:
		q.Verdict = pick(lang, "The assigned counts match the arm weights (no sample ratio mismatch).",
			"De aantallen per variant passen bij de gewichten (geen sample ratio mismatch).")
	}
	q.SRM = fmt.Sprintf("χ² = %s, df = %d, p %s", numText(float64(s.Chi2), 2, lang), s.DF, pSentence(float64(s.PValue), lang))
	rc := res.ResponseCheck
	q.ResponseClass = "ok"
	switch {
	case math.IsNaN(float64(rc.PValue)):
		q.ResponseClass = "na"
		q.Response = pick(lang, "No response rates to compare yet.", "Nog geen responspercentages om te vergelijken.")
	case rc.Differential:
		q.ResponseClass = "bad"
		q.Response = pick(lang, "The arms answered the survey at different rates, so the customers who answered may not be comparable between the arms; the recommendation gives the bounds on the primary outcome.",
			"De varianten reageerden in verschillende mate op de enquête, dus de klanten die antwoordden zijn mogelijk niet vergelijkbaar tussen de varianten; het advies geeft de grenzen op de primaire uitkomst.")
	default:
		q.Response = pick(lang, "The arms answered the survey at similar rates (no differential response).",
			"De varianten reageerden in vergelijkbare mate op de enquête (geen verschil in respons).")
	}
	q.ResponseStat = fmt.Sprintf("χ² = %s, df = %d, p %s", numText(float64(rc.Chi2), 2, lang), rc.DF, pSentence(float64(rc.PValue), lang))
	var wsum float64
	for _, a := range res.Experiment.Arms {
		wsum += a.Weight
	}
	for _, a := range res.Experiment.Arms {
		n := res.Arms[a.Key]
		t := armTraffic{Arm: armName(res.Experiment, a.Key), Assigned: fmt.Sprint(n.Assigned), Responded: fmt.Sprint(n.Responded),
			Expected: percentText(a.Weight/wsum, 1, lang), Rate: percentText(ratio(n.Responded, n.Assigned), 1, lang)}
		q.Arms = append(q.Arms, t)
	}
	return q
}

func verdictText(v stats.Verdict, lang string) string {
	switch v {
	case stats.VerdictBetter:
		return pick(lang, "better", "beter")
	case stats.VerdictWorse:
		return pick(lang, "worse", "slechter")
	case stats.VerdictInconclusive:
		return pick(lang, "no clear difference", "geen duidelijk verschil")
	}
	return pick(lang, "too few answers", "te weinig antwoorden")
}

func statusText(s experiment.Status, lang string) string {
	nl := map[experiment.Status]string{experiment.Draft: "concept", experiment.Running: "loopt",
		experiment.Stopped: "gestopt", experiment.Decided: "besloten"}
	if lang == plot.Dutch && nl[s] != "" {
		return nl[s]
	}
	return string(s)
}

func correctionText(c, lang string) string {
	switch c {
	case "bh":
		return "Benjamini-Hochberg"
	case "none":
		return pick(lang, "no correction", "geen correctie")
	}
	return "Holm-Bonferroni"
}

// uiText are the page's fixed texts.
func uiText(lang string) map[string]string {
	en := map[string]string{
		"title":          "Experiment report",
		"recommend":      "Recommendation",
		"why":            "Why",
		"effects":        "Effects at a glance",
		"effects_intro":  "Every outcome for every arm against control, on one standardized scale, the primary outcome and the guardrails tagged. Filled dots are significant after correction for multiple comparisons; a dashed tick is a guardrail's margin.",
		"effects_alt":    "Forest plot of standardized effects per outcome and arm",
		"diagnosis":      "Diagnosis",
		"levels":         "Level",
		"effect":         "Effect versus control",
		"outcome":        "Outcome",
		"timeline":       "The primary outcome over time",
		"timeline_intro": "The difference with control as answers came in. The light band is the always-valid interval: it stays valid however often you look, so only stop early when it excludes zero.",
		"timeline_alt":   "Cumulative difference of the primary outcome by day",
		"quality":        "Data quality",
		"srm":            "Sample ratio check",
		"arm":            "Arm",
		"expected":       "Expected share",
		"assigned":       "Assigned",
		"responded":      "Responded",
		"rate":           "Response rate",
		"control_note":   "Levels: mean (scale 1–7, composite 0–100), net score, or rate, with the confidence interval. Effects are each treatment minus control.",
		"computed":       "Computed",
		"hypothesis":     "Hypothesis",
		"guardrails":     "Guardrails",
		"response_check": "Response check (did the arms answer at different rates?)",
		"ordinal_note":   "Odds of a higher answer (scale and net outcomes): the proportional-odds ratio of treatment to control, a check that uses only the order of the answers; above 1, treated customers tend to answer higher.",
	}
	if lang != plot.Dutch {
		return en
	}
	return map[string]string{
		"title":          "Experimentrapport",
		"recommend":      "Advies",
		"why":            "Waarom",
		"effects":        "Effecten in één oogopslag",
		"effects_intro":  "Elke uitkomst voor elke variant ten opzichte van controle, op één gestandaardiseerde schaal, met de primaire uitkomst en de vangrails gemarkeerd. Gevulde stippen zijn significant na correctie voor meervoudig toetsen; een gestippeld streepje is de marge van een vangrail.",
		"effects_alt":    "Forest plot van gestandaardiseerde effecten per uitkomst en variant",
		"diagnosis":      "Diagnose",
		"levels":         "Niveau",
		"effect":         "Effect t.o.v. controle",
		"outcome":        "Uitkomst",
		"timeline":       "De primaire uitkomst door de tijd",
		"timeline_intro": "Het verschil met controle naarmate de antwoorden binnenkwamen. De lichte band is het altijd-geldige interval: het blijft geldig hoe vaak je ook kijkt, dus stop alleen eerder als het nul uitsluit.",
		"timeline_alt":   "Cumulatief verschil van de primaire uitkomst per dag",
		"quality":        "Datakwaliteit",
		"srm":            "Controle van de verdeling",
		"arm":            "Variant",
		"expected":       "Verwacht aandeel",
		"assigned":       "Toegewezen",
		"responded":      "Gereageerd",
		"rate":           "Responspercentage",
		"control_note":   "Niveaus: gemiddelde (schaal 1–7, samengesteld 0–100), netto-score of percentage, met betrouwbaarheidsinterval. Effecten zijn telkens variant min controle.",
		"computed":       "Berekend",
		"hypothesis":     "Hypothese",
		"guardrails":     "Vangrails",
		"response_check": "Responscontrole (reageerden de varianten in verschillende mate?)",
		"ordinal_note":   "Odds op een hoger antwoord (schaal- en netto-uitkomsten): de proportionele-oddsratio van variant tegen controle, een toets die alleen de volgorde van de antwoorden gebruikt; boven 1 antwoorden klanten in de variant vaker hoger.",
	}
}
