package report

import (
	"fmt"
	"math"
	"slices"

	"github.com/krslab/krslab/experiment"
	"github.com/krslab/krslab/stats"
	"github.com/krslab/krslab/stats/plot"
)

// PersistenceOf is the figure of one outcome's effect over the survey waves ("" = the
// primary outcome), in the units the timeline uses: one series per treatment arm, with
// its within-customer change. An outcome the experiment does not analyse is Invalid,
// naming the parameter outcome.
func PersistenceOf(p experiment.PersistenceResults, outcome, lang string) (plot.PersistenceInput, error) {
	e := p.Experiment
	if outcome == "" {
		outcome = e.PrimaryOutcome
	}
	if !slices.Contains(p.Keys, outcome) {
		return plot.PersistenceInput{}, &experiment.Error{Code: experiment.Invalid, Message: "invalid query",
			Details: []experiment.Detail{{Field: "outcome", Message: fmt.Sprintf("experiment %q does not analyse %q", e.Key, outcome)}}}
	}
	o := p.Outcomes[outcome]
	scale, _ := displayUnit(o.Kind, lang)
	in := plot.PersistenceInput{Title: Name(o, lang), CILevel: 1 - alphaOf(e), Control: armNameIn(e, e.Control().Key, lang)}
	in.Unit = differenceUnit(o.Kind, lang)
	names := map[string]string{}
	for _, w := range e.Waves {
		in.Waves = append(in.Waves, plot.PersistenceWave{Name: w.Name(lang), FromDay: w.FromDay, ToDay: w.ToDay})
		names[w.Key] = w.Name(lang)
	}
	for _, arm := range treatments(e) {
		ap := p.Arms[outcome][arm]
		s := plot.PersistenceSeries{Arm: armNameIn(e, arm, lang)}
		for _, w := range ap.Waves {
			s.Points = append(s.Points, plot.PersistencePoint{Diff: w.Diff * scale, Low: w.CILow * scale, High: w.CIHigh * scale,
				Significant: w.Verdict == stats.VerdictBetter || w.Verdict == stats.VerdictWorse})
		}
		if ch := ap.Change; ch != nil && !math.IsNaN(ch.Diff) {
			s.Change = &plot.PersistenceChange{From: names[ch.FromWave], To: names[ch.ToWave],
				Diff: ch.Diff * scale, Low: ch.CILow * scale, High: ch.CIHigh * scale, Trend: string(ch.Trend)}
		}
		in.Series = append(in.Series, s)
	}
	return in, nil
}
