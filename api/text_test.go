package api

import (
	"fmt"
	"testing"

	"github.com/krslab/krslab/experiment"
)

// TestTextProblems names every string of a JSON body that encoding/json would repair into
// U+FFFD, as the domain names fields.
func TestTextProblems(t *testing.T) {
	for _, c := range []struct {
		body string
		want []experiment.Detail // nil: nothing wrong
	}{
		{`{"name": "Persoonlijk", "arms": [{"key": "a"}], "note": "\u00e9 \ud83d\ude00 \\ud800"}`, nil},
		{"{\"name\": \"\uFFFD as such\"}", nil},
		{"{\"name\": \"x\xffy\"}", []experiment.Detail{{Field: "name"}}},
		{"{\"arms\": [{\"key\": \"a\"}, {\"key\": \"b\", \"name\": \"\xfe\"}]}", []experiment.Detail{{Field: "arms[1].name"}}},
		{"{\"responses\": [{}, {\"answers\": {\"trust\": 5}, \"customer_id\": \"c\xff\"}]}", []experiment.Detail{{Row: 2, Field: "customer_id"}}},
		{"{\"customer_ids\": [\"a\", \"b\xfe\", \"c\\udc00\"]}", []experiment.Detail{{Row: 2, Field: "customer_id"}, {Row: 3, Field: "customer_id"}}},
		{"{\"answers\": {\"tr\xffust\": 5}}", []experiment.Detail{{Field: "answers"}}},
		{"{\"customers\": [{\"attributes\": {\"channel\": \"ph\xffone\"}}]}", []experiment.Detail{{Row: 1, Field: "attributes.channel"}}},
		{`{"note": "lone \ud800 high"}`, []experiment.Detail{{Field: "note"}}},
		{`{"note": "\ud800\ud800"}`, []experiment.Detail{{Field: "note"}}},
		{"[\"\xff\"]", []experiment.Detail{{Field: "[0]"}}},
	} {
		got := textProblems([]byte(c.body))
		for i := range got {
			got[i].Message = ""
		}
		if fmt.Sprint(got) != fmt.Sprint(c.want) {
			t.Errorf("%q: %v, want %v", c.body, got, c.want)
		}
	}
}

func TestCheckParam(t *testing.T) {
	for v, ok := range map[string]bool{"cust-000123": true, "klant één": true, "a\tb": false, "a\nb": false,
		"a\x00b": false, "a\xffb": false, "": true} {
		if got := checkParam(v) == ""; got != ok {
			t.Errorf("checkParam(%q) = %q, want ok %v", v, checkParam(v), ok)
		}
	}
}
