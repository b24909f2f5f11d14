package api_test

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/krslab/krslab/experiment/postgres/pgtest"
)

type batchAnswer struct {
	Assignments []struct {
		CustomerID string  `json:"customer_id"`
		Arm        *string `json:"arm"`
		New        bool    `json:"new"`
		Reason     string  `json:"reason"`
	}
}

func assignAll(t *testing.T, e *env, key string, ids []string) batchAnswer {
	t.Helper()
	var all batchAnswer
	for start := 0; start < len(ids); start += 5000 {
		var part batchAnswer
		e.must(http.StatusOK, ingest, "POST", "/v1/experiments/"+key+"/assignments:batch",
			map[string]any{"customer_ids": ids[start:min(start+5000, len(ids))]}).json(t, &part)
		all.Assignments = append(all.Assignments, part.Assignments...)
	}
	return all
}

func customers(prefix string, n int) []string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("%s-%05d", prefix, i)
	}
	return ids
}

// TestLayersNeverShareACustomer: two experiments in one layer split its hash space, so no
// customer of 10,000 is in both; a third finds the layer full.
func TestLayersNeverShareACustomer(t *testing.T) {
	e := newEnv(t)
	for _, key := range []string{"layer-a", "layer-b"} {
		e.createRunning(key, map[string]any{"arms": threeArms(), "layer": "service-journey", "coverage": 0.5})
	}
	r := e.call(editor, "POST", "/v1/experiments", map[string]any{"key": "layer-c", "arms": threeArms(), "layer": "service-journey", "coverage": 0.2})
	if code, _ := r.errorBody(t); r.Status != http.StatusConflict || code != "conflict" {
		t.Errorf("third experiment in a full layer: %d %s", r.Status, r.Body)
	}
	ids := customers("layered", 10000)
	a := assignAll(t, e, "layer-a", ids)
	b := assignAll(t, e, "layer-b", ids)
	inA, inB := 0, 0
	for i := range ids {
		gotA, gotB := a.Assignments[i].Arm != nil, b.Assignments[i].Arm != nil
		if gotA && gotB {
			t.Fatalf("customer %s is in both experiments of the layer", ids[i])
		}
		if !gotA && a.Assignments[i].Reason != "not_admitted" {
			t.Fatalf("customer without arm and without reason: %+v", a.Assignments[i])
		}
		if gotA {
			inA++
		}
		if gotB {
			inB++
		}
	}
	if inA+inB != len(ids) || inA < 4700 || inB < 4700 {
		t.Errorf("split %d / %d of %d", inA, inB, len(ids))
	}
	var res struct {
		Arms map[string]struct{ Assigned int64 }
	}
	e.must(http.StatusOK, analyst, "GET", "/v1/experiments/layer-a/results", nil).json(t, &res)
	total := int64(0)
	for _, x := range res.Arms {
		total += x.Assigned
	}
	if total != int64(inA) {
		t.Errorf("%d counted in layer-a, %d admitted: customers outside must not be counted", total, inA)
	}
}

// TestRaisingCoverageKeepsAssignments: raising coverage from 0.5 to 0.8 admits more
// customers and keeps every earlier assignment; lowering it while running is refused.
func TestRaisingCoverageKeepsAssignments(t *testing.T) {
	e := newEnv(t)
	key := "coverage"
	e.createRunning(key, map[string]any{"arms": threeArms(), "coverage": 0.5})
	ids := customers("cov", 4000)
	before := assignAll(t, e, key, ids)
	e.must(http.StatusOK, editor, "PATCH", "/v1/experiments/"+key, map[string]any{"coverage": 0.8})
	after := assignAll(t, e, key, ids)
	n50, n80 := 0, 0
	for i := range ids {
		if b := before.Assignments[i]; b.Arm != nil {
			n50++
			a := after.Assignments[i]
			if a.Arm == nil || *a.Arm != *b.Arm || a.New {
				t.Fatalf("customer %s: %v before, %+v after raising coverage", ids[i], *b.Arm, a)
			}
		}
		if after.Assignments[i].Arm != nil {
			n80++
		}
	}
	if n50 < 1850 || n50 > 2150 || n80 < 3050 || n80 > 3350 {
		t.Errorf("admitted %d at 0.5 and %d at 0.8 of %d", n50, n80, len(ids))
	}
	r := e.call(editor, "PATCH", "/v1/experiments/"+key, map[string]any{"coverage": 0.3})
	if _, d := r.errorBody(t); r.Status != http.StatusConflict || d[0].Field != "coverage" {
		t.Errorf("lowering coverage while running: %d %s", r.Status, r.Body)
	}
}

// TestEligibilityRules: only customers whose attributes pass the rules get an arm; inline
// attributes stand in for stored ones; a customer already assigned keeps its arm when the
// rules change.
func TestEligibilityRules(t *testing.T) {
	e := newEnv(t)
	key := "eligibility"
	e.createRunning(key, map[string]any{"arms": threeArms(), "eligibility": []map[string]any{
		{"attribute": "channel", "op": "in", "values": []string{"phone", "chat"}},
		{"attribute": "tenure_years", "op": "range", "min": 1},
	}})
	db := pgtest.Store(t).DB()
	for id, attrs := range map[string][2]string{"el-phone": {"phone", "3"}, "el-mail": {"mail", "5"}, "el-new": {"chat", "0"}} {
		if _, err := db.Exec(`INSERT INTO customer_attributes (customer_id, name, value) VALUES ($1, 'channel', $2), ($1, 'tenure_years', $3)`,
			id, attrs[0], attrs[1]); err != nil {
			t.Fatal(err)
		}
	}
	got := assignAll(t, e, key, []string{"el-phone", "el-mail", "el-new", "el-unknown"})
	for i, want := range []bool{true, false, false, false} {
		a := got.Assignments[i]
		if (a.Arm != nil) != want || (!want && a.Reason != "not_eligible") {
			t.Errorf("%s: %+v, eligible %v", a.CustomerID, a, want)
		}
	}
	var single struct {
		Arm    *string
		Reason string
	}
	e.must(http.StatusOK, ingest, "POST", "/v1/experiments/"+key+"/assignments",
		map[string]any{"customer_id": "el-unknown", "attributes": map[string]string{"channel": "phone", "tenure_years": "2"}}).json(t, &single)
	if single.Arm == nil {
		t.Errorf("inline attributes not used: %+v", single)
	}
	// Narrowing the rules keeps the customers already in.
	e.must(http.StatusOK, editor, "PATCH", "/v1/experiments/"+key, map[string]any{"eligibility": []map[string]any{
		{"attribute": "channel", "op": "eq", "value": "chat"}}})
	again := assignAll(t, e, key, []string{"el-phone"})
	if a := again.Assignments[0]; a.Arm == nil || *a.Arm != *got.Assignments[0].Arm {
		t.Errorf("assigned customer lost its arm when the rules changed: %+v", a)
	}
	r := e.call(editor, "POST", "/v1/experiments", map[string]any{"key": "bad-rules", "arms": threeArms(),
		"eligibility": []map[string]any{{"attribute": "Channel", "op": "like"}, {"attribute": "x", "op": "range"}}})
	if _, d := r.errorBody(t); r.Status != http.StatusUnprocessableEntity || len(d) != 3 {
		t.Errorf("bad rules: %d %s", r.Status, r.Body)
	}
}
