package api_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/krslab/krslab/experiment"
)

// Bad bytes: a NUL and invalid UTF-8 (0xff 0xfe) in every string field of every JSON body,
// every path parameter and every query parameter that openapi.yaml documents, and in every
// cell of its CSV examples, sent to the real API over the real database. Each must be
// refused as the request's fault (4xx, never 5xx), and a 422 must name the field (or the
// row and field of a batch, or the parameter).

// badValue is one way of sending bytes that are not text.
type badValue struct {
	name string
	json string // replaces the marker inside a JSON string (the body's raw bytes)
	url  string // a path segment or query value, percent-encoded
	raw  string // a CSV cell's bytes
}

var badValues = []badValue{
	{name: "NUL", json: `\u0000`, url: "%00", raw: "\x00"},
	{name: "invalid UTF-8", json: "\xff\xfe", url: "%FF%FE", raw: "\xff\xfe"},
}

// marker stands in a JSON body for the bad bytes until the body is encoded.
const marker = "@@bad@@"

func (b badValue) body(v any) []byte {
	raw, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return bytes.ReplaceAll(raw, []byte(marker), []byte(b.json))
}

// operation is one documented operation with what the sweep needs of it.
type operation struct {
	method, path, id string
	params           []*openapi3.Parameter // path and query, the path item's and the operation's
	jsonSchema       *openapi3.Schema
	jsonExamples     []any // the example, or every named one in name order
	csvExample       string
}

func operations(t *testing.T, doc *openapi3.T) []operation {
	t.Helper()
	var out []operation
	for _, path := range slices.Sorted(maps.Keys(doc.Paths.Map())) {
		item := doc.Paths.Value(path)
		for _, method := range slices.Sorted(maps.Keys(item.Operations())) {
			op := item.Operations()[method]
			o := operation{method: method, path: path, id: op.OperationID}
			for _, p := range append(slices.Clone(item.Parameters), op.Parameters...) {
				if p.Value.In == "path" || p.Value.In == "query" {
					o.params = append(o.params, p.Value)
				}
			}
			if rb := op.RequestBody; rb != nil && rb.Value != nil {
				if mt := rb.Value.Content.Get("application/json"); mt != nil {
					o.jsonSchema, o.jsonExamples = mt.Schema.Value, examples(mt)
				}
				if mt := rb.Value.Content.Get("text/csv"); mt != nil {
					if ex := examples(mt); len(ex) > 0 {
						o.csvExample, _ = ex[0].(string)
					}
				}
			}
			out = append(out, o)
		}
	}
	return out
}

// examples are a media type's example, or its named examples in name order.
func examples(mt *openapi3.MediaType) []any {
	if mt.Example != nil {
		return []any{mt.Example}
	}
	var out []any
	for _, name := range slices.Sorted(maps.Keys(mt.Examples)) {
		if ex := mt.Examples[name]; ex.Value != nil {
			out = append(out, ex.Value.Value)
		}
	}
	return out
}

// mapKey stands in a path for the key of a map (additionalProperties).
type mapKey struct{}

// stringPaths lists the paths of every string a value of schema s may hold: property names,
// 0 for an array's item, mapKey{} then "" for a map's keys and one of its values.
func stringPaths(s *openapi3.Schema, prefix []any, depth int) [][]any {
	if s == nil || depth > 8 {
		return nil
	}
	var out [][]any
	add := func(p [][]any) {
		for _, x := range p {
			if !slices.ContainsFunc(out, func(y []any) bool { return fmt.Sprint(x) == fmt.Sprint(y) }) {
				out = append(out, x)
			}
		}
	}
	for _, sub := range slices.Concat(s.AllOf, s.OneOf, s.AnyOf) {
		add(stringPaths(sub.Value, prefix, depth+1))
	}
	switch {
	case s.Type.Is("string"):
		add([][]any{slices.Clone(prefix)})
	case s.Type.Is("array") && s.Items != nil:
		add(stringPaths(s.Items.Value, append(slices.Clone(prefix), 0), depth+1))
	case s.Type.Is("object"):
		for _, name := range slices.Sorted(maps.Keys(s.Properties)) {
			add(stringPaths(s.Properties[name].Value, append(slices.Clone(prefix), name), depth+1))
		}
		if ap := s.AdditionalProperties.Schema; ap != nil {
			add([][]any{append(slices.Clone(prefix), mapKey{})})
			add(stringPaths(ap.Value, append(slices.Clone(prefix), ""), depth+1))
		}
	}
	return out
}

