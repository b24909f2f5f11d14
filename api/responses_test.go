package api_test

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/krslab/krslab/experiment"
	"github.com/krslab/krslab/experiment/postgres"
	"github.com/krslab/krslab/experiment/postgres/pgtest"
)

func assign(t *testing.T, e *env, key string, ids ...string) map[string]string {
	t.Helper()
	var out struct {
		Assignments []struct {
			CustomerID string `json:"customer_id"`
			Arm        string
		}
	}
	e.must(http.StatusOK, ingest, "POST", "/v1/experiments/"+key+"/assignments:batch", map[string]any{"customer_ids": ids}).json(t, &out)
	arms := map[string]string{}
	for _, a := range out.Assignments {
		arms[a.CustomerID] = a.Arm
	}
	return arms
}

func TestResponsesAreValidatedIdempotentAndAllOrNothing(t *testing.T) {
	e := newEnv(t)
	key := "responses"
	e.createRunning(key, map[string]any{"arms": threeArms()})
	assign(t, e, key, "c1", "c2", "c3")
	path := "/v1/experiments/" + key + "/responses"
	resp := map[string]any{"response_id": "r1", "customer_id": "c1", "answered_at": "2026-03-01T10:00:00Z",
		"answers": map[string]any{"trust": 6, "satisfaction": 5, "love": 4, "nps": 9}}
	e.must(http.StatusCreated, ingest, "POST", path, resp)
	e.must(http.StatusOK, ingest, "POST", path, resp) // identical replay
	resp["answers"] = map[string]any{"trust": 5}
	r := e.call(ingest, "POST", path, resp)
	if code, _ := r.errorBody(t); r.Status != http.StatusConflict || code != "conflict" {
		t.Errorf("reused response_id with other content: %d %s", r.Status, r.Body)
	}
	r = e.call(ingest, "POST", path, map[string]any{"response_id": "r2", "customer_id": "stranger",
		"answered_at": "2026-03-01T10:00:00Z", "answers": map[string]any{"trust": 6}})
	if _, d := r.errorBody(t); r.Status != http.StatusUnprocessableEntity || d[0].Field != "customer_id" {
		t.Errorf("unassigned customer: %d %s", r.Status, r.Body)
	}
	r = e.call(ingest, "POST", path, map[string]any{"response_id": "r3", "customer_id": "c2",
		"answered_at": "yesterday", "answers": map[string]any{"trust": 8, "krs": 50, "happiness": 3, "love": "high"}})
	_, d := r.errorBody(t)
	if r.Status != http.StatusUnprocessableEntity || len(d) != 5 {
		t.Errorf("every bad field: %d %s", r.Status, r.Body)
	}

	// A batch with bad rows stores nothing and names every bad row.
	batch := []map[string]any{
		{"response_id": "b1", "customer_id": "c2", "answered_at": "2026-03-01T10:00:00Z", "answers": map[string]any{"trust": 5}},
		{"response_id": "b2", "customer_id": "c3", "answered_at": "2026-03-01T10:00:00Z", "answers": map[string]any{"trust": 0}},
		{"response_id": "b3", "customer_id": "nobody", "answered_at": "2026-03-01T10:00:00Z", "answers": map[string]any{"trust": 5}},
		{"response_id": "b4", "customer_id": "c3", "answered_at": "2026-03-01T10:00:00Z", "answers": map[string]any{"churned": true}},
	}
	r = e.call(ingest, "POST", path+":batch", map[string]any{"responses": batch})
	_, d = r.errorBody(t)
	if r.Status != http.StatusUnprocessableEntity || len(d) != 2 || d[0].Row != 2 || d[1].Row != 4 {
		t.Errorf("batch validation: %d %s", r.Status, r.Body)
	}
	batch[1]["answers"] = map[string]any{"trust": 3}
	batch[3]["answers"] = map[string]any{"nps": 10}
	r = e.call(ingest, "POST", path+":batch", map[string]any{"responses": batch})
	if _, d = r.errorBody(t); r.Status != http.StatusUnprocessableEntity || len(d) != 1 || d[0].Row != 3 {
		t.Errorf("unassigned row in batch: %d %s", r.Status, r.Body)
	}
	if n := count(t, e, key, "trust"); n != 1 {
		t.Errorf("a rejected batch stored answers: trust n = %d", n)
	}
	batch = append(batch[:2], batch[3])
	e.must(http.StatusCreated, ingest, "POST", path+":batch", map[string]any{"responses": batch})
	r = e.must(http.StatusOK, ingest, "POST", path+":batch", map[string]any{"responses": batch})
	if !strings.Contains(string(r.Body), `"replayed":3`) {
		t.Errorf("batch replay: %s", r.Body)
	}
	if n := count(t, e, key, "trust"); n != 3 {
		t.Errorf("trust n = %d, want 3", n)
	}
}

