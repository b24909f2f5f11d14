package api_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/krslab/krslab/api"
	"github.com/krslab/krslab/experiment/postgres/pgtest"
)

// TestCSVImportOverHTTP sends files larger than a batch may be (more rows than MaxBatch,
// more bytes than the body limit) to the :import routes, which stream them through COPY:
// stored all-or-nothing, bad lines named by data row, replays counted.
func TestCSVImportOverHTTP(t *testing.T) {
	store := pgtest.Store(t)
	e := newEnvOn(t, store, func(c *api.Config) { c.BodyLimit, c.ImportLimit = 64<<10, 1<<20 })
	key := "http-import"
	e.createRunning(key, map[string]any{"arms": threeArms()})
	base := "/v1/experiments/" + key
	count := func(query string) int64 {
		t.Helper()
		var n int64
		if err := store.DB().GetContext(context.Background(), &n, query+` WHERE experiment_id = (SELECT id FROM experiments WHERE key = $1)`, key); err != nil {
			t.Fatal(err)
		}
		return n
	}
	const n = 20000
	var customers, responses strings.Builder
	customers.WriteString("customer_id\n")
	responses.WriteString("response_id,customer_id,answered_at,trust,nps\n")
	for i := range n {
		fmt.Fprintf(&customers, "cust-%05d\n", i)
		fmt.Fprintf(&responses, "resp-%05d,cust-%05d,2026-03-02T09:00:00Z,%d,%d\n", i, i, 1+i%7, i%11)
	}
	if customers.Len() <= 64<<10 {
		t.Fatal("the file must be larger than the body limit")
	}
	// A batch of this size is refused; the import takes it.
	if r := e.do(ingest, "POST", base+"/responses:batch", "text/csv", []byte(responses.String())); r.Status != http.StatusRequestEntityTooLarge {
		t.Fatalf("responses:batch of %d bytes: status %d", responses.Len(), r.Status)
	}
	var res struct {
		Kind                             string
		Lines, Stored, Answers, Replayed int64
		ElapsedMS                        float64 `json:"elapsed_ms"`
	}
	r := e.do(ingest, "POST", base+"/assignments:import", "text/csv", []byte(customers.String()))
	if r.Status != http.StatusCreated {
		t.Fatalf("assignments:import: %d %s", r.Status, r.Body)
	}
	r.json(t, &res)
	if res.Kind != "assignments" || res.Lines != n || res.Stored != n || count(`SELECT count(*) FROM assignments`) != n {
		t.Fatalf("assignments:import: %s", r.Body)
	}

	// One bad value and one unknown customer: nothing stored, both named by data row.
	bad := strings.Replace(responses.String(), "resp-00057,cust-00057,2026-03-02T09:00:00Z,2,", "resp-00057,cust-00057,2026-03-02T09:00:00Z,9,", 1)
	bad = strings.Replace(bad, "resp-00100,cust-00100,", "resp-00100,ghost,", 1)
	r = e.do(ingest, "POST", base+"/responses:import", "text/csv", []byte(bad))
	code, d := r.errorBody(t)
	if r.Status != http.StatusUnprocessableEntity || code != "invalid" || len(d) != 2 ||
		d[0].Row != 58 || !strings.Contains(d[0].Message, "answers.trust") ||
		d[1].Row != 101 || !strings.Contains(d[1].Message, "customer_id") {
		t.Fatalf("bad file: %d %s", r.Status, r.Body)
	}
	if got := count(`SELECT count(*) FROM responses`); got != 0 {
		t.Fatalf("a refused import stored %d responses", got)
	}

	r = e.do(ingest, "POST", base+"/responses:import", "text/csv", []byte(responses.String()))
	if r.Status != http.StatusCreated {
		t.Fatalf("responses:import: %d %s", r.Status, r.Body)
	}
	r.json(t, &res)
	if res.Lines != n || res.Stored != n || res.Answers != 2*n || res.Replayed != 0 || count(`SELECT count(*) FROM answers`) != 2*n {
		t.Fatalf("responses:import: %s", r.Body)
	}
	// The same file again is a replay: nothing new, 200.
	r = e.do(ingest, "POST", base+"/responses:import", "text/csv", []byte(responses.String()))
	r.json(t, &res)
	if r.Status != http.StatusOK || res.Stored != 0 || res.Replayed != n {
		t.Fatalf("replayed import: %d %s", r.Status, r.Body)
	}

	r = e.do(ingest, "POST", base+"/covariates:import", "text/csv", []byte("customer_id,outcome,value\ncust-00001,trust,4\ncust-00002,trust,5.5\n"))
	r.json(t, &res)
	if r.Status != http.StatusCreated || res.Stored != 2 {
		t.Fatalf("covariates:import: %d %s", r.Status, r.Body)
	}

	// Over the import limit: 413. Not CSV: 400. Not an ingest role: 403.
	huge := customers.String() + strings.Repeat("cust-x\n", 1<<20/7)
	if r := e.do(ingest, "POST", base+"/assignments:import", "text/csv", []byte(huge)); r.Status != http.StatusRequestEntityTooLarge {
		t.Errorf("over the import limit: %d %s", r.Status, r.Body)
	}
	if r := e.do(ingest, "POST", base+"/assignments:import", "application/json", []byte(`{}`)); r.Status != http.StatusBadRequest {
		t.Errorf("JSON body: %d %s", r.Status, r.Body)
	}
	if r := e.do(analyst, "POST", base+"/assignments:import", "text/csv", []byte(customers.String())); r.Status != http.StatusForbidden {
		t.Errorf("analyst: %d %s", r.Status, r.Body)
	}
	if got := count(`SELECT count(*) FROM assignments`); got != n {
		t.Errorf("refused imports changed the assignments: %d", got)
	}
}
