//go:build race

package api_test

// raceDetector: the race detector slows drawing about tenfold, so tests that measure load
// give figures more time to wait for a slot.
const raceDetector = true
