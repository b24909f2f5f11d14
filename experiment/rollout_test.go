package experiment

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// rolloutStore is an assignStore whose experiment can be decided under the assigner, and
// whose insert refuses, as PostgreSQL's does, once the experiment no longer runs.
type rolloutStore struct {
	eligibilityStore
	clock time.Time // stamps new assignments, a minute apart
}

func (s *rolloutStore) Experiment(context.Context, string) (Experiment, error) {
	s.reads.Add(1)
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.e, nil
}

func (s *rolloutStore) set(e Experiment) {
	s.mu.Lock()
	s.e = e
	s.mu.Unlock()
}

func (s *rolloutStore) Assign(ctx context.Context, e Experiment, as []Assignment) ([]Assignment, error) {
	s.mu.Lock()
	running := s.e.Status == Running
	s.mu.Unlock()
	if !running {
		return nil, &Error{Code: Conflict, Message: "no longer running"}
	}
	stamped := make([]Assignment, len(as))
	for i, a := range as {
		s.clock = s.clock.Add(time.Minute)
		a.AssignedAt = s.clock
		stamped[i] = a
	}
	return s.assignStore.Assign(ctx, e, stamped)
}

// TestRollOutFromTheCache: a decided experiment serves the decided arm to customers assigned
// while it ran (from the copies the assigner had cached, with their assignment time) and to
// the others (with the decision's time), stores nothing, and asks the store once per
// customer: repeats, of either kind, come from the cache. A copy read before the decision
// sends a new customer to the insert, which refuses, and the customer is served by the
// decision instead.
func TestRollOutFromTheCache(t *testing.T) {
	running := Experiment{ID: 1, Key: "g", Salt: "g", Status: Running, Coverage: 1,
		Arms: []Arm{{Key: "control", Weight: 1, Control: true}, {Key: "b", Weight: 1}}}
	at := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	store := &rolloutStore{eligibilityStore: eligibilityStore{assignStore: assignStore{e: running, stored: map[string]Assignment{}}}, clock: at}
	svc := NewService(store)
	svc.assign.statusTTL = time.Hour // no renewal during the test, however slow the machine
	ctx := context.Background()
	var ids []string
	for i := range 20 {
		ids = append(ids, fmt.Sprintf("c%d", i))
	}
	before, err := svc.AssignBatch(ctx, "g", ids[:10])
	if err != nil {
		t.Fatal(err)
	}

	decidedAt := at.Add(24 * time.Hour)
	decided := running
	decided.Status = Decided
	decided.Decision = &Decision{Arm: "b", DecidedAt: decidedAt}
	store.set(decided)

	// The copy from before the decision still runs: a new customer meets the insert's refusal.
	newcomer, err := svc.Assign(ctx, "g", "late", nil)
	if err != nil || newcomer.Arm != "b" || !newcomer.Decided || newcomer.New || !newcomer.AssignedAt.Equal(decidedAt) {
		t.Fatalf("new customer on a copy from before the decision: %+v %v", newcomer, err)
	}
	// The sticky entries were cached under the running copy, which held then; once this
	// instance reads the decision they give only the time.
	svc.assign.forget("g")
	store.lookups.Store(0)
	for _, call := range []string{"first", "repeat"} {
		got, err := svc.AssignBatch(ctx, "g", ids)
		if err != nil {
			t.Fatal(err)
		}
		for i, a := range got {
			want := decidedAt
			if i < 10 {
				want = before[i].AssignedAt
			}
			if a.CustomerID != ids[i] || a.Arm != "b" || !a.Decided || a.New || !a.AssignedAt.Equal(want) {
				t.Errorf("%s, %s (assigned %s before): %+v, want b since %v", call, ids[i], before[min(i, 9)].Arm, a, want)
			}
		}
		if n := store.lookups.Load(); n != 1 {
			t.Errorf("%s: %d lookups of stored assignments, want the one for the customers the cache did not know", call, n)
		}
	}
	one, err := svc.Assignment(ctx, "g", "c3")
	if err != nil || one.Arm != "b" || !one.Decided || !one.AssignedAt.Equal(before[3].AssignedAt) {
		t.Errorf("lookup: %+v %v", one, err)
	}
	if len(store.stored) != 10 {
		t.Errorf("%d assignments stored, want the 10 from while it ran", len(store.stored))
	}
}
