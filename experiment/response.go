package experiment

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Response is one survey response of an assigned customer: answers per outcome key.
type Response struct {
	ResponseID string
	CustomerID string
	AnsweredAt time.Time
	Answers    map[string]float64
	// Booleans names the answers given as true or false, which only a binary outcome takes
	// (DOMAIN.md): validation refuses them for any other kind rather than read them as 1
	// and 0.
	Booleans map[string]bool
	// Problems were found while reading the response (a timestamp or an answer that did not
	// parse); validation reports them together with its own findings.
	Problems []Detail
}

// Covariate is a pre-experiment value of an outcome for a customer, used by CUPED.
type Covariate struct {
	CustomerID string
	Outcome    string
	Value      float64
	// Problems were found while reading the covariate (for example a missing value).
	Problems []Detail
}

// covariateRules are what the covariates of one experiment are checked against: its
// analysed outcomes (analysed) among every outcome (outcomes, by key).
type covariateRules struct {
	outcomes map[string]Outcome
	analysed map[string]bool
}

func newCovariateRules(e Experiment, outcomes map[string]Outcome) covariateRules {
	r := covariateRules{outcomes: outcomes, analysed: map[string]bool{}}
	for _, k := range e.AnalysedOutcomes() {
		r.analysed[k] = true
	}
	return r
}

// problems is what is wrong with c: what was found reading it, then the rules of a
// covariate, the same for the API and the importer. The value is checked when it was read.
func (r covariateRules) problems(c Covariate) []Detail {
	p := slices.Clone(c.Problems)
	if msg := CheckID(c.CustomerID); !msg.IsZero() {
		p = append(p, fieldDetail("customer_id", msg))
	}
	switch o, ok := r.outcomes[c.Outcome]; {
	case !ok || !r.analysed[c.Outcome]:
		p = append(p, fieldDetail("outcome", Textf("outcome %q is not analysed in this experiment", c.Outcome)))
	case o.Kind == Binary || o.Kind == Net:
		p = append(p, fieldDetail("outcome", Textf("CUPED applies to scale, numeric and composite outcomes, not %s", o.Kind)))
	}
	if !slices.ContainsFunc(c.Problems, func(d Detail) bool { return d.Field == "value" }) {
		if msg := CheckNumber(c.Value); msg != "" {
			p = append(p, Detail{Field: "value", Message: msg})
		}
	}
	return p
}

// MaxFutureSkew is how far in the future answered_at may lie (clock skew of survey tools).
const MaxFutureSkew = 24 * time.Hour

// CheckID validates a customer or response id: 1..128 printable characters.
func CheckID(id string) Text {
	if id == "" {
		return Textf("is required")
	}
	if !utf8.ValidString(id) {
		return Textf("must be valid UTF-8")
	}
	if utf8.RuneCountInString(id) > 128 {
		return Textf("at most %d characters", 128)
	}
	for _, r := range id {
		if !unicode.IsPrint(r) {
			return Textf("must contain printable characters only")
		}
	}
	return Text{}
}

// ContentHash identifies the content of a response for idempotent replays: the same
// response_id with the same hash is a replay, with another hash a conflict.
func (r Response) ContentHash() [32]byte {
	keys, values := r.AnswerArrays()
	sum, _ := contentHash(nil, r.CustomerID, r.AnsweredAt, keys, values)
	return sum
}

