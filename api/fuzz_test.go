package api

import (
	"math"
	"strings"
	"testing"
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
