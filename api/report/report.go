// Package report turns an experiment's results into what analysts and
// product owners take away: the figures of stats/plot, results.csv and the
// self-contained report.html.
//
// # Standardized effects
//
// The forest plot puts differences on different scales (a 1..7 mean, a
// 0..100 composite, a -100..100 net score, a rate) on one axis by dividing
// each difference and its interval by a standard deviation, in the spirit
// of Cohen's d:
//
//   - scale, numeric, composite: the pooled SD of the two arms, so the
//     point is exactly the comparison's cohens_d (for a CUPED comparison the
//     CUPED difference over the same unadjusted pooled SD);
//   - net: the control arm's SD of the per-answer net indicator (+1 promoter,
//     0 passive, -1 detractor), 100*sqrt(P + D - (P-D)^2) in score points:
//     the net score is 100 times that indicator's mean, so this is Glass's
//     delta on the very variable the score averages;
//   - binary: the control arm's sqrt(p(1-p)), the SD of the 0/1 answers.
//
// When the control's SD is 0 (all answers alike), net and binary use both
// arms pooled instead. The row label always shows the raw difference.
//
// # The effect shown
//
// Everywhere (CSV, forest plot, tables) the difference and interval are
// stats.Comparison.Effect(): CUPED's when present, since its p-value is the
// one that entered the multiple-comparison family and decided the verdict.
// The forest plot marks CUPED's rows, tags the primary outcome and the
// guardrails, and draws a guardrail's margin divided by the same standard
// deviation as its effect, so that the tick and the interval share the axis.
//
// # Survey-aware reading
//
// report.html says in words what a product owner needs of STATS.md's second
// part: the recommendation's reason in the page's language and its caveats
// (when the arms answered at different rates: the response rates by arm
// name and, per treatment arm, the bounds on the primary outcome), each
// guardrail with a margin as shown or not yet shown to be no worse than it,
// the response check beside the sample ratio check, and the ordinal odds
// ratio under scale and net effects. Every label, sentence and number comes
// from stats/i18n, the catalogue and formats the figures and the
// recommendation's reason use too.
package report

import (
	"math"
	"slices"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/krslab/krslab/experiment"
	"github.com/krslab/krslab/stats"
	"github.com/krslab/krslab/stats/i18n"
	"github.com/krslab/krslab/stats/plot"
)

// Groups of the forest plot and the report, in DOMAIN.md's reading order.
// Trust belongs to both the KRS and the building blocks and is shown in both.
// Each group's title is the message report.group.<id>.
var groups = []struct {
	id   string
	keys []string
}{
	{"krs", []string{"krs", "satisfaction", "trust", "love"}},
	{"blocks", []string{"trust", "involvement", "freedom_of_choice", "fairness", "influence"}},
	{"loyalty", []string{"nps", "ces"}},
}

// Name is an outcome's short name in lang (experiment.Outcome.Name): the
// built-in's name, else its label (Dutch label for nl when set), else its key.
func Name(o experiment.Outcome, lang string) string { return o.Name(lang) }

// Question is the outcome's label in lang (for built-ins, the survey question).
func Question(o experiment.Outcome, lang string) string {
	if i18n.Normalize(lang) == i18n.Dutch && o.LabelNL != "" {
		return o.LabelNL
	}
	return o.Label
}

// pick is en or nl by lang, for a text that is not a message of stats/i18n.
func pick(lang, en, nl string) string {
	if i18n.Normalize(lang) == i18n.Dutch {
		return nl
	}
	return en
}

// section is one group of outcome results as shown.
type section struct {
	id, title string
	outcomes  []experiment.OutcomeResults
}

