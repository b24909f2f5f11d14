package api_test

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"image/png"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/krslab/krslab/api/internal/race"
)

// deliverablesExperiment is a three-arm experiment on every built-in outcome, answered
// over ten days, with a real effect of the call-back.
func deliverablesExperiment(t *testing.T, e *env, key string) {
	t.Helper()
	e.createRunning(key, map[string]any{"arms": threeArms(), "guardrails": []string{"ces"}, "salt": key})
	ids := make([]string, 900)
	for i := range ids {
		ids[i] = fmt.Sprintf("%s-%04d", key, i)
	}
	arms := assign(t, e, key, ids...)
	rng := rand.New(rand.NewPCG(7, 11))
	start := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	var batch []map[string]any
	for i, id := range ids {
		if i%3 == 0 {
			continue
		}
		lift := map[string]float64{"callback": 0.6, "letter": 0.15}[arms[id]]
		a := map[string]any{}
		for _, k := range []string{"satisfaction", "trust", "love", "involvement", "choice_products", "choice_channels", "fairness", "influence", "ces"} {
			a[k] = min(7, max(1, int(4.5+lift+rng.NormFloat64()*1.3+0.5)))
		}
		a["nps"] = min(10, max(0, int(7+2*lift+rng.NormFloat64()*2+0.5)))
		batch = append(batch, map[string]any{"response_id": id, "customer_id": id,
			"answered_at": start.Add(time.Duration(i%10) * 24 * time.Hour).Format(time.RFC3339), "answers": a})
	}
	e.must(http.StatusCreated, ingest, "POST", "/v1/experiments/"+key+"/responses:batch", map[string]any{"responses": batch})
}

func TestPlotsReportAndCSV(t *testing.T) {
	race.SkipSequential(t)
	e := newEnv(t)
	key := "deliverables"
	deliverablesExperiment(t, e, key)
	base := "/v1/experiments/" + key

	for _, name := range []string{"effects", "trust", "nps", "krs", "timeline"} {
		r := e.must(http.StatusOK, analyst, "GET", base+"/plots/"+name+".png?width=900&height=600", nil)
		img, err := png.Decode(bytes.NewReader(r.Body))
		if err != nil {
			t.Errorf("%s.png: %v", name, err)
			continue
		}
		if b := img.Bounds(); b.Dx() != 900 || b.Dy() != 600 {
			t.Errorf("%s.png is %dx%d, want 900x600", name, b.Dx(), b.Dy())
		}
		r = e.must(http.StatusOK, analyst, "GET", base+"/plots/"+name+".svg?lang=nl", nil)
		if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "image/svg+xml") {
			t.Errorf("%s.svg content type %q", name, ct)
		}
		if err := xml.Unmarshal(r.Body, new(struct{})); err != nil {
			t.Errorf("%s.svg is not XML: %v", name, err)
		}
	}
	r := e.call(analyst, "GET", base+"/plots/effects.png?width=5&height=abc&colour=red", nil)
	if _, d := r.errorBody(t); r.Status != http.StatusUnprocessableEntity || len(d) < 2 {
		t.Errorf("bad plot options: %d %s", r.Status, r.Body)
	}
	e.must(http.StatusNotFound, analyst, "GET", base+"/plots/happiness.png", nil)
	e.must(http.StatusNotFound, analyst, "GET", base+"/plots/effects.gif", nil)

	// results.csv: one row per (outcome, arm), the same numbers as the JSON.
	var res struct {
		Outcomes []struct {
			Key         string
			Arms        map[string]map[string]any
			Comparisons map[string]map[string]any
		}
		Recommendation struct{ Action, Reason string }
	}
	e.must(http.StatusOK, analyst, "GET", base+"/results", nil).json(t, &res)
	r = e.must(http.StatusOK, analyst, "GET", base+"/results.csv", nil)
	rows, err := csv.NewReader(bytes.NewReader(r.Body)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	header := strings.Join(rows[0], ",")
	if header != "outcome,kind,arm,n,mean,ci_low,ci_high,diff,diff_ci_low,diff_ci_high,p_value,p_adjusted,verdict,"+
		"method,se,sequential_p,bounds_lower,bounds_upper,bounds_ci_low,bounds_ci_high,odds_ratio" {
		t.Errorf("header %s", header)
	}
	if want := len(res.Outcomes) * 3; len(rows)-1 != want {
		t.Errorf("%d CSV rows, want %d", len(rows)-1, want)
	}
	seen := map[string]bool{}
	for _, row := range rows[1:] {
		id := row[0] + "/" + row[2]
		if seen[id] {
			t.Errorf("duplicate row %s", id)
		}
		seen[id] = true
		for _, o := range res.Outcomes {
			if o.Key != row[0] {
				continue
			}
			checkCell(t, id+" n", row[3], o.Arms[row[2]]["n"])
			checkCell(t, id+" ci_low", row[5], o.Arms[row[2]]["ci_low"])
			if c, ok := o.Comparisons[row[2]]; ok {
				checkCell(t, id+" p_adjusted", row[11], c["p_adjusted"])
				if row[12] != c["verdict"] {
					t.Errorf("%s verdict %s vs %v", id, row[12], c["verdict"])
				}
			}
		}
	}

	r = e.must(http.StatusOK, analyst, "GET", base+"/report.html", nil)
	page := string(r.Body)
	for _, want := range []string{res.Recommendation.Action, "data:image/png;base64,", "KRS"} {
		if want == "" || !strings.Contains(page, want) {
			t.Errorf("report.html lacks %q", want)
		}
	}
	if strings.Contains(page, "http://") || strings.Contains(page, "https://") {
		t.Error("report.html refers to outside assets")
	}
	e.must(http.StatusOK, analyst, "GET", base+"/report.html?lang=nl", nil)
	e.must(http.StatusForbidden, ingest, "GET", base+"/report.html", nil)
}

// checkCell compares a CSV cell with the JSON number it comes from.
func checkCell(t *testing.T, what, cell string, want any) {
	t.Helper()
	if want == nil {
		if cell != "" {
			t.Errorf("%s: %q, want empty", what, cell)
		}
		return
	}
	w, _ := want.(float64)
	got, err := strconv.ParseFloat(cell, 64)
	if err != nil || got != w {
		b, _ := json.Marshal(want)
		t.Errorf("%s: CSV %q, JSON %s", what, cell, b)
	}
}
