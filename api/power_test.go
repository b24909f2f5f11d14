package api_test

import (
	"encoding/json"
	"net/http"
	"os"
	"testing"
)

// TestPowerReferenceCases asks POST /v1/power every question of
// ../shared/testdata/stats/power.json (answers from statsmodels).
func TestPowerReferenceCases(t *testing.T) {
	raw, err := os.ReadFile("../../shared/testdata/stats/power.json")
	if err != nil {
		t.Fatal(err)
	}
	var cases []map[string]any
	if err := json.Unmarshal(raw, &cases); err != nil {
		t.Fatal(err)
	}
	e := newEnv(t)
	for _, c := range cases {
		want := c["expected_n_per_arm"]
		delete(c, "expected_n_per_arm")
		for k, v := range c {
			if v == nil {
				delete(c, k)
			}
		}
		var got struct {
			NPerArm float64 `json:"n_per_arm"`
		}
		e.must(http.StatusOK, analyst, "POST", "/v1/power", c).json(t, &got)
		if got.NPerArm != want {
			t.Errorf("%v: n_per_arm %v, want %v", c, got.NPerArm, want)
		}
	}
	var bonf struct {
		NPerArm        int     `json:"n_per_arm"`
		EffectiveAlpha float64 `json:"effective_alpha"`
	}
	e.must(http.StatusOK, analyst, "POST", "/v1/power", map[string]any{"kind": "scale", "sd": 1.4, "mde": 0.2, "comparisons": 10}).json(t, &bonf)
	if bonf.EffectiveAlpha != 0.005 || bonf.NPerArm <= 771 {
		t.Errorf("Bonferroni plan: %+v", bonf)
	}
	r := e.call(analyst, "POST", "/v1/power", map[string]any{"kind": "binary", "sd": 1, "mde": 0, "alpha": 0.9, "power": 2})
	if _, d := r.errorBody(t); r.Status != http.StatusUnprocessableEntity || len(d) < 4 {
		t.Errorf("bad plan: %d %s", r.Status, r.Body)
	}
	if r := e.call(ingest, "POST", "/v1/power", map[string]any{"kind": "scale", "sd": 1, "mde": 0.2}); r.Status != http.StatusForbidden {
		t.Errorf("ingest key may not plan: %d", r.Status)
	}
}
