package api_test

import (
	"fmt"
	"math"
	"net/http"
	"strings"
	"testing"

	"github.com/krslab/krslab/stats"
)

// TestRecommendationReadsTheRunningMinimum: while an experiment runs without a target, a
// roll-out needs the primary's always-valid p below alpha/m, and that is the p /results
// reports, the minimum over the looks served. A first look at a large early effect
// (20 answers per arm, 3 points apart) is conclusive; 400 more answers per arm 0.1 apart
// keep the fixed-horizon verdict better but give this look an always-valid p above 0.05:
// the recommendation stays roll_out, on the running minimum. The reason names the arm and
// the outcome in the language asked.
func TestRecommendationReadsTheRunningMinimum(t *testing.T) {
	e := newEnv(t)
	key := "running-minimum"
	e.createRunning(key, map[string]any{"arms": []map[string]any{
		{"key": "control", "name": "Standard reply", "control": true}, {"key": "callback", "name": "Personal call-back"}},
		"outcomes": []string{"trust"}, "primary_outcome": "trust"})
	ids := map[string][]string{}
	for i := 0; len(ids["control"]) < 420 || len(ids["callback"]) < 420; i++ {
		id := fmt.Sprintf("rm-%d", i)
		arm := assign(t, e, key, id)[id]
		if len(ids[arm]) < 420 {
			ids[arm] = append(ids[arm], id)
		}
	}
	post := func(from, to int) {
		t.Helper()
		var rs []map[string]any
		for arm, cycle := range map[string][]int{"control": {2, 3, 4, 5, 6}, "callback": {2, 3, 4, 5, 6, 3, 4, 5, 6, 3}} {
			for i := from; i < to; i++ {
				v := cycle[i%len(cycle)]
				if i < 20 { // the early answers: control around 3, call-back around 6
					v = map[string]int{"control": 3, "callback": 6}[arm] + i%3 - 1
				}
				rs = append(rs, map[string]any{"response_id": "r-" + ids[arm][i], "customer_id": ids[arm][i],
					"answered_at": "2026-02-01T12:00:00Z", "answers": map[string]any{"trust": v}})
			}
		}
		e.must(http.StatusCreated, ingest, "POST", "/v1/experiments/"+key+"/responses:batch", map[string]any{"responses": rs})
	}
	type results struct {
		Outcomes []struct {
			Arms        map[string]struct{ N, SD float64 } `json:"arms"`
			Comparisons map[string]struct {
				Diff, SE   float64
				Verdict    string
				Sequential struct {
					PValue float64 `json:"p_value"`
				}
			} `json:"comparisons"`
		} `json:"outcomes"`
		Recommendation struct{ Action, Arm, Reason string }
	}
	look := func(lang string) results {
		t.Helper()
		var r results
		e.must(http.StatusOK, analyst, "GET", "/v1/experiments/"+key+"/results?lang="+lang, nil).json(t, &r)
		return r
	}
	post(0, 20)
	first := look("en")
	if c := first.Outcomes[0].Comparisons["callback"]; c.Verdict != "better" || !(c.Sequential.PValue < 0.05) || first.Recommendation.Action != stats.ActionRollOut {
		t.Fatalf("first look: %+v, %+v", c, first.Recommendation)
	}
	post(20, 420)
	second := look("en")
	o := second.Outcomes[0]
	c := o.Comparisons["callback"]
	// This look's own always-valid p, with tau = 0.2 * the pooled sd.
	ct, cc := o.Arms["callback"], o.Arms["control"]
	sd := math.Sqrt(((ct.N-1)*ct.SD*ct.SD + (cc.N-1)*cc.SD*cc.SD) / (ct.N + cc.N - 2))
	now := stats.SequentialTest(c.Diff, c.SE, 0.2*sd, 0.05).PValue
	if c.Verdict != "better" || !(now >= 0.05) || c.Sequential.PValue != first.Outcomes[0].Comparisons["callback"].Sequential.PValue {
		t.Fatalf("second look: verdict %s, this look's p %v, reported %v (first %v): the fixture does not separate them",
			c.Verdict, now, c.Sequential.PValue, first.Outcomes[0].Comparisons["callback"].Sequential.PValue)
	}
	if r := second.Recommendation; r.Action != stats.ActionRollOut || r.Arm != "callback" || !strings.HasPrefix(r.Reason, "Personal call-back raised Trust by ") {
		t.Errorf("recommendation on the running minimum: %+v", r)
	}
	if r := look("nl").Recommendation; !strings.HasPrefix(r.Reason, "Personal call-back verhoogde Vertrouwen met ") {
		t.Errorf("Dutch reason: %q", r.Reason)
	}
}
