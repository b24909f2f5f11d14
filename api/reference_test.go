package api_test

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
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
	e := newEnv(t)
	ran := 0
	for _, f := range caseFiles(t, "stats") {
		var c refCase
		f.decode(t, &c)
		t.Run(f.name+".json", func(t *testing.T) {
			sub := *e
			sub.t = t
			runReferenceCase(t, &sub, c)
		})
		ran++
	}
	t.Logf("%d reference cases", ran)
}

func runReferenceCase(t *testing.T, e *env, c refCase) {
	res, local := postReferenceCase(t, e, c, caseDesign{suffix: fmt.Sprintf("_r%d", c.Seed)})
	checked := compareOutcomes(t, c, res, local)
	checked += compareJSON(t, "srm", c.Expected.SRM, res.SRM)
	t.Logf("%d expected numbers checked", checked)
}

// caseDesign is what a case's experiment has beyond the inputs of ../shared/testdata/stats.
type caseDesign struct {
	suffix     string // of the case's outcome keys and experiment key
	guardrails []string
	margins    map[string]float64
	target     int
	responded  map[string]int // nil: every customer with a value responded
	// composites enter by the composite rule, as the mean of two 0..100 components that
	// both get the customer's value; otherwise as numeric outcomes.
	composites bool
}

// caseResults is what the reference tests read of /results.
type caseResults struct {
	SRM           map[string]any `json:"srm"`
	ResponseCheck map[string]any `json:"response_check"`
	Outcomes      []struct {
		Key         string         `json:"key"`
		Arms        map[string]any `json:"arms"`
		Comparisons map[string]any `json:"comparisons"`
	} `json:"outcomes"`
	Recommendation map[string]any `json:"recommendation"`
}

// postReferenceCase creates a case as a real, running experiment: custom outcomes,
// customers assigned by the hash rule until every arm has the case's assigned count,
// responses and covariates over HTTP. It returns /results and the case's outcome keys as
// stored (local).
func postReferenceCase(t *testing.T, e *env, c refCase, d caseDesign) (caseResults, map[string]string) {
	key := "reference" + strings.ReplaceAll(d.suffix, "_", "-")
	// Outcome keys are global: give each case its own.
	local := map[string]string{}
	components := map[string][]string{}
	var outcomeKeys []string
	for _, o := range c.Outcomes {
		k := o.Key + d.suffix
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
			if !d.composites {
				// The reference composite values (per customer) of ../shared/testdata/stats
				// run above 100, which the composite rule (components rescaled to 0..100)
				// cannot produce; they enter as a numeric outcome, which takes the same
				// statistics path (Welch on means). TestResultsKRSFollowsCompositeRule
				// covers the composite rule itself.
				body["kind"] = "numeric"
				break
			}
			for _, part := range []string{"_a", "_b"} {
				ck := o.Key + part + d.suffix
				components[k] = append(components[k], ck)
				e.must(http.StatusCreated, editor, "POST", "/v1/outcomes", map[string]any{"key": ck, "kind": "numeric", "label": ck, "min": 0, "max": 100})
			}
			body["components"] = components[k]
		}
		e.must(http.StatusCreated, editor, "POST", "/v1/outcomes", body)
	}
	armBody, domainArms := caseArms(c.Control, c.Weights)
	body := map[string]any{"arms": armBody, "alpha": c.Alpha, "correction": c.Correction,
		"outcomes": outcomeKeys, "primary_outcome": outcomeKeys[0]}
	if len(d.guardrails) > 0 {
		var gs []string
		margins := map[string]float64{}
		for _, g := range d.guardrails {
			gs = append(gs, local[g])
		}
		for g, m := range d.margins {
			margins[local[g]] = m
		}
		body["guardrails"], body["guardrail_margins"] = gs, margins
	}
	if d.target > 0 {
		body["target_responses_per_arm"] = d.target
	}
	e.createRunning(key, body)

	// Find customers whose hash lands in each arm until every arm has its assigned count.
	customers := map[string][]string{}
	var all []string
	for i := 0; len(all) < total(c.Assigned); i++ {
		id := fmt.Sprintf("ref%s-%06d", d.suffix, i)
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
	answered := map[string]int{}
	for _, o := range c.Outcomes {
		for arm, values := range o.Arms {
			answered[arm] = max(answered[arm], len(values))
			for i, v := range values {
				id := customers[arm][i]
				if answers[id] == nil {
					answers[id] = map[string]any{}
				}
				if cs := components[local[o.Key]]; cs != nil {
					for _, ck := range cs {
						answers[id][ck] = v
					}
				} else {
					answers[id][local[o.Key]] = v
				}
				if cov := o.Covariate[arm]; cov != nil && cov[i] != nil {
					covariates = append(covariates, map[string]any{"customer_id": id, "outcome": local[o.Key], "value": *cov[i]})
				}
			}
		}
	}
	// Customers who responded beyond the values answer one component of a composite
	// only: they responded, but count in no outcome.
	for arm, n := range d.responded {
		for i := answered[arm]; i < n; i++ {
			var lone string
			for _, cs := range components {
				lone = cs[0]
			}
			if lone == "" {
				t.Fatalf("%s: %d responded but %d with values, and no composite to answer in part", arm, n, answered[arm])
			}
			answers[customers[arm][i]] = map[string]any{lone: 50}
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

	var res caseResults
	e.must(http.StatusOK, analyst, "GET", "/v1/experiments/"+key+"/results", nil).json(t, &res)
	return res, local
}

// compareOutcomes checks every expected number of every outcome's arms and comparisons.
// caseFile is one reference case of ../shared/testdata, read.
type caseFile struct {
	name string // without .json
	raw  []byte
}

// caseFiles reads every case of ../shared/testdata/<dir> (power.json, which holds no
// analysis, aside); fewer than two is a missing folder, not a pass.
func caseFiles(t *testing.T, dir string) []caseFile {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("../../shared/testdata", dir, "*.json"))
	if err != nil || len(files) < 2 {
		t.Fatalf("%s reference cases missing: %v %v", dir, files, err)
	}
	var out []caseFile
	for _, file := range files {
		if filepath.Base(file) == "power.json" {
			continue
		}
		raw, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, caseFile{name: strings.TrimSuffix(filepath.Base(file), ".json"), raw: raw})
	}
	return out
}

