package experiment

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// The CSV format of responses, shared by the API's CSV batches and `krslab import`:
// response_id,customer_id,answered_at,<outcome keys...>; an empty cell is not answered.

// maxHeaderCell bounds a header cell (an outcome key has at most 63 characters).
const maxHeaderCell = 256

// CheckResponseHeader checks a responses CSV header, trimming its cells (and a byte-order
// mark) in place, and reports every problem.
func CheckResponseHeader(header []string) error {
	var p Problems
	if len(header) < 4 {
		p.Field("header", "need columns response_id,customer_id,answered_at and at least one outcome key")
	}
	for i := range header {
		header[i] = strings.TrimSpace(strings.TrimPrefix(header[i], "\ufeff"))
	}
	for i, w := range []string{"response_id", "customer_id", "answered_at"} {
		if i < len(header) && header[i] != w {
			p.Field("header", "column %d must be %s, not %q", i+1, w, header[i])
		}
	}
	seen := map[string]bool{}
	for i := min(3, len(header)); i < len(header); i++ {
		switch h := header[i]; {
		case h == "":
			p.Field("header", "column %d has no outcome key", i+1)
		case !CheckText(h, maxHeaderCell).IsZero():
			p.Field("header", "column %d: %s", i+1, CheckText(h, maxHeaderCell))
		case seen[h]:
			p.Field("header", "column %q appears twice", h)
		}
		seen[header[i]] = true
	}
	return p.Err("invalid CSV header")
}

// ResponseFromRecord reads one CSV record of a checked header; what does not parse becomes
// one of the response's Problems, for validation to report with everything else.
func ResponseFromRecord(header, rec []string) Response {
	r := Response{ResponseID: rec[0], CustomerID: rec[1], Answers: make(map[string]float64, len(rec)-3)}
	if ts := strings.TrimSpace(rec[2]); ts != "" {
		if t, err := time.Parse(time.RFC3339Nano, ts); err != nil {
			r.Problems = append(r.Problems, Detail{Field: "answered_at", Message: "must be an RFC 3339 timestamp such as 2026-03-01T10:00:00Z"})
		} else {
			r.AnsweredAt = t
		}
	}
	for i := 3; i < len(rec); i++ {
		cell := strings.TrimSpace(rec[i])
		if cell == "" {
			continue
		}
		v, boolean, err := ParseCell(cell)
		if err != nil {
			r.Problems = append(r.Problems, Detail{Field: "answers." + header[i], Message: fmt.Sprintf("%q is not a number", cell)})
			continue
		}
		r.Answers[header[i]] = v
		if boolean {
			if r.Booleans == nil {
				r.Booleans = map[string]bool{}
			}
			r.Booleans[header[i]] = true
		}
	}
	return r
}

// ParseCell reads a CSV answer: a number, or true/false (boolean) for a binary outcome.
func ParseCell(cell string) (v float64, boolean bool, err error) {
	switch strings.ToLower(cell) {
	case "true":
		return 1, true, nil
	case "false":
		return 0, true, nil
	}
	v, err = strconv.ParseFloat(cell, 64)
	return v, false, err
}
