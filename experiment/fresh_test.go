package experiment

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// gatedLoader counts reads and holds each one until the test releases it with a result.
type gatedLoader struct {
	reads   atomic.Int64
	started chan struct{}
	results chan loadResult
}

type loadResult struct {
	v   int
	err error
}

func newGatedLoader() *gatedLoader {
	return &gatedLoader{started: make(chan struct{}, 100), results: make(chan loadResult)}
}

func (g *gatedLoader) load(ctx context.Context) (int, error) {
	g.reads.Add(1)
	g.started <- struct{}{}
	select {
	case r := <-g.results:
		return r.v, r.err
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

func newFreshForTest() (*fresh[int], *gatedLoader, *fakeClock) {
	g := newGatedLoader()
	clock := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	return newFresh(time.Second, clock.now, g.load), g, clock
}

// getAsync runs f.get in a goroutine and returns its result channel.
func getAsync(ctx context.Context, f *fresh[int]) <-chan loadResult {
	out := make(chan loadResult, 1)
	go func() {
		v, _, err := f.get(ctx)
		out <- loadResult{v, err}
	}()
	return out
}

func TestFreshBurstWithoutCopyMakesOneRead(t *testing.T) {
	f, g, _ := newFreshForTest()
	ctx := context.Background()
	var outs []<-chan loadResult
	for range 32 {
		outs = append(outs, getAsync(ctx, f))
	}
	<-g.started
	g.results <- loadResult{v: 7}
	for _, out := range outs {
		if r := <-out; r.err != nil || r.v != 7 {
			t.Fatalf("got %+v, want 7", r)
		}
	}
	if n := g.reads.Load(); n != 1 {
		t.Errorf("%d reads for one burst, want 1", n)
	}
}

func TestFreshRenewsInTheBackground(t *testing.T) {
	f, g, clock := newFreshForTest()
	ctx := context.Background()
	out := getAsync(ctx, f)
	<-g.started
	g.results <- loadResult{v: 1}
	<-out

	// Younger than half of maxAge: no read.
	clock.add(400 * time.Millisecond)
	if v, _, err := f.get(ctx); err != nil || v != 1 {
		t.Fatalf("young copy: %d %v", v, err)
	}
	if n := g.reads.Load(); n != 1 {
		t.Fatalf("%d reads, want 1", n)
	}
	// Older than half: the copy is served at once while one read renews it.
	clock.add(200 * time.Millisecond)
	for range 10 {
		if v, _, err := f.get(ctx); err != nil || v != 1 {
			t.Fatalf("copy during renewal: %d %v", v, err)
		}
	}
	<-g.started
	if n := g.reads.Load(); n != 2 {
		t.Fatalf("%d reads, want 2 (one renewal)", n)
	}
	g.results <- loadResult{v: 2}
	waitFor(t, func() bool { v, _, _ := f.get(ctx); return v == 2 })

	// A renewal that fails keeps the copy while it is within maxAge.
	clock.add(600 * time.Millisecond)
	f.get(ctx)
	<-g.started
	g.results <- loadResult{err: errors.New("database down")}
	waitFor(t, func() bool { f.mu.Lock(); defer f.mu.Unlock(); return f.flight == nil })
	if v, _, err := f.get(ctx); err != nil || v != 2 {
		t.Fatalf("copy after a failed renewal: %d %v", v, err)
	}
	// Past maxAge, callers wait for a read and see its error.
	clock.add(time.Second)
	out = getAsync(ctx, f)
	<-g.started
	g.results <- loadResult{err: errors.New("database down")}
	if r := <-out; r.err == nil {
		t.Fatalf("expired copy served: %+v", r)
	}
}

func TestFreshInvalidateDisownsTheReadInFlight(t *testing.T) {
	f, g, _ := newFreshForTest()
	ctx := context.Background()
	first := getAsync(ctx, f)
	<-g.started
	f.invalidate()
	second := getAsync(ctx, f)
	<-g.started // a read of its own, not the disowned one
	g.results <- loadResult{v: 1}
	g.results <- loadResult{v: 2}
	a, b := <-first, <-second
	if a.v+b.v != 3 {
		t.Fatalf("reads: %+v %+v", a, b)
	}
	waitFor(t, func() bool { f.mu.Lock(); defer f.mu.Unlock(); return f.flight == nil })
	if v, _, _ := f.get(ctx); v != b.v {
		t.Errorf("kept %d, want the read begun after invalidate (%d)", v, b.v)
	}
}

func TestFreshCallerGivingUpDoesNotFailOthers(t *testing.T) {
	f, g, _ := newFreshForTest()
	ctx, cancel := context.WithCancel(context.Background())
	impatient := getAsync(ctx, f)
	<-g.started
	patient := getAsync(context.Background(), f)
	cancel()
	if r := <-impatient; !errors.Is(r.err, context.Canceled) {
		t.Fatalf("cancelled caller: %+v", r)
	}
	g.results <- loadResult{v: 5}
	if r := <-patient; r.err != nil || r.v != 5 {
		t.Fatalf("other caller: %+v", r)
	}
}

func TestFreshReloadAfterSeen(t *testing.T) {
	f, g, clock := newFreshForTest()
	ctx := context.Background()
	out := getAsync(ctx, f)
	<-g.started
	g.results <- loadResult{v: 1}
	<-out
	_, seen, _ := f.get(ctx)

	// A copy read after seen is returned as it is.
	clock.add(time.Millisecond)
	done := make(chan loadResult, 1)
	go func() { v, _, err := f.reload(ctx, seen); done <- loadResult{v, err} }()
	<-g.started
	g.results <- loadResult{v: 2}
	if r := <-done; r.v != 2 {
		t.Fatalf("reload: %+v", r)
	}
	if v, _, err := f.reload(ctx, seen); err != nil || v != 2 {
		t.Fatalf("second reload after the same copy: %d %v", v, err)
	}
	if n := g.reads.Load(); n != 2 {
		t.Errorf("%d reads, want 2", n)
	}
}

func waitFor(t *testing.T, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached within 5s")
		}
		time.Sleep(time.Millisecond)
	}
}
