package api_test

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/krslab/krslab/experiment"
)

const (
	admin   = experiment.RoleAdmin
	editor  = experiment.RoleEditor
	analyst = experiment.RoleAnalyst
	ingest  = experiment.RoleIngest
)

func TestAuthAndRoles(t *testing.T) {
	e := newEnv(t)
	r := e.call("", "GET", "/v1/experiments", nil)
	if code, _ := r.errorBody(t); r.Status != http.StatusUnauthorized || code != "unauthorized" {
		t.Errorf("no key: %d %s", r.Status, code)
	}
	e.keys["bogus"] = "krs_not-a-real-key"
	r = e.call("bogus", "GET", "/v1/experiments", nil)
	if code, _ := r.errorBody(t); r.Status != http.StatusUnauthorized || code != "unauthorized" {
		t.Errorf("unknown key: %d %s", r.Status, code)
	}
	forbidden := []struct {
		role         experiment.Role
		method, path string
	}{
		{analyst, "POST", "/v1/experiments"},
		{ingest, "GET", "/v1/experiments"},
		{ingest, "GET", "/v1/experiments/x/results"},
		{editor, "POST", "/v1/experiments/x/assignments"},
		{analyst, "POST", "/v1/experiments/x/responses"},
		{analyst, "POST", "/v1/outcomes"},
	}
	for _, f := range forbidden {
		r := e.call(f.role, f.method, f.path, "{}")
		if code, _ := r.errorBody(t); r.Status != http.StatusForbidden || code != "forbidden" {
			t.Errorf("%s %s as %s: %d %s", f.method, f.path, f.role, r.Status, code)
		}
	}
	for _, path := range []string{"/healthz", "/readyz"} {
		if r := e.call("", "GET", path, nil); r.Status != http.StatusOK {
			t.Errorf("%s: %d %s", path, r.Status, r.Body)
		}
	}
}

// Every answer names its request: the client's X-Request-ID, or one made for it.
func TestRequestIDHeader(t *testing.T) {
	e := newEnv(t)
	first, second := e.call("", "GET", "/healthz", nil), e.call(editor, "GET", "/v1/experiments", nil)
	a, b := first.Header.Get("X-Request-ID"), second.Header.Get("X-Request-ID")
	hex32 := regexp.MustCompile(`^[0-9a-f]{32}$`)
	if !hex32.MatchString(a) || !hex32.MatchString(b) || a == b {
		t.Fatalf("made request ids %q, %q: want two different ones of 32 hex digits", a, b)
	}
	req, _ := http.NewRequest("GET", e.srv.URL+"/healthz", nil)
	req.Header.Set("X-Request-ID", "support-ticket-4711")
	res, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if got := res.Header.Get("X-Request-ID"); got != "support-ticket-4711" {
		t.Fatalf("the client's request id came back as %q", got)
	}
}

