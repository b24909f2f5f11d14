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
