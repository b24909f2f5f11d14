package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/krslab/krslab/api"
	"github.com/krslab/krslab/experiment"
	"github.com/krslab/krslab/experiment/postgres"
	"github.com/krslab/krslab/experiment/postgres/pgtest"
)

// names reports whether details name the field (in the row, 0 outside a batch).
func names(details []experiment.Detail, row int, field string) bool {
	for _, d := range details {
		if d.Row == row && d.Field == field {
			return true
		}
	}
	return false
}

// TestCustomerIDsDifferingInBadBytesAreRefused: encoding/json reads "c\xff1" and "c\xfe1"
// as the same "c\uFFFD1", so that two customers would share one assignment and one arm. Both
// are refused, in a single assignment, in a batch (by row) and in a response.
func TestCustomerIDsDifferingInBadBytesAreRefused(t *testing.T) {
	e := newEnv(t)
	key := "bad-bytes-ids"
	e.createRunning(key, map[string]any{"arms": threeArms()})
	for _, id := range []string{"c\xff1", "c\xfe1"} {
		body := []byte(`{"customer_id": "` + id + `"}`)
		r := e.do(ingest, "POST", "/v1/experiments/"+key+"/assignments", "application/json", body)
		if _, d := r.errorBody(t); r.Status != http.StatusUnprocessableEntity || !names(d, 0, "customer_id") {
			t.Errorf("customer %q: %d %s", id, r.Status, r.Body)
		}
	}
	r := e.do(ingest, "POST", "/v1/experiments/"+key+"/assignments:batch", "application/json",
		[]byte("{\"customer_ids\": [\"ok-1\", \"c\xff1\", \"c\xfe1\", \"c\\ud8001\"]}"))
	if _, d := r.errorBody(t); r.Status != http.StatusUnprocessableEntity || !names(d, 2, "customer_id") ||
		!names(d, 3, "customer_id") || !names(d, 4, "customer_id") || names(d, 1, "customer_id") {
		t.Errorf("batch: %d %s", r.Status, r.Body)
	}
	var list []experiment.Assignment
	if err := e.svc.EachAssignment(context.Background(), key, func(a experiment.Assignment) error {
		list = append(list, a)
		return nil
	}); err != nil || len(list) != 0 {
		t.Errorf("assignments stored: %v %v", list, err)
	}
	// A legitimate U+FFFD (sent as such, valid UTF-8) is an ordinary printable character.
	e.must(http.StatusOK, ingest, "POST", "/v1/experiments/"+key+"/assignments", map[string]any{"customer_id": "c\uFFFD1"})
}

// TestBooleanAnswersOnlyForBinaryOutcomes: true/false is a binary outcome's answer
// (DOMAIN.md), not 1 and 0 of a scale, in JSON and in CSV.
func TestBooleanAnswersOnlyForBinaryOutcomes(t *testing.T) {
	e := newEnv(t)
	e.must(http.StatusCreated, experiment.RoleEditor, "POST", "/v1/outcomes",
		map[string]any{"key": "bool_churned", "kind": "binary", "label": "Churned"})
	key := "bool-answers"
	e.createRunning(key, map[string]any{"arms": threeArms(), "outcomes": []string{"trust", "nps", "bool_churned"}, "primary_outcome": "trust"})
	assign(t, e, key, "c1", "c2")
	path := "/v1/experiments/" + key + "/responses"
	for _, answers := range []map[string]any{{"trust": true}, {"nps": false}} {
		r := e.call(ingest, "POST", path, map[string]any{"response_id": "r-bool", "customer_id": "c1",
			"answered_at": "2026-03-01T10:00:00Z", "answers": answers})
		for k := range answers {
			if _, d := r.errorBody(t); r.Status != http.StatusUnprocessableEntity || !names(d, 0, "answers."+k) {
				t.Errorf("%v: %d %s", answers, r.Status, r.Body)
			}
		}
	}
	e.must(http.StatusCreated, ingest, "POST", path, map[string]any{"response_id": "r-churned", "customer_id": "c1",
		"answered_at": "2026-03-01T10:00:00Z", "answers": map[string]any{"bool_churned": true, "trust": 5}})

	csv := "response_id,customer_id,answered_at,trust,bool_churned\n" +
		"b1,c1,2026-03-01T10:00:00Z,5,false\n" +
		"b2,c2,2026-03-01T10:00:00Z,TRUE,\n"
	for _, route := range []string{":batch", ":import"} {
		r := e.do(ingest, "POST", path+route, "text/csv", []byte(csv))
		_, d := r.errorBody(t)
		if r.Status != http.StatusUnprocessableEntity || len(d) != 1 || d[0].Row != 2 ||
			!(d[0].Field == "answers.trust" || strings.HasPrefix(d[0].Message, "answers.trust: ")) {
			t.Errorf("CSV %s: %d %s", route, r.Status, r.Body)
		}
	}
	if r := e.do(ingest, "POST", path+":import", "text/csv", []byte(strings.Replace(csv, "TRUE", "1", 1))); r.Status != http.StatusCreated {
		t.Errorf("CSV with true/false for the binary outcome only: %d %s", r.Status, r.Body)
	}
}

