package main

import (
	"slices"
	"testing"
	"time"
)

// timeRounds runs its steps in turn, each before ahead of its own call, and drops the
// warm-up round; ratioOf takes the median of each round's own ratio, not the ratio of two
// medians.
func TestTimeRounds(t *testing.T) {
	var order []string
	mark := func(s string) func() error { return func() error { order = append(order, s); return nil } }
	times, err := timeRounds(2, step{nil, mark("a")}, step{mark("write"), mark("b")})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"a", "write", "b", "a", "write", "b", "a", "write", "b"}; !slices.Equal(order, want) {
		t.Fatalf("calls %v, want %v", order, want)
	}
	if len(times) != 2 || len(times[0]) != 2 || len(times[1]) != 2 {
		t.Fatalf("times %v: want two steps of two rounds", times)
	}

	ms := func(xs ...int) []time.Duration {
		var ds []time.Duration
		for _, x := range xs {
			ds = append(ds, time.Duration(x)*time.Millisecond)
		}
		return ds
	}
	// Round by round 3.0, 1.2 and 1.1: the median is 1.2. The medians' ratio would be
	// 300/200 = 1.5, comparing one round's b with another round's a.
	a, b := ms(100, 200, 300), ms(300, 240, 330)
	if got := ratioOf(b, a); got != 1.2 {
		t.Fatalf("ratioOf = %v, want 1.2", got)
	}
	if got := medianOf(b); got != 300*time.Millisecond {
		t.Fatalf("medianOf = %v, want 300ms", got)
	}
}
