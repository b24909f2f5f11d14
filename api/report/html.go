package report

import (
	_ "embed"
	"encoding/base64"
	"fmt"
	"html/template"
	"io"
	"math"

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
	Tags           []string
	Cells          []tableCell
}

type tableCell struct {
	Level, CI, N string
	Diff, DiffCI string
	Verdict      string
	Class        string
}

type quality struct {
	Class, Verdict, SRM string
	Arms                []armTraffic
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
		ps.Arms = append(ps.Arms, a.Key)
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
	if o.Primary {
		r.Tags = append(r.Tags, pick(lang, "primary", "primair"))
	}
	if o.Guardrail {
		r.Tags = append(r.Tags, pick(lang, "guardrail", "vangrail"))
	}
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
		d := diagnosis{Arm: a.Key, Levels: LevelDiagnosis(l, lang)}
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
	r := res.Recommendation.In(lang)
	rec := recommendation{Class: r.Action, Reason: r.Reason}
	switch r.Action {
	case stats.ActionRollOut:
		rec.Headline = pick(lang, "Roll out ", "Rol uit: ") + r.Arm
	case stats.ActionKeepControl:
		rec.Headline = pick(lang, "Keep control", "Houd de controle aan")
	case stats.ActionInvestigate:
		rec.Headline = pick(lang, "Investigate the split before reading any effect", "Onderzoek eerst de verdeling over de varianten")
	default:
		rec.Class = stats.ActionKeepRunning
		rec.Headline = pick(lang, "Keep running", "Laat het experiment doorlopen")
	}
	if d := res.Experiment.Decision; d != nil {
		rec.Decision = fmt.Sprintf("%s %s (%s, %s): %s", pick(lang, "Decided:", "Besloten:"), d.Arm, d.DecidedBy,
			d.DecidedAt.UTC().Format("2006-01-02"), d.Reason)
	}
	return rec
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
	q.SRM = fmt.Sprintf("χ² = %s, df = %d, p = %s", numText(float64(s.Chi2), 2, lang), s.DF, pText(float64(s.PValue), lang))
	var wsum float64
	for _, a := range res.Experiment.Arms {
		wsum += a.Weight
	}
	for _, a := range res.Experiment.Arms {
		n := res.Arms[a.Key]
		t := armTraffic{Arm: a.Key, Assigned: fmt.Sprint(n.Assigned), Responded: fmt.Sprint(n.Responded), Rate: "–"}
		t.Expected = numText(100*a.Weight/wsum, 1, lang) + "%"
		if n.Assigned > 0 {
			t.Rate = numText(100*float64(n.Responded)/float64(n.Assigned), 1, lang) + "%"
		}
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
		"effects_intro":  "Every outcome for every arm against control, on one standardized scale. Filled dots are significant after correction for multiple comparisons.",
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
	}
	if lang != plot.Dutch {
		return en
	}
	return map[string]string{
		"title":          "Experimentrapport",
		"recommend":      "Advies",
		"why":            "Waarom",
		"effects":        "Effecten in één oogopslag",
		"effects_intro":  "Elke uitkomst voor elke variant ten opzichte van controle, op één gestandaardiseerde schaal. Gevulde stippen zijn significant na correctie voor meervoudig toetsen.",
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
	}
}