func TestExperimentLifecycleOverHTTP(t *testing.T) {
	e := newEnv(t)
	key := "lifecycle"
	r := e.must(http.StatusCreated, editor, "POST", "/v1/experiments", map[string]any{
		"key": key, "hypothesis": "A call-back restores trust", "arms": threeArms(),
	})
	var got struct {
		Status, PrimaryOutcome, Correction, Salt string
		Alpha                                    float64
		Outcomes                                 []string
		Arms                                     []struct {
			Key    string
			Weight float64
		}
	}
	r.json(t, &got)
	if got.Status != "draft" || got.Alpha != 0.05 || got.Correction != "holm" || got.Salt != key || len(got.Outcomes) != 10 {
		t.Errorf("defaults not applied: %s", r.Body)
	}
	e.must(http.StatusConflict, editor, "POST", "/v1/experiments", map[string]any{"key": key, "arms": threeArms()})
	e.must(http.StatusOK, editor, "PATCH", "/v1/experiments/"+key, map[string]any{"alpha": 0.1, "correction": "bh"})
	for bad, body := range map[string]any{"stop": nil, "decision": `{"arm":"control","reason":"x"}`} {
		r := e.call(editor, "POST", "/v1/experiments/"+key+"/"+bad, body)
		if code, d := r.errorBody(t); r.Status != http.StatusConflict || code != "conflict" || len(d) == 0 || d[0].Message != "draft" {
			t.Errorf("%s from draft: %d %s", bad, r.Status, r.Body)
		}
	}
	// Guardrail margins: stored with the design, each one of the guardrails, frozen once running.
	r = e.call(editor, "PATCH", "/v1/experiments/"+key, map[string]any{"guardrails": []string{"ces"}, "guardrail_margins": map[string]any{"nps": 10, "ces": 0}})
	if _, d := r.errorBody(t); r.Status != http.StatusUnprocessableEntity || len(d) != 2 ||
		d[0].Field != "guardrail_margins.ces" || d[1].Field != "guardrail_margins.nps" {
		t.Errorf("bad margins: %d %s", r.Status, r.Body)
	}
	var margins struct {
		GuardrailMargins map[string]float64 `json:"guardrail_margins"`
	}
	e.must(http.StatusOK, editor, "PATCH", "/v1/experiments/"+key, map[string]any{"guardrails": []string{"ces", "nps"}, "guardrail_margins": map[string]any{"ces": 10}})
	e.must(http.StatusOK, analyst, "GET", "/v1/experiments/"+key, nil).json(t, &margins)
	if len(margins.GuardrailMargins) != 1 || margins.GuardrailMargins["ces"] != 10 {
		t.Errorf("stored margins: %v", margins.GuardrailMargins)
	}
	e.must(http.StatusOK, editor, "POST", "/v1/experiments/"+key+"/start", nil)
	r = e.call(editor, "PATCH", "/v1/experiments/"+key, map[string]any{"guardrail_margins": map[string]any{"ces": 5}})
	if code, d := r.errorBody(t); r.Status != http.StatusConflict || code != "conflict" || len(d) != 1 || d[0].Field != "guardrail_margins" {
		t.Errorf("margins changed while running: %d %s", r.Status, r.Body)
	}
	r = e.call(editor, "PATCH", "/v1/experiments/"+key, map[string]any{"arms": []map[string]any{
		{"key": "control", "weight": 1, "control": true}, {"key": "callback", "weight": 1}, {"key": "letter", "weight": 1}}})
	if code, _ := r.errorBody(t); r.Status != http.StatusConflict || code != "conflict" {
		t.Errorf("weights changed while running: %d %s", r.Status, r.Body)
	}
	e.must(http.StatusOK, editor, "PATCH", "/v1/experiments/"+key, map[string]any{"name": "Complaint follow-up", "hypothesis": "sharper"})
	e.must(http.StatusOK, analyst, "GET", "/v1/experiments?status=running", nil)
	e.must(http.StatusOK, ingest, "POST", "/v1/experiments/"+key+"/assignments", map[string]any{"customer_id": "early"})
	e.must(http.StatusOK, editor, "POST", "/v1/experiments/"+key+"/stop", nil)
	for _, who := range []string{"early", "late"} {
		r := e.call(ingest, "POST", "/v1/experiments/"+key+"/assignments", map[string]any{"customer_id": who})
		if code, _ := r.errorBody(t); r.Status != http.StatusConflict || code != "conflict" {
			t.Errorf("assigning %s after stop: %d %s", who, r.Status, r.Body)
		}
	}
	r = e.call(editor, "POST", "/v1/experiments/"+key+"/decision", map[string]any{"arm": "nope", "reason": "x"})
	if _, d := r.errorBody(t); r.Status != http.StatusUnprocessableEntity || d[0].Field != "arm" {
		t.Errorf("decision for unknown arm: %d %s", r.Status, r.Body)
	}
	r = e.must(http.StatusOK, editor, "POST", "/v1/experiments/"+key+"/decision", map[string]any{"arm": "callback", "reason": "trust +0.4"})
	var decided struct {
		Status   string
		Name     string
		Decision struct{ Arm, Reason, DecidedBy string } `json:"decision"`
	}
	r.json(t, &decided)
	if decided.Status != "decided" || decided.Decision.Arm != "callback" || decided.Name != "Complaint follow-up" {
		t.Errorf("decision: %s", r.Body)
	}
	var list struct{ Experiments []struct{ Key string } }
	e.must(http.StatusOK, analyst, "GET", "/v1/experiments?status=decided", nil).json(t, &list)
	found := false
	for _, x := range list.Experiments {
		found = found || x.Key == key
	}
	if !found {
		t.Error("decided experiment not listed under status=decided")
	}

	var audit struct {
		Audit []struct {
			Action, Actor, Subject string
			Diff                   map[string]any
		}
	}
	e.must(http.StatusOK, admin, "GET", "/v1/audit?experiment="+key, nil).json(t, &audit)
	var actions []string
	for _, a := range audit.Audit {
		actions = append(actions, a.Action)
		if !strings.Contains(a.Actor, "editor") || a.Subject != key || a.Diff == nil {
			t.Errorf("audit entry %+v", a)
		}
	}
	want := "experiment.decide,experiment.stop,experiment.patch,experiment.start,experiment.patch,experiment.patch,experiment.create"
	if strings.Join(actions, ",") != want {
		t.Errorf("audit actions = %v, want %s", actions, want)
	}
	e.must(http.StatusForbidden, editor, "GET", "/v1/audit?experiment="+key, nil)
	e.must(http.StatusUnprocessableEntity, admin, "GET", "/v1/audit?limit=0", nil)
}

