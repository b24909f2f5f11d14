package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/labstack/echo/v4"

	"github.com/krslab/krslab/api"
	"github.com/krslab/krslab/experiment"
	"github.com/krslab/krslab/stats"
)

// These tests need no database: the contract is checked against the routes of the Echo
// application, the role middleware and the JSON the stats package writes.

func loadOpenAPI(t *testing.T) *openapi3.T {
	t.Helper()
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(api.OpenAPI())
	if err != nil {
		t.Fatalf("load openapi.yaml: %v", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("openapi.yaml is not a valid OpenAPI document: %v", err)
	}
	return doc
}

func TestOpenAPIValid(t *testing.T) {
	doc := loadOpenAPI(t)
	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Errorf("openapi version %q, want 3.x", doc.OpenAPI)
	}
	if doc.Info == nil || doc.Info.Description == "" {
		t.Error("info.description is empty")
	}
	if _, ok := doc.Components.SecuritySchemes["bearerAuth"]; !ok {
		t.Error("no bearerAuth security scheme")
	}
}

// quietApp is the real Echo application over a service whose store is never reached by
// the routing tests (a nil store, as New does not touch it).
func quietApp(svc *experiment.Service) *echo.Echo {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	e := api.New(svc, api.Config{Logger: log})
	e.Logger.SetOutput(io.Discard)
	return e
}

var echoParam = regexp.MustCompile(`:([A-Za-z_][A-Za-z0-9_]*)`)

// openAPIPath converts an Echo route path to its OpenAPI form: `\:` is a literal colon,
// :name a path parameter; the route's :customer is documented as {customer_id}.
func openAPIPath(p string) string {
	const colon = "\x00"
	p = strings.ReplaceAll(p, `\:`, colon)
	p = echoParam.ReplaceAllStringFunc(p, func(m string) string {
		name := m[1:]
		if name == "customer" {
			name = "customer_id"
		}
		return "{" + name + "}"
	})
	return strings.ReplaceAll(p, colon, ":")
}

func TestOpenAPIPathConversion(t *testing.T) {
	for in, want := range map[string]string{
		`/v1/experiments/:key/assignments\:batch`:    "/v1/experiments/{key}/assignments:batch",
		"/v1/experiments/:key/assignments/:customer": "/v1/experiments/{key}/assignments/{customer_id}",
		"/v1/customers/:customer":                    "/v1/customers/{customer_id}",
		"/v1/experiments/:key/plots/:file":           "/v1/experiments/{key}/plots/{file}",
		"/healthz":                                   "/healthz",
		"/v1/experiments/:key/report.html":           "/v1/experiments/{key}/report.html",
		`/v1/experiments/:key/responses\:batch`:      "/v1/experiments/{key}/responses:batch",
		"/v1/experiments/:key/results.csv":           "/v1/experiments/{key}/results.csv",
		"/v1/outcomes/:outcome":                      "/v1/outcomes/{outcome}",
		`/v1/experiments/:key/covariates\:batch`:     "/v1/experiments/{key}/covariates:batch",
		"/v1/experiments/:key/assignments.csv":       "/v1/experiments/{key}/assignments.csv",
	} {
		if got := openAPIPath(in); got != want {
			t.Errorf("openAPIPath(%q) = %q, want %q", in, got, want)
		}
	}
}

type routeKey struct{ method, path string }

func (r routeKey) String() string { return r.method + " " + r.path }

// routed lists the application's routes in their OpenAPI form, with the Echo path.
func routed(t *testing.T) map[routeKey]string {
	t.Helper()
	e := quietApp(experiment.NewService(nil))
	out := map[routeKey]string{}
	for _, r := range e.Routes() {
		// Echo adds no routes of its own here; skip its internal markers should a
		// future version register any (RouteNotFound handlers, Any routes).
		if r.Method == echo.RouteNotFound || r.Method == "echo_route_any" {
			continue
		}
		out[routeKey{r.Method, openAPIPath(r.Path)}] = r.Path
	}
	if len(out) == 0 {
		t.Fatal("the application has no routes")
	}
	return out
}

func documented(doc *openapi3.T) map[routeKey]*openapi3.Operation {
	out := map[routeKey]*openapi3.Operation{}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			out[routeKey{method, path}] = op
		}
	}
	return out
}

