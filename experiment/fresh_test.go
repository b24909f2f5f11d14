package experiment

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// gatedLoader counts reads and holds each one until the test releases it with a result,
// given to any read in flight (finish) or to one read (finishRead).
type gatedLoader struct {
	reads   atomic.Int64
	started chan chan loadResult
	results chan loadResult
}

type loadResult struct {
	v   int
	err error
}

func newGatedLoader() *gatedLoader {
	return &gatedLoader{started: make(chan chan loadResult, 100), results: make(chan loadResult)}
}

// began waits for a read to begin, and returns its own result channel.
func (g *gatedLoader) began(t *testing.T) chan<- loadResult {
	t.Helper()
	select {
	case own := <-g.started:
		return own
	case <-time.After(5 * time.Second):
		t.Fatal("no read began within 5s")
		return nil
	}
}

// finishRead hands a result to the read whose channel began returned.
func finishRead(t *testing.T, read chan<- loadResult, r loadResult) {
	t.Helper()
	select {
	case read <- r:
	case <-time.After(5 * time.Second):
		t.Fatal("the read took no result within 5s")
	}
}

// finish hands a result to a read in flight.
func (g *gatedLoader) finish(t *testing.T, r loadResult) {
	t.Helper()
	select {
	case g.results <- r:
	case <-time.After(5 * time.Second):
		t.Fatal("no read in flight took a result within 5s")
	}
}

// result waits for the answer of a getAsync.
func result(t *testing.T, out <-chan loadResult) loadResult {
	t.Helper()
	select {
	case r := <-out:
		return r
	case <-time.After(5 * time.Second):
		t.Fatal("no answer within 5s")
		return loadResult{}
	}
}

func (g *gatedLoader) load(ctx context.Context) (int, error) {
	g.reads.Add(1)
	own := make(chan loadResult)
	g.started <- own
	select {
	case r := <-g.results:
		return r.v, r.err
	case r := <-own:
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

// loadedFresh is newFreshForTest with a first copy, 1, read at the clock's time.
func loadedFresh(t *testing.T) (*fresh[int], *gatedLoader, *fakeClock) {
	t.Helper()
	f, g, clock := newFreshForTest()
	out := getAsync(context.Background(), f)
	g.began(t)
	g.finish(t, loadResult{v: 1})
	result(t, out)
	return f, g, clock
}

// settled waits until f has no read in flight.
func settled(t *testing.T, f *fresh[int]) {
	t.Helper()
	waitFor(t, func() bool { f.mu.Lock(); defer f.mu.Unlock(); return f.flight == nil })
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
	g.began(t)
	g.finish(t, loadResult{v: 7})
	for _, out := range outs {
		if r := result(t, out); r.err != nil || r.v != 7 {
			t.Fatalf("got %+v, want 7", r)
		}
	}
	if n := g.reads.Load(); n != 1 {
		t.Errorf("%d reads for one burst, want 1", n)
	}
}

func TestFreshRenewsInTheBackground(t *testing.T) {
	f, g, clock := loadedFresh(t)
	ctx := context.Background()

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
	g.began(t)
	if n := g.reads.Load(); n != 2 {
		t.Fatalf("%d reads, want 2 (one renewal)", n)
	}
	g.finish(t, loadResult{v: 2})
	waitFor(t, func() bool { v, _, _ := f.get(ctx); return v == 2 })

	// A renewal that fails keeps the copy while it is within maxAge.
	clock.add(600 * time.Millisecond)
	f.get(ctx)
	g.began(t)
	g.finish(t, loadResult{err: errors.New("database down")})
	settled(t, f)
	if v, _, err := f.get(ctx); err != nil || v != 2 {
		t.Fatalf("copy after a failed renewal: %d %v", v, err)
	}
	g.began(t) // that get started the next renewal; it fails too
	g.finish(t, loadResult{err: errors.New("database down")})
	settled(t, f)
	// Past maxAge, callers wait for a read and see its error.
	clock.add(time.Second)
	out := getAsync(ctx, f)
	g.began(t)
	g.finish(t, loadResult{err: errors.New("database down")})
	if r := result(t, out); r.err == nil {
		t.Fatalf("expired copy served: %+v", r)
	}
}

func TestFreshDoesNotJoinAReadBegunMaxAgeAgo(t *testing.T) {
	f, g, clock := loadedFresh(t)
	ctx := context.Background()
	clock.add(600 * time.Millisecond)
	f.get(ctx) // starts a renewal, which turns out slow
	slow := g.began(t)
	f.mu.Lock()
	slowRead := f.flight
	f.mu.Unlock()

	// The copy and the slow read both began maxAge ago or more: a caller waits for a read
	// of its own.
	clock.add(time.Second)
	out := getAsync(ctx, f)
	finishRead(t, g.began(t), loadResult{v: 3})
	if r := result(t, out); r.err != nil || r.v != 3 {
		t.Fatalf("got %+v, want the new read's 3", r)
	}
	// The slow read arrives last and is not kept over the newer copy.
	finishRead(t, slow, loadResult{v: 2})
	select {
	case <-slowRead.done:
	case <-time.After(5 * time.Second):
		t.Fatal("the slow read did not end")
	}
	bounded, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if v, _, err := f.get(bounded); err != nil || v != 3 {
		t.Errorf("after the slow read: %d %v, want 3", v, err)
	}
}

func TestFreshInvalidateDisownsTheReadInFlight(t *testing.T) {
	f, g, _ := newFreshForTest()
	ctx := context.Background()
	first := getAsync(ctx, f)
	g.began(t)
	f.invalidate()
	second := getAsync(ctx, f)
	g.began(t) // a read of its own, not the disowned one
	g.finish(t, loadResult{v: 1})
	g.finish(t, loadResult{v: 2})
	a, b := result(t, first), result(t, second)
	if a.v+b.v != 3 {
		t.Fatalf("reads: %+v %+v", a, b)
	}
	settled(t, f)
	if v, _, _ := f.get(ctx); v != b.v {
		t.Errorf("kept %d, want the read begun after invalidate (%d)", v, b.v)
	}
}

func TestFreshCallerGivingUpDoesNotFailOthers(t *testing.T) {
	f, g, _ := newFreshForTest()
	ctx, cancel := context.WithCancel(context.Background())
	impatient := getAsync(ctx, f)
	g.began(t)
	patient := getAsync(context.Background(), f)
	cancel()
	if r := result(t, impatient); !errors.Is(r.err, context.Canceled) {
		t.Fatalf("cancelled caller: %+v", r)
	}
	g.finish(t, loadResult{v: 5})
	if r := result(t, patient); r.err != nil || r.v != 5 {
		t.Fatalf("other caller: %+v", r)
	}
}

func TestFreshReloadAfterSeen(t *testing.T) {
	f, g, clock := loadedFresh(t)
	ctx := context.Background()
	_, seen, _ := f.get(ctx)

	// A copy read after seen is returned as it is.
	clock.add(time.Millisecond)
	done := make(chan loadResult, 1)
	go func() { v, _, err := f.reload(ctx, seen); done <- loadResult{v, err} }()
	g.began(t)
	g.finish(t, loadResult{v: 2})
	if r := result(t, done); r.v != 2 {
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