func TestValidationListsEveryProblem(t *testing.T) {
	e := newEnv(t)
	r := e.call(editor, "POST", "/v1/experiments", map[string]any{
		"key": "Bad Key", "arms": []map[string]any{{"key": "a", "weight": 0}, {"key": "a", "weight": -1}},
		"alpha": 0.7, "correction": "bonferroni", "outcomes": []string{"trust", "happiness"}, "primary_outcome": "nps",
	})
	code, details := r.errorBody(t)
	if r.Status != http.StatusUnprocessableEntity || code != "invalid" {
		t.Fatalf("status %d code %s", r.Status, code)
	}
	// Messages are for people at a terminal too: no HTML escapes, and no sniffing either.
	if !bytes.Contains(r.Body, []byte(`"must be a finite number > 0"`)) || r.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("want the message with a plain > and nosniff: %s %v", r.Body, r.Header)
	}
	var fields []string
	for _, d := range details {
		fields = append(fields, d.Field)
	}
	for _, want := range []string{"key", "arms[0].weight", "arms[1].key", "arms[1].weight", "arms", "outcomes[1]", "primary_outcome", "alpha", "correction"} {
		if !strings.Contains(","+strings.Join(fields, ",")+",", ","+want+",") {
			t.Errorf("details miss %s: %v", want, fields)
		}
	}
	r = e.call(editor, "POST", "/v1/experiments", `{"key":"x","arms":[],"colour":"red"}`)
	if _, d := r.errorBody(t); r.Status != http.StatusBadRequest || d[0].Field != "colour" {
		t.Errorf("unknown field: %d %s", r.Status, r.Body)
	}
	r = e.call(editor, "POST", "/v1/experiments", `{"key":"x","alpha":"high"}`)
	if _, d := r.errorBody(t); r.Status != http.StatusBadRequest || d[0].Field != "alpha" {
		t.Errorf("wrong type: %d %s", r.Status, r.Body)
	}
	r = e.call(editor, "POST", "/v1/experiments", `{"key":`)
	if r.Status != http.StatusBadRequest {
		t.Errorf("truncated JSON: %d %s", r.Status, r.Body)
	}
	r.errorBody(t)
	big := `{"key":"x","hypothesis":"` + strings.Repeat("a", 5<<20) + `"}`
	r = e.call(editor, "POST", "/v1/experiments", big)
	if code, _ := r.errorBody(t); r.Status != http.StatusRequestEntityTooLarge || code != "payload_too_large" {
		t.Errorf("oversized body: %d %s", r.Status, code)
	}
	r = e.call(analyst, "GET", "/v1/experiments/does-not-exist", nil)
	if code, _ := r.errorBody(t); r.Status != http.StatusNotFound || code != "not_found" {
		t.Errorf("missing experiment: %d %s", r.Status, code)
	}
}

