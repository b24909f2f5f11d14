package experiment_test

import (
	"encoding/csv"
	"math"
	"reflect"
	"strings"
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
			if !experiment.CheckID(rid).IsZero() || !experiment.CheckID(cid).IsZero() {
				t.Fatalf("bad ids accepted: %q %q", rid, cid)
			}
		}
	})
}

// FuzzResponseLine: the importer's reading of a responses line (answer columns resolved
// once, no map) agrees with the API's reading of the same CSV row: the same problems, or
// the same response, arm and content hash.
func FuzzResponseLine(f *testing.F) {
	f.Add("r1,c1,2026-03-01T10:00:00Z,5,10,,7,true,,")
	f.Add("r1,c1,2026-03-01T10:00:00+02:00, 5 ,,,,,0,1")
	f.Add("r1,c1,2026-03-01T10:00:00.5Z,-0,,,,,,")
	f.Add(`"r,1","c""1",2026-03-01T10:00:00Z,8,11,50,1.5,2,x,`)
	f.Add("r1,c1,2099-01-01T00:00:00Z,,,,,,,")
	f.Add("r1,c1,0001-01-01T00:00:00Z,5,,,,,,")
	f.Add("r1,c1,0001-01-01T01:00:00+01:00,5,,,,,,")
	f.Add("r1,c1")
	outcomes := builtins()
	e := validExperiment()
	allowed := experiment.AnswerKeys(e, outcomes)
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	header := []string{"response_id", "customer_id", "answered_at", "trust", "nps", "krs", "satisfaction", "churned", "love", "happiness"}
	f.Fuzz(func(t *testing.T, line string) {
		rec, err := csv.NewReader(strings.NewReader(line)).Read()
		if err != nil {
			return
		}
		fast, api := experiment.ReadResponseLines(e, header, [][]string{rec}, allowed, outcomes, now)
		if !reflect.DeepEqual(fast, api) {
			t.Fatalf("%q:\nimporter %+v\nAPI      %+v", line, fast[0], api[0])
		}
	})
}
