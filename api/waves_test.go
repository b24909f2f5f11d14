package api_test

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/krslab/krslab/api/internal/race"
	"github.com/krslab/krslab/experiment"
	"github.com/krslab/krslab/stats"
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

// wavesRefCase is a case of ../shared/testdata/waves (see its README): customers with their
// arm, historical assignment time and responses in arrival order, and the expected results
// of every wave, the persistence blocks and the decision wave's recommendation.
type wavesRefCase struct {
	Alpha      float64            `json:"alpha"`
	Correction string             `json:"correction"`
	Control    string             `json:"control"`
	Weights    map[string]float64 `json:"weights"`
	Now        int64              `json:"now"`
	Outcomes   []struct {
		Key            string   `json:"key"`
		Kind           string   `json:"kind"`
		Min            *float64 `json:"min"`
		Max            *float64 `json:"max"`
		TopMin         *float64 `json:"top_min"`
		BottomMax      *float64 `json:"bottom_max"`
		HigherIsBetter *bool    `json:"higher_is_better"`
	} `json:"outcomes"`
	Waves []struct {
		Key     string `json:"key"`
		FromDay int    `json:"from_day"`
		ToDay   int    `json:"to_day"`
	} `json:"waves"`
	DecisionWave string   `json:"decision_wave"`
	Guardrails   []string `json:"guardrails"`
	Customers    []struct {
		ID         string `json:"id"`
		Arm        string `json:"arm"`
		AssignedAt int64  `json:"assigned_at"`
		Responses  []struct {
			ResponseID string             `json:"response_id"`
			AnsweredAt int64              `json:"answered_at"`
			Answers    map[string]float64 `json:"answers"`
		} `json:"responses"`
	} `json:"customers"`
	Expected struct {
		Waves map[string]struct {
			Outcomes       map[string]map[string]any `json:"outcomes"`
			SRM            map[string]any            `json:"srm"`
			ResponseCheck  map[string]any            `json:"response_check"`
			Recommendation map[string]any            `json:"recommendation"`
		} `json:"waves"`
		Persistence    map[string]map[string]any `json:"persistence"`
		Recommendation map[string]any            `json:"recommendation"`
	} `json:"expected"`
}

