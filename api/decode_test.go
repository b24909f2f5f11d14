package api

import (
	"strings"
	"testing"

	"github.com/krslab/krslab/experiment"
)

// TestTypeMismatchesNameTheirField: a value of the wrong type is refused naming its field
// as the domain's validation names fields (arms[1].weight, not arms.weight), and saying
// what it must be and what it was.
func TestTypeMismatchesNameTheirField(t *testing.T) {
	for _, c := range []struct{ body, field, message string }{
		{`{"arms":[{"key":"a","weight":1},{"key":"b","weight":1e400}]}`, "arms[1].weight", "is out of range: 1e400"},
		{`{"waves":[{"key":"w1"},{"key":"w2","from_day":1.5}]}`, "waves[1].from_day", "must be a whole number, not 1.5"},
		{`{"waves":[{"key":"w1"},{"key":"w2","from_day":1e30}]}`, "waves[1].from_day", "is out of range: 1e30"},
		{`{"waves":[{"from_day":"1"}]}`, "waves[0].from_day", "must be a number, not a string"},
		{`{"arms":{"key":"a"}}`, "arms", "must be an array, not an object"},
		{`{"arms":[1]}`, "arms[0]", "must be an object, not a number"},
		{`{"name":["a"]}`, "name", "must be a string, not an array"},
		{`{"key":12}`, "key", "must be a string, not a number"},
		{`{"name":"x", "arms":[{"key":"a","control":"yes"}]}`, "arms[0].control", "must be true or false, not a string"},
		{`{"hypothesis":true}`, "hypothesis", "must be a string, not true or false"},
		{`[1]`, "body", "must be an object, not an array"},
	} {
		var req experimentRequest
		err := unmarshalStrict([]byte(c.body), &req)
		de, _ := ErrorOf(err)
		if de.Code != experiment.Invalid || len(de.Details) != 1 || de.Details[0].Field != c.field || de.Details[0].Message != c.message {
			t.Errorf("%s: %v %+v, want %s: %s", c.body, de.Code, de.Details, c.field, c.message)
		}
	}
	// | marks the offset: after the value whose path is wanted.
	for marked, want := range map[string]string{
		`{"a":[{"b":1},{"c":{"d":[true,"x"|]}}]}`: "a[1].c.d[1]",
		` { "a" : "x"| } `:                        "a",
		`{"a":{|"b":1}}`:                          "a",
		`"x"|`:                                    "",
		`{"a|":1}`:                                "",
	} {
		body, after, _ := strings.Cut(marked, "|")
		if got := jsonPathAt([]byte(body+after), int64(len(body))); got != want {
			t.Errorf("path at | of %s: %q, want %q", marked, got, want)
		}
	}
}
