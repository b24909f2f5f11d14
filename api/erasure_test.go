package api_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/krslab/krslab/experiment/postgres/pgtest"
)

// TestErasure: a customer's answers and covariates disappear from every experiment and from
// /results, the arm counts stay, the audit log records the erasure without the id, and a
// returning customer is a new customer: the same arm by the hash rule, counted again.
func TestErasure(t *testing.T) {
	e := newEnv(t)
	const who = "cust-forget-me"
	var arms []string
	for _, key := range []string{"erase-a", "erase-b"} {
		e.createRunning(key, map[string]any{"arms": threeArms(), "outcomes": []string{"trust"}, "primary_outcome": "trust"})
		got := assign(t, e, key, who, "cust-stays-1", "cust-stays-2")
		arms = append(arms, got[who])
		var batch []map[string]any
		for i, id := range []string{who, "cust-stays-1", "cust-stays-2"} {
			batch = append(batch, map[string]any{"response_id": key + id, "customer_id": id,
				"answered_at": "2026-03-01T10:00:00Z", "answers": map[string]any{"trust": 3 + i}})
		}
		e.must(http.StatusCreated, ingest, "POST", "/v1/experiments/"+key+"/responses:batch", map[string]any{"responses": batch})
		e.must(http.StatusOK, ingest, "POST", "/v1/experiments/"+key+"/covariates:batch", map[string]any{"covariates": []map[string]any{
			{"customer_id": who, "outcome": "trust", "value": 4}, {"customer_id": "cust-stays-1", "outcome": "trust", "value": 5}}})
	}
	if _, err := pgtest.Store(t).DB().Exec(`INSERT INTO customer_attributes (customer_id, name, value) VALUES ($1, 'channel', 'phone')`, who); err != nil {
		t.Fatal(err)
	}
	e.must(http.StatusForbidden, editor, "DELETE", "/v1/customers/"+who, nil)
	r := e.must(http.StatusOK, admin, "DELETE", "/v1/customers/"+who, nil)
	var receipt struct{ Erasure string }
	r.json(t, &receipt)
	if !strings.Contains(string(r.Body), `"experiments":2`) || !strings.Contains(string(r.Body), `"responses":2`) ||
		!strings.Contains(string(r.Body), `"attributes":1`) {
		t.Errorf("erasure report: %s", r.Body)
	}
	for i, key := range []string{"erase-a", "erase-b"} {
		if n := count(t, e, key, "trust"); n != 2 {
			t.Errorf("%s: trust n = %d after erasure, want 2", key, n)
		}
		var res struct {
			Arms map[string]struct{ Assigned int64 }
		}
		e.must(http.StatusOK, analyst, "GET", "/v1/experiments/"+key+"/results", nil).json(t, &res)
		total := int64(0)
		for _, a := range res.Arms {
			total += a.Assigned
		}
		if total != 3 {
			t.Errorf("%s: %d assigned after erasure, want 3", key, total)
		}
		e.must(http.StatusNotFound, analyst, "GET", "/v1/experiments/"+key+"/assignments/"+who, nil)
		// Coming back: nothing links the customer to its anonymous assignment, so it is new
		// (and counted again), with the same arm by the hash rule.
		var again struct {
			Arm string
			New bool
		}
		e.must(http.StatusOK, ingest, "POST", "/v1/experiments/"+key+"/assignments", map[string]any{"customer_id": who}).json(t, &again)
		if again.Arm != arms[i] || !again.New {
			t.Errorf("%s: returning customer got %+v, want arm %s, new", key, again, arms[i])
		}
		e.must(http.StatusOK, analyst, "GET", "/v1/experiments/"+key+"/results", nil).json(t, &res)
		total = 0
		for _, a := range res.Arms {
			total += a.Assigned
		}
		if total != 4 {
			t.Errorf("%s: %d assigned after return, want 4 (the anonymous row and the new one)", key, total)
		}
	}
	var audit struct {
		Audit []struct{ Action, Subject string }
	}
	r = e.must(http.StatusOK, admin, "GET", "/v1/audit?limit=50", nil)
	r.json(t, &audit)
	if strings.Contains(string(r.Body), who) {
		t.Error("the audit log names the erased customer")
	}
	found := false
	for _, a := range audit.Audit {
		found = found || (a.Action == "customer.erase" && a.Subject == receipt.Erasure && receipt.Erasure != "")
	}
	if !found {
		t.Error("erasure not audited")
	}
}