// postWavesCase creates a case as a running experiment with the case's waves and decision
// wave, the service's clock at the case's moment of computing: custom outcomes (keys with
// the case's suffix), every customer imported with its historical assigned_at under an id
// that the hash rule sends to the customer's arm, and the responses in arrival order. It
// returns the experiment's key and the case's outcome keys as stored.
func postWavesCase(t *testing.T, e *env, c wavesRefCase, name string) (string, map[string]string) {
	t.Helper()
	suffix := "_" + strings.ReplaceAll(name, "-", "_")
	key := "waves-" + strings.ReplaceAll(name, "_", "-")
	now := time.Unix(c.Now, 0).UTC()
	e.svc.Now = func() time.Time { return now }
	local := map[string]string{}
	var keys []string
	for _, o := range c.Outcomes {
		k := o.Key + suffix
		local[o.Key] = k
		keys = append(keys, k)
		body := map[string]any{"key": k, "kind": o.Kind, "label": o.Key}
		if o.HigherIsBetter != nil {
			body["higher_is_better"] = *o.HigherIsBetter
		}
		if o.Kind == "scale" || o.Kind == "net" {
			body["min"], body["max"] = o.Min, o.Max
		}
		if o.Kind == "net" {
			body["top_min"], body["bottom_max"] = o.TopMin, o.BottomMax
		}
		e.must(http.StatusCreated, editor, "POST", "/v1/outcomes", body)
	}
	var guardrails []string
	for _, g := range c.Guardrails {
		guardrails = append(guardrails, local[g])
	}
	var waves []map[string]any
	for _, w := range c.Waves {
		waves = append(waves, map[string]any{"key": w.Key, "from_day": w.FromDay, "to_day": w.ToDay})
	}
	armBody, domainArms := caseArms(c.Control, c.Weights)
	e.createRunning(key, map[string]any{"arms": armBody, "alpha": c.Alpha, "correction": c.Correction,
		"outcomes": keys, "primary_outcome": keys[0], "guardrails": guardrails,
		"waves": waves, "decision_wave": c.DecisionWave})

	// Each arm's customers take, in order, the ids the hash rule sends to that arm.
	byArm := map[string][]string{}
	need := map[string]int{}
	for _, cu := range c.Customers {
		need[cu.Arm]++
	}
	for i, found := 0, 0; found < len(c.Customers); i++ {
		id := fmt.Sprintf("w%s-%06d", suffix, i)
		arm := experiment.AssignArm(key, id, domainArms)
		if len(byArm[arm]) < need[arm] {
			byArm[arm] = append(byArm[arm], id)
			found++
		}
	}
	ids := make([]string, len(c.Customers))
	used := map[string]int{}
	var csv strings.Builder
	csv.WriteString("customer_id,assigned_at\n")
	for i, cu := range c.Customers {
		ids[i] = byArm[cu.Arm][used[cu.Arm]]
		used[cu.Arm]++
		fmt.Fprintf(&csv, "%s,%s\n", ids[i], time.Unix(cu.AssignedAt, 0).UTC().Format(time.RFC3339))
	}
	if r := e.do(ingest, "POST", "/v1/experiments/"+key+"/assignments:import", "text/csv", []byte(csv.String())); r.Status != http.StatusCreated {
		t.Fatalf("import assignments: %d %s", r.Status, r.Body)
	}
	var responses []map[string]any
	for i, cu := range c.Customers {
		for _, r := range cu.Responses {
			answers := map[string]any{}
			for k, v := range r.Answers {
				answers[local[k]] = v
			}
			responses = append(responses, map[string]any{"response_id": r.ResponseID + suffix, "customer_id": ids[i],
				"answered_at": time.Unix(r.AnsweredAt, 0).UTC().Format(time.RFC3339), "answers": answers})
		}
	}
	e.must(http.StatusCreated, ingest, "POST", "/v1/experiments/"+key+"/responses:batch", map[string]any{"responses": responses})
	return key, local
}

