package experiment_test

import (
	"math"
	"testing"
	"time"

	"github.com/krslab/krslab/experiment"
)

// FuzzCheckAnswer: every accepted answer is finite, inside the outcome's range and, for
// scales and net scores, an integer; composites are never accepted.
func FuzzCheckAnswer(f *testing.F) {
	for _, v := range []float64{1, 7, 0, 8, 3.5, -1, 10, 11, math.NaN(), math.Inf(1), 1e308} {
		f.Add(v, uint8(0))
	}
	outcomes := builtins()
	keys := []string{"trust", "nps", "ces", "churned", "krs"}
	f.Fuzz(func(t *testing.T, v float64, which uint8) {
		o := outcomes[keys[int(which)%len(keys)]]
		if o.CheckAnswer(v) != "" {
			return
		}
		lo, hi, _ := o.Bounds()
		switch {
		case o.Kind == experiment.Composite:
			t.Fatalf("composite %s accepted %v", o.Key, v)
		case math.IsNaN(v) || math.IsInf(v, 0):
			t.Fatalf("%s accepted %v", o.Key, v)
		case v < lo || v > hi:
			t.Fatalf("%s accepted %v outside %v..%v", o.Key, v, lo, hi)
		case (o.Kind == experiment.Scale || o.Kind == experiment.Net) && v != math.Trunc(v):
			t.Fatalf("%s accepted non-integer %v", o.Key, v)
		}
	})
}

// FuzzCheckResponse: ids and answers of any shape are checked without panicking, and a
// response with no problems has valid ids.
func FuzzCheckResponse(f *testing.F) {
	f.Add("r1", "c1", "trust", 5.0)
	f.Add("", "c\x00", "krs", 50.0)
	f.Add("r", "c", "", math.NaN())
	outcomes := builtins()
	e := validExperiment()
	allowed := experiment.AnswerKeys(e, outcomes)
	now := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, rid, cid, key string, v float64) {
		r := experiment.Response{ResponseID: rid, CustomerID: cid, AnsweredAt: now, Answers: map[string]float64{key: v}}
		if len(experiment.CheckResponse(r, allowed, outcomes, now)) == 0 {
			if experiment.CheckID(rid) != "" || experiment.CheckID(cid) != "" {
				t.Fatalf("bad ids accepted: %q %q", rid, cid)
			}
		}
	})
}
