package postgres_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

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