func sortedKeys[V any](m map[routeKey]V) []routeKey {
	keys := make([]routeKey, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i].String() < keys[j].String() })
	return keys
}

func TestOpenAPICoversEveryRoute(t *testing.T) {
	doc := loadOpenAPI(t)
	routes := routed(t)
	ops := documented(doc)
	for _, k := range sortedKeys(routes) {
		if _, ok := ops[k]; !ok {
			t.Errorf("route %s (Echo path %s) is not documented in openapi.yaml", k, routes[k])
		}
	}
	for _, k := range sortedKeys(ops) {
		if _, ok := routes[k]; !ok {
			t.Errorf("openapi.yaml documents %s, which is not routed", k)
		}
	}
}

// effectiveSecurity is the operation's security, or the document's when it sets none.
func effectiveSecurity(doc *openapi3.T, op *openapi3.Operation) openapi3.SecurityRequirements {
	if op.Security != nil {
		return *op.Security
	}
	return doc.Security
}

func TestOpenAPISecurity(t *testing.T) {
	doc := loadOpenAPI(t)
	ops := documented(doc)
	for _, k := range sortedKeys(ops) {
		op := ops[k]
		sec := effectiveSecurity(doc, op)
		if !strings.HasPrefix(k.path, "/v1/") {
			if len(sec) != 0 {
				t.Errorf("%s needs no API key but the document requires security %v", k, sec)
			}
			continue
		}
		hasBearer := false
		for _, req := range sec {
			if _, ok := req["bearerAuth"]; ok {
				hasBearer = true
			}
		}
		if !hasBearer {
			t.Errorf("%s: no bearerAuth security", k)
		}
		for _, status := range []string{"401", "403"} {
			if op.Responses.Value(status) == nil {
				t.Errorf("%s: no %s response", k, status)
			}
		}
		if op.OperationID == "" || op.Summary == "" {
			t.Errorf("%s: operationId and summary are required", k)
		}
		if !strings.Contains(op.Description, "Roles:") {
			t.Errorf("%s: the description does not name the allowed roles (\"Roles: ...\")", k)
		}
	}
}

// rolesStore is a Store with API keys only: every other method panics (the embedded nil
// interface), which the Recover middleware turns into a 500, after the role check passed.
type rolesStore struct {
	experiment.Store
	keys []experiment.APIKey
}

func (s rolesStore) APIKeys(context.Context) ([]experiment.APIKey, error) { return s.keys, nil }

var allRoles = []experiment.Role{experiment.RoleAdmin, experiment.RoleEditor, experiment.RoleAnalyst, experiment.RoleIngest}

// TestOpenAPIRoles checks the roles each /v1 operation documents (x-roles and the
// "Roles:" line of its description) against what the role middleware really allows.
func TestOpenAPIRoles(t *testing.T) {
	doc := loadOpenAPI(t)
	store := rolesStore{}
	secrets := map[experiment.Role]string{}
	for _, role := range allRoles {
		secret := "krs_openapi-test-" + string(role)
		secrets[role] = secret
		store.keys = append(store.keys, experiment.APIKey{Name: "openapi-" + string(role), Role: role, Hash: experiment.HashSecret(secret)})
	}
	app := quietApp(experiment.NewService(store))

	params := map[string]string{"key": "exp", "customer_id": "cust-1", "outcome": "trust", "file": "effects.png"}
	ops := documented(doc)
	for _, k := range sortedKeys(ops) {
		if !strings.HasPrefix(k.path, "/v1/") {
			continue
		}
		op := ops[k]
		var documentedRoles []string
		if raw, ok := op.Extensions["x-roles"]; !ok {
			t.Errorf("%s: no x-roles", k)
			continue
		} else if err := remarshal(raw, &documentedRoles); err != nil {
			t.Errorf("%s: x-roles: %v", k, err)
			continue
		}
		if want := "Roles: " + strings.Join(documentedRoles, ", ") + "."; !strings.Contains(op.Description, want) {
			t.Errorf("%s: description lacks %q (matching x-roles)", k, want)
		}
		path := k.path
		for name, v := range params {
			path = strings.ReplaceAll(path, "{"+name+"}", v)
		}
		var allowed []string
		for _, role := range allRoles {
			req := httptest.NewRequest(k.method, path, strings.NewReader("{}"))
			req.Header.Set("Authorization", "Bearer "+secrets[role])
			req.Header.Set("Content-Type", "application/json")
			rec := httptest.NewRecorder()
			app.ServeHTTP(rec, req)
			switch rec.Code {
			case http.StatusUnauthorized, http.StatusNotFound, http.StatusMethodNotAllowed:
				t.Fatalf("%s as %s: status %d: %s", k, role, rec.Code, rec.Body)
			case http.StatusForbidden:
			default:
				allowed = append(allowed, string(role))
			}
		}
		if !slices.Equal(allowed, documentedRoles) {
			t.Errorf("%s: documented roles %v, the server allows %v", k, documentedRoles, allowed)
		}
	}
}

