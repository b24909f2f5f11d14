package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/krslab/krslab/experiment"
	"github.com/krslab/krslab/experiment/postgres"
	"github.com/krslab/krslab/experiment/postgres/pgtest"
)

// servedJSON is an answer of the assignment API, decoded strictly: a field the contract does
// not name fails the test.
type servedJSON struct {
	Experiment string     `json:"experiment"`
	CustomerID string     `json:"customer_id"`
	Arm        *string    `json:"arm"`
	AssignedAt *time.Time `json:"assigned_at"`
	New        bool       `json:"new"`
	Decided    bool       `json:"decided"`
	Reason     string     `json:"reason"`
}

func (r reply) served(t *testing.T, v any) {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(r.Body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("decode %s: %v", r.Body, err)
	}
}

// TestDecidedExperimentRollsOut: once decided, the assignment API serves the decided arm to
// every customer asked, single, batch and lookup, whatever they had (another arm, the
// decided one, no arm because coverage or eligibility kept them out, or never asked), with
// new false, decided true and the stored assignment time or else the decision's. Nothing
// is stored: the assignments and the results read as they did when the experiment was
// decided.
func TestDecidedExperimentRollsOut(t *testing.T) {
	e := newEnv(t)
	doc := loadOpenAPI(t)
	key := "rollout"
	e.createRunning(key, map[string]any{"arms": threeArms(), "coverage": 0.7,
		"eligibility": []map[string]any{{"attribute": "channel", "op": "in", "values": []string{"phone", "chat"}}}})

	var ids []string
	var customers []map[string]any
	for i := range 60 {
		id := fmt.Sprintf("ro-%02d", i)
		ids = append(ids, id)
		channel := []string{"phone", "chat", "phone", "mail"}[i%4]
		customers = append(customers, map[string]any{"customer_id": id, "attributes": map[string]string{"channel": channel}})
	}
	e.must(http.StatusOK, ingest, "POST", "/v1/customers:batch", map[string]any{"customers": customers})
	var running struct{ Assignments []servedJSON }
	e.must(http.StatusOK, ingest, "POST", "/v1/experiments/"+key+"/assignments:batch", map[string]any{"customer_ids": ids}).served(t, &running)

	// One customer of each kind the roll-out must serve.
	stored := map[string]servedJSON{}
	pick := map[string]string{}
	var responses []map[string]any
	for i, a := range running.Assignments {
		kind := a.Reason
		if a.Arm != nil {
			kind = *a.Arm
			stored[a.CustomerID] = a
			responses = append(responses, map[string]any{"response_id": "r-" + a.CustomerID, "customer_id": a.CustomerID,
				"answered_at": "2026-03-02T09:00:00Z", "answers": map[string]any{"trust": 1 + i%7, "nps": i % 11}})
		}
		if _, ok := pick[kind]; !ok {
			pick[kind] = a.CustomerID
		}
	}
	for _, kind := range []string{"control", "callback", "letter", experiment.NotAdmitted, experiment.NotEligible} {
		if pick[kind] == "" {
			t.Fatalf("fixture: no customer %s among %d", kind, len(ids))
		}
	}
	e.must(http.StatusCreated, ingest, "POST", "/v1/experiments/"+key+"/responses:batch", map[string]any{"responses": responses})
	e.must(http.StatusOK, editor, "POST", "/v1/experiments/"+key+"/stop", nil)

	var exp struct {
		Decision struct {
			DecidedAt time.Time `json:"decided_at"`
		}
	}
	e.must(http.StatusOK, editor, "POST", "/v1/experiments/"+key+"/decision", map[string]any{"arm": "callback", "reason": "trust up"}).json(t, &exp)
	decidedAt := exp.Decision.DecidedAt
	exportBefore := e.must(http.StatusOK, analyst, "GET", "/v1/experiments/"+key+"/assignments.csv", nil).Body
	resultsBefore := resultsWithoutClock(t, e, key)

	cases := []struct {
		name, customer string
		stored         bool
	}{
		{"assigned control", pick["control"], true},
		{"assigned another treatment", pick["letter"], true},
		{"assigned the decided arm", pick["callback"], true},
		{"outside the coverage", pick[experiment.NotAdmitted], false},
		{"not eligible", pick[experiment.NotEligible], false},
		{"never asked", "ro-new-customer", false},
	}
	var batch []string
	for _, c := range cases {
		batch = append(batch, c.customer)
	}
	check := func(t *testing.T, what, customer string, isStored bool, got servedJSON) {
		t.Helper()
		want := decidedAt
		if isStored {
			want = *stored[customer].AssignedAt
		}
		switch {
		case got.CustomerID != customer || got.Arm == nil || *got.Arm != "callback":
			t.Errorf("%s: %+v, want the decided arm callback", what, got)
		case got.New || !got.Decided || got.Reason != "":
			t.Errorf("%s: new %v, decided %v, reason %q; want new false, decided true, no reason", what, got.New, got.Decided, got.Reason)
		case got.AssignedAt == nil || !got.AssignedAt.Equal(want):
			t.Errorf("%s: assigned_at %v, want %v (stored %v)", what, got.AssignedAt, want, isStored)
		}
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := *e
			e.t = t
			// Twice: the second answer comes from the instance's cache.
			for _, call := range []string{"first", "repeat"} {
				r := e.must(http.StatusOK, ingest, "POST", "/v1/experiments/"+key+"/assignments", map[string]any{"customer_id": c.customer})
				var got servedJSON
				r.served(t, &got)
				if got.Experiment != key {
					t.Errorf("experiment %q", got.Experiment)
				}
				check(t, call+" POST", c.customer, c.stored, got)
				var raw any
				r.json(t, &raw)
				validateSchema(t, doc, "Assignment", raw)
			}
			r := e.must(http.StatusOK, analyst, "GET", "/v1/experiments/"+key+"/assignments/"+c.customer, nil)
			var got servedJSON
			r.served(t, &got)
			check(t, "GET", c.customer, c.stored, got)
			var raw any
			r.json(t, &raw)
			validateSchema(t, doc, "Assignment", raw)
		})
	}
	t.Run("batch", func(t *testing.T) {
		e := *e
		e.t = t
		// Customers first seen here, a repeat within the batch and the single calls' ones.
		list := append([]string{"ro-batch-only", batch[0]}, batch...)
		r := e.must(http.StatusOK, ingest, "POST", "/v1/experiments/"+key+"/assignments:batch", map[string]any{"customer_ids": list})
		var got struct{ Assignments []servedJSON }
		r.served(t, &got)
		if len(got.Assignments) != len(list) {
			t.Fatalf("%d answers for %d customers", len(got.Assignments), len(list))
		}
		for i, a := range got.Assignments {
			_, isStored := stored[list[i]]
			check(t, fmt.Sprintf("row %d (%s)", i+1, list[i]), list[i], isStored, a)
		}
		var raw any
		r.json(t, &raw)
		validateSchema(t, doc, "AssignBatchResult", raw)
	})
	t.Run("a bad id in a lookup", func(t *testing.T) {
		r := e.call(analyst, "GET", "/v1/experiments/"+key+"/assignments/"+string(bytes.Repeat([]byte("x"), 129)), nil)
		if code, d := r.errorBody(t); r.Status != http.StatusUnprocessableEntity || code != "invalid" || len(d) != 1 || d[0].Field != "customer_id" {
			t.Errorf("%d %s", r.Status, r.Body)
		}
	})

	if after := e.must(http.StatusOK, analyst, "GET", "/v1/experiments/"+key+"/assignments.csv", nil).Body; !bytes.Equal(after, exportBefore) {
		t.Errorf("the roll-out changed the stored assignments:\nbefore %s\nafter %s", exportBefore, after)
	}
	if after := resultsWithoutClock(t, e, key); !bytes.Equal(after, resultsBefore) {
		t.Errorf("the roll-out changed the results:\nbefore %s\nafter %s", resultsBefore, after)
	}
}