func TestOutcomesOverHTTP(t *testing.T) {
	e := newEnv(t)
	var list struct {
		Outcomes []struct {
			Key, Kind, Label string
			LabelNL          string `json:"label_nl"`
			Components       []string
		}
	}
	e.must(http.StatusOK, analyst, "GET", "/v1/outcomes", nil).json(t, &list)
	byKey := map[string]int{}
	for i, o := range list.Outcomes {
		byKey[o.Key] = i
	}
	for _, k := range []string{"satisfaction", "trust", "love", "involvement", "freedom_of_choice", "fairness", "influence", "nps", "ces", "krs"} {
		if _, ok := byKey[k]; !ok {
			t.Errorf("built-in %s missing", k)
		}
	}
	if krs := list.Outcomes[byKey["krs"]]; strings.Join(krs.Components, ",") != "satisfaction,trust,love" {
		t.Errorf("krs components = %v", krs.Components)
	}
	e.must(http.StatusCreated, editor, "POST", "/v1/outcomes", map[string]any{
		"key": "respect_felt", "kind": "scale", "label": "I feel respected", "label_nl": "Ik voel me gerespecteerd"})
	e.must(http.StatusCreated, editor, "POST", "/v1/outcomes", map[string]any{
		"key": "complaint_repeated_" + itoa(nameSeq), "kind": "binary", "label": "Complained again", "higher_is_better": false})
	e.must(http.StatusConflict, editor, "POST", "/v1/outcomes", map[string]any{"key": "trust", "kind": "scale", "label": "x"})
	r := e.must(http.StatusOK, analyst, "GET", "/v1/outcomes/respect_felt", nil)
	if !strings.Contains(string(r.Body), `"min":1`) || !strings.Contains(string(r.Body), `"max":7`) {
		t.Errorf("scale default 1..7 not applied: %s", r.Body)
	}
	r = e.call(editor, "POST", "/v1/outcomes", map[string]any{"key": "x_comp", "kind": "composite", "label": "x", "components": []string{"krs", "zzz"}})
	if _, d := r.errorBody(t); r.Status != http.StatusUnprocessableEntity || len(d) != 2 {
		t.Errorf("bad composite: %d %s", r.Status, r.Body)
	}
}

