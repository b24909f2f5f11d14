package postgres_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/krslab/krslab/experiment"
	"github.com/krslab/krslab/experiment/postgres/pgtest"
)

// TestConcurrentLooksNeverDeadlock records the same looks from many readers at once, each in
// its own order, as concurrent GETs of /results do: the upserts must never wait in a cycle.
func TestConcurrentLooksNeverDeadlock(t *testing.T) {
	f := newImportFixture(t, "concurrent-looks")
	s := pgtest.Store(t)
	var looks []experiment.Look
	for _, o := range []string{"krs", "trust", "satisfaction", "love", "involvement", "fairness", "influence", "nps", "ces", "freedom_of_choice"} {
		for _, a := range []string{"call"} {
			looks = append(looks, experiment.Look{Outcome: o, Arm: a, PValue: 0.5})
		}
	}
	ctx := context.Background()
	deadline := time.Now().Add(3 * time.Second)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var failures []error
	for g := range 16 {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(g), 1))
			mine := make([]experiment.Look, len(looks))
			for time.Now().Before(deadline) {
				copy(mine, looks)
				r.Shuffle(len(mine), func(i, j int) { mine[i], mine[j] = mine[j], mine[i] })
				for i := range mine {
					mine[i].PValue = r.Float64()
				}
				mins, err := s.RecordLooks(ctx, f.e.ID, mine)
				if err != nil {
					mu.Lock()
					failures = append(failures, err)
					mu.Unlock()
					return
				}
				for i, m := range mins {
					if m > mine[i].PValue {
						mu.Lock()
						failures = append(failures, fmt.Errorf("running minimum %g above this look's %g", m, mine[i].PValue))
						mu.Unlock()
						return
					}
				}
			}
		})
	}
	wg.Wait()
	for _, err := range failures {
		t.Error(err)
	}
}

func layered(key, layer string, coverage float64) experiment.Experiment {
	return experiment.Experiment{Key: key, Layer: layer, Coverage: coverage, Arms: []experiment.Arm{
		{Key: "control", Weight: 1, Control: true}, {Key: "b", Weight: 1}}}
}

// disjoint fails the test when two experiments of the list admit one customer.
func disjoint(t *testing.T, es []experiment.Experiment) {
	t.Helper()
	for i := range 4000 {
		id := fmt.Sprintf("cust-%d", i)
		var in []string
		for _, e := range es {
			if e.Admits(id) {
				in = append(in, e.Key)
			}
		}
		if len(in) > 1 {
			t.Fatalf("%s is admitted to %v of one layer", id, in)
		}
	}
}

// TestConcurrentPlacementsInALayerNeverOverlap creates, and then widens, experiments of one
// layer at the same moment from several instances: placement must be atomic.
func TestConcurrentPlacementsInALayerNeverOverlap(t *testing.T) {
	s := pgtest.Store(t)
	ctx := context.Background()
	instances := []*experiment.Service{experiment.NewService(s), experiment.NewService(s)}
	for _, tc := range []struct {
		layer    string
		coverage float64
		fit      int
	}{{"layer-tenth", 0.05, 20}, {"layer-half", 0.5, 2}} {
		var wg sync.WaitGroup
		created := make([]experiment.Experiment, 20)
		errs := make([]error, 20)
		for i := range 20 {
			wg.Go(func() {
				created[i], errs[i] = instances[i%2].CreateExperiment(ctx, layered(fmt.Sprintf("%s-%02d", tc.layer, i), tc.layer, tc.coverage))
			})
		}
		wg.Wait()
		var ok []experiment.Experiment
		for i, err := range errs {
			switch {
			case err == nil:
				ok = append(ok, created[i])
			case experiment.ErrorCode(err) != experiment.Conflict:
				t.Fatalf("%s: %v", tc.layer, err)
			}
		}
		if len(ok) != tc.fit {
			t.Errorf("%s: %d of 20 experiments of coverage %g placed, want %d", tc.layer, len(ok), tc.coverage, tc.fit)
		}
		disjoint(t, ok)
	}

	// Widening drafts at once: each placement sees the ones before.
	var drafts []experiment.Experiment
	for i := range 10 {
		e, err := instances[0].CreateExperiment(ctx, layered(fmt.Sprintf("widen-%d", i), "layer-widen", 0.05))
		if err != nil {
			t.Fatal(err)
		}
		drafts = append(drafts, e)
	}
	var wg sync.WaitGroup
	widened := make([]experiment.Experiment, len(drafts))
	errs := make([]error, len(drafts))
	coverage := 0.2
	for i, d := range drafts {
		wg.Go(func() {
			widened[i], errs[i] = instances[i%2].PatchExperiment(ctx, d.Key, experiment.Patch{Coverage: &coverage}, experiment.AnyVersion)
		})
	}
	wg.Wait()
	var now []experiment.Experiment
	for i, err := range errs {
		if err != nil && experiment.ErrorCode(err) != experiment.Conflict {
			t.Fatal(err)
		}
		e, err := instances[0].Experiment(ctx, drafts[i].Key)
		if err != nil {
			t.Fatal(err)
		}
		now = append(now, e)
	}
	disjoint(t, now)
}

