package api_test

import (
	"bytes"
	"context"
	"fmt"
	"image/png"
	"math"
	"net/http"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/krslab/krslab/experiment"
	"github.com/krslab/krslab/stats"
)

// surveyDriversCase is the part of a ../shared/testdata/survey case that the drivers
// question needs (see its README): the outcomes, the control arm's aligned values and
// the expected regression.
type surveyDriversCase struct {
	Seed     int                `json:"seed"`
	Control  string             `json:"control"`
	Weights  map[string]float64 `json:"weights"`
	Outcomes []struct {
		Key            string                `json:"key"`
		Kind           string                `json:"kind"`
		Min            *float64              `json:"min"`
		Max            *float64              `json:"max"`
		TopMin         *float64              `json:"top_min"`
		BottomMax      *float64              `json:"bottom_max"`
		HigherIsBetter *bool                 `json:"higher_is_better"`
		Arms           map[string][]*float64 `json:"arms"`
	} `json:"outcomes"`
	Drivers struct {
		Outcome string   `json:"outcome"`
		Drivers []string `json:"drivers"`
	} `json:"drivers"`
	Expected struct {
		Drivers map[string]any `json:"drivers"`
	} `json:"expected"`
}

// TestDriversOfSurveyCasesThroughHTTP loads the control arm of every survey case (values
// computed independently with numpy/scipy) as a real experiment: the question's outcomes,
// the control customers (found by the hash rule) and their answers over HTTP. /drivers must
// give every expected number to 1e-6 relative (1e-9 absolute), in the order asked.
func TestDriversOfSurveyCasesThroughHTTP(t *testing.T) {
	e := newEnv(t)
	doc := loadOpenAPI(t)
	for i, f := range caseFiles(t, "survey") {
		var c surveyDriversCase
		f.decode(t, &c)
		t.Run(f.name+".json", func(t *testing.T) {
			sub := *e
			sub.t = t
			runDriversCase(t, &sub, doc, c, fmt.Sprintf("drv%d", i))
		})
	}
}

func runDriversCase(t *testing.T, e *env, doc *openapi3.T, c surveyDriversCase, tag string) {
	// Outcome keys are global: each case gets its own.
	local := func(k string) string { return k + "_" + tag }
	asked := append([]string{c.Drivers.Outcome}, c.Drivers.Drivers...)
	values := map[string][]*float64{}
	for _, o := range c.Outcomes {
		if !slices.Contains(asked, o.Key) {
			continue
		}
		values[o.Key] = o.Arms[c.Control]
		body := map[string]any{"key": local(o.Key), "kind": o.Kind, "label": o.Key}
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
			// The cases give composite values directly, not their components; they enter as
			// a numeric outcome (the SQL path of a composite is TestDriversByDefault's).
			body["kind"] = "numeric"
		}
		e.must(http.StatusCreated, editor, "POST", "/v1/outcomes", body)
	}
	var keys []string
	for _, k := range asked {
		keys = append(keys, local(k))
	}
	armBody, domainArms := caseArms(c.Control, c.Weights)
	key := "drivers-" + tag
	e.createRunning(key, map[string]any{"arms": armBody, "outcomes": keys, "primary_outcome": keys[0]})

	// The i-th value of every list is the i-th control customer.
	n := 0
	for _, vs := range values {
		n = max(n, len(vs))
	}
	var ids []string
	for i := 0; len(ids) < n; i++ {
		id := fmt.Sprintf("%s-%06d", tag, i)
		if experiment.AssignArm(key, id, domainArms) == c.Control {
			ids = append(ids, id)
		}
	}
	if got := assign(t, e, key, ids...); len(got) != n {
		t.Fatalf("%d customers assigned, want %d", len(got), n)
	}
	var responses []map[string]any
	for i, id := range ids {
		answers := map[string]any{}
		for k, vs := range values {
			if i < len(vs) && vs[i] != nil {
				answers[local(k)] = *vs[i]
			}
		}
		if len(answers) > 0 {
			responses = append(responses, map[string]any{"response_id": "r-" + id, "customer_id": id,
				"answered_at": "2026-02-01T12:00:00Z", "answers": answers})
		}
	}
	e.must(http.StatusCreated, ingest, "POST", "/v1/experiments/"+key+"/responses:batch", map[string]any{"responses": responses})

	path := "/v1/experiments/" + key + "/drivers?outcome=" + keys[0] + "&drivers=" + strings.Join(keys[1:], ",")
	r := e.must(http.StatusOK, analyst, "GET", path, nil)
	var got map[string]any
	r.json(t, &got)
	validateSchema(t, doc, "Drivers", got)
	if got["outcome"] != keys[0] || got["arm"] != c.Control {
		t.Errorf("outcome %v arm %v, want %s and %s", got["outcome"], got["arm"], keys[0], c.Control)
	}
	want := c.Expected.Drivers
	for _, d := range want["drivers"].([]any) {
		d := d.(map[string]any)
		d["key"] = local(d["key"].(string))
		// A perfect fit: the reference's se is rounding (some 1e-16) and its t a ratio of
		// rounding errors; the service gives se 0 and t null (see stats' perfectFitT).
		if se, ok := d["se"].(float64); ok && se < 1e-9 {
			d["t"] = nil
		}
	}
	t.Logf("%d expected numbers checked", compareJSON(t, "drivers", want, got))
}

