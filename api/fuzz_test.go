package api

import (
	"bytes"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"
)

// FuzzResponsesCSV: any body either parses into responses or is refused with an error;
// the reader never panics and never invents answers for empty cells.
func FuzzResponsesCSV(f *testing.F) {
	f.Add("response_id,customer_id,answered_at,trust,nps\nr1,c1,2026-03-01T10:00:00Z,5,9\nr2,c2,2026-03-01T11:00:00Z,,3\n")
	f.Add("response_id,customer_id,answered_at,trust\n\"r1\",\"c,1\",2026-03-01T10:00:00Z,true\n")
	f.Add("\ufeffresponse_id,customer_id,answered_at,trust\n")
	f.Add("a,b\n\"unterminated\n")
	f.Fuzz(func(t *testing.T, body string) {
		rs, err := readResponsesCSV(strings.NewReader(body))
		if err != nil {
			return
		}
		for _, r := range rs {
			for k := range r.Answers {
				if k == "" {
					t.Fatalf("empty outcome key accepted from %q", body)
				}
			}
		}
	})
}

// FuzzDecodeJSON: the strict decoder refuses or accepts, never panics, and never accepts
// an unknown top-level field.
func FuzzDecodeJSON(f *testing.F) {
	f.Add(`{"responses":[{"response_id":"r1","customer_id":"c1","answered_at":"2026-03-01T10:00:00Z","answers":{"trust":5}}]}`)
	f.Add(`{"responses":[{"answers":{"x":true,"y":null}}]}`)
	f.Add(`{"responses":null}`)
	f.Add(`{"responses":[]} []`)
	f.Fuzz(func(t *testing.T, body string) {
		var req responsesBatchRequest
		if err := unmarshalStrict([]byte(body), &req); err != nil {
			return
		}
		for _, r := range req.Responses {
			resp := r.domain()
			for _, v := range resp.Answers {
				if math.IsNaN(v) || math.IsInf(v, 0) {
					t.Fatalf("non-finite answer decoded from %q", body)
				}
			}
		}
	})
}

// FuzzPlainAssignRequestAsStrict: whatever body the reading without reflection takes,
// the strict decoder takes too, to the same request.
func FuzzPlainAssignRequestAsStrict(f *testing.F) {
	for _, body := range []string{`{"customer_id":"c-1"}`, `{"customer_id":"c 1"}` + "\n", `{"customer_id":""}`,
		`{"customer_id":"a\"b"}`, `{"customer_id":"a\\b"}`, `{"customer_id":"é"}`, `{"customer_id":"c1"} `,
		` {"customer_id":"c1"}`, `{"customer_id":"c1","attributes":{"x":"y"}}`, `{"customer_id":"c1"}}`,
		`{"customer_id":"<&>"}`, `{"customer_id":"c1"}` + "\t\r\n", `{"customer_id":"`, `{"customer_id":"\u0001"}`} {
		f.Add(body)
	}
	f.Fuzz(func(t *testing.T, body string) {
		plain, ok := plainAssignRequest([]byte(body))
		if !ok {
			return
		}
		var strict assignRequest
		if err := unmarshalStrict([]byte(body), &strict); err != nil {
			t.Fatalf("%q: read without reflection as %+v, refused by the strict decoder: %v", body, plain, err)
		}
		if !reflect.DeepEqual(plain, strict) {
			t.Fatalf("%q: read as %+v without reflection, as %+v by the strict decoder", body, plain, strict)
		}
	})
}

// FuzzAssignmentJSONAsTagged: an assignment's own encoder writes the bytes encoding/json
// writes from its struct tags (without HTML escapes, as every API answer), for any text and
// any time.
func FuzzAssignmentJSONAsTagged(f *testing.F) {
	f.Add("exp", "c-1", "control", "", int64(1_780_000_000), int64(123456789), true, false, true)
	f.Add("", "c\"1<&>\u2028", "é", "not eligible", int64(0), int64(0), false, true, false)
	f.Add("x", "\xff\xfe", "a\\b\n", "\x00", int64(-62_135_596_800), int64(1), false, false, true)
	f.Add("x", "c", "a", "", int64(253_402_300_800), int64(0), false, false, true) // year 10000
	f.Fuzz(func(t *testing.T, exp, customer, arm, reason string, sec, nsec int64, isNew, decided, armed bool) {
		a := assignmentJSON{Experiment: exp, CustomerID: customer, New: isNew, Decided: decided, Reason: reason}
		if armed {
			at := time.Unix(sec, nsec%1e9).UTC()
			a.Arm, a.AssignedAt = &arm, &at
		}
		type tagged assignmentJSON // the same fields and tags, without the encoder
		want, wantErr := marshalJSON(tagged(a))
		got, gotErr := a.appendJSON(nil)
		if (wantErr != nil) != (gotErr != nil) {
			t.Fatalf("%+v: encoding/json err %v, own encoder err %v", a, wantErr, gotErr)
		}
		if wantErr == nil && !bytes.Equal(got, want) {
			t.Fatalf("%+v:\nown encoder  %s\nencoding/json %s", a, got, want)
		}
	})
}