func TestAssignmentBatchFollowsHashRule(t *testing.T) {
	e := newEnv(t)
	key := "assign-3000"
	e.must(http.StatusCreated, editor, "POST", "/v1/experiments", map[string]any{"key": key, "arms": threeArms(), "salt": "s-2026"})
	ids := make([]string, 3000)
	for i := range ids {
		ids[i] = fmt.Sprintf("cust-%05d", i)
	}
	ids[7] = "klant_é_7/with slash"
	r := e.call(ingest, "POST", "/v1/experiments/"+key+"/assignments:batch", map[string]any{"customer_ids": ids[:5]})
	if code, _ := r.errorBody(t); r.Status != http.StatusConflict || code != "conflict" {
		t.Fatalf("draft experiment assigned: %d %s", r.Status, r.Body)
	}
	e.must(http.StatusOK, editor, "POST", "/v1/experiments/"+key+"/start", nil)
	arms := []experiment.Arm{{Key: "control", Weight: 2}, {Key: "callback", Weight: 1}, {Key: "letter", Weight: 1}}

	var first struct {
		Assignments []struct {
			CustomerID string `json:"customer_id"`
			Arm        string
			New        bool
		}
	}
	e.must(http.StatusOK, ingest, "POST", "/v1/experiments/"+key+"/assignments:batch", map[string]any{"customer_ids": ids}).json(t, &first)
	if len(first.Assignments) != len(ids) {
		t.Fatalf("%d assignments for %d customers", len(first.Assignments), len(ids))
	}
	perArm := map[string]int64{}
	for i, a := range first.Assignments {
		want := experiment.AssignArm("s-2026", ids[i], arms)
		if a.CustomerID != ids[i] || a.Arm != want || !a.New {
			t.Fatalf("customer %d: %+v, want arm %s new", i, a, want)
		}
		perArm[a.Arm]++
	}
	var again = first
	e.must(http.StatusOK, ingest, "POST", "/v1/experiments/"+key+"/assignments:batch", map[string]any{"customer_ids": ids}).json(t, &again)
	for i, a := range again.Assignments {
		if a.Arm != first.Assignments[i].Arm || a.New {
			t.Fatalf("repeat of customer %d: %+v", i, a)
		}
	}
	var single struct {
		Experiment, Arm string
		CustomerID      string `json:"customer_id"`
		New             bool
	}
	e.must(http.StatusOK, ingest, "POST", "/v1/experiments/"+key+"/assignments", map[string]any{"customer_id": ids[7]}).json(t, &single)
	if single.Arm != first.Assignments[7].Arm || single.New || single.Experiment != key || single.CustomerID != ids[7] {
		t.Errorf("single repeat: %+v", single)
	}
	e.must(http.StatusOK, analyst, "GET", "/v1/experiments/"+key+"/assignments/"+pathEscape(ids[7]), nil).json(t, &single)
	if single.Arm != first.Assignments[7].Arm {
		t.Errorf("GET assignment: %+v", single)
	}
	e.must(http.StatusNotFound, analyst, "GET", "/v1/experiments/"+key+"/assignments/nobody", nil)

	r = e.must(http.StatusOK, analyst, "GET", "/v1/experiments/"+key+"/assignments.csv", nil)
	rows, err := csv.NewReader(strings.NewReader(string(r.Body))).ReadAll()
	if err != nil || len(rows) != len(ids)+1 || strings.Join(rows[0], ",") != "customer_id,arm,assigned_at" {
		t.Fatalf("assignments.csv: %d rows, %v", len(rows), err)
	}

	var res struct {
		Arms map[string]struct{ Assigned, Responded int64 }
		SRM  struct{ Mismatch bool }
	}
	e.must(http.StatusOK, analyst, "GET", "/v1/experiments/"+key+"/results", nil).json(t, &res)
	for arm, n := range perArm {
		if res.Arms[arm].Assigned != n {
			t.Errorf("results: %s assigned %d, want %d", arm, res.Arms[arm].Assigned, n)
		}
	}

	metrics := string(e.must(http.StatusOK, "", "GET", "/metrics", nil).Body)
	for _, want := range []string{
		`krslab_assignments_total{experiment="assign-3000",new="true"} 3000`,
		`krslab_assignments_total{experiment="assign-3000",new="false"} 3001`,
		`http_request_duration_seconds_count{method="POST",route="/v1/experiments/:key/assignments\\:batch",status="200"} 2`,
		`krslab_results_duration_seconds_count 1`,
		`go_sql_max_open_connections{db_name="krslab"}`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}

	r = e.call(ingest, "POST", "/v1/experiments/"+key+"/assignments:batch", map[string]any{"customer_ids": []string{"ok", "", strings.Repeat("x", 129), "tab\there"}})
	if _, d := r.errorBody(t); r.Status != http.StatusUnprocessableEntity || len(d) != 3 || d[0].Row != 2 || d[2].Row != 4 {
		t.Errorf("bad ids: %d %s", r.Status, r.Body)
	}
}

func pathEscape(s string) string {
	return strings.NewReplacer("%", "%25", "/", "%2F", " ", "%20", "?", "%3F", "#", "%23").Replace(s)
}
