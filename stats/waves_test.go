package stats_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/krslab/krslab/stats"
)

// wavesDir holds the customer-level reference cases of STATS.md's third part
// (survey waves, the results of one wave, persistence), computed independently
// with numpy/scipy (see its README.md).
const wavesDir = "../../shared/testdata/waves"

// wavesCase is a case of wavesDir.
type wavesCase struct {
	Alpha        float64            `json:"alpha"`
	Correction   string             `json:"correction"`
	Control      string             `json:"control"`
	Weights      map[string]float64 `json:"weights"`
	Now          int64              `json:"now"`
	Outcomes     []refOutcome       `json:"outcomes"`
	Waves        []caseWave         `json:"waves"`
	DecisionWave string             `json:"decision_wave"`
	Guardrails   []string           `json:"guardrails"`
	Customers    []struct {
		ID         string `json:"id"`
		Arm        string `json:"arm"`
		AssignedAt int64  `json:"assigned_at"`
		Responses  []struct {
			AnsweredAt int64              `json:"answered_at"`
			Answers    map[string]float64 `json:"answers"`
		} `json:"responses"`
	} `json:"customers"`
	Expected struct {
		Waves map[string]struct {
			Outcomes       map[string]map[string]any `json:"outcomes"`
			SRM            any                       `json:"srm"`
			ResponseCheck  any                       `json:"response_check"`
			Recommendation map[string]any            `json:"recommendation"`
		} `json:"waves"`
		Persistence    map[string]map[string]any `json:"persistence"`
		Recommendation map[string]any            `json:"recommendation"`
	} `json:"expected"`
}

type caseWave struct {
	Key     string `json:"key"`
	FromDay int64  `json:"from_day"`
	ToDay   int64  `json:"to_day"`
}

func loadWavesCases(t *testing.T) map[string]wavesCase {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(wavesDir, "*.json"))
	if err != nil || len(files) < 2 {
		t.Fatalf("waves reference cases missing: %v %v", files, err)
	}
	out := map[string]wavesCase{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var c wavesCase
		if err := json.Unmarshal(b, &c); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		out[filepath.Base(f)] = c
	}
	return out
}

const day = 86400

// inWave is STATS.md's rule: the response's age in whole days since the
// assignment lies in [from_day, to_day].
func inWave(w caseWave, assignedAt, answeredAt int64) bool {
	d := (answeredAt - assignedAt) / day
	if answeredAt < assignedAt && (answeredAt-assignedAt)%day != 0 {
		d-- // floor, not truncation
	}
	return d >= w.FromDay && d <= w.ToDay
}

// latest is a customer's counted answer of an outcome in a wave: the latest by
// answered_at, then by arrival (the responses are in arrival order).
func (c wavesCase) latest(i int, w caseWave, key string) (float64, bool) {
	cu := c.Customers[i]
	var at int64
	var v float64
	found := false
	for _, r := range cu.Responses {
		x, ok := r.Answers[key]
		if !ok || !inWave(w, cu.AssignedAt, r.AnsweredAt) {
			continue
		}
		if !found || r.AnsweredAt >= at {
			at, v, found = r.AnsweredAt, x, true
		}
	}
	return v, found
}

func (c wavesCase) arms() []string {
	arms := []string{c.Control}
	for a := range c.Weights {
		if a != c.Control {
			arms = append(arms, a)
		}
	}
	sort.Strings(arms[1:])
	return arms
}

func (c wavesCase) outcome(ro refOutcome) stats.Outcome {
	o := stats.Outcome{Key: ro.Key, Kind: ro.Kind, TopMin: ro.TopMin, BottomMax: ro.BottomMax,
		HigherIsBetter: ro.HigherIsBetter == nil || *ro.HigherIsBetter, Min: 0, Max: 1}
	if ro.Min != nil && ro.Max != nil {
		o.Min, o.Max = *ro.Min, *ro.Max
	}
	return o
}

// analyseWave is the analysis of one wave as STATS.md defines it: the counted
// answers inside the wave, the eligible customers (assigned at least from_day
// days before now) as assigned, those with a response in the wave as responded.
// The first outcome is the primary; the experiment is running without a target.
func (c wavesCase) analyseWave(w caseWave) stats.Analysis {
	d := stats.Design{Alpha: c.Alpha, Correction: c.Correction, Control: c.Control, Arms: c.arms(),
		Weights: c.Weights, Assigned: map[string]int64{}, Responded: map[string]int64{},
		Primary: c.Outcomes[0].Key, Guardrails: c.Guardrails}
	var outcomes []stats.Outcome
	counts := make([]map[string]*stats.Counts, len(c.Outcomes))
	for i, ro := range c.Outcomes {
		outcomes = append(outcomes, c.outcome(ro))
		counts[i] = map[string]*stats.Counts{}
		for _, a := range d.Arms {
			o := outcomes[i]
			counts[i][a] = &stats.Counts{Min: int(o.Min), N: make([]int64, int(o.Max-o.Min)+1)}
		}
	}
	for i, cu := range c.Customers {
		if cu.AssignedAt+w.FromDay*day > c.Now {
			continue
		}
		d.Assigned[cu.Arm]++
		for _, r := range cu.Responses {
			if inWave(w, cu.AssignedAt, r.AnsweredAt) {
				d.Responded[cu.Arm]++
				break
			}
		}
		for j, ro := range c.Outcomes {
			if v, ok := c.latest(i, w, ro.Key); ok {
				counts[j][cu.Arm].N[int(v)-counts[j][cu.Arm].Min]++
			}
		}
	}
	for i := range outcomes {
		outcomes[i].Arms = map[string]stats.ArmData{}
		for a, cs := range counts[i] {
			outcomes[i].Arms[a] = stats.ArmData{Counts: cs}
		}
	}
	return stats.Analyze(d, outcomes)
}