// AnswerArrays are the response's answers as parallel arrays in key order, with -0 folded
// into 0: their order in storage and in the content hash.
func (r Response) AnswerArrays() (keys []string, values []float64) {
	keys = make([]string, 0, len(r.Answers))
	for k := range r.Answers {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	values = make([]float64, len(keys))
	for i, k := range keys {
		values[i] = r.Answers[k] + 0
	}
	return keys, values
}

// contentHash is the SHA-256 of a response's content: its customer, its answered_at in
// UTC (RFC 3339), and its answers in key order, each string preceded by its length and
// each value as the bits of a float64, with -0 folded into 0. buf is scratch space, handed
// back for the next call.
func contentHash(buf []byte, customerID string, answeredAt time.Time, keys []string, values []float64) ([32]byte, []byte) {
	appendString := func(b []byte, s string) []byte {
		return append(binary.BigEndian.AppendUint64(b, uint64(len(s))), s...)
	}
	buf = appendString(buf[:0], customerID)
	var ts [40]byte
	at := answeredAt.UTC().AppendFormat(ts[:0], time.RFC3339Nano)
	buf = append(binary.BigEndian.AppendUint64(buf, uint64(len(at))), at...)
	for i, k := range keys {
		buf = appendString(buf, k)
		buf = binary.BigEndian.AppendUint64(buf, math.Float64bits(values[i]+0))
	}
	return sha256.Sum256(buf), buf
}

// AnswerKeys returns the outcome keys a response of e may answer: its outcomes and
// guardrails that are not composites, and the components of its composites.
func AnswerKeys(e Experiment, outcomes map[string]Outcome) map[string]Outcome {
	allowed := map[string]Outcome{}
	for _, k := range e.AnalysedOutcomes() {
		o := outcomes[k]
		if o.Kind == Composite {
			for _, c := range o.Components {
				allowed[c] = outcomes[c]
			}
			continue
		}
		allowed[k] = o
	}
	return allowed
}

// CheckResponse validates one response against the answerable outcomes and returns every
// problem, with fields named as in the request (prefix is "" or e.g. "responses[3].").
// It is the one validation of a response, for JSON, CSV and the importer alike: the
// importer's fast reading of a line (responseReader.line) applies the same rules
// (checkAnsweredAt, checkAnswer) and hands any line one of them refuses to CheckResponse for
// its problems.
func CheckResponse(r Response, allowed map[string]Outcome, outcomes map[string]Outcome, now time.Time) []Detail {
	d := append([]Detail(nil), r.Problems...)
	reported := make(map[string]bool, len(r.Problems))
	answered := len(r.Answers) > 0 // an answer refused as it was read was given all the same
	for _, p := range r.Problems {
		reported[p.Field] = true
		answered = answered || strings.HasPrefix(p.Field, "answers.")
	}
	add := func(field, format string, args ...any) {
		if !reported[field] {
			d = append(d, fieldDetail(field, Textf(format, args...)))
		}
	}
	if msg := CheckID(r.ResponseID); !msg.IsZero() {
		add("response_id", "%s", msg)
	}
	if msg := CheckID(r.CustomerID); !msg.IsZero() {
		add("customer_id", "%s", msg)
	}
	if msg := checkAnsweredAt(r.AnsweredAt, now); msg != "" {
		add("answered_at", "%s", msg)
	}
	if !answered {
		add("answers", "at least one answer is required")
	}
	keys := make([]string, 0, len(r.Answers))
	for k := range r.Answers {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		o, ok := allowed[k]
		if msg := checkAnswer(k, o, ok, r.Booleans[k], r.Answers[k], outcomes); msg != "" {
			add("answers."+k, "%s", msg)
		}
	}
	return d
}

// checkAnsweredAt is the rule of a response's answered_at: given, and at most MaxFutureSkew
// ahead of now.
func checkAnsweredAt(at, now time.Time) string {
	switch {
	case at.IsZero():
		return "is required (RFC 3339 timestamp)"
	case at.After(now.Add(MaxFutureSkew)):
		return "lies more than a day in the future"
	}
	return ""
}

// checkAnswer is the rule of one answer v to outcome key k (o, taken: the experiment's
// answerable outcome of that key, if any; boolean: sent as true or false).
func checkAnswer(k string, o Outcome, taken, boolean bool, v float64, outcomes map[string]Outcome) string {
	if !taken {
		if known, exists := outcomes[k]; exists && known.Kind == Composite {
			return fmt.Sprintf("%s is a composite; send its components %v instead", k, known.Components)
		}
		return fmt.Sprintf("outcome %q is not measured in this experiment", k)
	}
	if boolean && o.Kind != Binary {
		return fmt.Sprintf("true/false answers only a binary outcome; %s is %s: send a number", k, o.Kind)
	}
	return o.CheckAnswer(v)
}
