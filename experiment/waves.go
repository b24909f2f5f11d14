package experiment

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/krslab/krslab/stats"
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
		if msg := CheckText(w.Label, MaxName); !msg.IsZero() {
			p.Field(field+".label", "%s", msg)
		}
		if msg := CheckText(w.LabelNL, MaxName); !msg.IsZero() {
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

// ChangeStore is what persistence needs from a Store beyond the Store interface: the
// within-customer deltas between two waves. The postgres Store implements it; the service
// finds it by a type assertion.
type ChangeStore interface {
	// SummarizeChange reads, in one snapshot, per spec and arm, the deltas c(to) - c(from)
	// of the customers with a counted answer of the spec's outcome in both waves (the
	// latest answer within each): the customers counted by their two levels for counted
	// outcomes (scale, net, binary), the moments of the deltas otherwise.
	SummarizeChange(ctx context.Context, experimentID int64, from, to WaveWindow, specs []SummarySpec) ([]map[string]ArmChange, error)
}

// ArmChange is one arm's deltas of one outcome between two waves: Pairs for counted
// outcomes, Moments (of the deltas) for the others.
type ArmChange struct {
	Pairs   stats.LevelPairs
	Moments stats.Moments
}

// PersistenceResults is how each outcome's effect holds over the waves: per outcome and
// treatment arm, the effect in every wave, the within-customer change between the first
// and the last wave with a comparison, and whether the effect is durable.
type PersistenceResults struct {
	Experiment Experiment
	ComputedAt time.Time
	Keys       []string                                // the outcomes in analysis order
	Outcomes   map[string]Outcome                      // by key
	Arms       map[string]map[string]stats.Persistence // outcome -> treatment arm
}

// Persistence follows every analysed outcome's effect across the experiment's waves
// (STATS.md, third part): each wave's effect from that wave's results (WaveResults, kept
// like them), and the change between the first and the last wave with a comparison from
// the per-customer deltas summed in the store. An experiment without waves has no entries
// per wave and no change.
func (s *Service) Persistence(ctx context.Context, key string) (PersistenceResults, error) {
	e, err := s.Store.Experiment(ctx, key)
	if err != nil {
		return PersistenceResults{}, err
	}
	outcomes, err := s.OutcomeMap(ctx)
	if err != nil {
		return PersistenceResults{}, err
	}
	now := s.Now()
	out := PersistenceResults{Experiment: e, ComputedAt: now, Keys: e.AnalysedOutcomes(),
		Outcomes: map[string]Outcome{}, Arms: map[string]map[string]stats.Persistence{}}
	waves := make([]Results, len(e.Waves))
	for i, w := range e.Waves {
		if waves[i], err = s.WaveResults(ctx, key, w.Key); err != nil {
			return PersistenceResults{}, err
		}
	}
	// The changes to sum, grouped by the pair of waves they span: usually one pair for all.
	type span struct{ from, to int }
	type need struct {
		outcome string
		arm     string
	}
	spans := map[span][]need{}
	for _, k := range out.Keys {
		out.Outcomes[k] = outcomes[k]
		out.Arms[k] = map[string]stats.Persistence{}
		for _, a := range e.Arms {
			if a.Control {
				continue
			}
			p := stats.Persistence{Waves: []stats.WaveEffect{}}
			for i, w := range e.Waves {
				p.Waves = append(p.Waves, stats.WaveEffectOf(w.Key, waves[i].comparison(k, a.Key)))
			}
			p.Durable = stats.Durable(p.Waves)
			out.Arms[k][a.Key] = p
			if first, last, ok := stats.ChangeWaves(p.Waves); ok {
				spans[span{first, last}] = append(spans[span{first, last}], need{k, a.Key})
			}
		}
	}
	if len(spans) == 0 {
		return out, nil
	}
	cs, ok := s.Store.(ChangeStore)
	if !ok {
		return PersistenceResults{}, Errorf(Internal, "the store cannot sum changes between waves")
	}
	control := e.Control().Key
	for sp, needs := range spans {
		var keys []string
		for _, n := range needs {
			if !slices.Contains(keys, n.outcome) {
				keys = append(keys, n.outcome)
			}
		}
		from, to := e.Waves[sp.from], e.Waves[sp.to]
		sums, err := cs.SummarizeChange(ctx, e.ID, WaveWindow{Wave: from, At: now}, WaveWindow{Wave: to, At: now},
			SummarySpecs(keys, outcomes, time.Time{}))
		if err != nil {
			return PersistenceResults{}, err
		}
		for _, n := range needs {
			i := slices.Index(keys, n.outcome)
			o := outcomes[n.outcome]
			in := statsOutcome(o)
			p := out.Arms[n.outcome][n.arm]
			p.Change = stats.WaveChange(from.Key, to.Key, sums[i][n.arm].deltas(in), sums[i][control].deltas(in), e.Alpha, o.HigherIsBetter)
			out.Arms[n.outcome][n.arm] = p
		}
	}
	return out, nil
}

// deltas are the moments of an arm's deltas for outcome o.
func (c ArmChange) deltas(o stats.Outcome) stats.Moments {
	if len(c.Pairs.N) > 0 {
		return c.Pairs.DeltaMoments(o)
	}
	return c.Moments
}

// comparison is the comparison of arm with control on outcome key; the zero Comparison
// (insufficient data) when the analysis has none.
func (r Results) comparison(key, arm string) stats.Comparison {
	for _, o := range r.Outcomes {
		if o.Outcome.Key == key {
			if c, ok := o.Comparisons[arm]; ok {
				return c
			}
		}
	}
	return stats.Comparison{Verdict: stats.VerdictInsufficientData}
}