// TestConcurrentPatchesKeepEveryChange patches different fields of one experiment at once
// from two instances: both changes hold, and the version moves once for each.
func TestConcurrentPatchesKeepEveryChange(t *testing.T) {
	s := pgtest.Store(t)
	ctx := context.Background()
	a, b := experiment.NewService(s), experiment.NewService(s)
	for round := range 20 {
		e, err := a.CreateExperiment(ctx, layered(fmt.Sprintf("patch-%02d", round), "", 1))
		if err != nil {
			t.Fatal(err)
		}
		name, hypothesis := fmt.Sprintf("name %d", round), fmt.Sprintf("hypothesis %d", round)
		var wg sync.WaitGroup
		wg.Go(func() {
			if _, err := a.PatchExperiment(ctx, e.Key, experiment.Patch{Name: &name}, experiment.AnyVersion); err != nil {
				t.Error(err)
			}
		})
		wg.Go(func() {
			if _, err := b.PatchExperiment(ctx, e.Key, experiment.Patch{Hypothesis: &hypothesis}, experiment.AnyVersion); err != nil {
				t.Error(err)
			}
		})
		wg.Wait()
		got, err := a.Experiment(ctx, e.Key)
		if err != nil {
			t.Fatal(err)
		}
		if got.Name != name || got.Hypothesis != hypothesis || got.Version != e.Version+2 {
			t.Fatalf("round %d: name %q, hypothesis %q, version %d after two patches of version %d", round, got.Name, got.Hypothesis, got.Version, e.Version)
		}
	}
}