// TestWeightsAddUpToAFiniteTotal: each weight finite is not enough, [1e308, 1e308] adds
// up to +Inf and sent every customer to the last arm.
func TestWeightsAddUpToAFiniteTotal(t *testing.T) {
	e := newEnv(t)
	r := e.call(experiment.RoleEditor, "POST", "/v1/experiments", map[string]any{"key": "huge-weights",
		"arms": []map[string]any{{"key": "control", "control": true, "weight": 1e308}, {"key": "b", "weight": 1e308}}})
	if _, d := r.errorBody(t); r.Status != http.StatusUnprocessableEntity || !names(d, 0, "arms[0].weight") || !names(d, 0, "arms[1].weight") {
		t.Errorf("weights 1e308: %d %s", r.Status, r.Body)
	}
	e.must(http.StatusCreated, experiment.RoleEditor, "POST", "/v1/experiments", map[string]any{"key": "skewed-weights",
		"arms": []map[string]any{{"key": "control", "control": true, "weight": 1}, {"key": "b", "weight": experiment.MaxWeight}}})
}

// logRecords keeps the records of a logger, for tests that read the request log.
type logRecords struct {
	mu      sync.Mutex
	records []map[string]any
}

func (l *logRecords) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for line := range bytes.Lines(p) {
		var rec map[string]any
		if json.Unmarshal(line, &rec) == nil {
			l.records = append(l.records, rec)
		}
	}
	return len(p), nil
}

func (l *logRecords) request(route string) map[string]any {
	l.mu.Lock()
	defer l.mu.Unlock()
	for i := len(l.records) - 1; i >= 0; i-- {
		if l.records[i]["msg"] == "request" && l.records[i]["route"] == route {
			return l.records[i]
		}
	}
	return nil
}