func remarshal(in, out any) error {
	b, err := json.Marshal(in)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, out)
}

// TestOpenAPIStatsSchemas validates the JSON of the stats package (arm statistics and
// comparisons of every kind, insufficient data, CUPED, SRM, recommendation) against the
// component schemas /results uses.
func TestOpenAPIStatsSchemas(t *testing.T) {
	doc := loadOpenAPI(t)
	schema := func(name string) *openapi3.Schema {
		ref, ok := doc.Components.Schemas[name]
		if !ok || ref.Value == nil {
			t.Fatalf("no component schema %s", name)
		}
		return ref.Value
	}
	check := func(what, name string, v any) {
		t.Helper()
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		var data any
		if err := json.Unmarshal(b, &data); err != nil {
			t.Fatal(err)
		}
		if err := schema(name).VisitJSON(data, openapi3.MultiErrors()); err != nil {
			t.Errorf("%s does not match %s: %v\n%s", what, name, err, b)
		}
	}

	scaleT := stats.CountsOf([]float64{5, 6, 4, 7, 5, 6, 5, 4, 6, 7, 5, 6, 6}, 1, 7)
	scaleC := stats.CountsOf([]float64{3, 4, 4, 5, 2, 4, 3, 5, 4, 4, 3, 6}, 1, 7)
	netT := stats.CountsOf([]float64{10, 9, 8, 7, 9, 10, 6, 9, 3, 10}, 0, 10)
	netC := stats.CountsOf([]float64{5, 9, 8, 7, 6, 10, 6, 2, 3, 8}, 0, 10)
	binT := stats.CountsOf([]float64{1, 1, 0, 1, 1, 0, 1, 1}, 0, 1)
	binC := stats.CountsOf([]float64{0, 1, 0, 1, 0, 0, 1, 0}, 0, 1)
	numT := stats.MomentsOf([]float64{12.5, 14, 9, 11, 13.5, 10})
	numC := stats.MomentsOf([]float64{10, 11, 8.5, 9, 12, 9.5})
	ys := []float64{5, 6, 4, 7, 5, 6}
	covT := stats.CovariateSumsOf(ys, []float64{4, 5, 4, 6, 5, 5})
	covC := stats.CovariateSumsOf([]float64{3, 4, 4, 5, 2, 4}, []float64{3, 4, 3, 5, 3, 4})
	cupT := stats.CountsOf(ys, 1, 7)
	cupC := stats.CountsOf([]float64{3, 4, 4, 5, 2, 4}, 1, 7)
	one := stats.CountsOf([]float64{4}, 1, 7)
	netOne := stats.CountsOf([]float64{9}, 0, 10)
	binOne := stats.CountsOf([]float64{1}, 0, 1)
	numOne := stats.MomentsOf([]float64{11})
	krsT, krsC := stats.DistinctOf([]float64{12.5, 14, 9, 11, 13.5, 10}), stats.DistinctOf([]float64{10, 11, 8.5, 9, 12, 9.5})

	d := stats.Design{Alpha: 0.05, Correction: stats.CorrectionHolm, Control: "control",
		Arms:      []string{"control", "call", "letter"},
		Weights:   map[string]float64{"control": 1, "call": 1, "letter": 1},
		Assigned:  map[string]int64{"control": 40, "call": 41, "letter": 5},
		Responded: map[string]int64{"control": 12, "call": 25, "letter": 1},
		Primary:   "trust", Guardrails: []string{"nps", "callback_wanted"},
		Margins: map[string]float64{"nps": 10, "callback_wanted": 0.1}, Stopped: true}
	outcomes := []stats.Outcome{
		{Key: "trust", Kind: stats.KindScale, Min: 1, Max: 7, HigherIsBetter: true,
			Arms: map[string]stats.ArmData{"control": {Counts: &scaleC}, "call": {Counts: &scaleT}, "letter": {Counts: &one}}},
		{Key: "love", Kind: stats.KindScale, Min: 1, Max: 7, HigherIsBetter: true,
			Arms: map[string]stats.ArmData{"control": {Counts: &cupC, Cov: &covC}, "call": {Counts: &cupT, Cov: &covT}, "letter": {Counts: &one}}},
		{Key: "nps", Kind: stats.KindNet, Min: 0, Max: 10, TopMin: 9, BottomMax: 6, HigherIsBetter: true,
			Arms: map[string]stats.ArmData{"control": {Counts: &netC}, "call": {Counts: &netT}, "letter": {Counts: &netOne}}},
		{Key: "callback_wanted", Kind: stats.KindBinary, Min: 0, Max: 1, HigherIsBetter: true,
			Arms: map[string]stats.ArmData{"control": {Counts: &binC}, "call": {Counts: &binT}, "letter": {Counts: &binOne}}},
		{Key: "minutes", Kind: stats.KindNumeric, HigherIsBetter: false,
			Arms: map[string]stats.ArmData{"control": {Moments: numC}, "call": {Moments: numT}, "letter": {Moments: numOne}}},
		{Key: "krs", Kind: stats.KindComposite, Min: 0, Max: 100, HigherIsBetter: true,
			Arms: map[string]stats.ArmData{"control": {Moments: numC, Distinct: &krsC}, "call": {Moments: numT, Distinct: &krsT}}},
	}
	a := stats.Analyze(d, outcomes)
	for _, o := range a.Outcomes {
		for arm, s := range o.Arms {
			check(fmt.Sprintf("%s arm %s (%s)", o.Key, arm, o.Kind), "ArmStats", s)
		}
		for arm, c := range o.Comparisons {
			check(fmt.Sprintf("%s comparison %s (%s, %s)", o.Key, arm, o.Kind, c.Verdict), "Comparison", c)
		}
	}
	check("srm", "SRM", a.SRM)
	check("response check", "ResponseCheck", a.ResponseCheck)
	check("response check without data", "ResponseCheck", stats.ResponseCheckTest([]int64{0, 0}, []int64{0, 0}, 0.05))
	check("recommendation", "Recommendation", a.Recommendation)
	check("recommendation (nl)", "Recommendation", a.Recommendation.In("nl"))
	check("srm without data", "SRM", stats.SRMTest([]int64{0, 0}, []float64{1, 1}))

	// The fixtures above must reach the variants they are meant to cover.
	love, _ := a.Outcome("love")
	if love.Comparisons["call"].CUPED == nil {
		t.Error("fixture: no CUPED comparison")
	}
	// The survey-aware blocks, each with a value somewhere.
	var bounds, ordinal, ni bool
	for _, o := range a.Outcomes {
		c := o.Comparisons["call"]
		bounds, ordinal, ni = bounds || c.Bounds != nil, ordinal || c.Ordinal != nil, ni || c.NonInferiority != nil
	}
	if !bounds || !ordinal || !ni || !a.ResponseCheck.Differential {
		t.Errorf("fixture: bounds %v, ordinal %v, non_inferiority %v, differential response %v", bounds, ordinal, ni, a.ResponseCheck.Differential)
	}
	// Every kind has an insufficient comparison (letter: one answer), with covariates too.
	for _, o := range a.Outcomes {
		if c, ok := o.Comparisons["letter"]; !ok || c.Sufficient() {
			t.Errorf("fixture: no insufficient %s comparison", o.Key)
		}
	}
	if len(a.Outcomes) != len(outcomes) {
		t.Errorf("fixture: %d outcomes analysed", len(a.Outcomes))
	}
}