// TestWaveCasesThroughHTTP posts every case of ../shared/testdata/waves (STATS.md's third
// part, computed independently with numpy/scipy) as a running experiment with historical
// assignments: /results?wave=KEY must reproduce every number of expected.waves[KEY] (per-arm
// statistics, comparisons with effect, sequential, bounds, ordinal, p_adjusted and
// verdicts, srm and response_check over the wave's eligible customers) to 1e-6 relative
// (1e-9 absolute), and the recommendation's action, arm and caveats.
func TestWaveCasesThroughHTTP(t *testing.T) {
	race.SkipSequential(t)
	e := newEnv(t)
	for _, f := range caseFiles(t, "waves") {
		var c wavesRefCase
		f.decode(t, &c)
		t.Run(f.name, func(t *testing.T) {
			sub := *e
			sub.t = t
			key, local := postWavesCase(t, &sub, c, f.name)
			checked := 0
			for _, w := range c.Waves {
				want := c.Expected.Waves[w.Key]
				var res caseResults
				r := sub.must(http.StatusOK, analyst, "GET", "/v1/experiments/"+key+"/results?wave="+w.Key, nil)
				r.json(t, &res)
				var raw any
				r.json(t, &raw)
				validateSchema(t, loadOpenAPI(t), "Results", raw)
				got := map[string]map[string]any{}
				for _, o := range res.Outcomes {
					got[o.Key] = map[string]any{"arms": o.Arms, "comparisons": o.Comparisons}
				}
				for outcome, exp := range want.Outcomes {
					for part, byArm := range exp {
						gotPart, _ := got[local[outcome]][part].(map[string]any)
						checked += compareJSON(t, w.Key+"."+outcome+"."+part, byArm, any(gotPart))
					}
				}
				checked += compareJSON(t, w.Key+".srm", want.SRM, res.SRM)
				checked += compareJSON(t, w.Key+".response_check", want.ResponseCheck, res.ResponseCheck)
				checked += compareRecommendation(t, w.Key+".recommendation", want.Recommendation, res.Recommendation)
			}
			for _, lang := range []string{"en", "nl"} {
				var whole caseResults
				sub.must(http.StatusOK, analyst, "GET", "/v1/experiments/"+key+"/results?lang="+lang, nil).json(t, &whole)
				checked += compareRecommendation(t, "recommendation", c.Expected.Recommendation, whole.Recommendation)
				says := map[string]string{"en": "In the decision wave, " + c.DecisionWave, "nl": "In de beslisgolf, " + c.DecisionWave}[lang]
				reason, _ := whole.Recommendation["reason"].(string)
				t.Log(reason)
				if !strings.HasPrefix(reason, says) {
					t.Errorf("recommendation.reason (%s): %q does not begin %q", lang, reason, says)
				}
			}
			var p struct {
				Outcomes map[string]map[string]any `json:"outcomes"`
			}
			r := sub.must(http.StatusOK, analyst, "GET", "/v1/experiments/"+key+"/persistence", nil)
			r.json(t, &p)
			var raw any
			r.json(t, &raw)
			validateSchema(t, loadOpenAPI(t), "Persistence", raw)
			for outcome, byArm := range c.Expected.Persistence {
				for arm, want := range byArm {
					checked += compareJSON(t, "persistence."+outcome+"."+arm, want, p.Outcomes[local[outcome]][arm])
				}
			}
			// The report says whether it lasts, in both languages, with the persistence figure.
			for lang, title := range map[string]string{"en": "Does it last?", "nl": "Blijft het?"} {
				r := sub.must(http.StatusOK, analyst, "GET", "/v1/experiments/"+key+"/report.html?lang="+lang, nil)
				if page := string(r.Body); !strings.Contains(page, `<section id="lasting">`) || !strings.Contains(page, "<h2>"+title+"</h2>") {
					t.Errorf("report.html (%s) has no section %q", lang, title)
				}
			}
			t.Logf("%d expected values checked", checked)
		})
	}
}

// compareRecommendation checks the action, arm (absent is the expected null) and caveats.
func compareRecommendation(t *testing.T, path string, want, got map[string]any) int {
	t.Helper()
	if got["caveats"] == nil {
		t.Errorf("%s.caveats: missing", path)
	}
	if _, ok := got["arm"]; !ok {
		got["arm"] = nil
	}
	n := 0
	for _, f := range []string{"action", "arm", "caveats"} {
		n += compareJSON(t, path+"."+f, want[f], got[f])
	}
	return n
}