// resolve replaces each "" of path (any value of a map) by the key the sweep uses: the
// map's first key in v, or "channel" (an attribute name) where v has none.
func resolve(v any, path []any) []any {
	out := slices.Clone(path)
	for i, step := range out {
		switch step := step.(type) {
		case int:
			list, _ := v.([]any)
			v = nil
			if step < len(list) {
				v = list[step]
			}
		case string:
			m, _ := v.(map[string]any)
			if step == "" {
				out[i] = "channel"
				if len(m) > 0 {
					out[i] = slices.Sorted(maps.Keys(m))[0]
				}
			}
			v = m[out[i].(string)]
		}
	}
	return out
}

// inject returns a copy of v with bad bytes (the marker) in the string at path, building
// what is missing on the way: in the middle of the string v holds there, so that only the
// bad bytes are wrong with it (an id stays an id, a URL a URL), else as "x<bad>y". At a
// mapKey{} step it adds the key "x<bad>y" with a copy of the map's first value (or "x").
func inject(v any, path []any) any {
	if len(path) == 0 {
		if s, ok := v.(string); ok && s != "" {
			return s[:len(s)/2] + marker + s[len(s)/2:]
		}
		return "x" + marker + "y"
	}
	switch step := path[0].(type) {
	case int:
		list, _ := deepCopy(v).([]any)
		if len(list) == 0 {
			list = []any{nil}
		}
		list[step] = inject(list[step], path[1:])
		return list
	case string, mapKey:
		m, _ := deepCopy(v).(map[string]any)
		if m == nil {
			m = map[string]any{}
		}
		if _, ok := step.(mapKey); ok {
			var first any = "x"
			if keys := slices.Sorted(maps.Keys(m)); len(keys) > 0 {
				first = m[keys[0]]
			}
			m["x"+marker+"y"] = first
			return m
		}
		m[step.(string)] = inject(m[step.(string)], path[1:])
		return m
	}
	panic(fmt.Sprintf("bad path step %v", path[0]))
}

// exampleFor picks the example that has the path's first field (so that a list of
// components goes to a composite outcome), else the first.
func exampleFor(op operation, path []any) any {
	for _, ex := range op.jsonExamples {
		if m, ok := ex.(map[string]any); ok {
			if _, has := m[path[0].(string)]; has {
				return ex
			}
		}
	}
	return op.jsonExamples[0]
}

func deepCopy(v any) any {
	if v == nil {
		return nil
	}
	b, _ := json.Marshal(v)
	var out any
	_ = json.Unmarshal(b, &out)
	return out
}

// want is where a refusal must point: a field (a prefix of it for a map's keys), in a row
// of a batch.
type want struct {
	row    int
	field  string
	prefix bool
	csv    bool // the bulk import names a row's field at the start of its message
}

// batchLists are the top-level lists whose items are rows of a batch.
var batchLists = map[string]string{"responses": "", "covariates": "", "customers": "", "customer_ids": "customer_id"}

func wantFor(path []any) want {
	var w want
	if top, ok := path[0].(string); ok && len(path) >= 2 {
		if item, batch := batchLists[top]; batch {
			w.row, path = path[1].(int)+1, path[2:]
			if len(path) == 0 {
				w.field = item
				return w
			}
		}
	}
	var b strings.Builder
	for _, step := range path {
		switch step := step.(type) {
		case int:
			fmt.Fprintf(&b, "[%d]", step)
		case mapKey:
			w.prefix = true
		case string:
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			b.WriteString(step)
		}
	}
	w.field = b.String()
	return w
}

func (w want) String() string {
	s := w.field
	if w.prefix {
		s += "(.*)"
	}
	if w.row > 0 {
		s = fmt.Sprintf("row %d, %s", w.row, s)
	}
	return s
}

func (w want) in(details []experiment.Detail) bool {
	return slices.ContainsFunc(details, func(d experiment.Detail) bool {
		if d.Row != w.row {
			return false
		}
		if w.csv && d.Field == "" && strings.HasPrefix(d.Message, w.field+": ") {
			return true
		}
		return d.Field == w.field || w.prefix && strings.HasPrefix(d.Field, w.field+".")
	})
}

// fixture is what an operation needs to succeed: its path parameters' values.
type fixture map[string]string

// sweepCustomers are the customers of the bodies' examples.
var sweepCustomers = []string{"cust-000123", "cust-000124", "cust-000125"}

