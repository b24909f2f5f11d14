package api_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/krslab/krslab/api"
	"github.com/krslab/krslab/experiment"
	"github.com/krslab/krslab/experiment/postgres/pgtest"
)

// rowCounts counts the rows of every table a request could write.
func rowCounts(t *testing.T) map[string]int {
	t.Helper()
	db := pgtest.Store(t).DB()
	out := map[string]int{}
	for _, table := range []string{"outcomes", "outcome_components", "experiments", "arms", "experiment_outcomes",
		"assignments", "responses", "answers", "covariates", "api_keys", "audit_log"} {
		var n int
		if err := db.Get(&n, "SELECT count(*) FROM "+table); err != nil {
			t.Fatal(err)
		}
		out[table] = n
	}
	return out
}

// TestMalformedRequestsBattery sends malformed requests to every endpoint: each must get a
// 4xx with the error shape of API.md, none a 5xx, and nothing may be written.
func TestMalformedRequestsBattery(t *testing.T) {
	e := newEnv(t)
	key := "battery"
	e.createRunning(key, map[string]any{"arms": threeArms(), "outcomes": []string{"trust", "nps", "krs"}, "primary_outcome": "krs"})
	assign(t, e, key, "c1", "c2")
	exp := "/v1/experiments/" + key
	long := strings.Repeat("x", 129)
	okResp := func(mut func(map[string]any)) map[string]any {
		r := map[string]any{"response_id": "r-new", "customer_id": "c1", "answered_at": "2026-03-01T10:00:00Z", "answers": map[string]any{"trust": 5}}
		mut(r)
		return r
	}
	type req struct {
		name, method, path, ct, body string
		role                         experiment.Role
	}
	j := func(v any) string {
		return string(mustJSON(t, v))
	}
	cases := []req{
		{"experiment: not JSON", "POST", "/v1/experiments", "application/json", "{not json", editor},
		{"experiment: empty body", "POST", "/v1/experiments", "application/json", "", editor},
		{"experiment: array body", "POST", "/v1/experiments", "application/json", "[]", editor},
		{"experiment: unknown field", "POST", "/v1/experiments", "application/json", `{"key":"x1","colour":1}`, editor},
		{"experiment: wrong type", "POST", "/v1/experiments", "application/json", `{"key":12}`, editor},
		{"experiment: one arm", "POST", "/v1/experiments", "application/json", `{"key":"x2","arms":[{"key":"a","control":true}]}`, editor},
		{"experiment: two controls", "POST", "/v1/experiments", "application/json", `{"key":"x3","arms":[{"key":"a","control":true},{"key":"b","control":true}]}`, editor},
		{"experiment: NaN-like weight", "POST", "/v1/experiments", "application/json", `{"key":"x4","arms":[{"key":"a","control":true,"weight":1e400},{"key":"b"}]}`, editor},
		{"experiment: alpha 0.5", "POST", "/v1/experiments", "application/json", `{"key":"x5","arms":[{"key":"a","control":true},{"key":"b"}],"alpha":0.5}`, editor},
		{"experiment: control char in key", "POST", "/v1/experiments", "application/json", "{\"key\":\"x\\u0001\",\"arms\":[{\"key\":\"a\",\"control\":true},{\"key\":\"b\"}]}", editor},
		{"experiment: trailing data", "POST", "/v1/experiments", "application/json", `{"key":"x6"} {"key":"x7"}`, editor},
		{"experiment: text/plain", "POST", "/v1/experiments", "text/plain", `{"key":"x8"}`, editor},
		{"experiment: duplicate", "POST", "/v1/experiments", "application/json", `{"key":"battery","arms":[{"key":"a","control":true},{"key":"b"}]}`, editor},
		{"patch: frozen salt", "PATCH", exp, "application/json", `{"salt":"new"}`, editor},
		{"patch: unknown field", "PATCH", exp, "application/json", `{"status":"draft"}`, editor},
		{"start: already running", "POST", exp + "/start", "", "", editor},
		{"decision: while running", "POST", exp + "/decision", "application/json", `{"arm":"control","reason":"x"}`, editor},
		{"stop: body with fields", "POST", exp + "/stop", "application/json", `{"now":true}`, editor},
		{"outcome: bad kind", "POST", "/v1/outcomes", "application/json", `{"key":"o1","kind":"likert","label":"x"}`, editor},
		{"outcome: builtin", "POST", "/v1/outcomes", "application/json", `{"key":"trust","kind":"scale","label":"x"}`, editor},
		{"outcome: net without thresholds", "POST", "/v1/outcomes", "application/json", `{"key":"o2","kind":"net","label":"x","min":0,"max":10}`, editor},
		{"outcome: builtin flag", "POST", "/v1/outcomes", "application/json", `{"key":"o3","kind":"scale","label":"x","builtin":true}`, editor},
		{"assign: empty id", "POST", exp + "/assignments", "application/json", `{"customer_id":""}`, ingest},
		{"assign: long id", "POST", exp + "/assignments", "application/json", j(map[string]any{"customer_id": long}), ingest},
		{"assign: control char", "POST", exp + "/assignments", "application/json", `{"customer_id":"a\u0007b"}`, ingest},
		{"assign: number id", "POST", exp + "/assignments", "application/json", `{"customer_id":42}`, ingest},
		{"assign: unknown experiment", "POST", "/v1/experiments/nope/assignments", "application/json", `{"customer_id":"c9"}`, ingest},
		{"assign batch: too many", "POST", exp + "/assignments:batch", "application/json", j(map[string]any{"customer_ids": make([]string, experiment.MaxBatch+1)}), ingest},
		{"assign batch: empty", "POST", exp + "/assignments:batch", "application/json", `{"customer_ids":[]}`, ingest},
		{"assign batch: one bad id", "POST", exp + "/assignments:batch", "application/json", `{"customer_ids":["new-1","","new-2"]}`, ingest},
		{"response: out of range", "POST", exp + "/responses", "application/json", j(okResp(func(r map[string]any) { r["answers"] = map[string]any{"trust": 8} })), ingest},
		{"response: non-integer scale", "POST", exp + "/responses", "application/json", j(okResp(func(r map[string]any) { r["answers"] = map[string]any{"trust": 4.5} })), ingest},
		{"response: composite answered", "POST", exp + "/responses", "application/json", j(okResp(func(r map[string]any) { r["answers"] = map[string]any{"krs": 50} })), ingest},
		{"response: unknown outcome", "POST", exp + "/responses", "application/json", j(okResp(func(r map[string]any) { r["answers"] = map[string]any{"happiness": 5} })), ingest},
		{"response: string answer", "POST", exp + "/responses", "application/json", j(okResp(func(r map[string]any) { r["answers"] = map[string]any{"trust": "5"} })), ingest},
		{"response: huge number", "POST", exp + "/responses", "application/json", `{"response_id":"r-x","customer_id":"c1","answered_at":"2026-03-01T10:00:00Z","answers":{"nps":1e400}}`, ingest},
		{"response: future", "POST", exp + "/responses", "application/json", j(okResp(func(r map[string]any) { r["answered_at"] = "2099-01-01T00:00:00Z" })), ingest},
		{"response: bad time", "POST", exp + "/responses", "application/json", j(okResp(func(r map[string]any) { r["answered_at"] = "01-03-2026" })), ingest},
		{"response: no answers", "POST", exp + "/responses", "application/json", j(okResp(func(r map[string]any) { r["answers"] = map[string]any{} })), ingest},
		{"response: unassigned", "POST", exp + "/responses", "application/json", j(okResp(func(r map[string]any) { r["customer_id"] = "stranger" })), ingest},
		{"response: long response id", "POST", exp + "/responses", "application/json", j(okResp(func(r map[string]any) { r["response_id"] = long })), ingest},
		{"response batch: one bad of three", "POST", exp + "/responses:batch", "application/json", j(map[string]any{"responses": []any{
			okResp(func(r map[string]any) { r["response_id"] = "b1" }),
			okResp(func(r map[string]any) { r["response_id"] = "b2"; r["answers"] = map[string]any{"nps": 11} }),
			okResp(func(r map[string]any) { r["response_id"] = "b3"; r["customer_id"] = "c2" })}}), ingest},
		{"response batch: duplicate ids", "POST", exp + "/responses:batch", "application/json", j(map[string]any{"responses": []any{
			okResp(func(r map[string]any) { r["response_id"] = "d1" }), okResp(func(r map[string]any) { r["response_id"] = "d1" })}}), ingest},
		{"response batch: empty", "POST", exp + "/responses:batch", "application/json", `{"responses":[]}`, ingest},
		{"csv: bad header", "POST", exp + "/responses:batch", "text/csv", "a,b,c,d\n1,2,3,4\n", ingest},
		{"csv: bare quote", "POST", exp + "/responses:batch", "text/csv", "response_id,customer_id,answered_at,trust\n\"x,c1,2026-03-01T10:00:00Z,3\n", ingest},
		{"csv: short row", "POST", exp + "/responses:batch", "text/csv", "response_id,customer_id,answered_at,trust\nx,c1\n", ingest},
		{"csv: NaN", "POST", exp + "/responses:batch", "text/csv", "response_id,customer_id,answered_at,trust\nx,c1,2026-03-01T10:00:00Z,NaN\n", ingest},
		{"csv: Inf", "POST", exp + "/responses:batch", "text/csv", "response_id,customer_id,answered_at,trust\nx,c1,2026-03-01T10:00:00Z,+Inf\n", ingest},
		{"csv: duplicate column", "POST", exp + "/responses:batch", "text/csv", "response_id,customer_id,answered_at,trust,trust\nx,c1,2026-03-01T10:00:00Z,3,4\n", ingest},
		{"covariates: unknown outcome", "POST", exp + "/covariates:batch", "application/json", `{"covariates":[{"customer_id":"c1","outcome":"happiness","value":3}]}`, ingest},
		{"covariates: missing value", "POST", exp + "/covariates:batch", "application/json", `{"covariates":[{"customer_id":"c1","outcome":"trust"}]}`, ingest},
		{"covariates: every bad row", "POST", exp + "/covariates:batch", "application/json", `{"covariates":[{"customer_id":"c1","outcome":"trust"},{"customer_id":"","outcome":"happiness","value":1}]}`, ingest},
		{"covariates: net outcome", "POST", exp + "/covariates:batch", "application/json", `{"covariates":[{"customer_id":"c1","outcome":"nps","value":3}]}`, ingest},
		{"results: bad lang", "GET", exp + "/results?lang=fr", "", "", analyst},
		{"results: misspelt parameter", "GET", exp + "/results?segmnet=channel", "", "", analyst},
		{"assignments.csv: parameter", "GET", exp + "/assignments.csv?arm=control", "", "", analyst},
		{"report: misspelt parameter", "GET", exp + "/report.html?language=nl", "", "", analyst},
		{"list: bad status", "GET", "/v1/experiments?status=paused", "", "", analyst},
		{"power: missing sd", "POST", "/v1/power", "application/json", `{"kind":"scale","mde":0.2}`, analyst},
		{"audit: bad limit", "GET", "/v1/audit?limit=abc", "", "", admin},
		{"erase: long id", "DELETE", "/v1/customers/" + long, "", "", admin},
		{"no such route", "GET", "/v1/nothing-here", "", "", admin},
		{"wrong method", "PUT", exp, "application/json", "{}", admin},
	}
	if len(cases) < 40 {
		t.Fatalf("only %d malformed requests", len(cases))
	}
	before := rowCounts(t)
	for _, c := range cases {
		r := e.do(c.role, c.method, c.path, c.ct, []byte(c.body))
		if r.Status < 400 || r.Status >= 500 {
			t.Errorf("%s: status %d: %s", c.name, r.Status, r.Body)
			continue
		}
		if c.method != "HEAD" {
			code, details := r.errorBody(t)
			if code == "" || details == nil {
				t.Errorf("%s: error body %s", c.name, r.Body)
			}
		}
	}
	// Every bad row of a covariates batch is named, not only the missing values.
	r := e.do(ingest, "POST", exp+"/covariates:batch", "application/json",
		[]byte(`{"covariates":[{"customer_id":"c1","outcome":"trust"},{"customer_id":"","outcome":"happiness","value":1}]}`))
	if _, d := r.errorBody(t); len(d) != 3 {
		t.Errorf("covariates batch with three problems: %s", r.Body)
	}
	after := rowCounts(t)
	for table, n := range before {
		if after[table] != n {
			t.Errorf("%s: %d rows before the battery, %d after", table, n, after[table])
		}
	}
	t.Logf("%d malformed requests, all 4xx, nothing written", len(cases))
}

// TestEveryV1RouteNeedsAKey walks the router: no /v1 route answers without a key.
func TestEveryV1RouteNeedsAKey(t *testing.T) {
	e := newEnv(t)
	h := api.New(e.svc, api.Config{})
	routes := h.Routes()
	n := 0
	for _, rt := range routes {
		if !strings.HasPrefix(rt.Path, "/v1") {
			continue
		}
		path := strings.NewReplacer(":key", "k", ":customer", "c", ":outcome", "o", `\:`, ":").Replace(rt.Path)
		r := e.do("", rt.Method, path, "application/json", []byte("{}"))
		if r.Status != http.StatusUnauthorized {
			t.Errorf("%s %s without a key: %d", rt.Method, rt.Path, r.Status)
		}
		n++
	}
	if n < 15 {
		t.Errorf("only %d /v1 routes found", n)
	}
	t.Log(fmt.Sprintf("%d routes checked", n))
}
