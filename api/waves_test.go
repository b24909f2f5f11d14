package api_test

import (
	"net/http"
	"slices"
	"testing"
)

func caseWaves() []map[string]any {
	return []map[string]any{
		{"key": "week_1", "label": "After a week", "label_nl": "Na een week", "from_day": 0, "to_day": 13},
		{"key": "month_1", "from_day": 21, "to_day": 45},
		{"key": "month_3", "label": "After three months", "from_day": 80, "to_day": 110},
	}
}

// TestWavesDefinition: an experiment takes waves and a decision wave, shows them, names
// every offending field, and keeps them frozen once running except that waves may be
// appended (and relabelled).
func TestWavesDefinition(t *testing.T) {
	e := newEnv(t)
	body := map[string]any{"key": "waves-def", "arms": threeArms(), "outcomes": []string{"trust", "nps"},
		"primary_outcome": "trust", "waves": caseWaves(), "decision_wave": "month_3"}
	var got struct {
		Waves []struct {
			Key     string `json:"key"`
			Label   string `json:"label"`
			LabelNL string `json:"label_nl"`
			FromDay int    `json:"from_day"`
			ToDay   int    `json:"to_day"`
		} `json:"waves"`
		DecisionWave *string `json:"decision_wave"`
	}
	created := e.must(http.StatusCreated, editor, "POST", "/v1/experiments", body)
	created.json(t, &got)
	var raw any
	created.json(t, &raw)
	validateSchema(t, loadOpenAPI(t), "Experiment", raw)
	if len(got.Waves) != 3 || got.Waves[1].Label != "month_1" || got.Waves[0].LabelNL != "Na een week" ||
		got.Waves[2].FromDay != 80 || got.DecisionWave == nil || *got.DecisionWave != "month_3" {
		t.Fatalf("created: %+v", got)
	}

	bad := map[string]any{"key": "waves-bad", "arms": threeArms(), "outcomes": []string{"trust"}, "primary_outcome": "trust",
		"decision_wave": "year_1", "waves": []map[string]any{
			{"key": "week_1", "from_day": 0, "to_day": 13},
			{"key": "week_1", "from_day": 10, "to_day": 20},
			{"key": "late", "from_day": 40, "to_day": 4000},
		}}
	r := e.call(editor, "POST", "/v1/experiments", bad)
	_, details := r.errorBody(t)
	var fields []string
	for _, d := range details {
		fields = append(fields, d.Field)
	}
	for _, want := range []string{"waves[1].key", "waves[1].from_day", "waves[2].to_day", "decision_wave"} {
		if !slices.Contains(fields, want) {
			t.Errorf("details miss %s: %v", want, fields)
		}
	}
	if r.Status != http.StatusUnprocessableEntity {
		t.Errorf("status %d", r.Status)
	}

	e.must(http.StatusOK, editor, "POST", "/v1/experiments/waves-def/start", nil)
	moved := caseWaves()
	moved[1]["to_day"] = 50
	r = e.call(editor, "PATCH", "/v1/experiments/waves-def", map[string]any{"waves": moved})
	if code, d := r.errorBody(t); r.Status != http.StatusConflict || code != "conflict" || d[0].Field != "waves" {
		t.Errorf("moving a wave once running: %d %s", r.Status, r.Body)
	}
	r = e.call(editor, "PATCH", "/v1/experiments/waves-def", map[string]any{"waves": caseWaves()[:2]})
	if r.Status != http.StatusConflict {
		t.Errorf("dropping a wave once running: %d %s", r.Status, r.Body)
	}
	r = e.call(editor, "PATCH", "/v1/experiments/waves-def", map[string]any{"decision_wave": "week_1"})
	if _, d := r.errorBody(t); r.Status != http.StatusConflict || d[0].Field != "decision_wave" {
		t.Errorf("changing the decision wave once running: %d %s", r.Status, r.Body)
	}
	more := append(caseWaves(), map[string]any{"key": "year_1", "label": "After a year", "label_nl": "Na een jaar", "from_day": 350, "to_day": 380})
	more[1]["label"] = "After a month"
	e.must(http.StatusOK, editor, "PATCH", "/v1/experiments/waves-def", map[string]any{"waves": more}).json(t, &got)
	if len(got.Waves) != 4 || got.Waves[3].Key != "year_1" || got.Waves[1].Label != "After a month" {
		t.Errorf("appended: %+v", got.Waves)
	}
	e.must(http.StatusOK, analyst, "GET", "/v1/experiments/waves-def", nil).json(t, &got)
	if len(got.Waves) != 4 || got.Waves[3].ToDay != 380 {
		t.Errorf("stored: %+v", got.Waves)
	}
	overlapping := append(caseWaves(), map[string]any{"key": "late", "from_day": 100, "to_day": 200})
	r = e.call(editor, "PATCH", "/v1/experiments/waves-def", map[string]any{"waves": append(more, overlapping[3])})
	if _, d := r.errorBody(t); r.Status != http.StatusUnprocessableEntity || d[0].Field != "waves[4].from_day" {
		t.Errorf("appending an overlapping wave: %d %s", r.Status, r.Body)
	}
}