// validateSchema checks v against a component schema of openapi.yaml.
func validateSchema(t *testing.T, doc *openapi3.T, name string, v any) {
	t.Helper()
	ref, ok := doc.Components.Schemas[name]
	if !ok || ref.Value == nil {
		t.Fatalf("no component schema %s", name)
	}
	if err := ref.Value.VisitJSON(v, openapi3.MultiErrors()); err != nil {
		t.Errorf("does not match %s: %v", name, err)
	}
}

// TestDriversByDefault: an experiment with the default outcomes, the KRS computed from its
// components per customer, a customer who answered twice (the later answers count), and
// treatment customers who do not count. Without parameters /drivers explains krs by the
// four building blocks it is not made of, as stats computes it from the counted values;
// the priority matrix draws in both formats and languages.
func TestDriversByDefault(t *testing.T) {
	e := newEnv(t)
	key := "drivers-default"
	e.createRunning(key, map[string]any{"arms": threeArms()})
	var ids []string
	for i := range 160 {
		ids = append(ids, fmt.Sprintf("dd-%d", i))
	}
	arms := assign(t, e, key, ids...)
	blocks := []string{"involvement", "fairness", "influence", "choice_products", "choice_channels", "satisfaction", "trust", "love"}
	value := func(i, j int) float64 { return float64(1 + (i*(j+2)+j*5+i/3)%7) }
	var responses []map[string]any
	counted := map[string]map[string]float64{}
	for i, id := range ids {
		a := map[string]float64{}
		for j, k := range blocks {
			a[k] = value(i, j)
		}
		if i%10 == 7 {
			delete(a, "influence")
		}
		responses = append(responses, map[string]any{"response_id": "a-" + id, "customer_id": id, "answered_at": "2026-03-01T10:00:00Z", "answers": a})
		if i%6 == 2 {
			later := map[string]float64{"trust": value(i, 11), "fairness": value(i, 12)}
			responses = append(responses, map[string]any{"response_id": "b-" + id, "customer_id": id, "answered_at": "2026-03-02T10:00:00Z", "answers": later})
			for k, v := range later {
				a[k] = v
			}
		}
		if arms[id] == "control" {
			counted[id] = a
		}
	}
	e.must(http.StatusCreated, ingest, "POST", "/v1/experiments/"+key+"/responses:batch", map[string]any{"responses": responses})

	var got map[string]any
	e.must(http.StatusOK, analyst, "GET", "/v1/experiments/"+key+"/drivers", nil).json(t, &got)
	validateSchema(t, loadOpenAPI(t), "Drivers", got)
	rescale := func(v float64) float64 { return 100 * (v - 1) / 6 }
	cols := make([][]float64, 5)
	for _, a := range counted {
		get := func(k string) float64 {
			if v, ok := a[k]; ok {
				return v
			}
			return math.NaN()
		}
		row := []float64{(rescale(a["satisfaction"]) + rescale(a["trust"]) + rescale(a["love"])) / 3, get("involvement"),
			(rescale(a["choice_products"]) + rescale(a["choice_channels"])) / 2, get("fairness"), get("influence")}
		for j, v := range row {
			cols[j] = append(cols[j], v)
		}
	}
	res := stats.Drivers(stats.CrossProductsOf(cols...))
	if !res.Computable() {
		t.Fatal("fixture: not computable")
	}
	want := map[string]any{"outcome": "krs", "arm": "control", "n": float64(res.N), "r_squared": res.RSquared,
		"adj_r_squared": res.AdjRSquared, "intercept": res.Intercept}
	var wd []any
	for j, k := range []string{"involvement", "freedom_of_choice", "fairness", "influence"} {
		d := res.Drivers[j]
		wd = append(wd, map[string]any{"key": k, "coef": d.Coef, "se": d.SE, "t": d.T, "p_value": d.PValue, "beta": d.Beta,
			"importance": d.Importance, "share": d.Share, "mean": d.Mean})
	}
	want["drivers"] = wd
	compareJSON(t, "drivers", want, got)

	// The priority matrix, through a render slot, in both formats and languages.
	r := e.must(http.StatusOK, analyst, "GET", "/v1/experiments/"+key+"/plots/drivers.png?width=900&height=600", nil)
	img, err := png.Decode(bytes.NewReader(r.Body))
	if err != nil || img.Bounds().Dx() != 900 || img.Bounds().Dy() != 600 {
		t.Errorf("PNG: %v %v", err, img)
	}
	if cd := r.Header.Get("Content-Disposition"); cd != `inline; filename="drivers-default-drivers-krs.png"` {
		t.Errorf("Content-Disposition %q", cd)
	}
	r = e.must(http.StatusOK, analyst, "GET", "/v1/experiments/"+key+"/plots/drivers.svg?lang=nl", nil)
	for _, s := range []string{"Wat beweegt KRS", "Betrokkenheid", "Keuzevrijheid", "Eerst verbeteren", "van de eigen schaal"} {
		if !bytes.Contains(r.Body, []byte(s)) {
			t.Errorf("Dutch SVG lacks %q", s)
		}
	}
	if ct := r.Header.Get("Content-Type"); ct != "image/svg+xml" {
		t.Errorf("Content-Type %q", ct)
	}
	r = e.must(http.StatusOK, analyst, "GET", "/v1/experiments/"+key+"/plots/drivers.svg?outcome=trust&drivers=fairness,involvement", nil)
	for _, s := range []string{"What moves Trust", "Fairness", "mean in the control arm"} {
		if !bytes.Contains(r.Body, []byte(s)) {
			t.Errorf("SVG of trust lacks %q", s)
		}
	}

	// Too few customers for the question: every statistic null, the means kept; the figure
	// says it cannot tell.
	e.createRunning(key+"-few", map[string]any{"arms": threeArms()})
	few := assign(t, e, key+"-few", "f1", "f2", "f3", "f4", "f5", "f6")
	var rs []map[string]any
	for _, id := range []string{"f1", "f2", "f3", "f4", "f5", "f6"} {
		if few[id] == "control" && len(rs) < 3 { // two drivers need 4
			rs = append(rs, map[string]any{"response_id": "r-" + id, "customer_id": id, "answered_at": "2026-03-01T10:00:00Z",
				"answers": map[string]any{"trust": 4, "fairness": 5, "involvement": 3}})
		}
	}
	if len(rs) > 0 {
		e.must(http.StatusCreated, ingest, "POST", "/v1/experiments/"+key+"-few/responses:batch", map[string]any{"responses": rs})
	}
	var none map[string]any
	e.must(http.StatusOK, analyst, "GET", "/v1/experiments/"+key+"-few/drivers?outcome=trust&drivers=fairness,involvement", nil).json(t, &none)
	validateSchema(t, loadOpenAPI(t), "Drivers", none)
	if none["r_squared"] != nil || none["drivers"].([]any)[0].(map[string]any)["coef"] != nil {
		t.Errorf("not computable, yet: %v", none)
	}
	r = e.must(http.StatusOK, analyst, "GET", "/v1/experiments/"+key+"-few/plots/drivers.svg?outcome=trust&drivers=fairness,involvement", nil)
	if !bytes.Contains(r.Body, []byte("Cannot tell yet what moves Trust")) {
		t.Errorf("the figure of a question without numbers does not say so")
	}
}