func TestResponsesCSV(t *testing.T) {
	e := newEnv(t)
	key := "responses-csv"
	e.createRunning(key, map[string]any{"arms": threeArms()})
	ids := make([]string, 100)
	for i := range ids {
		ids[i] = fmt.Sprintf("k%03d", i)
	}
	assign(t, e, key, ids...)
	var good, bad strings.Builder
	good.WriteString("response_id,customer_id,answered_at,trust,love,nps\n")
	for i, id := range ids {
		fmt.Fprintf(&good, "csv-%d,%s,2026-03-02T09:00:00Z,%d,,%d\n", i, id, 1+i%7, i%11)
	}
	bad.WriteString(strings.Replace(good.String(), "csv-57,k057,2026-03-02T09:00:00Z,2,,2", "csv-57,k057,2026-03-02T09:00:00Z,9,,2", 1))
	path := "/v1/experiments/" + key + "/responses:batch"
	r := e.do(ingest, "POST", path, "text/csv", []byte(bad.String()))
	if _, d := r.errorBody(t); r.Status != http.StatusUnprocessableEntity || len(d) != 1 || d[0].Row != 58 || d[0].Field != "answers.trust" {
		t.Fatalf("one bad row among 100: %d %s", r.Status, r.Body)
	}
	if n := count(t, e, key, "trust"); n != 0 {
		t.Fatalf("rejected CSV stored %d answers", n)
	}
	r = e.do(ingest, "POST", path, "text/csv", []byte(good.String()))
	if r.Status != http.StatusCreated {
		t.Fatalf("good CSV: %d %s", r.Status, r.Body)
	}
	if n := count(t, e, key, "trust"); n != 100 {
		t.Errorf("trust n = %d", n)
	}
	if n := count(t, e, key, "love"); n != 0 {
		t.Errorf("empty cells stored as answers: love n = %d", n)
	}
	for name, body := range map[string]string{
		"bad header":    "id,customer,when,trust\n",
		"quote":         "response_id,customer_id,answered_at,trust\n\"x,k001,2026-03-02T09:00:00Z,3\n",
		"column count":  "response_id,customer_id,answered_at,trust\nx,k001,2026-03-02T09:00:00Z\n",
		"empty":         "",
		"not a number":  "response_id,customer_id,answered_at,trust\nx,k001,2026-03-02T09:00:00Z,abc\n",
		"future":        "response_id,customer_id,answered_at,trust\nx,k001,2099-03-02T09:00:00Z,3\n",
		"unknown field": "response_id,customer_id,answered_at,hapiness\nx,k001,2026-03-02T09:00:00Z,3\n",
	} {
		r := e.do(ingest, "POST", path, "text/csv", []byte(body))
		if r.Status < 400 || r.Status >= 500 {
			t.Errorf("%s: status %d %s", name, r.Status, r.Body)
		}
		r.errorBody(t)
	}
}

// count returns n of an outcome summed over arms from /results.
func count(t *testing.T, e *env, key, outcome string) int64 {
	t.Helper()
	var res struct {
		Outcomes []struct {
			Key  string
			Arms map[string]struct{ N int64 }
		}
	}
	e.must(http.StatusOK, analyst, "GET", "/v1/experiments/"+key+"/results", nil).json(t, &res)
	var n int64
	for _, o := range res.Outcomes {
		if o.Key == outcome {
			for _, a := range o.Arms {
				n += a.N
			}
		}
	}
	return n
}