// resultsWithoutClock is /results without computed_at, re-encoded with sorted keys.
func resultsWithoutClock(t *testing.T, e *env, key string) []byte {
	t.Helper()
	var v map[string]any
	e.must(http.StatusOK, analyst, "GET", "/v1/experiments/"+key+"/results", nil).json(t, &v)
	delete(v, "computed_at")
	return mustJSON(t, v)
}

// TestOnlyADecisionRollsOut: a draft or stopped experiment still refuses assignments with
// 409 naming its status, single and batch; the lookup of a stopped one is the stored
// assignment, not a roll-out.
func TestOnlyADecisionRollsOut(t *testing.T) {
	e := newEnv(t)
	e.must(http.StatusCreated, editor, "POST", "/v1/experiments", map[string]any{"key": "ro-draft", "arms": threeArms()})
	e.createRunning("ro-stopped", map[string]any{"arms": threeArms()})
	assign(t, e, "ro-stopped", "ro-kept")
	e.must(http.StatusOK, editor, "POST", "/v1/experiments/ro-stopped/stop", nil)
	for _, c := range []struct{ key, status string }{{"ro-draft", "draft"}, {"ro-stopped", "stopped"}} {
		for _, req := range []struct {
			path string
			body map[string]any
		}{
			{"/assignments", map[string]any{"customer_id": "ro-kept"}},
			{"/assignments:batch", map[string]any{"customer_ids": []string{"ro-kept", "ro-other"}}},
		} {
			r := e.call(ingest, "POST", "/v1/experiments/"+c.key+req.path, req.body)
			if code, d := r.errorBody(t); r.Status != http.StatusConflict || code != "conflict" || len(d) != 1 || d[0].Field != "status" || d[0].Message != c.status {
				t.Errorf("%s %s: %d %s", c.status, req.path, r.Status, r.Body)
			}
		}
	}
	var got servedJSON
	r := e.must(http.StatusOK, analyst, "GET", "/v1/experiments/ro-stopped/assignments/ro-kept", nil)
	r.served(t, &got)
	if got.Decided || got.Arm == nil {
		t.Errorf("lookup in a stopped experiment: %+v", got)
	}
	var raw any
	r.json(t, &raw)
	validateSchema(t, loadOpenAPI(t), "Assignment", raw)
	e.must(http.StatusNotFound, analyst, "GET", "/v1/experiments/ro-stopped/assignments/ro-other", nil)
}

