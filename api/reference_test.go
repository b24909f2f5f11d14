package api_test

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/krslab/krslab/experiment"
)

// refCase is one analysis case of ../shared/testdata/stats (see its README).
type refCase struct {
	Seed       int                `json:"seed"`
	Alpha      float64            `json:"alpha"`
	Correction string             `json:"correction"`
	Control    string             `json:"control"`
	Weights    map[string]float64 `json:"weights"`
	Assigned   map[string]int     `json:"assigned"`
	Outcomes   []struct {
		Key            string                `json:"key"`
		Kind           string                `json:"kind"`
		Min            *float64              `json:"min"`
		Max            *float64              `json:"max"`
		TopMin         *float64              `json:"top_min"`
		BottomMax      *float64              `json:"bottom_max"`
		HigherIsBetter *bool                 `json:"higher_is_better"`
		Arms           map[string][]float64  `json:"arms"`
		Covariate      map[string][]*float64 `json:"covariate"`
	} `json:"outcomes"`
	Expected struct {
		Outcomes map[string]map[string]map[string]any `json:"outcomes"`
		SRM      map[string]any                       `json:"srm"`
	} `json:"expected"`
}

// TestReferenceCasesThroughHTTP posts every case of ../shared/testdata/stats (numbers
// computed independently with scipy and statsmodels) as a real experiment: custom
// outcomes, customers assigned by the hash rule until every arm has the case's assigned
// count, responses and covariates over HTTP. /results must reproduce every expected number
// to 1e-6 relative (1e-9 absolute).
func TestReferenceCasesThroughHTTP(t *testing.T) {
	files, err := filepath.Glob("../../shared/testdata/stats/*.json")
	if err != nil || len(files) < 2 {
		t.Fatalf("reference cases missing: %v %v", files, err)
	}
	e := newEnv(t)
	ran := 0
	for _, file := range files {
		if filepath.Base(file) == "power.json" {
			continue
		}
		raw, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		var c refCase
		if err := json.Unmarshal(raw, &c); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		t.Run(filepath.Base(file), func(t *testing.T) {
			sub := *e
			sub.t = t
			runReferenceCase(t, &sub, c)
		})
		ran++
	}
	t.Logf("%d reference cases", ran)
}

