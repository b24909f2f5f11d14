// Package race says whether the race detector is built in, for the tests of the API and
// the report to weigh what a run under it is for.
package race

import "testing"

// SkipSequential skips, under the race detector, a test whose work is sequential: it draws
// a report's figures or compares reference numbers, one request at a time. Its real work
// runs in `make unit`, without the detector; `make race` spends its time on the tests of
// concurrent paths (readers at once, render slots, two servers), since the detector slows
// drawing about tenfold and finds races only where goroutines meet.
func SkipSequential(t testing.TB) {
	t.Helper()
	if Enabled {
		t.Skip("sequential work, checked without the race detector by make unit; the race stage runs the tests of concurrent paths")
	}
}
