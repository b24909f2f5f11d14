package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/krslab/krslab/experiment"
	"github.com/krslab/krslab/experiment/postgres/pgtest"
	"github.com/krslab/krslab/stats"
)

// postRandomWavesCase posts a generated case (generateWavesCase) as postWavesCase posts the
// reference cases.
func postRandomWavesCase(t *testing.T, e *env, gen randomWavesCase, name string) (string, map[string]string) {
	t.Helper()
	b, err := json.Marshal(gen)
	if err != nil {
		t.Fatal(err)
	}
	var ref wavesRefCase
	if err := json.Unmarshal(b, &ref); err != nil {
		t.Fatal(err)
	}
	return postWavesCase(t, e, ref, name)
}

// latestBefore is the customer's counted answer of outcome key in wave w among the answers
// given before until: the latest by answered_at, then by arrival.
func (cu randomCustomer) latestBefore(w randomWave, key string, until int64) (float64, bool) {
	var at int64
	var v float64
	found := false
	for _, r := range cu.Responses {
		x, ok := r.Answers[key]
		if !ok || r.AnsweredAt >= until || !w.holds(cu.AssignedAt, r.AnsweredAt) {
			continue
		}
		if !found || r.AnsweredAt >= at {
			at, v, found = r.AnsweredAt, x, true
		}
	}
	return v, found
}

// expectedPrimaryUntil is the analysis of the primary outcome (the first) in wave w over the
// answers given before until, as a timeline's day reads it: per arm the latest answer of
// each customer within the wave among those, and as the traffic the wave's eligible
// customers and those of them with a response in it, as of the case's moment of computing.
func (c randomWavesCase) expectedPrimaryUntil(w randomWave, local map[string]string, until int64) stats.Analysis {
	o := c.Outcomes[0]
	d := c.waveDesign(w, local)
	values := map[string][]float64{}
	for _, cu := range c.Customers {
		if !c.eligible(cu, w) {
			continue
		}
		if v, ok := cu.latestBefore(w, o.Key, until); ok {
			values[cu.Arm] = append(values[cu.Arm], v)
		}
	}
	so := o.statsOutcome(local[o.Key])
	so.Arms = map[string]stats.ArmData{}
	for arm, xs := range values {
		if o.Kind == "numeric" {
			so.Arms[arm] = stats.ArmData{Moments: stats.MomentsOf(xs)}
		} else {
			cs := stats.CountsOf(xs, int(so.Min), int(so.Max))
			so.Arms[arm] = stats.ArmData{Counts: &cs}
		}
	}
	return stats.Analyze(d, []stats.Outcome{so})
}

// answerDays are the UTC days (midnights, in seconds) on which the primary outcome was
// answered in wave w, in order.
func (c randomWavesCase) answerDays(w randomWave) []int64 {
	var days []int64
	for _, cu := range c.Customers {
		for _, r := range cu.Responses {
			if _, ok := r.Answers[c.Outcomes[0].Key]; ok && w.holds(cu.AssignedAt, r.AnsweredAt) {
				if d := r.AnsweredAt - r.AnsweredAt%daySeconds; !slices.Contains(days, d) {
					days = append(days, d)
				}
			}
		}
	}
	slices.Sort(days)
	return days
}

// withoutFamily is a comparison's JSON without what depends on the family it was adjusted
// in and on earlier looks (p_adjusted, significant, verdict, the sequential p-value).
func withoutFamily(c any) map[string]any {
	m := map[string]any{}
	for k, v := range c.(map[string]any) {
		m[k] = v
	}
	delete(m, "p_adjusted")
	delete(m, "significant")
	delete(m, "verdict")
	if seq, ok := m["sequential"].(map[string]any); ok {
		s := map[string]any{}
		for k, v := range seq {
			s[k] = v
		}
		delete(s, "p_value")
		m["sequential"] = s
	}
	return m
}