func (f caseFile) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(f.raw, v); err != nil {
		t.Fatalf("%s: %v", f.name, err)
	}
}

// caseArms gives a reference case's arms, control first and the others by key, as the
// request body of an experiment and as the domain arms the hash rule assigns.
func caseArms(control string, weights map[string]float64) ([]map[string]any, []experiment.Arm) {
	arms := []string{control}
	for a := range weights {
		if a != control {
			arms = append(arms, a)
		}
	}
	sort.Strings(arms[1:])
	var body []map[string]any
	var domain []experiment.Arm
	for _, a := range arms {
		body = append(body, map[string]any{"key": a, "weight": weights[a], "control": a == control})
		domain = append(domain, experiment.Arm{Key: a, Weight: weights[a]})
	}
	return body, domain
}

func compareOutcomes(t *testing.T, c refCase, res caseResults, local map[string]string) int {
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
	return checked
}

// surveyRefCase is a case of ../shared/testdata/survey: the inputs of a stats case plus
// the survey design (see its README).
type surveyRefCase struct {
	refCase
	Responded  map[string]int     `json:"responded"`
	Guardrails []string           `json:"guardrails"`
	Margins    map[string]float64 `json:"margins"`
	Target     int                `json:"target"`
	Expected   struct {
		ResponseCheck  map[string]any `json:"response_check"`
		Recommendation map[string]any `json:"recommendation"`
	} `json:"expected"`
}

// TestSurveyCasesThroughHTTP posts every case of ../shared/testdata/survey (STATS.md's
// second part, computed independently with numpy/scipy) as a running experiment with the
// case's guardrails, margins and target, composites by the composite rule: /results must
// reproduce every expected number (per-arm statistics, comparisons with effect,
// sequential, bounds, ordinal, non_inferiority, p_adjusted and verdicts, srm,
// response_check) to 1e-6 relative (1e-9 absolute), and the recommendation's action, arm
// and caveats.
func TestSurveyCasesThroughHTTP(t *testing.T) {
	e := newEnv(t)
	for _, f := range caseFiles(t, "survey") {
		var c surveyRefCase
		f.decode(t, &c)
		f.decode(t, &c.refCase) // its own expected block
		name := f.name
		t.Run(name, func(t *testing.T) {
			sub := *e
			sub.t = t
			res, local := postReferenceCase(t, &sub, c.refCase, caseDesign{suffix: "_" + name, guardrails: c.Guardrails,
				margins: c.Margins, target: c.Target, responded: c.Responded, composites: true})
			checked := compareOutcomes(t, c.refCase, res, local)
			checked += compareJSON(t, "srm", c.refCase.Expected.SRM, res.SRM)
			checked += compareJSON(t, "response_check", c.Expected.ResponseCheck, res.ResponseCheck)
			want, got := c.Expected.Recommendation, res.Recommendation
			if got["caveats"] == nil {
				t.Error("recommendation.caveats: missing")
			}
			if _, ok := got["arm"]; !ok {
				got["arm"] = nil // absent is the expected null
			}
			for _, f := range []string{"action", "arm", "caveats"} {
				checked += compareJSON(t, "recommendation."+f, want[f], got[f])
			}
			t.Logf("%d expected values checked; %v", checked, got["reason"])
		})
	}
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