// TestWaveResultsReference: the analysis of each wave (Analyze over that wave's
// counted answers and eligible customers) against every number of
// expected.waves[KEY] of every case, and the decision wave's recommendation
// against expected.recommendation.
func TestWaveResultsReference(t *testing.T) {
	for name, c := range loadWavesCases(t) {
		t.Run(name, func(t *testing.T) {
			checked := 0
			for _, w := range c.Waves {
				want := c.Expected.Waves[w.Key]
				got := asJSON(t, c.analyseWave(w))
				byKey := map[string]any{}
				for _, o := range got["outcomes"].([]any) {
					byKey[o.(map[string]any)["key"].(string)] = o
				}
				for key, exp := range want.Outcomes {
					checked += compareJSON(t, w.Key+".outcomes."+key, any(exp), byKey[key])
				}
				checked += compareJSON(t, w.Key+".srm", want.SRM, got["srm"])
				checked += compareJSON(t, w.Key+".response_check", want.ResponseCheck, got["response_check"])
				checked += compareRecommendation(t, w.Key+".recommendation", want.Recommendation, got["recommendation"])
				if w.Key == c.DecisionWave {
					checked += compareRecommendation(t, "recommendation", c.Expected.Recommendation, got["recommendation"])
				}
			}
			t.Logf("%d expected values checked", checked)
		})
	}
}

// compareRecommendation checks action, arm (absent is null) and caveats.
func compareRecommendation(t *testing.T, path string, want map[string]any, got any) int {
	t.Helper()
	g, _ := got.(map[string]any)
	if g == nil {
		t.Errorf("%s: missing", path)
		return 0
	}
	if _, ok := g["arm"]; !ok {
		g["arm"] = nil
	}
	n := 0
	for _, f := range []string{"action", "arm", "caveats"} {
		n += compareJSON(t, path+"."+f, want[f], g[f])
	}
	return n
}

// TestPersistenceReference: per outcome and treatment arm, the effect of every
// wave (WaveEffectOf the wave's comparison), the change between the first and
// the last wave with a comparison (WaveChange of the per-customer deltas, from
// LevelPairs) and durable, against expected.persistence of every case.
func TestPersistenceReference(t *testing.T) {
	for name, c := range loadWavesCases(t) {
		t.Run(name, func(t *testing.T) {
			analyses := make([]stats.Analysis, len(c.Waves))
			for i, w := range c.Waves {
				analyses[i] = c.analyseWave(w)
			}
			checked := 0
			for _, ro := range c.Outcomes {
				o := c.outcome(ro)
				for _, arm := range c.arms()[1:] {
					var p stats.Persistence
					for i, w := range c.Waves {
						r, _ := analyses[i].Outcome(o.Key)
						p.Waves = append(p.Waves, stats.WaveEffectOf(w.Key, r.Comparisons[arm]))
					}
					if first, last, ok := stats.ChangeWaves(p.Waves); ok {
						pairs := map[string]*stats.LevelPairs{arm: {}, c.Control: {}}
						for i, cu := range c.Customers {
							pp := pairs[cu.Arm]
							if pp == nil {
								continue
							}
							a, okA := c.latest(i, c.Waves[first], ro.Key)
							b, okB := c.latest(i, c.Waves[last], ro.Key)
							if okA && okB {
								pp.Add(a, b, 1)
							}
						}
						p.Change = stats.WaveChange(c.Waves[first].Key, c.Waves[last].Key,
							pairs[arm].DeltaMoments(o), pairs[c.Control].DeltaMoments(o), c.Alpha, o.HigherIsBetter)
					}
					p.Durable = stats.Durable(p.Waves)
					want := c.Expected.Persistence[ro.Key][arm]
					checked += compareJSON(t, ro.Key+"."+arm, want, asJSON(t, p))
				}
			}
			t.Logf("%d expected values checked", checked)
		})
	}
}

// TestWaveChangeNull: fewer than 2 deltas in an arm, or deltas without any
// spread, have no change; a change below alpha follows the outcome's direction.
func TestWaveChangeNull(t *testing.T) {
	one := stats.MomentsOf([]float64{1})
	some := stats.MomentsOf([]float64{1, -2, 0, 3})
	flat := stats.MomentsOf([]float64{2, 2, 2})
	for name, pair := range map[string][2]stats.Moments{
		"one treated delta": {one, some}, "one control delta": {some, one}, "no spread": {flat, flat},
	} {
		if ch := stats.WaveChange("a", "b", pair[0], pair[1], 0.05, true); ch != nil {
			t.Errorf("%s: got %+v, want nil", name, ch)
		}
	}
	up := stats.MomentsOf([]float64{3, 4, 3, 5, 4, 3, 4})
	down := stats.MomentsOf([]float64{-1, 0, -1, 0, 1, -1, 0})
	for _, tc := range []struct {
		t, c  stats.Moments
		hib   bool
		trend stats.Trend
	}{
		{up, down, true, stats.TrendGrowing}, {down, up, true, stats.TrendFading},
		{up, down, false, stats.TrendFading}, {down, up, false, stats.TrendGrowing},
		{some, some, true, stats.TrendStable},
	} {
		if ch := stats.WaveChange("a", "b", tc.t, tc.c, 0.05, tc.hib); ch == nil || ch.Trend != tc.trend {
			t.Errorf("higher is better %v: got %+v, want %s", tc.hib, ch, tc.trend)
		}
	}
}