// sections groups the analysed outcomes: the three domain groups, then the
// rest in analysis order. Empty groups are left out.
func sections(res experiment.Results, lang string) []section {
	byKey := map[string]experiment.OutcomeResults{}
	for _, o := range res.Outcomes {
		byKey[o.Outcome.Key] = o
	}
	grouped := map[string]bool{}
	var out []section
	for _, g := range groups {
		s := section{id: g.id, title: i18n.T(lang, "report.group."+g.id)}
		for _, k := range g.keys {
			if o, ok := byKey[k]; ok {
				s.outcomes = append(s.outcomes, o)
				grouped[k] = true
			}
		}
		if len(s.outcomes) > 0 {
			out = append(out, s)
		}
	}
	rest := section{id: "other", title: i18n.T(lang, "report.group.other")}
	for _, o := range res.Outcomes {
		if !grouped[o.Outcome.Key] {
			rest.outcomes = append(rest.outcomes, o)
		}
	}
	if len(rest.outcomes) > 0 {
		out = append(out, rest)
	}
	return out
}

// treatments are the experiment's arms other than control, in order.
func treatments(e experiment.Experiment) []string {
	var ts []string
	for _, a := range e.Arms {
		if !a.Control {
			ts = append(ts, a.Key)
		}
	}
	return ts
}

// alphaOf is the experiment's alpha, 0.05 when unset.
func alphaOf(e experiment.Experiment) float64 {
	if e.Alpha > 0 && e.Alpha < 1 {
		return e.Alpha
	}
	return stats.DefaultAlpha
}

// armName is how readers know an arm: its name, else its key; a name two
// arms share gets the key beside it, so that no two rows read alike.
func armName(e experiment.Experiment, key string) string {
	a, ok := e.Arm(key)
	if !ok || a.Name == "" {
		return key
	}
	for _, b := range e.Arms {
		if b.Key != key && b.Name == a.Name {
			return a.Name + " (" + key + ")"
		}
	}
	return a.Name
}

// armNameIn is armName for a page or figure in lang: a control arm without a
// name is the control, in lang's word for it, rather than its key.
func armNameIn(e experiment.Experiment, key, lang string) string {
	if a, ok := e.Arm(key); ok && a.Control && a.Name == "" {
		return i18n.T(lang, "arm.control")
	}
	return armName(e, key)
}

// roleTags mark the primary outcome and the guardrails, in the forest plot
// and in the report's tables alike.
func roleTags(o experiment.OutcomeResults, lang string) []plot.Tag {
	var tags []plot.Tag
	if o.Primary {
		tags = append(tags, plot.Tag{Text: i18n.T(lang, "report.tag.primary"), Strong: true})
	}
	if o.Guardrail {
		tags = append(tags, plot.Tag{Text: i18n.T(lang, "report.tag.guardrail")})
	}
	return tags
}

// marginTag says on a forest plot row whether a guardrail's margin held;
// false when the comparison has no margin test.
func marginTag(c stats.Comparison, lang string) (plot.Tag, bool) {
	switch {
	case c.NonInferiority == nil:
		return plot.Tag{}, false
	case c.NonInferiority.Holds:
		return plot.Tag{Text: i18n.T(lang, "report.tag.margin_held")}, true
	}
	return plot.Tag{Text: i18n.T(lang, "report.tag.margin_not_shown")}, true
}

// EffectsOf is the forest plot's input: one row per (outcome, treatment
// arm), grouped as KRS, building blocks, loyalty, then other outcomes, arms
// by their names, the primary outcome and the guardrails tagged, and a
// guardrail's margin (divided by the row's standard deviation) drawn where
// the experiment has one.
func EffectsOf(res experiment.Results, lang string) plot.EffectsInput {
	in := plot.EffectsInput{Title: i18n.T(lang, "plot.effects.title"), CILevel: 1 - alphaOf(res.Experiment),
		Note: i18n.T(lang, "report.effects.note")}
	control := res.Experiment.Control().Key
	for _, s := range sections(res, lang) {
		for _, o := range s.outcomes {
			for _, t := range treatments(res.Experiment) {
				in.Rows = append(in.Rows, effectRow(s.title, o, t, armNameIn(res.Experiment, t, lang), control, lang))
			}
		}
	}
	return in
}

