package report

import (
	"github.com/krslab/krslab/experiment"
	"github.com/krslab/krslab/stats"
	"github.com/krslab/krslab/stats/i18n"
	"github.com/krslab/krslab/stats/plot"
)

// LastingView is the "Does it last?" section of the report and the console, for an
// experiment with survey waves: the primary outcome's effect per wave (Figure), and in
// words, per treatment arm, whether it is still better in the last wave with a comparison
// (Durable) and how it changed within the same customers (Changes, the figure's footnote).
type LastingView struct {
	Title, Intro, Alt string
	Figure            plot.PersistenceInput
	Durable           []string
	Changes           []string
}

// Lasting is the "Does it last?" section of the primary outcome.
func Lasting(p experiment.PersistenceResults, lang string) (LastingView, error) {
	lang = i18n.Normalize(lang)
	in, err := PersistenceOf(p, "", lang)
	if err != nil {
		return LastingView{}, err
	}
	e := p.Experiment
	v := LastingView{Title: i18n.T(lang, "report.lasting.title"), Intro: i18n.T(lang, "report.lasting.intro"),
		Alt: i18n.T(lang, "report.lasting.alt"), Figure: in, Changes: plot.PersistenceNotes(in, lang)}
	names := map[string]string{}
	for _, w := range e.Waves {
		names[w.Key] = w.Name(lang)
	}
	control := armNameIn(e, e.Control().Key, lang)
	for _, arm := range treatments(e) {
		ap := p.Arms[e.PrimaryOutcome][arm]
		name := armNameIn(e, arm, lang)
		last := ""
		for _, w := range ap.Waves {
			if w.Verdict != stats.VerdictInsufficientData {
				last = names[w.Wave]
			}
		}
		switch {
		case last == "":
			v.Durable = append(v.Durable, i18n.T(lang, "report.lasting.no_wave", name))
		case ap.Durable:
			v.Durable = append(v.Durable, i18n.T(lang, "report.lasting.durable", name, control, last))
		default:
			v.Durable = append(v.Durable, i18n.T(lang, "report.lasting.not_durable", name, control, last))
		}
	}
	return v, nil
}
