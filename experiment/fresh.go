package experiment

import (
	"context"
	"sync"
	"time"
)

// fresh is a value read from the store and served from memory for at most maxAge after the
// read began. It sits on hot paths (every request authenticates; every assignment needs its
// experiment), so:
//
//   - once the copy is older than half of maxAge, the first caller starts a reload in the
//     background and every caller goes on with the copy, which is still within maxAge; under
//     steady traffic nobody waits for the store;
//   - when there is no copy, or it is too old, callers wait for one read shared by all of
//     them, so a burst of requests after a start or a quiet spell makes one query, not one
//     each (and does not queue for the connection pool behind them).
//
// A read does not end with the caller that started it: one that gives up does not fail the
// others.
type fresh[T any] struct {
	load   func(context.Context) (T, error)
	maxAge time.Duration
	now    func() time.Time

	mu     sync.Mutex
	v      T
	at     time.Time // when the read of v began; zero when there is no usable copy
	gen    uint64    // bumped by invalidate: a read begun before must not be kept
	flight *freshRead[T]
}

// freshRead is one read in flight; done is closed when v and err are set.
type freshRead[T any] struct {
	done chan struct{}
	at   time.Time // when the read began
	v    T
	err  error
}

// freshReadTimeout bounds a read that no caller's context bounds.
const freshReadTimeout = 30 * time.Second

func newFresh[T any](maxAge time.Duration, now func() time.Time, load func(context.Context) (T, error)) *fresh[T] {
	return &fresh[T]{load: load, maxAge: maxAge, now: now}
}

// get returns the value and when its read began.
func (f *fresh[T]) get(ctx context.Context) (T, time.Time, error) {
	f.mu.Lock()
	if !f.at.IsZero() {
		age := f.now().Sub(f.at)
		if age < f.maxAge {
			if age >= f.maxAge/2 && f.flight == nil {
				f.startLocked(ctx)
			}
			v, at := f.v, f.at
			f.mu.Unlock()
			return v, at, nil
		}
	}
	return f.waitLocked(ctx)
}

// reload returns a copy whose read began after seen (the time get returned): the current
// one if it is such a copy already, else one from a read it joins or starts.
func (f *fresh[T]) reload(ctx context.Context, seen time.Time) (T, time.Time, error) {
	f.mu.Lock()
	if f.at.After(seen) {
		v, at := f.v, f.at
		f.mu.Unlock()
		return v, at, nil
	}
	return f.waitLocked(ctx)
}

// invalidate drops the copy and disowns a read in flight: the next get reads again.
func (f *fresh[T]) invalidate() {
	f.mu.Lock()
	var zero T
	f.v, f.at, f.flight = zero, time.Time{}, nil
	f.gen++
	f.mu.Unlock()
}

// waitLocked joins the read in flight, or starts one, and waits for it; f.mu is held on
// entry and released. A read that began maxAge ago or more (a slow one) is not joined: its
// value would be too old on arrival.
func (f *fresh[T]) waitLocked(ctx context.Context) (T, time.Time, error) {
	r := f.flight
	if r == nil || f.now().Sub(r.at) >= f.maxAge {
		r = f.startLocked(ctx)
	}
	f.mu.Unlock()
	var zero T
	select {
	case <-r.done:
	case <-ctx.Done():
		select {
		case <-r.done: // both ready: the value is there, use it
		default:
			return zero, time.Time{}, ctx.Err()
		}
	}
	if r.err != nil {
		return zero, time.Time{}, r.err
	}
	return r.v, r.at, nil
}

// startLocked begins a read in the background, with the values of ctx but not its deadline
// or cancellation; f.mu is held.
func (f *fresh[T]) startLocked(ctx context.Context) *freshRead[T] {
	r := &freshRead[T]{done: make(chan struct{}), at: f.now()}
	f.flight = r
	gen := f.gen
	go func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), freshReadTimeout)
		defer cancel()
		r.v, r.err = f.load(ctx)
		f.mu.Lock()
		if f.flight == r {
			f.flight = nil
		}
		// An older copy is kept when a background read fails: it is still within maxAge,
		// and once it is not, callers wait for a read of their own and see the error. A
		// slow read overtaken by a later one is not kept either.
		if r.err == nil && f.gen == gen && r.at.After(f.at) {
			f.v, f.at = r.v, r.at
		}
		f.mu.Unlock()
		close(r.done)
	}()
	return r
}