func effectRow(group string, o experiment.OutcomeResults, arm, name, control, lang string) plot.EffectRow {
	c := o.Comparisons[arm]
	diff, lo, hi := c.Effect()
	if !c.Sufficient() {
		diff, lo, hi = math.NaN(), math.NaN(), math.NaN()
	}
	scale, unit := displayUnit(o.Outcome.Kind, lang)
	sd := standardizer(o.Outcome.Kind, o.Arms[arm], o.Arms[control])
	row := plot.EffectRow{
		Group: group, Label: Name(o.Outcome, lang), Arm: name, Tags: roleTags(o, lang),
		Diff: diff * scale, Low: lo * scale, High: hi * scale, Unit: unit,
		Std: diff / sd, StdLow: lo / sd, StdHigh: hi / sd,
		Significant: c.Significant,
		Better:      (diff > 0) == o.Outcome.HigherIsBetter,
		Adjusted:    c.Sufficient() && c.Deciding != nil && c.Deciding.Method == stats.MethodCUPED,
	}
	if ni := c.NonInferiority; ni != nil && c.Sufficient() {
		// The margin lies on the bad side of zero: below it when higher is better.
		row.Margin = ni.Margin / sd
		if o.Outcome.HigherIsBetter {
			row.Margin = -row.Margin
		}
		if !finite(row.Margin) {
			row.Margin = 0
		}
	}
	if t, ok := marginTag(c, lang); ok {
		row.Tags = append(row.Tags, t)
	}
	return row
}

func finite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }

// displayUnit is how a kind's differences read: rates in percentage points,
// net scores and composites in points.
func displayUnit(k experiment.Kind, lang string) (scale float64, unit string) {
	switch k {
	case experiment.Binary:
		return 100, i18n.T(lang, "unit.pp.abbr")
	case experiment.Net, experiment.Composite:
		return 1, i18n.T(lang, "unit.pts")
	}
	return 1, ""
}

// standardizer is the SD a difference is divided by (see the package doc);
// NaN when undefined.
func standardizer(k experiment.Kind, t, c stats.ArmStats) float64 {
	switch k {
	case experiment.Net:
		sd := netSD(c.Promoters, c.Detractors)
		if !(sd > 0) {
			sd = netSD(pooledShare(t.Promoters, c.Promoters, t.N, c.N), pooledShare(t.Detractors, c.Detractors, t.N, c.N))
		}
		return positive(sd)
	case experiment.Binary:
		sd := math.Sqrt(c.Rate * (1 - c.Rate))
		if !(sd > 0) {
			p := pooledShare(t.Rate, c.Rate, t.N, c.N)
			sd = math.Sqrt(p * (1 - p))
		}
		return positive(sd)
	}
	nt, nc := float64(t.N), float64(c.N)
	return positive(math.Sqrt(((nt-1)*t.SD*t.SD + (nc-1)*c.SD*c.SD) / (nt + nc - 2)))
}

// netSD is 100 times the SD of the +1/0/-1 net indicator.
func netSD(prom, detr float64) float64 {
	return 100 * math.Sqrt(prom+detr-(prom-detr)*(prom-detr))
}

func pooledShare(pt, pc float64, nt, nc int64) float64 {
	return (pt*float64(nt) + pc*float64(nc)) / float64(nt+nc)
}

func positive(x float64) float64 {
	if x > 0 {
		return x
	}
	return math.NaN()
}

