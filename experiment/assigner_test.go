package experiment

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// assignStore stores assignments in memory, slowly, and counts its calls.
type assignStore struct {
	Store
	mu     sync.Mutex
	calls  int
	stored map[string]Assignment
	e      Experiment
	reads  atomic.Int64 // of the experiment
}

func (s *assignStore) Experiment(context.Context, string) (Experiment, error) {
	s.reads.Add(1)
	time.Sleep(5 * time.Millisecond) // a query on a busy database
	return s.e, nil
}

func (s *assignStore) Assign(_ context.Context, _ Experiment, as []Assignment) ([]Assignment, error) {
	time.Sleep(5 * time.Millisecond) // a commit
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	out := make([]Assignment, len(as))
	for i, a := range as {
		if old, ok := s.stored[a.CustomerID]; ok {
			out[i] = old
			continue
		}
		a.New = true
		s.stored[a.CustomerID] = Assignment{CustomerID: a.CustomerID, Arm: a.Arm, AssignedAt: a.AssignedAt}
		out[i] = a
	}
	return out, nil
}

func TestAssignerGroupsConcurrentNewAssignments(t *testing.T) {
	e := Experiment{ID: 1, Key: "g", Salt: "g", Status: Running, Coverage: 1,
		Arms: []Arm{{Key: "control", Weight: 1, Control: true}, {Key: "b", Weight: 1}}}
	store := &assignStore{e: e, stored: map[string]Assignment{}}
	svc := NewService(store)
	svc.assign.statusTTL = time.Hour // no renewal during the test, however slow the machine
	var sizes []int
	var mu sync.Mutex
	svc.ObserveGroupCommits(func(n int) { mu.Lock(); sizes = append(sizes, n); mu.Unlock() })
	const n = 200
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id := fmt.Sprintf("c%d", i)
			a, err := svc.Assign(context.Background(), "g", id, nil)
			switch {
			case err != nil:
				errs <- err
			case a.Arm != AssignArm("g", id, e.Arms) || !a.New:
				errs <- fmt.Errorf("%s: %+v", id, a)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	// The burst found no copy of the experiment: it read it once for all.
	if r := store.reads.Load(); r != 1 {
		t.Errorf("%d reads of the experiment for one burst, want 1", r)
	}
	if store.calls >= n/2 {
		t.Errorf("%d store calls for %d concurrent new customers: not grouped", store.calls, n)
	}
	total := 0
	for _, s := range sizes {
		total += s
	}
	if total != n {
		t.Errorf("group sizes add up to %d, want %d", total, n)
	}
	// Repeats come from the cache: no store call, not new, same arm.
	calls := store.calls
	for i := range n {
		id := fmt.Sprintf("c%d", i)
		a, err := svc.Assign(context.Background(), "g", id, nil)
		if err != nil || a.New || a.Arm != AssignArm("g", id, e.Arms) {
			t.Fatalf("repeat %s: %+v %v", id, a, err)
		}
	}
	if store.calls != calls {
		t.Errorf("sticky repeats called the store %d times", store.calls-calls)
	}
}

// eligibilityStore has every customer ineligible; some have an assignment from before the
// rules changed. It counts the lookups of stored assignments.
type eligibilityStore struct {
	assignStore
	lookups atomic.Int64
}

func (s *eligibilityStore) CustomerAttributes(_ context.Context, ids, _ []string) (map[string]map[string]string, error) {
	out := map[string]map[string]string{}
	for _, id := range ids {
		out[id] = map[string]string{"channel": "mail"}
	}
	return out, nil
}

func (s *eligibilityStore) Assignments(_ context.Context, _ int64, ids []string) (map[string]Assignment, error) {
	s.lookups.Add(1)
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]Assignment{}
	for _, id := range ids {
		if a, ok := s.stored[id]; ok {
			out[id] = a
		}
	}
	return out, nil
}

func (s *eligibilityStore) Assignment(context.Context, int64, string) (Assignment, error) {
	panic("a lookup per customer")
}

func TestIneligibleCustomersOfABatchCostOneLookup(t *testing.T) {
	e := Experiment{ID: 1, Key: "g", Salt: "g", Status: Running, Coverage: 1,
		Arms:        []Arm{{Key: "control", Weight: 1, Control: true}, {Key: "b", Weight: 1}},
		Eligibility: []Rule{{Attribute: "channel", Op: OpEq, Value: "phone"}}}
	store := &eligibilityStore{assignStore: assignStore{e: e, stored: map[string]Assignment{
		"c7": {CustomerID: "c7", Arm: "b"}}}}
	svc := NewService(store)
	ids := make([]string, 100)
	for i := range ids {
		ids[i] = fmt.Sprintf("c%d", i)
	}
	got, err := svc.AssignBatch(context.Background(), "g", ids)
	if err != nil {
		t.Fatal(err)
	}
	if n := store.lookups.Load(); n != 1 {
		t.Errorf("%d lookups of stored assignments for one batch, want 1", n)
	}
	for i, a := range got {
		switch {
		case i == 7 && a.Arm != "b":
			t.Errorf("c7 assigned before the rules changed: %+v", a)
		case i != 7 && (a.Arm != "" || a.Reason != NotEligible):
			t.Errorf("%s: %+v", ids[i], a)
		}
	}
}

// TestCloseStopsTheAssigner: after Close new customers are refused as unavailable, and the
// lanes' goroutines have ended.
func TestCloseStopsTheAssigner(t *testing.T) {
	e := Experiment{ID: 1, Key: "g", Salt: "g", Status: Running, Coverage: 1,
		Arms: []Arm{{Key: "control", Weight: 1, Control: true}, {Key: "b", Weight: 1}}}
	svc := NewService(&assignStore{e: e, stored: map[string]Assignment{}})
	if _, err := svc.Assign(context.Background(), "g", "first", nil); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { svc.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not end the lanes")
	}
	if _, err := svc.Assign(context.Background(), "g", "second", nil); ErrorCode(err) != Unavailable {
		t.Errorf("after Close: %v", err)
	}
	if a, err := svc.Assign(context.Background(), "g", "first", nil); err != nil || a.New {
		t.Errorf("a repeat after Close is still answered from the cache: %+v %v", a, err)
	}
}
