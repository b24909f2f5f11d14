package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
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
