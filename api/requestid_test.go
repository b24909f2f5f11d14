package api

import (
	"regexp"
	"testing"
)

// A generated request id is 32 hex digits; one process never repeats one, and two
// processes (two generators) differ in the random half.
func TestRequestIDs(t *testing.T) {
	hex32 := regexp.MustCompile(`^[0-9a-f]{32}$`)
	a, b := requestIDs(), requestIDs()
	seen := map[string]bool{}
	for range 10000 {
		id := a()
		if !hex32.MatchString(id) {
			t.Fatalf("request id %q: want 32 hex digits", id)
		}
		if seen[id] {
			t.Fatalf("request id %q given twice", id)
		}
		seen[id] = true
	}
	if x, y := a(), b(); x[:16] == y[:16] {
		t.Fatalf("two generators share their random half: %s, %s", x, y)
	}
}
