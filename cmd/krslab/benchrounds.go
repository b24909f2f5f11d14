package main

import (
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

// medianOf is the median of ds (the upper one of an even number).
func medianOf(ds []time.Duration) time.Duration {
	ds = slices.Sorted(slices.Values(ds))
	return ds[len(ds)/2]
}

// ratioOf is the median, over the rounds, of a's time in a round over b's in the same round.
func ratioOf(a, b []time.Duration) float64 {
	rs := make([]float64, len(a))
	for i := range a {
		rs[i] = a[i].Seconds() / b[i].Seconds()
	}
	slices.Sort(rs)
	return rs[len(rs)/2]
}