// DistributionOf is one outcome's per-arm figure: a diverging stacked bar of
// the answers for scale and net outcomes, bars with intervals otherwise. An
// outcome the results do not hold is a not_found error.
func DistributionOf(res experiment.Results, outcome, lang string) (plot.DistributionInput, error) {
	i := slices.IndexFunc(res.Outcomes, func(o experiment.OutcomeResults) bool { return o.Outcome.Key == outcome })
	if i < 0 {
		return plot.DistributionInput{}, experiment.Errorf(experiment.NotFound, "outcome %q is not analysed in experiment %q", outcome, res.Experiment.Key)
	}
	o := res.Outcomes[i]
	in := plot.DistributionInput{
		Title:    title(o.Outcome, lang),
		Reversed: !o.Outcome.HigherIsBetter,
		CILevel:  1 - alphaOf(res.Experiment),
	}
	switch o.Outcome.Kind {
	case experiment.Scale:
		in.Segments = scaleSegments(o, res.Experiment, lang)
	case experiment.Net:
		in.Segments = netSegments(o.Outcome, lang)
	case experiment.Binary:
		in.Unit, in.Axis = "%", i18n.T(lang, "report.axis.rate")
	case experiment.Composite:
		in.Axis = i18n.T(lang, "report.axis.composite")
		in.AxisMin, in.AxisMax, _ = o.Outcome.Bounds() // 0..100
	default:
		in.Axis = i18n.T(lang, "report.axis.mean")
	}
	for _, a := range res.Experiment.Arms {
		s := o.Arms[a.Key]
		d := plot.ArmDistribution{Arm: armNameIn(res.Experiment, a.Key, lang), N: s.N, Estimate: s.Estimate(), Low: s.CILow, High: s.CIHigh}
		switch o.Outcome.Kind {
		case experiment.Scale:
			d.Shares = shares(s.Distribution, s.N)
			d.Summary = i18n.T(lang, "report.summary.mean", i18n.Num(s.Mean, 2, lang))
		case experiment.Net:
			d.Shares = []float64{s.Detractors, s.Passives, s.Promoters}
			d.Summary = netName(o.Outcome, lang) + " " + i18n.Signed(s.Score, 1, lang)
		case experiment.Binary:
			d.Estimate, d.Low, d.High = 100*s.Rate, 100*s.CILow, 100*s.CIHigh
		}
		if s.N == 0 {
			d.Shares = make([]float64, len(in.Segments))
			d.Summary = ""
		}
		in.Arms = append(in.Arms, d)
	}
	return in, nil
}

// title is a figure's title: the outcome's name, then its question when that
// says something the name does not ("Satisfaction: How satisfied are you with
// our organisation?"). A question that is the name, or begins with it
// ("Freedom of choice (products, channels)"), is the title alone, so that
// the name is not said twice.
func title(o experiment.Outcome, lang string) string {
	name, q := Name(o, lang), Question(o, lang)
	switch {
	case q == "" || strings.EqualFold(q, name):
		return name
	case len(q) > len(name) && strings.EqualFold(q[:len(name)], name) && !continuesWord(q[len(name):]):
		return q
	}
	return name + ": " + q
}

// continuesWord reports whether s begins with a letter or digit, that is,
// whether a name that s follows is only the start of a longer word.
func continuesWord(s string) bool {
	r, _ := utf8.DecodeRuneInString(s)
	return unicode.IsLetter(r) || unicode.IsDigit(r)
}

// scaleSegments are the levels min..max; below the midpoint on the left,
// a level exactly on it neutral, above it on the right.
func scaleSegments(o experiment.OutcomeResults, e experiment.Experiment, lang string) []plot.Segment {
	lo, hi, ok := o.Outcome.Bounds()
	if !ok {
		// Without bounds the stats lay the distribution out from its counts.
		lo, hi = 1, 0
		for _, a := range e.Arms {
			if n := len(o.Arms[a.Key].Distribution); n > 0 {
				hi = lo + float64(n) - 1
				break
			}
		}
	}
	mid := (lo + hi) / 2
	var segs []plot.Segment
	for v := lo; v <= hi; v++ {
		side := 0
		if v < mid {
			side = -1
		} else if v > mid {
			side = 1
		}
		segs = append(segs, plot.Segment{Label: i18n.Sig(v, 3, lang), Side: side})
	}
	return segs
}

