package experiment

import (
	"fmt"
	"time"
)

// Wave is one survey wave of an experiment (STATS.md, third part): the responses whose
// age, in whole days since the customer's assignment, lies in [FromDay, ToDay]. CX teams
// survey the same customers again after a week, a month, a quarter; a wave's results say
// what the effect is at that age, and the waves together whether it lasts.
type Wave struct {
	Key     string
	Label   string // English; the key when not given
	LabelNL string // Dutch; "" = Label
	FromDay int
	ToDay   int
}

// Wave limits (STATS.md): days since assignment, ten years at most; at most MaxWaves waves.
const (
	MaxWaveDay = 3650
	MaxWaves   = 12
)

// Name is how texts in lang ("en" or "nl") name the wave.
func (w Wave) Name(lang string) string {
	if lang == "nl" && w.LabelNL != "" {
		return w.LabelNL
	}
	if w.Label != "" {
		return w.Label
	}
	return w.Key
}

// EligibleBefore is the latest assignment time of a customer who counts as assigned in the
// wave at moment now: assigned at least FromDay days before it. A customer assigned later
// cannot have answered in the wave yet, and counting it would lower the wave's response
// rates for no reason but time.
func (w Wave) EligibleBefore(now time.Time) time.Time {
	return now.Add(-time.Duration(w.FromDay) * 24 * time.Hour)
}

// Wave returns the wave with the given key.
func (e Experiment) Wave(key string) (Wave, bool) {
	for _, w := range e.Waves {
		if w.Key == key {
			return w, true
		}
	}
	return Wave{}, false
}

// validateWaves checks the waves and the decision wave, naming each offending field.
func (e Experiment) validateWaves(p *Problems) {
	if len(e.Waves) > MaxWaves {
		p.Field("waves", "at most %d waves", MaxWaves)
	}
	keys := map[string]bool{}
	for i, w := range e.Waves {
		field := fmt.Sprintf("waves[%d]", i)
		if !experimentKeyPattern.MatchString(w.Key) {
			p.Field(field+".key", "must be 1-63 lower-case letters, digits, '-' or '_'")
		} else if keys[w.Key] {
			p.Field(field+".key", "duplicate wave key %q", w.Key)
		}
		keys[w.Key] = true
		if msg := CheckText(w.Label, MaxName); msg != "" {
			p.Field(field+".label", "%s", msg)
		}
		if msg := CheckText(w.LabelNL, MaxName); msg != "" {
			p.Field(field+".label_nl", "%s", msg)
		}
		fromOK := w.FromDay >= 0 && w.FromDay <= MaxWaveDay
		if !fromOK {
			p.Field(field+".from_day", "must be from 0 to %d (days since assignment)", MaxWaveDay)
		}
		switch {
		case w.ToDay < 0 || w.ToDay > MaxWaveDay:
			p.Field(field+".to_day", "must be from 0 to %d (days since assignment)", MaxWaveDay)
		case fromOK && w.ToDay < w.FromDay:
			p.Field(field+".to_day", "must be at least from_day (%d)", w.FromDay)
		}
		if i > 0 && fromOK {
			prev := e.Waves[i-1]
			if w.FromDay <= prev.ToDay && prev.ToDay >= 0 && prev.ToDay <= MaxWaveDay {
				if w.FromDay < prev.FromDay {
					p.Field(field+".from_day", "must come after waves[%d] (day %d to %d): waves are listed in ascending order", i-1, prev.FromDay, prev.ToDay)
				} else {
					p.Field(field+".from_day", "overlaps waves[%d] (day %d to %d): must be after day %d", i-1, prev.FromDay, prev.ToDay, prev.ToDay)
				}
			}
		}
	}
	if e.DecisionWave != "" && !keys[e.DecisionWave] {
		p.Field("decision_wave", "unknown wave %q", e.DecisionWave)
	}
}

// wavesAppended reports whether next keeps every wave of waves unchanged, as its prefix:
// once an experiment runs, waves may be added after the last one, as a team plans a later
// survey, but no wave it has may move, since its results would change after the fact.
func wavesAppended(waves, next []Wave) bool {
	if len(next) < len(waves) {
		return false
	}
	for i := range waves {
		a, b := waves[i], next[i]
		if a.Key != b.Key || a.FromDay != b.FromDay || a.ToDay != b.ToDay {
			return false
		}
	}
	return true
}