// TestNoAssignmentAcknowledgedAfterStop assigns new and returning customers from 8 clients on
// two instances while the experiment is stopped: once Stop returns, no instance acknowledges
// an assignment, and every stored one was assigned before the stop.
func TestNoAssignmentAcknowledgedAfterStop(t *testing.T) {
	s := pgtest.Store(t)
	ctx := context.Background()
	instances := []*experiment.Service{experiment.NewService(s), experiment.NewService(s)}
	e, err := instances[0].CreateExperiment(ctx, layered("stop-race", "", 1))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := instances[0].Start(ctx, e.Key); err != nil {
		t.Fatal(err)
	}
	var (
		mu       sync.Mutex
		lastAck  time.Time
		stopped  = make(chan struct{})
		wg       sync.WaitGroup
		failures []string
	)
	for c := range 8 {
		wg.Go(func() {
			svc := instances[c%2]
			for i := 0; ; i++ {
				id := fmt.Sprintf("c%d-%d", c, i)
				if i%3 == 2 {
					id = fmt.Sprintf("c%d-%d", c, i-2) // a returning customer, answered from the cache
				}
				_, err := svc.Assign(ctx, e.Key, id, nil)
				at := time.Now()
				switch {
				case err == nil:
					mu.Lock()
					lastAck = at
					mu.Unlock()
				case experiment.ErrorCode(err) == experiment.Conflict:
				default:
					mu.Lock()
					failures = append(failures, err.Error())
					mu.Unlock()
				}
				select {
				case <-stopped:
					if err == nil {
						mu.Lock()
						failures = append(failures, "an assignment acknowledged after the stop returned")
						mu.Unlock()
					}
					if i%3 == 2 {
						return
					}
				default:
				}
			}
		})
	}
	time.Sleep(300 * time.Millisecond)
	if _, err := instances[1].Stop(ctx, e.Key); err != nil {
		t.Fatal(err)
	}
	returned := time.Now()
	close(stopped)
	wg.Wait()
	for _, f := range failures {
		t.Error(f)
	}
	if lastAck.After(returned) {
		t.Errorf("last assignment acknowledged %v after the stop returned", lastAck.Sub(returned))
	}
	var late, total int
	if err := s.DB().Get(&total, `SELECT count(*) FROM assignments WHERE experiment_id = $1`, e.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.DB().Get(&late, `SELECT count(*) FROM assignments a JOIN experiments e ON e.id = a.experiment_id
		WHERE e.id = $1 AND a.assigned_at > e.stopped_at`, e.ID); err != nil {
		t.Fatal(err)
	}
	if total == 0 || late > 0 {
		t.Errorf("%d of %d assignments stored after the stop", late, total)
	}
}

// TestErasureReachesEveryInstance erases a customer through one instance while another has
// its assignment cached: the other asks the database again, and the customer who comes back
// is a new customer there, whose responses are accepted.
func TestErasureReachesEveryInstance(t *testing.T) {
	s := pgtest.Store(t)
	ctx := context.Background()
	a, b := experiment.NewService(s), experiment.NewService(s)
	e, err := a.CreateExperiment(ctx, layered("erase-instances", "", 1))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Start(ctx, e.Key); err != nil {
		t.Fatal(err)
	}
	const who = "cust-erased-elsewhere"
	first, err := b.Assign(ctx, e.Key, who, nil)
	if err != nil || !first.New {
		t.Fatalf("%+v %v", first, err)
	}
	if again, err := b.Assign(ctx, e.Key, who, nil); err != nil || again.New {
		t.Fatalf("repeat: %+v %v", again, err)
	}
	if _, err := a.EraseCustomer(ctx, who); err != nil {
		t.Fatal(err)
	}
	back, err := b.Assign(ctx, e.Key, who, nil)
	if err != nil || !back.New || back.Arm != first.Arm {
		t.Fatalf("returning customer on the other instance: %+v %v (first %+v)", back, err, first)
	}
	r := experiment.Response{ResponseID: "after-erasure", CustomerID: who, AnsweredAt: time.Now().Add(-time.Minute),
		Answers: map[string]float64{"trust": 5}}
	if _, err := b.RecordResponses(ctx, e.Key, []experiment.Response{r}, false); err != nil {
		t.Fatalf("response of the returning customer: %v", err)
	}
	var rows int
	if err := s.DB().Get(&rows, `SELECT count(*) FROM assignments WHERE experiment_id = $1`, e.ID); err != nil || rows != 2 {
		t.Errorf("%d assignment rows (%v), want the anonymous one and the returning customer's", rows, err)
	}
}

// TestErasureIsUnlinkable: nothing the database keeps after an erasure is a function of the
// customer id (no hash of it, salted or not), and each erasure gets its own random ids.
func TestErasureIsUnlinkable(t *testing.T) {
	s := pgtest.Store(t)
	ctx := context.Background()
	svc := experiment.NewService(s)
	var keys []string
	for _, key := range []string{"unlink-a", "unlink-b"} {
		if _, err := svc.CreateExperiment(ctx, layered(key, "", 1)); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.Start(ctx, key); err != nil {
			t.Fatal(err)
		}
		keys = append(keys, key)
	}
	const who = "cust-unlink-me"
	for _, key := range keys {
		if _, err := svc.Assign(ctx, key, who, nil); err != nil {
			t.Fatal(err)
		}
	}
	er, err := svc.EraseCustomer(ctx, who)
	if err != nil || er.Experiments != 2 || er.ID == "" {
		t.Fatalf("%+v %v", er, err)
	}
	var ids []string
	if err := s.DB().Select(&ids, `SELECT a.customer_id FROM assignments a JOIN experiments e ON e.id = a.experiment_id
		WHERE e.key = ANY($1) ORDER BY 1`, pqArray(keys)); err != nil {
		t.Fatal(err)
	}
	if len(ids) != 2 || ids[0] == ids[1] {
		t.Fatalf("anonymous ids %v: want two different ones", ids)
	}
	var dump string
	if err := s.DB().Get(&dump, `SELECT coalesce(string_agg(subject || ' ' || diff::text, ' '), '') FROM audit_log WHERE action = 'customer.erase'`); err != nil {
		t.Fatal(err)
	}
	dump += " " + ids[0] + " " + ids[1]
	for _, salt := range append([]string{""}, keys...) {
		for _, h := range hashesOf(salt, who) {
			if strings.Contains(dump, h) {
				t.Errorf("the database keeps %s, a hash of the customer id", h)
			}
		}
	}
	if strings.Contains(dump, who) || !strings.Contains(dump, er.ID) {
		t.Errorf("audit after erasure: %s", dump)
	}
}

func pqArray(s []string) pq.StringArray { return pq.StringArray(s) }

// hashesOf lists hex hashes of a customer id that a careless anonymisation would keep.
func hashesOf(salt, id string) []string {
	var out []string
	for _, parts := range [][]string{{"krslab-erasure\x00" + salt + "\x00" + id}, {id}, {salt + "/" + id}, {salt + id}} {
		h := sha256.Sum256([]byte(strings.Join(parts, "")))
		out = append(out, hex.EncodeToString(h[:]), hex.EncodeToString(h[:8]))
	}
	return out
}

// TestOverlappingResponseBatches sends the same responses as two batches, in opposite orders
// and in the same order, to two instances at once: no deadlock, no "retry", each response
// stored once and the other call a replay.
func TestOverlappingResponseBatches(t *testing.T) {
	s := pgtest.Store(t)
	ctx := context.Background()
	a, b := experiment.NewService(s), experiment.NewService(s)
	e, err := a.CreateExperiment(ctx, layered("overlap", "", 1))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Start(ctx, e.Key); err != nil {
		t.Fatal(err)
	}
	for round := range 6 {
		ids := make([]string, 300)
		for i := range ids {
			ids[i] = fmt.Sprintf("r%d-c%03d", round, i)
		}
		if _, err := a.AssignBatch(ctx, e.Key, ids); err != nil {
			t.Fatal(err)
		}
		rs := make([]experiment.Response, len(ids))
		for i, id := range ids {
			rs[i] = experiment.Response{ResponseID: "resp-" + id, CustomerID: id, AnsweredAt: time.Now().Add(-time.Hour),
				Answers: map[string]float64{"trust": float64(1 + i%7)}}
		}
		other := slices.Clone(rs)
		if round%2 == 0 { // opposite orders; identical replays in the odd rounds
			slices.Reverse(other)
		}
		var wg sync.WaitGroup
		replayed := make([][]bool, 2)
		for k, batch := range [][]experiment.Response{rs, other} {
			svc := []*experiment.Service{a, b}[k]
			wg.Go(func() {
				var err error
				if replayed[k], err = svc.RecordResponses(ctx, e.Key, slices.Clone(batch), true); err != nil {
					t.Errorf("round %d, batch %d: %v", round, k, err)
				}
			})
		}
		wg.Wait()
		if t.Failed() {
			return
		}
		byID := map[string]int{}
		for k, batch := range [][]experiment.Response{rs, other} {
			for i, r := range batch {
				if !replayed[k][i] {
					byID[r.ResponseID]++
				}
			}
		}
		for _, r := range rs {
			if byID[r.ResponseID] != 1 {
				t.Fatalf("round %d: %s stored by %d of the two calls, want 1", round, r.ResponseID, byID[r.ResponseID])
			}
		}
	}
	var n int
	if err := s.DB().Get(&n, `SELECT count(*) FROM responses WHERE experiment_id = $1`, e.ID); err != nil || n != 1800 {
		t.Errorf("%d responses stored (%v), want 1800", n, err)
	}
}

// TestABlockedExperimentDoesNotStallOthers holds up one experiment's group commit (a long
// import of assignments has inserted, and not yet committed, the customer it assigns) while
// another experiment's customers are assigned: they are not held up. Close then refuses new
// work.
func TestABlockedExperimentDoesNotStallOthers(t *testing.T) {
	s := pgtest.Store(t)
	ctx := context.Background()
	svc := experiment.NewService(s)
	var es []experiment.Experiment
	for _, key := range []string{"stalled", "flowing"} {
		e, err := svc.CreateExperiment(ctx, layered(key, "", 1))
		if err != nil {
			t.Fatal(err)
		}
		if e, err = svc.Start(ctx, key); err != nil {
			t.Fatal(err)
		}
		es = append(es, e)
	}
	tx, err := s.DB().BeginTxx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	if _, err := tx.Exec(`INSERT INTO assignments (experiment_id, customer_id, arm_key) VALUES ($1, 'cust-waits', 'b')`, es[0].ID); err != nil {
		t.Fatal(err)
	}
	stalled := make(chan error, 1)
	go func() {
		_, err := svc.Assign(ctx, "stalled", "cust-waits", nil)
		stalled <- err
	}()
	waitForLock(t, s, es[0].ID)
	bounded, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	for i := range 20 {
		if _, err := svc.Assign(bounded, "flowing", fmt.Sprintf("cust-flows-%d", i), nil); err != nil {
			t.Fatalf("an assignment of another experiment waited for the stalled one: %v", err)
		}
	}
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	if err := <-stalled; err != nil {
		t.Fatalf("the stalled assignment, once released: %v", err)
	}
	svc.Close()
	if _, err := svc.Assign(ctx, "flowing", "cust-after-close", nil); experiment.ErrorCode(err) != experiment.Unavailable {
		t.Errorf("assignment after Close: %v", err)
	}
}

// waitForLock waits until a backend of the test database waits for a lock.
func waitForLock(t *testing.T, s interface{ DB() *sqlx.DB }, id int64) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		var n int
		if err := s.DB().Get(&n, `SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()`); err != nil {
			t.Fatal(err)
		}
		if n > 0 {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("nothing waits for experiment %d", id)
}
