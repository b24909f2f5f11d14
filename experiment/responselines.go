package experiment

import (
	"slices"
	"strings"
	"time"
)

// responseReader reads the data lines of a responses file against its checked header. The
// header is resolved once: the outcome of each answer column, whether the experiment takes
// answers to it, and the columns in key order, the order of a response's answers in storage
// and in its content hash. A good line then costs no map and no sort. Its rules are
// CheckResponse's own (CheckID, checkAnsweredAt, checkAnswer); a line one of them refuses
// is read again the API's way (ResponseFromRecord, CheckResponse), so that its problems
// read the same wherever they are found.
type responseReader struct {
	e        Experiment
	header   []string
	allowed  map[string]Outcome
	outcomes map[string]Outcome
	now      time.Time
	cols     []answerColumn      // the answer columns in key order
	keySets  map[uint64][]string // the answered keys of a line by its answered columns (at most 64)
	scratch  []byte
}

type answerColumn struct {
	index   int
	key     string
	outcome Outcome
	taken   bool // the experiment takes answers to it
}

// maxKeySets bounds the cache of answered-key lists, which a file with many answer columns
// and sparse answers could otherwise grow line by line.
const maxKeySets = 4096

func newResponseReader(e Experiment, header []string, allowed, outcomes map[string]Outcome, now time.Time) *responseReader {
	rr := &responseReader{e: e, header: header, allowed: allowed, outcomes: outcomes, now: now,
		keySets: map[uint64][]string{}}
	for i := 3; i < len(header); i++ {
		o, taken := allowed[header[i]]
		rr.cols = append(rr.cols, answerColumn{index: i, key: header[i], outcome: o, taken: taken})
	}
	slices.SortFunc(rr.cols, func(a, b answerColumn) int { return strings.Compare(a.key, b.key) })
	return rr
}

// line reads data line number line (the header is line 1).
func (rr *responseReader) line(line int, rec []string) ResponseLine {
	if len(rec) != len(rr.header) || !CheckID(rec[0]).IsZero() || !CheckID(rec[1]).IsZero() {
		return rr.checked(line, rec)
	}
	at, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(rec[2]))
	if err != nil || checkAnsweredAt(at, rr.now) != "" {
		return rr.checked(line, rec)
	}
	var answered uint64
	values := make([]float64, 0, len(rr.cols))
	for i, c := range rr.cols {
		cell := strings.TrimSpace(rec[c.index])
		if cell == "" {
			continue
		}
		v, boolean, err := ParseCell(cell)
		if err != nil || checkAnswer(c.key, c.outcome, c.taken, boolean, v, rr.outcomes) != "" {
			return rr.checked(line, rec)
		}
		values = append(values, v+0) // no negative zero
		if i < 64 {
			answered |= 1 << i
		}
	}
	if len(values) == 0 {
		return rr.checked(line, rec)
	}
	l := ResponseLine{Line: line, ResponseID: rec[0], CustomerID: rec[1], AnsweredAt: at.UTC(),
		Arm: AssignArm(rr.e.Salt, rec[1], rr.e.Arms), Keys: rr.keys(answered, rec), Values: values}
	l.Hash, rr.scratch = contentHash(rr.scratch, l.CustomerID, l.AnsweredAt, l.Keys, l.Values)
	return l
}

// keys returns the keys of the answered columns of rec, in key order.
func (rr *responseReader) keys(answered uint64, rec []string) []string {
	cacheable := len(rr.cols) <= 64
	if cacheable {
		if keys, ok := rr.keySets[answered]; ok {
			return keys
		}
	}
	var keys []string
	for _, c := range rr.cols {
		if strings.TrimSpace(rec[c.index]) != "" {
			keys = append(keys, c.key)
		}
	}
	if cacheable && len(rr.keySets) < maxKeySets {
		rr.keySets[answered] = keys
	}
	return keys
}

// checked reads a line the API's way and reports its problems, if any.
func (rr *responseReader) checked(line int, rec []string) ResponseLine {
	if len(rec) != len(rr.header) {
		return ResponseLine{Line: line, Problem: columns(rec, rr.header)}
	}
	r := ResponseFromRecord(rr.header, rec)
	if d := CheckResponse(r, rr.allowed, rr.outcomes, rr.now); len(d) > 0 {
		return ResponseLine{Line: line, Problem: reason(d)}
	}
	// Only a line the fast reading refused comes here, and every such line has a problem.
	// Should the two readings ever disagree, the line is still read right.
	return responseLineOf(line, r, rr.e)
}

// responseLineOf is the ResponseLine of a good response.
func responseLineOf(line int, r Response, e Experiment) ResponseLine {
	l := ResponseLine{Line: line, ResponseID: r.ResponseID, CustomerID: r.CustomerID, AnsweredAt: r.AnsweredAt.UTC(),
		Arm: AssignArm(e.Salt, r.CustomerID, e.Arms)}
	l.Keys, l.Values = r.AnswerArrays()
	l.Hash, _ = contentHash(nil, l.CustomerID, l.AnsweredAt, l.Keys, l.Values)
	return l
}