// TestDecisionSeenByOtherInstances: an instance that still has the running experiment
// cached (the decision followed the stop at once, from another instance) serves a new
// customer the decided arm at once, and a customer it had assigned the decided arm within
// StatusTTL of the decision. The second instance stores nothing either.
func TestDecisionSeenByOtherInstances(t *testing.T) {
	a := newEnv(t)
	second, err := postgres.Open(context.Background(), pgtest.URL(t), postgres.Options{MaxOpenConns: 4})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { second.Close() })
	b := newEnvOn(t, second)
	key := "ro-elsewhere"
	a.createRunning(key, map[string]any{"arms": threeArms()})
	// Customers b has assigned, so it holds the running copy and their arms.
	var kept []string
	arms := assign(t, b, key, "ro-e-0", "ro-e-1", "ro-e-2", "ro-e-3", "ro-e-4", "ro-e-5", "ro-e-6", "ro-e-7")
	for id, arm := range arms {
		if arm != "letter" {
			kept = append(kept, id)
		}
	}
	if len(kept) == 0 {
		t.Fatal("fixture: every customer got the decided arm")
	}

	// Stop on a; decide as soon as the stop is committed, while Stop still waits for the
	// other instances' copies to expire.
	var wg sync.WaitGroup
	var stop reply
	wg.Go(func() { stop = a.call(editor, "POST", "/v1/experiments/"+key+"/stop", nil) })
	defer wg.Wait() // a failure below must not end the test under the stop
	for deadline := time.Now().Add(10 * time.Second); ; {
		var st struct{ Status string }
		a.must(http.StatusOK, analyst, "GET", "/v1/experiments/"+key, nil).json(t, &st)
		if st.Status == "stopped" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the stop did not commit")
		}
		time.Sleep(5 * time.Millisecond)
	}
	a.must(http.StatusOK, editor, "POST", "/v1/experiments/"+key+"/decision", map[string]any{"arm": "letter", "reason": "fewer repeat calls"})
	decided := time.Now()

	var fresh servedJSON
	b.must(http.StatusOK, ingest, "POST", "/v1/experiments/"+key+"/assignments", map[string]any{"customer_id": "ro-e-new"}).served(t, &fresh)
	if fresh.Arm == nil || *fresh.Arm != "letter" || !fresh.Decided || fresh.New {
		t.Errorf("new customer on the other instance: %+v", fresh)
	}
	for _, id := range kept {
		for {
			asked := time.Now()
			var got servedJSON
			b.must(http.StatusOK, ingest, "POST", "/v1/experiments/"+key+"/assignments", map[string]any{"customer_id": id}).served(t, &got)
			if got.Decided && got.Arm != nil && *got.Arm == "letter" {
				break
			}
			if got.Arm == nil || *got.Arm != arms[id] || got.Decided {
				t.Fatalf("%s on the other instance: %+v, want its stored arm %s or the decided one", id, got, arms[id])
			}
			if asked.After(decided.Add(experiment.StatusTTL)) {
				t.Fatalf("%s still served its stored arm %s %v after the decision", id, arms[id], asked.Sub(decided))
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	wg.Wait()
	if stop.Status != http.StatusOK {
		t.Errorf("stop: %d %s", stop.Status, stop.Body)
	}
	var rows int
	if err := second.DB().Get(&rows, `SELECT count(*) FROM assignments a JOIN experiments e ON e.id = a.experiment_id WHERE e.key = $1`, key); err != nil || rows != len(arms) {
		t.Errorf("%d assignments stored (%v), want the %d from while it ran", rows, err, len(arms))
	}
}
