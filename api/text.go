package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"github.com/krslab/krslab/experiment"
)

// Bad bytes in a request: the API's half of experiment.CheckText. A path or query value
// and every string of a JSON body must be text (valid UTF-8, and for path and query values
// no control characters either) before a handler sees it; the domain checks the decoded
// strings of bodies, which can still carry a NUL ("\u0000") or other control characters.

// maxParamLength bounds a path or query value, far above any key, id or option.
const maxParamLength = 1 << 16

// checkParams refuses a request whose path or query values are not text, naming each
// offending parameter (422): no such value is a key, an id or an option, and PostgreSQL
// would refuse it (22021) as a 500.
func checkParams(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		var p experiment.Problems
		for _, name := range c.ParamNames() {
			if name == "*" {
				continue // no route matched: not found, whatever the path holds
			}
			if msg := checkParam(param(c, name)); msg != "" {
				p.Field(paramField(name), "%s", msg)
			}
		}
		// Most requests (every assignment) have no query: parse and sort one only if there is.
		if c.Request().URL.RawQuery != "" {
			q := c.QueryParams()
			for _, name := range slices.Sorted(maps.Keys(q)) {
				if checkParam(name) != "" {
					p.Field("query", "the name of a query parameter must be valid UTF-8 without control characters")
					continue
				}
				for _, v := range q[name] {
					if msg := checkParam(v); msg != "" {
						p.Field(name, "%s", msg)
						break
					}
				}
			}
		}
		if err := p.Err("invalid path or query parameter"); err != nil {
			return err
		}
		return next(c)
	}
}

// checkParam is the rule for a path or query value: text, and on one line (no tab or line
// break either).
func checkParam(v string) string {
	if msg := experiment.CheckText(v, maxParamLength); !msg.IsZero() {
		return msg.String()
	}
	if strings.ContainsFunc(v, unicode.IsControl) {
		return "must not contain control characters"
	}
	return ""
}

// paramField is the name of a path parameter as the contract spells it.
func paramField(name string) string {
	if name == "customer" {
		return "customer_id"
	}
	return name
}

// textProblems lists every string (value or key) of a JSON body that is not valid UTF-8,
// or that escapes half of a surrogate pair: encoding/json would silently turn either into
// U+FFFD, so that two customer ids that differ only there would become one customer. The
// body has decoded already; most bodies need no more than a scan.
func textProblems(body []byte) []experiment.Detail {
	if utf8.Valid(body) && !hasSurrogateEscape(body) {
		return nil
	}
	type frame struct {
		object  bool
		key     string // object: the current member
		index   int    // array: the current element
		wantKey bool
	}
	var stack []frame
	path := func(frames []frame) []any {
		out := make([]any, 0, len(frames))
		for _, f := range frames {
			if f.object {
				out = append(out, f.key)
			} else {
				out = append(out, f.index)
			}
		}
		return out
	}
	next := func() {
		if top := len(stack) - 1; top >= 0 {
			if stack[top].object {
				stack[top].wantKey = true
			} else {
				stack[top].index++
			}
		}
	}
	var out []experiment.Detail
	dec := json.NewDecoder(bytes.NewReader(body))
	for {
		start := dec.InputOffset()
		tok, err := dec.Token()
		if err != nil {
			break // io.EOF: the body decoded before
		}
		raw := body[start:dec.InputOffset()]
		top := len(stack) - 1
		switch tok {
		case json.Delim('{'), json.Delim('['):
			stack = append(stack, frame{object: tok == json.Delim('{'), wantKey: true})
			continue
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:top]
			next()
			continue
		}
		if top >= 0 && stack[top].object && stack[top].wantKey {
			stack[top].key, stack[top].wantKey = tok.(string), false
			if !validJSONText(raw) {
				out = append(out, fieldDetail(path(stack[:top]), "has a key that is not valid UTF-8"))
			}
			continue
		}
		if !validJSONText(raw) {
			out = append(out, fieldDetail(path(stack), "must be valid UTF-8"))
		}
		next()
	}
	if len(out) == 0 && !utf8.Valid(body) {
		out = append(out, experiment.Detail{Field: "body", Message: "must be valid UTF-8"}) // not reached: bad bytes outside strings do not decode
	}
	return out
}

// validJSONText reports whether raw JSON (a token and the separators before it) is valid
// UTF-8 and escapes no lone half of a surrogate pair.
func validJSONText(raw []byte) bool {
	if !utf8.Valid(raw) {
		return false
	}
	for i := 0; i < len(raw); i++ {
		if raw[i] != '\\' || i+1 >= len(raw) {
			continue
		}
		if raw[i+1] != 'u' {
			i++ // a two-byte escape such as \\ or \"
			continue
		}
		r := hex4(raw, i+2)
		switch {
		case r >= 0xD800 && r < 0xDC00:
			if i+11 < len(raw) && raw[i+6] == '\\' && raw[i+7] == 'u' {
				if lo := hex4(raw, i+8); lo >= 0xDC00 && lo < 0xE000 {
					i += 11
					continue
				}
			}
			return false
		case r >= 0xDC00 && r < 0xE000:
			return false
		}
		i += 5
	}
	return true
}

// hasSurrogateEscape reports whether body may escape a surrogate (\uD800 to \uDFFF).
func hasSurrogateEscape(body []byte) bool {
	for {
		i := bytes.Index(body, []byte(`\u`))
		if i < 0 || i+2 >= len(body) {
			return false
		}
		if c := body[i+2]; c == 'd' || c == 'D' {
			return true
		}
		body = body[i+2:]
	}
}

// hex4 reads the four hex digits at raw[i:], -1 when there are none.
func hex4(raw []byte, i int) int {
	if i+4 > len(raw) {
		return -1
	}
	n, err := strconv.ParseUint(string(raw[i:i+4]), 16, 16)
	if err != nil {
		return -1
	}
	return int(n)
}

// batchLists are the top-level lists of the batch routes, whose items are rows: a problem
// in one is named by row (1-based) and field, as the domain names them. The value is the
// field of an item that is a string itself.
var batchLists = map[string]string{"responses": "", "covariates": "", "customers": "", "customer_ids": "customer_id"}

// fieldDetail names the JSON value at path as the domain names fields: arms[0].name,
// answers.trust, or row 3 and field customer_id in a batch.
func fieldDetail(path []any, msg string) experiment.Detail {
	d := experiment.Detail{Message: msg}
	if len(path) >= 2 {
		if top, ok := path[0].(string); ok {
			if item, batch := batchLists[top]; batch {
				if i, ok := path[1].(int); ok {
					d.Row, path = i+1, path[2:]
					if len(path) == 0 {
						d.Field = item
						return d
					}
				}
			}
		}
	}
	var b bytes.Buffer
	for _, e := range path {
		switch e := e.(type) {
		case int:
			fmt.Fprintf(&b, "[%d]", e)
		case string:
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			b.WriteString(e)
		}
	}
	d.Field = b.String()
	if d.Field == "" && d.Row == 0 {
		d.Field = "body"
	}
	return d
}