// TestResultsKRSFollowsCompositeRule posts answers whose KRS is known and checks that
// /results reports, per arm, the mean over customers of the composite of their latest
// answers, counting only customers who answered all three components.
func TestResultsKRSFollowsCompositeRule(t *testing.T) {
	e := newEnv(t)
	key := "krs-rule"
	e.createRunning(key, map[string]any{"arms": threeArms(), "salt": "krs"})
	ids := make([]string, 240)
	for i := range ids {
		ids[i] = fmt.Sprintf("p%04d", i)
	}
	arms := assign(t, e, key, ids...)
	type ans = map[string]any
	var batch []ans
	latest := map[string]map[string]float64{} // customer -> component -> latest answer
	at := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	for i, id := range ids {
		s, tr, l := float64(1+(i*5)%7), float64(1+(i*3)%7), float64(1+(i*11)%7)
		a := ans{"satisfaction": s, "trust": tr}
		if i%9 != 0 { // every ninth customer never answers love: no KRS
			a["love"] = l
		}
		batch = append(batch, ans{"response_id": "first-" + id, "customer_id": id, "answered_at": at.Format(time.RFC3339), "answers": a})
		latest[id] = map[string]float64{"satisfaction": s, "trust": tr}
		if i%9 != 0 {
			latest[id]["love"] = l
		}
		if i%4 == 0 { // a later answer replaces trust; an earlier one must not
			newer := float64(1 + (i*7)%7)
			batch = append(batch, ans{"response_id": "later-" + id, "customer_id": id, "answered_at": at.Add(time.Hour).Format(time.RFC3339), "answers": ans{"trust": newer}})
			batch = append(batch, ans{"response_id": "older-" + id, "customer_id": id, "answered_at": at.Add(-time.Hour).Format(time.RFC3339), "answers": ans{"trust": 4, "love": 4}})
			latest[id]["trust"] = newer
		}
	}
	e.must(http.StatusCreated, ingest, "POST", "/v1/experiments/"+key+"/responses:batch", map[string]any{"responses": batch})

	want := map[string][]float64{}
	for id, comp := range latest {
		if len(comp) < 3 {
			// The "older" response gave love = 4 to customers without their own love answer.
			if _, ok := comp["love"]; !ok && strings.HasPrefix(id, "p") {
				idx := 0
				fmt.Sscanf(id, "p%d", &idx)
				if idx%4 == 0 {
					comp["love"] = 4
				} else {
					continue
				}
			}
		}
		v := 0.0
		for _, x := range comp {
			v += 100 * (x - 1) / 6
		}
		want[arms[id]] = append(want[arms[id]], v/3)
	}
	var res struct {
		Arms     map[string]struct{ Assigned int64 }
		Outcomes []struct {
			Key  string
			Arms map[string]struct {
				N        int64
				Mean, SD *float64
			}
			Comparisons map[string]struct {
				Diff    *float64
				Verdict string
			}
		}
	}
	e.must(http.StatusOK, analyst, "GET", "/v1/experiments/"+key+"/results", nil).json(t, &res)
	found := false
	for _, o := range res.Outcomes {
		if o.Key != "krs" {
			continue
		}
		found = true
		for arm, vals := range want {
			mean := 0.0
			for _, v := range vals {
				mean += v
			}
			mean /= float64(len(vals))
			got := o.Arms[arm]
			if got.N != int64(len(vals)) || got.Mean == nil || math.Abs(*got.Mean-mean) > 1e-6*math.Abs(mean) {
				t.Errorf("krs %s: n %d mean %v, want n %d mean %.9f", arm, got.N, got.Mean, len(vals), mean)
			}
		}
		for _, arm := range []string{"callback", "letter"} {
			if c := o.Comparisons[arm]; c.Diff == nil || c.Verdict == "" {
				t.Errorf("krs comparison %s missing: %+v", arm, c)
			}
		}
	}
	if !found {
		t.Fatal("krs not in results")
	}
	total := int64(0)
	for _, a := range res.Arms {
		total += a.Assigned
	}
	if total != int64(len(ids)) {
		t.Errorf("assigned total %d, want %d", total, len(ids))
	}
}