// fixtureFor makes what op needs in a fresh experiment: a draft for the operations of a
// draft, a stopped experiment for a decision, an open alert for the alert operations, else
// a running experiment with the examples' customers assigned.
func (e *env) fixtureFor(op operation) fixture {
	e.t.Helper()
	key := uniqueName(e.t, "bad-bytes")
	f := fixture{"key": key, "customer_id": sweepCustomers[0], "outcome": "trust", "file": "effects.png"}
	e.must(http.StatusCreated, experiment.RoleEditor, "POST", "/v1/experiments", map[string]any{"key": key,
		"arms": []map[string]any{{"key": "control", "control": true}, {"key": "callback"}}})
	switch op.id {
	case "patchExperiment", "startExperiment":
		return f
	}
	e.must(http.StatusOK, experiment.RoleEditor, "POST", "/v1/experiments/"+key+"/start", nil)
	e.must(http.StatusOK, experiment.RoleIngest, "POST", "/v1/experiments/"+key+"/assignments:batch",
		map[string]any{"customer_ids": sweepCustomers})
	switch op.id {
	case "decideExperiment":
		e.must(http.StatusOK, experiment.RoleEditor, "POST", "/v1/experiments/"+key+"/stop", nil)
	case "getAlert", "resolveAlert":
		e.must(http.StatusOK, experiment.RoleEditor, "PUT", "/v1/experiments/"+key+"/alert-rules",
			map[string]any{"rules": []map[string]any{{"outcome": "nps", "op": "<=", "value": 6}}})
		e.must(http.StatusCreated, experiment.RoleIngest, "POST", "/v1/experiments/"+key+"/responses", map[string]any{
			"response_id": "alerting", "customer_id": sweepCustomers[0], "answered_at": "2026-03-02T09:14:00Z",
			"answers": map[string]any{"nps": 3}})
		var list struct {
			Alerts []struct{ ID int64 } `json:"alerts"`
		}
		e.must(http.StatusOK, experiment.RoleAnalyst, "GET", "/v1/alerts?experiment="+key, nil).json(e.t, &list)
		if len(list.Alerts) != 1 {
			e.t.Fatalf("fixture: %d alerts", len(list.Alerts))
		}
		f["id"] = itoa(int(list.Alerts[0].ID))
	}
	return f
}

// url is op's path with f's values and a value for each required query parameter (the
// one there is: segment); the parameter named bad has the value escaped instead.
func (f fixture) url(op operation, bad, escaped string) string {
	path := op.path
	var query []string
	for _, p := range op.params {
		switch {
		case p.In == "path":
			v := url.PathEscape(f[p.Name])
			if p.Name == bad {
				v = escaped
			}
			path = strings.ReplaceAll(path, "{"+p.Name+"}", v)
		case p.Name == bad:
			query = append(query, p.Name+"="+escaped)
		case p.Required:
			query = append(query, p.Name+"=channel")
		}
	}
	if len(query) > 0 {
		path += "?" + strings.Join(query, "&")
	}
	return path
}

// unique makes an example's key new where the operation creates the keyed thing.
func unique(t *testing.T, op operation, example any) any {
	body := deepCopy(example)
	if m, ok := body.(map[string]any); ok && (op.id == "createExperiment" || op.id == "createOutcome") {
		m["key"] = strings.ReplaceAll(uniqueName(t, "new"), "-", "_")
	}
	return body
}

// refused checks that r refuses bad input as the request's fault and, for a 422, names w.
func refused(t *testing.T, what string, r reply, w want, allowed ...int) {
	t.Helper()
	if r.Status < 400 || r.Status >= 500 {
		t.Errorf("%s: status %d, want a refusal (4xx): %s", what, r.Status, r.Body)
		return
	}
	code, details := r.errorBody(t)
	if r.Status == http.StatusUnprocessableEntity {
		if code != "invalid" || !w.in(details) {
			t.Errorf("%s: 422 %s %+v does not name %s", what, code, details, w)
		}
		return
	}
	if !slices.Contains(allowed, r.Status) {
		t.Errorf("%s: status %d, want 422 naming %s: %s", what, r.Status, w, r.Body)
	}
}