// TestDriversRefusals: every bad question is a 422 naming its parameter; unknown
// experiments 404; only admins, editors and analysts read drivers.
func TestDriversRefusals(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	if _, err := e.svc.CreateOutcome(ctx, experiment.Outcome{Key: "drv_churned", Kind: experiment.Binary, Label: "Churned", LabelNL: "Vertrokken"}); err != nil {
		t.Fatal(err)
	}
	key := "drivers-refusals"
	e.createRunning(key, map[string]any{"arms": threeArms(), "guardrails": []string{"drv_churned"}})
	base := "/v1/experiments/" + key
	for _, tt := range []struct {
		path   string
		fields []string
	}{
		{"/drivers?outcome=nope", []string{"outcome"}},
		{"/drivers?outcome=drv_churned", []string{"outcome"}},
		{"/drivers?outcome=", []string{"outcome"}},
		{"/drivers?outcome=trust&outcome=love", []string{"outcome"}},
		{"/drivers?drivers=", []string{"drivers"}},
		{"/drivers?drivers=trust,,love", []string{"drivers"}},
		{"/drivers?drivers=trust,trust", []string{"drivers"}},
		{"/drivers?drivers=krs", []string{"drivers"}},
		{"/drivers?drivers=trust&drivers=love", []string{"drivers"}},
		{"/drivers?outcome=nope&drivers=nope,spend", []string{"outcome", "drivers", "drivers"}},
		{"/drivers?driver=trust", []string{"driver"}},
		{"/plots/drivers.png?drivers=nope", []string{"drivers"}},
		{"/plots/drivers.svg?outcome=drv_churned", []string{"outcome"}},
		{"/plots/drivers.svg?drivers=&width=10&lang=de", []string{"drivers", "width", "lang"}},
		{"/plots/drivers.png?segment=channel", []string{"segment"}},
	} {
		r := e.call(analyst, "GET", base+tt.path, nil)
		code, details := r.errorBody(t)
		var fields []string
		for _, d := range details {
			fields = append(fields, d.Field)
		}
		if r.Status != http.StatusUnprocessableEntity || code != "invalid" || !sameFields(fields, tt.fields) {
			t.Errorf("%s: %d %s, want 422 naming %v", tt.path, r.Status, r.Body, tt.fields)
		}
	}
	// A binary driver is fine.
	e.must(http.StatusOK, analyst, "GET", base+"/drivers?outcome=trust&drivers=drv_churned,fairness", nil)
	if r := e.call(analyst, "GET", "/v1/experiments/nope/drivers", nil); r.Status != http.StatusNotFound {
		t.Errorf("unknown experiment: %d", r.Status)
	}
	if r := e.call(analyst, "GET", "/v1/experiments/nope/plots/drivers.png", nil); r.Status != http.StatusNotFound {
		t.Errorf("unknown experiment's plot: %d", r.Status)
	}
	for _, role := range []experiment.Role{experiment.RoleAdmin, editor, analyst} {
		e.must(http.StatusOK, role, "GET", base+"/drivers", nil)
	}
	if r := e.call(ingest, "GET", base+"/drivers", nil); r.Status != http.StatusForbidden {
		t.Errorf("ingest: %d", r.Status)
	}
}

func sameFields(a, b []string) bool {
	a, b = append([]string(nil), a...), append([]string(nil), b...)
	sort.Strings(a)
	sort.Strings(b)
	return strings.Join(a, ",") == strings.Join(b, ",")
}