// TestConcurrentAssignmentTwoServers runs two API instances, each with its own connection
// pool, on one database; many goroutines assign the same customers in different orders.
func TestConcurrentAssignmentTwoServers(t *testing.T) {
	a := newEnv(t)
	second, err := postgres.Open(context.Background(), pgtest.URL(t), postgres.Options{MaxOpenConns: 8})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { second.Close() })
	b := newEnvOn(t, second)
	key := "concurrent"
	a.createRunning(key, map[string]any{"arms": threeArms(), "salt": "conc"})
	arms := []experiment.Arm{{Key: "control", Weight: 2}, {Key: "callback", Weight: 1}, {Key: "letter", Weight: 1}}
	ids := make([]string, 1500)
	for i := range ids {
		ids[i] = fmt.Sprintf("z%04d", i)
	}
	var mu sync.Mutex
	seen := map[string]map[string]bool{}
	newCount := map[string]int{}
	var wg sync.WaitGroup
	for w := range 16 {
		srv := a
		if w%2 == 1 {
			srv = b
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range ids {
				id := ids[(j*7+w*37)%len(ids)]
				var got struct {
					Arm string
					New bool
				}
				r := srv.call(ingest, "POST", "/v1/experiments/"+key+"/assignments", map[string]any{"customer_id": id})
				if r.Status != http.StatusOK {
					t.Errorf("assign %s: %d %s", id, r.Status, r.Body)
					return
				}
				r.json(t, &got)
				mu.Lock()
				if seen[id] == nil {
					seen[id] = map[string]bool{}
				}
				seen[id][got.Arm] = true
				if got.New {
					newCount[id]++
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	for _, id := range ids {
		want := experiment.AssignArm("conc", id, arms)
		if len(seen[id]) != 1 || !seen[id][want] {
			t.Errorf("customer %s got arms %v, want only %s", id, seen[id], want)
		}
		if newCount[id] != 1 {
			t.Errorf("customer %s was new %d times", id, newCount[id])
		}
	}
}

// TestSequentialPValueKeepsRunningMinimum: after a look with a strong effect, data that
// weakens it must not raise the reported always-valid p-value.
func TestSequentialPValueKeepsRunningMinimum(t *testing.T) {
	e := newEnv(t)
	key := "sequential-min"
	e.createRunning(key, map[string]any{"arms": []map[string]any{{"key": "control", "control": true}, {"key": "treat"}},
		"outcomes": []string{"trust"}, "primary_outcome": "trust", "salt": "seq"})
	arms := []experiment.Arm{{Key: "control", Weight: 1}, {Key: "treat", Weight: 1}}
	post := func(prefix string, n int, effect bool) {
		var ids []string
		for i := range n {
			ids = append(ids, fmt.Sprintf("%s%04d", prefix, i))
		}
		assign(t, e, key, ids...)
		var batch []map[string]any
		for i, id := range ids {
			v := 3 + i%3
			if effect && experiment.AssignArm("seq", id, arms) == "treat" {
				v += 2
			}
			batch = append(batch, map[string]any{"response_id": id, "customer_id": id, "answered_at": "2026-03-01T10:00:00Z", "answers": map[string]any{"trust": v}})
		}
		e.must(http.StatusCreated, ingest, "POST", "/v1/experiments/"+key+"/responses:batch", map[string]any{"responses": batch})
	}
	seqP := func() (float64, float64) {
		var res struct {
			Outcomes []struct {
				Comparisons map[string]struct {
					PValue     float64 `json:"p_value"`
					Sequential struct {
						PValue float64 `json:"p_value"`
					}
				}
			}
		}
		e.must(http.StatusOK, analyst, "GET", "/v1/experiments/"+key+"/results", nil).json(t, &res)
		c := res.Outcomes[0].Comparisons["treat"]
		return c.Sequential.PValue, c.PValue
	}
	post("a", 60, true)
	first, _ := seqP()
	post("b", 600, false)
	second, welch := seqP()
	if first >= 0.05 {
		t.Fatalf("the first look should be clearly significant, p = %g", first)
	}
	if second != first {
		t.Errorf("sequential p after weaker data = %g, want the running minimum %g (Welch p now %g)", second, first, welch)
	}
}

// TestStopSeenByOtherInstances: an instance that has the running experiment cached must not
// assign new customers once another instance has stopped it.
func TestStopSeenByOtherInstances(t *testing.T) {
	a := newEnv(t)
	second, err := postgres.Open(context.Background(), pgtest.URL(t), postgres.Options{MaxOpenConns: 4})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { second.Close() })
	b := newEnvOn(t, second)
	key := "stop-elsewhere"
	a.createRunning(key, map[string]any{"arms": threeArms()})
	a.must(http.StatusOK, ingest, "POST", "/v1/experiments/"+key+"/assignments", map[string]any{"customer_id": "first"})
	b.must(http.StatusOK, editor, "POST", "/v1/experiments/"+key+"/stop", nil)
	r := a.call(ingest, "POST", "/v1/experiments/"+key+"/assignments", map[string]any{"customer_id": "second"})
	if code, _ := r.errorBody(t); r.Status != http.StatusConflict || code != "conflict" {
		t.Errorf("new customer after a stop elsewhere: %d %s", r.Status, r.Body)
	}
	var res struct {
		Arms map[string]struct{ Assigned int64 }
	}
	a.must(http.StatusOK, analyst, "GET", "/v1/experiments/"+key+"/results", nil).json(t, &res)
	total := int64(0)
	for _, x := range res.Arms {
		total += x.Assigned
	}
	if total != 1 {
		t.Errorf("%d assigned, want 1", total)
	}
}