func TestBadBytesAreRefused(t *testing.T) {
	doc := loadOpenAPI(t)
	e := newEnv(t)
	ops := operations(t, doc)
	if len(ops) < 30 {
		t.Fatalf("only %d operations documented", len(ops))
	}
	cases := 0

	t.Run("parameters", func(t *testing.T) {
		e := *e
		e.t = t
		fixtures := map[string]fixture{}
		for _, op := range ops {
			if !strings.HasPrefix(op.path, "/v1/") || len(op.params) == 0 {
				continue
			}
			f, ok := fixtures[op.id]
			if !ok {
				f = e.fixtureFor(op)
				fixtures[op.id] = f
			}
			var body []byte
			ct := ""
			if len(op.jsonExamples) > 0 {
				body, ct = mustJSON(t, unique(t, op, op.jsonExamples[0])), "application/json"
			} else if op.csvExample != "" {
				body, ct = []byte(op.csvExample), "text/csv"
			}
			for _, p := range op.params {
				for _, bad := range badValues {
					what := fmt.Sprintf("%s %s, %s parameter %s with %s", op.method, op.path, p.In, p.Name, bad.name)
					target := f.url(op, p.Name, "x"+bad.url+"y")
					r := e.do(experiment.RoleAdmin, op.method, target, ct, body)
					refused(t, what, r, want{field: p.Name})
					cases++
				}
			}
		}
	})

	t.Run("json", func(t *testing.T) {
		e := *e
		e.t = t
		for _, op := range ops {
			if op.jsonSchema == nil || len(op.jsonExamples) == 0 {
				continue
			}
			paths := stringPaths(op.jsonSchema, nil, 0)
			if len(paths) == 0 {
				continue // an empty action
			}
			// Every example succeeds on a fixture of its own: what the sweep refuses, it
			// refuses for the bad bytes.
			for _, ex := range op.jsonExamples {
				base := e.fixtureFor(op)
				if r := e.do(experiment.RoleAdmin, op.method, base.url(op, "", ""), "application/json", mustJSON(t, unique(t, op, ex))); r.Status >= 300 {
					t.Fatalf("%s %s: the example fails: %d %s", op.method, op.path, r.Status, r.Body)
				}
			}
			f := e.fixtureFor(op)
			for _, path := range paths {
				ex := unique(t, op, exampleFor(op, path))
				path = resolve(ex, path)
				w := wantFor(path)
				for _, bad := range badValues {
					body := bad.body(inject(ex, path))
					what := fmt.Sprintf("%s %s, %s with %s: %s", op.method, op.path, w, bad.name, body)
					r := e.do(experiment.RoleAdmin, op.method, f.url(op, "", ""), "application/json", body)
					refused(t, what, r, w)
					cases++
				}
			}
		}
	})

	t.Run("csv", func(t *testing.T) {
		e := *e
		e.t = t
		for _, op := range ops {
			if op.csvExample == "" {
				continue
			}
			lines := strings.Split(strings.TrimSpace(op.csvExample), "\n")
			base := e.fixtureFor(op)
			if r := e.do(experiment.RoleAdmin, op.method, base.url(op, "", ""), "text/csv", []byte(op.csvExample)); r.Status >= 300 {
				t.Fatalf("%s %s: the CSV example fails: %d %s", op.method, op.path, r.Status, r.Body)
			}
			f := e.fixtureFor(op)
			for row, line := range lines {
				cells := strings.Split(line, ",")
				for col := range cells {
					for _, bad := range badValues {
						changed := slices.Clone(cells)
						changed[col] = changed[col][:len(changed[col])/2] + bad.raw + changed[col][len(changed[col])/2:]
						out := slices.Clone(lines)
						out[row] = strings.Join(changed, ",")
						what := fmt.Sprintf("%s %s, CSV row %d column %d with %s", op.method, op.path, row, col+1, bad.name)
						r := e.do(experiment.RoleAdmin, op.method, f.url(op, "", ""), "text/csv", []byte(strings.Join(out, "\n")+"\n"))
						if row == 0 {
							refused(t, what, r, want{field: "header"}, http.StatusBadRequest)
						} else {
							refused(t, what, r, want{row: row, field: csvField(lines[0], col), csv: true}, http.StatusBadRequest)
						}
						cases++
					}
				}
			}
		}
	})
	t.Logf("%d bad requests sent", cases)
}

// csvField is how a refusal names column col of a CSV with this header: answers.<key> for
// an outcome column of responses, else the column's name.
func csvField(header string, col int) string {
	names := strings.Split(header, ",")
	if names[0] == "response_id" && col >= 3 {
		return "answers." + names[col]
	}
	return names[col]
}