// TestStatementTimeoutIsNoOutage: a statement that runs into the statement timeout (here it
// waits for a lock) answers 504 database_timeout, not 503 unavailable; a client that gives
// up while its statement waits is logged as gone (499), neither of the two.
func TestStatementTimeoutIsNoOutage(t *testing.T) {
	ctx := context.Background()
	pgtest.Store(t)
	store, err := postgres.Open(ctx, pgtest.URL(t), postgres.Options{StatementTimeout: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	logs := &logRecords{}
	e := newEnvOn(t, store, func(c *api.Config) { c.Logger = slog.New(slog.NewJSONHandler(logs, nil)) })
	key := "statement-timeout-api"
	e.must(http.StatusCreated, experiment.RoleEditor, "POST", "/v1/experiments", map[string]any{"key": key, "arms": threeArms()})
	e.must(http.StatusOK, experiment.RoleEditor, "GET", "/v1/experiments/"+key, nil) // the keys are read

	lock, err := pgtest.Store(t).DB().BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Rollback()
	if _, err := lock.ExecContext(ctx, `LOCK TABLE experiments IN ACCESS EXCLUSIVE MODE`); err != nil {
		t.Fatal(err)
	}
	r := e.call(experiment.RoleEditor, "GET", "/v1/experiments/"+key, nil)
	if code, _ := r.errorBody(t); r.Status != http.StatusGatewayTimeout || code != "database_timeout" {
		t.Errorf("statement timeout: %d %s", r.Status, r.Body)
	}

	gone, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(gone, "GET", e.srv.URL+"/v1/experiments/"+key+"/alert-rules", nil)
	req.Header.Set("Authorization", "Bearer "+e.keys[experiment.RoleEditor])
	if res, err := client.Do(req); err == nil {
		res.Body.Close()
		t.Fatalf("the request was answered (%d) while its statement waited for the lock", res.StatusCode)
	}
	var rec map[string]any
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if rec = logs.request("/v1/experiments/:key/alert-rules"); rec != nil {
			break
		}
	}
	if rec == nil || rec["status"] != float64(499) || rec["level"] != "INFO" {
		t.Errorf("a client that went away is logged as %v", rec)
	}
}

// TestNumbersTheAnalysisCanCarry: a numeric answer of 1e200 (or 1e-200) is finite, but its
// square is not a float8: PostgreSQL refuses the sum of squares (value out of range), and one
// such answer left the whole experiment without results, plots or report, each a 422 saying
// "refused by a database constraint". Answers, covariates and an outcome's bounds are now
// 0 or 1e-100 to 1e100 in absolute value (experiment.CheckNumber); at those edges every
// analysis reads, with every test's numbers (Welch's degrees of freedom and the drivers'
// correlations were taken on squares of squares, which left float64), and numbers stored
// before the rule get a 409 that says what is wrong.
func TestNumbersTheAnalysisCanCarry(t *testing.T) {
	e := newEnv(t)
	e.must(http.StatusCreated, editor, "POST", "/v1/outcomes", map[string]any{"key": "edge", "kind": "numeric", "label": "Edge"})
	for _, v := range []float64{1e101, -1e101, 1e-101, 5e-324, math.MaxFloat64} {
		r := e.call(editor, "POST", "/v1/outcomes", map[string]any{"key": "bounded", "kind": "numeric", "label": "Bounded", "min": 0, "max": v})
		if _, d := r.errorBody(t); r.Status != http.StatusUnprocessableEntity || !names(d, 0, "max") {
			t.Errorf("max %g: %d %s", v, r.Status, r.Body)
		}
	}
	key := "edge-numbers"
	e.createRunning(key, map[string]any{"arms": threeArms(), "outcomes": []string{"edge", "trust"}, "primary_outcome": "edge"})
	var ids []string
	for i := range 36 {
		ids = append(ids, fmt.Sprintf("edge-%02d", i))
	}
	assign(t, e, key, ids...)
	for _, v := range []float64{1e101, -1e101, 1e-101, -1e-200, 5e-324, 1.7e308} {
		for _, path := range []string{"/responses:batch", "/covariates:batch"} {
			body := map[string]any{"responses": []map[string]any{{"response_id": "r-edge", "customer_id": ids[0],
				"answered_at": "2026-02-01T12:00:00Z", "answers": map[string]any{"edge": v}}}}
			field := "answers.edge"
			if path == "/covariates:batch" {
				body = map[string]any{"covariates": []map[string]any{{"customer_id": ids[0], "outcome": "edge", "value": v}}}
				field = "value"
			}
			r := e.call(ingest, "POST", "/v1/experiments/"+key+path, body)
			if _, d := r.errorBody(t); r.Status != http.StatusUnprocessableEntity || !names(d, 1, field) ||
				!strings.Contains(string(r.Body), "between 1e-100 and 1e100") {
				t.Errorf("%s %g: %d %s", path, v, r.Status, r.Body)
			}
		}
	}
	// At the edges, mixed with ordinary numbers, in every arm.
	edges := []float64{1e100, -1e100, 1e-100, -1e-100, 0, 1, 2.5, 1e100, 1e-100}
	var responses, covariates []map[string]any
	for i, id := range ids {
		v := edges[i%len(edges)]
		responses = append(responses, map[string]any{"response_id": "r-" + id, "customer_id": id,
			"answered_at": fmt.Sprintf("2026-02-%02dT12:00:00Z", 1+i%20), "answers": map[string]any{"edge": v, "trust": 1 + i%7}})
		covariates = append(covariates, map[string]any{"customer_id": id, "outcome": "edge", "value": edges[(i+4)%len(edges)]})
	}
	e.must(http.StatusCreated, ingest, "POST", "/v1/experiments/"+key+"/responses:batch", map[string]any{"responses": responses})
	e.must(http.StatusOK, ingest, "POST", "/v1/experiments/"+key+"/covariates:batch", map[string]any{"covariates": covariates})
	reads := []string{"/results", "/results.csv", "/report.html", "/plots/effects.png", "/plots/effects.svg", "/plots/timeline.png",
		"/plots/edge.png", "/drivers?outcome=trust&drivers=edge", "/plots/drivers.png?outcome=trust&drivers=edge", "/persistence"}
	for _, path := range reads {
		e.must(http.StatusOK, analyst, "GET", "/v1/experiments/"+key+path, nil)
	}
	var res struct {
		Outcomes []struct {
			Key  string `json:"key"`
			Arms map[string]struct {
				N  int64    `json:"n"`
				SD *float64 `json:"sd"`
			} `json:"arms"`
			Comparisons map[string]struct {
				SE     *float64 `json:"se"`
				DF     *float64 `json:"df"`
				PValue *float64 `json:"p_value"`
				CILow  *float64 `json:"ci_low"`
			} `json:"comparisons"`
		} `json:"outcomes"`
	}
	e.must(http.StatusOK, analyst, "GET", "/v1/experiments/"+key+"/results", nil).json(t, &res)
	for _, o := range res.Outcomes {
		for arm, a := range o.Arms {
			if a.N < 2 || a.SD == nil || !(*a.SD > 0) {
				t.Errorf("%s, %s: n %d, sd %v", o.Key, arm, a.N, a.SD)
			}
		}
		for arm, c := range o.Comparisons {
			if c.SE == nil || c.DF == nil || c.PValue == nil || c.CILow == nil {
				t.Errorf("%s, %s: se %v, df %v, p %v, ci_low %v: a test without its numbers", o.Key, arm, c.SE, c.DF, c.PValue, c.CILow)
			}
		}
	}
	var drivers struct {
		RSquared *float64 `json:"r_squared"`
	}
	e.must(http.StatusOK, analyst, "GET", "/v1/experiments/"+key+"/drivers?outcome=edge&drivers=trust", nil).json(t, &drivers)
	if drivers.RSquared == nil {
		t.Errorf("drivers of the edge numbers: no r_squared")
	}

	// A number stored before the rule (written here past the service) makes no 422 of a read.
	if _, err := pgtest.Store(t).DB().Exec(`UPDATE responses SET answer_values = array_replace(answer_values, 1e100, 1e200)
		WHERE experiment_id = (SELECT id FROM experiments WHERE key = $1)`, key); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/results", "/report.html", "/plots/effects.png"} {
		r := e.call(analyst, "GET", "/v1/experiments/"+key+path, nil)
		if code, _ := r.errorBody(t); r.Status != http.StatusConflict || code != "conflict" ||
			!strings.Contains(string(r.Body), "too large or too small to compute with") {
			t.Errorf("%s with 1e200 stored: %d %s", path, r.Status, r.Body)
		}
	}
}