// netSegments name the bottom, middle and top groups: NPS's detractors,
// passives and promoters, or the answer ranges for another net outcome.
func netSegments(o experiment.Outcome, lang string) []plot.Segment {
	lo, hi, _ := o.Bounds()
	top, bottom := hi, lo
	if o.TopMin != nil {
		top = *o.TopMin
	}
	if o.BottomMax != nil {
		bottom = *o.BottomMax
	}
	rng := func(a, b float64) string {
		if a == b {
			return i18n.Sig(a, 3, lang)
		}
		return i18n.Sig(a, 3, lang) + "–" + i18n.Sig(b, 3, lang)
	}
	names := [3]string{"low", "middle", "high"}
	switch o.Key {
	case "nps":
		names = [3]string{"detractors", "passives", "promoters"}
	case "ces":
		names = [3]string{"difficult", "neutral", "easy"}
	}
	low, mid, high := i18n.T(lang, "report.segment."+names[0]), i18n.T(lang, "report.segment."+names[1]), i18n.T(lang, "report.segment."+names[2])
	return []plot.Segment{
		{Label: low + " (" + rng(lo, bottom) + ")", Side: -1},
		{Label: mid + " (" + rng(bottom+1, top-1) + ")", Side: 0},
		{Label: high + " (" + rng(top, hi) + ")", Side: 1},
	}
}

func netName(o experiment.Outcome, lang string) string {
	if o.HasShortName() {
		return Name(o, lang)
	}
	return i18n.T(lang, "report.summary.net")
}

// shares divides counts by n.
func shares(dist []int64, n int64) []float64 {
	out := make([]float64, len(dist))
	for i, k := range dist {
		if n > 0 {
			out[i] = float64(k) / float64(n)
		}
	}
	return out
}

// differenceUnit is the unit a figure's axis of differences names for an outcome kind
// (rates in percentage points, net scores and composites in points, scales in answer
// points); "" for numeric outcomes, whose unit krslab does not know.
func differenceUnit(kind experiment.Kind, lang string) string {
	if u, ok := map[experiment.Kind]string{
		experiment.Binary:    "report.timeline.unit.pp",
		experiment.Net:       "report.timeline.unit.points",
		experiment.Composite: "report.timeline.unit.points",
		experiment.Scale:     "report.timeline.unit.scale",
	}[kind]; ok {
		return i18n.T(lang, u)
	}
	return ""
}

// TimelineOf is the primary outcome's cumulative difference per treatment
// arm by day. It shows the plain (not CUPED) difference and interval, the
// ones the always-valid sequential interval is built around.
func TimelineOf(res experiment.Results, points []experiment.TimelinePoint, lang string) plot.TimelineInput {
	in := plot.TimelineInput{CILevel: 1 - alphaOf(res.Experiment), Control: armNameIn(res.Experiment, res.Experiment.Control().Key, lang)}
	kind := experiment.Composite
	for _, o := range res.Outcomes {
		if o.Outcome.Key == res.Experiment.PrimaryOutcome {
			in.Title, kind = Name(o.Outcome, lang), o.Outcome.Kind
		}
	}
	if in.Title == "" {
		in.Title = res.Experiment.PrimaryOutcome
	}
	scale, _ := displayUnit(kind, lang)
	in.Unit = differenceUnit(kind, lang)
	for _, arm := range treatments(res.Experiment) {
		s := plot.TimelineSeries{Arm: armNameIn(res.Experiment, arm, lang)}
		for _, p := range points {
			if p.Arm != arm {
				continue
			}
			c := p.Comparison
			q := plot.TimelinePoint{Day: p.Day, Diff: c.Diff * scale, Low: c.CILow * scale, High: c.CIHigh * scale,
				SeqLow: math.NaN(), SeqHigh: math.NaN()}
			if c.Sequential != nil {
				q.SeqLow, q.SeqHigh = c.Sequential.CILow*scale, c.Sequential.CIHigh*scale
			}
			s.Points = append(s.Points, q)
		}
		sort.SliceStable(s.Points, func(i, j int) bool { return s.Points[i].Day.Before(s.Points[j].Day) })
		in.Series = append(in.Series, s)
	}
	return in
}