// TestWaveEligibilityMovesWithTime: a wave counts as assigned the customers assigned at
// least from_day days before the moment of computing, so its results change as customers
// reach the wave, with nothing written; a kept analysis serves only until the next one does.
func TestWaveEligibilityMovesWithTime(t *testing.T) {
	e := newEnv(t)
	var c wavesRefCase
	for _, f := range caseFiles(t, "waves") {
		if f.name == "waves_3" {
			f.decode(t, &c)
		}
	}
	key, _ := postWavesCase(t, e, c, "eligible_3")
	last := c.Waves[len(c.Waves)-1]
	var boundaries []int64
	for _, cu := range c.Customers {
		boundaries = append(boundaries, cu.AssignedAt+int64(last.FromDay)*86400)
	}
	slices.Sort(boundaries)
	k := len(boundaries) / 2
	for boundaries[k] == boundaries[k-1] {
		k++
	}
	analyses := 0
	e.svc.ObserveAnalyses(func(string) { analyses++ })
	assigned := func(at time.Time) int64 {
		e.svc.Now = func() time.Time { return at }
		var res struct {
			Arms map[string]struct {
				Assigned int64 `json:"assigned"`
			} `json:"arms"`
		}
		e.must(http.StatusOK, analyst, "GET", "/v1/experiments/"+key+"/results?wave="+last.Key, nil).json(t, &res)
		var n int64
		for _, a := range res.Arms {
			n += a.Assigned
		}
		return n
	}
	before := time.Unix(boundaries[k], 0).UTC().Add(-time.Second)
	if n := assigned(before); n != int64(k) {
		t.Errorf("a second before customer %d reaches %s: %d assigned, want %d", k+1, last.Key, n, k)
	}
	if n := assigned(before.Add(500 * time.Millisecond)); n != int64(k) || analyses != 1 {
		t.Errorf("still before: %d assigned (want %d), %d analyses (want 1: kept)", n, k, analyses)
	}
	if n := assigned(before.Add(time.Second)); n != int64(k+1) || analyses != 2 {
		t.Errorf("at the boundary: %d assigned (want %d), %d analyses (want 2)", n, k+1, analyses)
	}
	r := e.call(analyst, "GET", "/v1/experiments/"+key+"/results?wave=year_9", nil)
	if _, d := r.errorBody(t); r.Status != http.StatusUnprocessableEntity || d[0].Field != "wave" {
		t.Errorf("unknown wave: %d %s", r.Status, r.Body)
	}
	r = e.call(analyst, "GET", "/v1/experiments/"+key+"/results?wave=year_9&segment=channel", nil)
	if _, d := r.errorBody(t); r.Status != http.StatusUnprocessableEntity || d[0].Field != "wave" {
		t.Errorf("unknown wave with segment: %d %s", r.Status, r.Body)
	}
	for _, path := range []string{"/results.csv?wave=" + last.Key, "/plots/trust_eligible_3.png?wave=week_1"} {
		if r := e.call(analyst, "GET", "/v1/experiments/"+key+path, nil); r.Status != http.StatusOK {
			t.Errorf("%s: %d %s", path, r.Status, r.Body)
		}
	}
	// A wave's figures name it in their titles, with its days.
	for _, w := range c.Waves {
		days := fmt.Sprintf("%s (days %d–%d)", w.Key, w.FromDay, w.ToDay)
		for _, path := range []string{"/plots/effects.svg?wave=" + w.Key, "/plots/trust_eligible_3.svg?wave=" + w.Key, "/plots/timeline.svg?wave=" + w.Key} {
			r := e.call(analyst, "GET", "/v1/experiments/"+key+path, nil)
			if r.Status != http.StatusOK || !strings.Contains(string(r.Body), days) {
				t.Errorf("%s: %d, title without %q", path, r.Status, days)
			}
		}
	}
	if r := e.call(analyst, "GET", "/v1/experiments/"+key+"/plots/timeline.png?wave=week_1", nil); r.Status != http.StatusOK || len(r.Body) < 1000 {
		t.Errorf("timeline of a wave: %d %.200s", r.Status, r.Body)
	}
	r = e.call(analyst, "GET", "/v1/experiments/"+key+"/plots/timeline.svg?wave=year_9", nil)
	if _, d := r.errorBody(t); r.Status != http.StatusUnprocessableEntity || d[0].Field != "wave" {
		t.Errorf("timeline of an unknown wave: %d %s", r.Status, r.Body)
	}
	for _, path := range []string{"persistence.png", "persistence.svg?lang=nl", "persistence.png?outcome=nps_eligible_3&lang=nl"} {
		r := e.call(analyst, "GET", "/v1/experiments/"+key+"/plots/"+path, nil)
		if r.Status != http.StatusOK || len(r.Body) < 1000 {
			t.Errorf("plots/%s: %d %.200s", path, r.Status, r.Body)
		}
		if dir := os.Getenv("KRSLAB_PLOT_DIR"); dir != "" {
			os.WriteFile(filepath.Join(dir, strings.NewReplacer("?", "_", "&", "_", "=", "-").Replace(path)), r.Body, 0o644)
		}
	}
	r = e.call(analyst, "GET", "/v1/experiments/"+key+"/plots/persistence.png?outcome=happiness", nil)
	if _, d := r.errorBody(t); r.Status != http.StatusUnprocessableEntity || d[0].Field != "outcome" {
		t.Errorf("persistence of an unknown outcome: %d %s", r.Status, r.Body)
	}
}

