package main

import (
	"cmp"
	"slices"
	"time"
)

// step is one timed call of a benchmark's rounds; before, when not nil, runs untimed ahead
// of it (a write, so that the call after it is cold).
type step struct{ before, fn func() error }

// timeRounds runs steps in turn, n rounds after one warm-up round, and returns each step's
// times, one per round. The steps of a round run back to back, so that the ratio of two of
// them within a round compares them under the same load of the machine; medians of each
// taken in separate stretches of a busy host compare two moments as much as two requests.
func timeRounds(n int, steps ...step) ([][]time.Duration, error) {
	times := make([][]time.Duration, len(steps))
	for r := range n + 1 {
		for i, s := range steps {
			if s.before != nil {
				if err := s.before(); err != nil {
					return nil, err
				}
			}
			start := time.Now()
			if err := s.fn(); err != nil {
				return nil, err
			}
			if r > 0 {
				times[i] = append(times[i], time.Since(start))
			}
		}
	}
	return times, nil
}

// medianOf is the median of xs (the upper one of an even number), leaving xs as it was.
func medianOf[T cmp.Ordered](xs []T) T {
	xs = slices.Sorted(slices.Values(xs))
	return xs[len(xs)/2]
}

// ratioOf is the median, over the rounds, of a's time in a round over b's in the same round.
func ratioOf(a, b []time.Duration) float64 {
	rs := make([]float64, len(a))
	for i := range a {
		rs[i] = a[i].Seconds() / b[i].Seconds()
	}
	return medianOf(rs)
}