// TestWaveTimelineThroughTheAPI generates survey-wave experiments (generateWavesCase) and
// checks the timeline of every wave against what the customers' own responses give: its
// days are those on which the wave's primary outcome was answered, and each day's
// comparison of every treatment arm (effect, intervals, bounds, sequential, p-values) is
// the analysis, computed here, of the answers in the wave given up to the end of that day,
// each customer's latest within the wave as of then, with the wave's eligible customers as
// the traffic. The last day is /results?wave=: the per-arm n and mean of the primary
// outcome (as the store's days read them) and the comparison before the family's
// adjustment and the running minimum. Once time alone makes more customers eligible, the
// kept timeline is not served: its last day follows /results?wave= again. The figure draws
// in both languages, titled with the wave, and an unknown wave is 422 naming wave.
func TestWaveTimelineThroughTheAPI(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	for _, seed := range []uint64{21, 26, 32, 37} { // numeric, then scale primary outcomes
		gen := generateWavesCase(seed)
		t.Run(fmt.Sprintf("seed_%d", seed), func(t *testing.T) {
			sub := *e
			sub.t = t
			key, local := postRandomWavesCase(t, &sub, gen, fmt.Sprintf("timeline-%d", seed))
			primary := local[gen.Outcomes[0].Key]
			// Labels, which the figure's title names the wave by.
			var labelled []map[string]any
			for i, w := range gen.Waves {
				labelled = append(labelled, map[string]any{"key": w.Key, "from_day": w.FromDay, "to_day": w.ToDay,
					"label": fmt.Sprintf("Survey %d", i+1), "label_nl": fmt.Sprintf("Meting %d", i+1)})
			}
			sub.must(http.StatusOK, editor, "PATCH", "/v1/experiments/"+key, map[string]any{"waves": labelled})
			exp, err := e.svc.Experiment(ctx, key)
			if err != nil {
				t.Fatal(err)
			}
			outcomes, err := e.svc.OutcomeMap(ctx)
			if err != nil {
				t.Fatal(err)
			}
			checked, middle := 0, 0
			for _, w := range gen.Waves {
				res, points, err := e.svc.WaveTimeline(ctx, key, w.Key)
				if err != nil {
					t.Fatal(err)
				}
				if res.Wave == nil || res.Wave.Key != w.Key {
					t.Fatalf("%s: the timeline's results are of wave %v", w.Key, res.Wave)
				}
				days := gen.answerDays(w)
				byDay := map[int64]map[string]stats.Comparison{}
				var got []int64
				for _, p := range points {
					d := p.Day.Unix()
					if byDay[d] == nil {
						byDay[d] = map[string]stats.Comparison{}
						got = append(got, d)
					}
					byDay[d][p.Arm] = p.Comparison
				}
				if !slices.Equal(got, days) {
					t.Fatalf("%s: days %v, the wave was answered on %v", w.Key, got, days)
				}
				for i, d := range days {
					want := asJSONValue(t, gen.expectedPrimaryUntil(w, local, d+daySeconds)).(map[string]any)
					o := want["outcomes"].([]any)[0].(map[string]any)
					for _, arm := range gen.arms()[1:] {
						checked += compareJSON(t, fmt.Sprintf("%s %s %s", w.Key, time.Unix(d, 0).UTC().Format(time.DateOnly), arm),
							o["comparisons"].(map[string]any)[arm], asJSONValue(t, byDay[d][arm]))
					}
					if i > 0 && i < len(days)-1 {
						middle++
					}
				}
				if len(days) == 0 {
					continue
				}
				// The last day is the wave's results.
				var results caseResults
				sub.must(http.StatusOK, analyst, "GET", "/v1/experiments/"+key+"/results?wave="+w.Key, nil).json(t, &results)
				i := slices.IndexFunc(results.Outcomes, func(o struct {
					Key         string         `json:"key"`
					Arms        map[string]any `json:"arms"`
					Comparisons map[string]any `json:"comparisons"`
				}) bool {
					return o.Key == primary
				})
				last := days[len(days)-1]
				for _, arm := range gen.arms()[1:] {
					checked += compareJSON(t, w.Key+" last day "+arm, withoutFamily(results.Outcomes[i].Comparisons[arm]),
						asJSONValue(t, byDay[last][arm]))
				}
				spec := experiment.SummarySpecs([]string{primary}, outcomes, time.Time{})[0]
				spec.Wave = &experiment.WaveWindow{Wave: *res.Wave, At: res.ComputedAt}
				sums, err := pgtest.Store(t).SummarizeDays(ctx, exp.ID, spec)
				if err != nil {
					t.Fatal(err)
				}
				arms := experiment.Analyze(exp, outcomes, []string{primary}, sums[len(sums)-1].Summary).Outcomes[0].Arms
				for _, arm := range gen.arms() {
					wantArm := results.Outcomes[i].Arms[arm].(map[string]any)
					checked += compareJSON(t, w.Key+" last day "+arm+" n", wantArm["n"], float64(arms[arm].N))
					checked += compareJSON(t, w.Key+" last day "+arm+" mean", wantArm["mean"], asJSONValue(t, arms[arm]).(map[string]any)["mean"])
				}
			}
			if middle == 0 {
				t.Error("no wave has a day between its first and its last: the case is too thin")
			}

			// Time alone makes customers eligible in the last wave: the timeline follows.
			lastWave := gen.Waves[len(gen.Waves)-1]
			before := e.svc.Now()
			e.svc.Now = func() time.Time { return before.Add(time.Duration(lastWave.FromDay+1) * 24 * time.Hour) }
			var eligibleBefore, eligibleAfter int
			for _, cu := range gen.Customers {
				if gen.eligible(cu, lastWave) {
					eligibleBefore++
				}
				if cu.AssignedAt+int64(lastWave.FromDay)*daySeconds <= e.svc.Now().Unix() {
					eligibleAfter++
				}
			}
			if eligibleAfter == eligibleBefore {
				t.Fatalf("fixture: nobody becomes eligible in %s", lastWave.Key)
			}
			_, points, err := e.svc.WaveTimeline(ctx, key, lastWave.Key)
			if err != nil {
				t.Fatal(err)
			}
			var results caseResults
			sub.must(http.StatusOK, analyst, "GET", "/v1/experiments/"+key+"/results?wave="+lastWave.Key, nil).json(t, &results)
			for _, o := range results.Outcomes {
				if o.Key != primary || len(points) == 0 {
					continue
				}
				for _, p := range points[len(points)-len(gen.arms())+1:] {
					checked += compareJSON(t, lastWave.Key+" later, last day "+p.Arm, withoutFamily(o.Comparisons[p.Arm]), asJSONValue(t, p.Comparison))
				}
			}
			e.svc.Now = func() time.Time { return before }

			for _, path := range []string{"timeline.png?wave=" + lastWave.Key, "timeline.png?lang=nl&wave=" + gen.Waves[0].Key, "timeline.svg?wave=" + gen.Waves[0].Key} {
				r := sub.call(analyst, "GET", "/v1/experiments/"+key+"/plots/"+path, nil)
				if r.Status != http.StatusOK || len(r.Body) < 1000 {
					t.Errorf("plots/%s: %d %.200s", path, r.Status, r.Body)
				}
				if dir := os.Getenv("KRSLAB_PLOT_DIR"); dir != "" {
					name := strings.NewReplacer("?", "_", "&", "_", "=", "-").Replace(fmt.Sprintf("wave-%d-%s", seed, path))
					os.WriteFile(filepath.Join(dir, name), r.Body, 0o644)
				}
			}
			r := sub.call(analyst, "GET", "/v1/experiments/"+key+"/plots/timeline.png?wave=year_9", nil)
			if _, d := r.errorBody(t); r.Status != http.StatusUnprocessableEntity || d[0].Field != "wave" {
				t.Errorf("timeline of an unknown wave: %d %s", r.Status, r.Body)
			}
			t.Logf("%d values checked, %d middle days", checked, middle)
		})
	}
}
