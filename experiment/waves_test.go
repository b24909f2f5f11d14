package experiment_test

import (
	"slices"
	"testing"
	"time"

	"github.com/krslab/krslab/experiment"
)

func threeWaves() []experiment.Wave {
	return []experiment.Wave{
		{Key: "week_1", Label: "After a week", LabelNL: "Na een week", FromDay: 0, ToDay: 13},
		{Key: "month_1", FromDay: 21, ToDay: 45},
		{Key: "month_3", FromDay: 80, ToDay: 110},
	}
}

// TestWavesValidate: every problem of the waves names its field (STATS.md: 0 <= from_day
// <= to_day <= 3650, ascending, not overlapping, at most 12, unique keys; a decision wave
// is one of them).
func TestWavesValidate(t *testing.T) {
	tests := []struct {
		name   string
		change func(*experiment.Experiment)
		fields []string
	}{
		{"valid", func(*experiment.Experiment) {}, nil},
		{"decision wave", func(e *experiment.Experiment) { e.DecisionWave = "month_3" }, nil},
		{"unknown decision wave", func(e *experiment.Experiment) { e.DecisionWave = "year_1" }, []string{"decision_wave"}},
		{"decision wave without waves", func(e *experiment.Experiment) { e.Waves, e.DecisionWave = nil, "week_1" }, []string{"decision_wave"}},
		{"one day wave", func(e *experiment.Experiment) { e.Waves[1].FromDay, e.Waves[1].ToDay = 30, 30 }, nil},
		{"overlap", func(e *experiment.Experiment) { e.Waves[1].FromDay = 13 }, []string{"waves[1].from_day"}},
		{"out of order", func(e *experiment.Experiment) {
			e.Waves[1], e.Waves[2] = e.Waves[2], e.Waves[1]
		}, []string{"waves[2].from_day"}},
		{"to before from", func(e *experiment.Experiment) { e.Waves[2].ToDay = 79 }, []string{"waves[2].to_day"}},
		{"negative from", func(e *experiment.Experiment) { e.Waves[0].FromDay = -1 }, []string{"waves[0].from_day"}},
		{"beyond ten years", func(e *experiment.Experiment) { e.Waves[2].ToDay = 3651 }, []string{"waves[2].to_day"}},
		{"last day", func(e *experiment.Experiment) { e.Waves[2].FromDay, e.Waves[2].ToDay = 3650, 3650 }, nil},
		{"duplicate key", func(e *experiment.Experiment) { e.Waves[2].Key = "week_1" }, []string{"waves[2].key"}},
		{"bad key", func(e *experiment.Experiment) { e.Waves[0].Key = "Week 1" }, []string{"waves[0].key"}},
		{"too many", func(e *experiment.Experiment) {
			e.Waves = nil
			for i := range experiment.MaxWaves + 1 {
				e.Waves = append(e.Waves, experiment.Wave{Key: "w" + string(rune('a'+i)), FromDay: 10 * i, ToDay: 10*i + 5})
			}
		}, []string{"waves"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := validExperiment()
			e.Waves = threeWaves()
			tc.change(&e)
			err := e.Validate(builtins())
			if tc.fields == nil {
				if err != nil {
					t.Fatalf("want valid, got %v", err)
				}
				return
			}
			if got := fields(t, err); !slices.Equal(got, tc.fields) {
				t.Errorf("fields %v, want %v (%v)", got, tc.fields, err)
			}
		})
	}
}

// TestWaveDefaults: a wave without a label is named by its key; an experiment has no
// waves until it is given some (the whole-experiment results stay as they are).
func TestWaveDefaults(t *testing.T) {
	e := validExperiment()
	if e.Waves == nil || len(e.Waves) != 0 || e.DecisionWave != "" {
		t.Errorf("defaults: waves %v, decision wave %q", e.Waves, e.DecisionWave)
	}
	e = experiment.Experiment{Key: "x", Waves: threeWaves()}
	e.ApplyDefaults()
	if e.Waves[1].Label != "month_1" || e.Waves[1].Name("nl") != "month_1" || e.Waves[0].Name("nl") != "Na een week" {
		t.Errorf("labels: %+v", e.Waves)
	}
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	if got := e.Waves[2].EligibleBefore(now); !got.Equal(now.AddDate(0, 0, -80)) {
		t.Errorf("eligible before %v", got)
	}
}