func runReferenceCase(t *testing.T, e *env, c refCase) {
	suffix := fmt.Sprintf("_r%d", c.Seed)
	key := fmt.Sprintf("reference-%d", c.Seed)
	// Outcome keys are global: give each case its own.
	local := map[string]string{}
	var outcomeKeys []string
	for _, o := range c.Outcomes {
		k := o.Key + suffix
		local[o.Key] = k
		outcomeKeys = append(outcomeKeys, k)
		body := map[string]any{"key": k, "kind": o.Kind, "label": o.Key}
		if o.HigherIsBetter != nil {
			body["higher_is_better"] = *o.HigherIsBetter
		}
		switch o.Kind {
		case "scale", "net":
			body["min"], body["max"] = o.Min, o.Max
			if o.Kind == "net" {
				body["top_min"], body["bottom_max"] = o.TopMin, o.BottomMax
			}
		case "composite":
			// The reference composite values (per customer) run above 100, which the
			// composite rule (components rescaled to 0..100) cannot produce; they enter as a
			// numeric outcome, which takes the same statistics path (Welch on means).
			// TestResultsKRSFollowsCompositeRule covers the composite rule itself.
			body["kind"] = "numeric"
		}
		e.must(http.StatusCreated, editor, "POST", "/v1/outcomes", body)
	}
	arms := []string{c.Control}
	for a := range c.Weights {
		if a != c.Control {
			arms = append(arms, a)
		}
	}
	sort.Strings(arms[1:])
	var armBody []map[string]any
	var domainArms []experiment.Arm
	for _, a := range arms {
		armBody = append(armBody, map[string]any{"key": a, "weight": c.Weights[a], "control": a == c.Control})
		domainArms = append(domainArms, experiment.Arm{Key: a, Weight: c.Weights[a]})
	}
	e.createRunning(key, map[string]any{"arms": armBody, "alpha": c.Alpha, "correction": c.Correction,
		"outcomes": outcomeKeys, "primary_outcome": outcomeKeys[0]})

	// Find customers whose hash lands in each arm until every arm has its assigned count.
	customers := map[string][]string{}
	var all []string
	for i := 0; len(all) < total(c.Assigned); i++ {
		id := fmt.Sprintf("ref%d-%06d", c.Seed, i)
		arm := experiment.AssignArm(key, id, domainArms)
		if len(customers[arm]) < c.Assigned[arm] {
			customers[arm] = append(customers[arm], id)
			all = append(all, id)
		}
	}
	for start := 0; start < len(all); start += experiment.MaxBatch {
		assign(t, e, key, all[start:min(start+experiment.MaxBatch, len(all))]...)
	}

	// The i-th value of an arm is the i-th customer of that arm, in every outcome.
	answers := map[string]map[string]any{}
	var covariates []map[string]any
	for _, o := range c.Outcomes {
		for arm, values := range o.Arms {
			for i, v := range values {
				id := customers[arm][i]
				if answers[id] == nil {
					answers[id] = map[string]any{}
				}
				answers[id][local[o.Key]] = v
				if cov := o.Covariate[arm]; cov != nil && cov[i] != nil {
					covariates = append(covariates, map[string]any{"customer_id": id, "outcome": local[o.Key], "value": *cov[i]})
				}
			}
		}
	}
	var responses []map[string]any
	for id, a := range answers {
		responses = append(responses, map[string]any{"response_id": "r-" + id, "customer_id": id,
			"answered_at": "2026-02-01T12:00:00Z", "answers": a})
	}
	e.must(http.StatusCreated, ingest, "POST", "/v1/experiments/"+key+"/responses:batch", map[string]any{"responses": responses})
	if len(covariates) > 0 {
		e.must(http.StatusOK, ingest, "POST", "/v1/experiments/"+key+"/covariates:batch", map[string]any{"covariates": covariates})
	}

	var res struct {
		SRM      map[string]any `json:"srm"`
		Outcomes []struct {
			Key         string         `json:"key"`
			Arms        map[string]any `json:"arms"`
			Comparisons map[string]any `json:"comparisons"`
		} `json:"outcomes"`
	}
	e.must(http.StatusOK, analyst, "GET", "/v1/experiments/"+key+"/results", nil).json(t, &res)
	got := map[string]map[string]any{}
	for _, o := range res.Outcomes {
		got[o.Key] = map[string]any{"arms": o.Arms, "comparisons": o.Comparisons}
	}
	checked := 0
	for outcome, exp := range c.Expected.Outcomes {
		for part, byArm := range exp {
			for arm, want := range byArm {
				path := fmt.Sprintf("%s.%s.%s", outcome, part, arm)
				gotPart, _ := got[local[outcome]][part].(map[string]any)
				checked += compareJSON(t, path, want, gotPart[arm])
			}
		}
	}
	checked += compareJSON(t, "srm", c.Expected.SRM, res.SRM)
	t.Logf("%d expected numbers checked", checked)
}

func total(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

// compareJSON checks every field present in want against got (numbers at 1e-6 relative
// or 1e-9 absolute) and returns how many leaves it compared.
func compareJSON(t *testing.T, path string, want, got any) int {
	t.Helper()
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			t.Errorf("%s: got %v, want an object", path, got)
			return 0
		}
		n := 0
		for k, v := range w {
			n += compareJSON(t, path+"."+k, v, g[k])
		}
		return n
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			t.Errorf("%s: got %v, want %v", path, got, w)
			return 0
		}
		n := 0
		for i := range w {
			n += compareJSON(t, fmt.Sprintf("%s[%d]", path, i), w[i], g[i])
		}
		return n
	case float64:
		g, ok := got.(float64)
		if !ok || math.Abs(g-w) > math.Max(1e-9, 1e-6*math.Abs(w)) {
			t.Errorf("%s: got %v, want %v", path, got, w)
		}
		return 1
	default:
		if fmt.Sprint(want) != fmt.Sprint(got) {
			t.Errorf("%s: got %v, want %v", path, got, want)
		}
		return 1
	}
}