// TestPersistenceOfCompositesAndNumbers: the within-customer change of a composite (from
// each wave's latest component answers, the KRS rule) and of a numeric outcome with a large
// offset (which the deltas cancel) is Welch's test of the per-customer deltas, as
// stats.WaveChange computes it from the deltas themselves.
func TestPersistenceOfCompositesAndNumbers(t *testing.T) {
	e := newEnv(t)
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	e.svc.Now = func() time.Time { return now }
	e.must(http.StatusCreated, editor, "POST", "/v1/outcomes", map[string]any{"key": "balance_p", "kind": "numeric", "label": "Balance"})
	key := "persist-kinds"
	arms := []map[string]any{{"key": "control", "weight": 1, "control": true}, {"key": "callback", "weight": 1}}
	e.createRunning(key, map[string]any{"arms": arms, "outcomes": []string{"krs", "balance_p"}, "primary_outcome": "krs",
		"waves": []map[string]any{{"key": "early", "from_day": 0, "to_day": 13}, {"key": "late", "from_day": 30, "to_day": 60}}})
	domain := []experiment.Arm{{Key: "control", Weight: 1}, {Key: "callback", Weight: 1}}
	rng := rand.New(rand.NewPCG(20, 1))
	assignedAt := now.AddDate(0, 0, -100)
	var csv strings.Builder
	csv.WriteString("customer_id,assigned_at\n")
	deltas := map[string][2][]float64{}
	var responses []map[string]any
	for i := range 40 {
		id := fmt.Sprintf("pk-%03d", i)
		arm := experiment.AssignArm(key, id, domain)
		fmt.Fprintf(&csv, "%s,%s\n", id, assignedAt.Format(time.RFC3339))
		lift := 0.0
		if arm == "callback" {
			lift = 1
		}
		var krs, bal [2]float64
		for w, day := range []int{5, 40} {
			if w == 1 {
				lift /= 2
			}
			answers := map[string]any{}
			var sum float64
			for _, c := range []string{"satisfaction", "trust", "love"} {
				v := min(7, max(1, math.Round(4+lift+rng.NormFloat64())))
				answers[c] = v
				sum += 100 * (v - 1) / 6
			}
			krs[w] = sum / 3
			bal[w] = 1e9 + 100*lift + rng.NormFloat64()
			answers["balance_p"] = bal[w]
			if i%7 == 3 && w == 1 {
				delete(answers, "love") // no composite in the late wave: no delta
			}
			responses = append(responses, map[string]any{"response_id": fmt.Sprintf("pk-%d-%d", i, w), "customer_id": id,
				"answered_at": assignedAt.Add(time.Duration(day)*24*time.Hour + time.Hour).Format(time.RFC3339), "answers": answers})
		}
		d := deltas[arm]
		if i%7 != 3 {
			d[0] = append(d[0], krs[1]-krs[0])
		}
		d[1] = append(d[1], bal[1]-bal[0])
		deltas[arm] = d
	}
	if r := e.do(ingest, "POST", "/v1/experiments/"+key+"/assignments:import", "text/csv", []byte(csv.String())); r.Status != http.StatusCreated {
		t.Fatalf("import: %d %s", r.Status, r.Body)
	}
	e.must(http.StatusCreated, ingest, "POST", "/v1/experiments/"+key+"/responses:batch", map[string]any{"responses": responses})
	var p struct {
		Outcomes map[string]map[string]map[string]any `json:"outcomes"`
	}
	e.must(http.StatusOK, analyst, "GET", "/v1/experiments/"+key+"/persistence", nil).json(t, &p)
	for i, outcome := range []string{"krs", "balance_p"} {
		want := stats.WaveChange("early", "late", stats.MomentsOf(deltas["callback"][i]), stats.MomentsOf(deltas["control"][i]), 0.05, true)
		b, _ := json.Marshal(want)
		var w map[string]any
		json.Unmarshal(b, &w)
		if n := compareJSON(t, outcome+".change", w, p.Outcomes[outcome]["callback"]["change"]); n != 11 {
			t.Errorf("%s: %d fields compared", outcome, n)
		}
	}
}
