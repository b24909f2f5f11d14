package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/krslab/krslab/api"
	"github.com/krslab/krslab/experiment"
	"github.com/krslab/krslab/experiment/postgres"
	"github.com/krslab/krslab/experiment/postgres/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// env is a running API over the package's test database with one key per role.
type env struct {
	t    *testing.T
	srv  *httptest.Server
	svc  *experiment.Service
	keys map[experiment.Role]string
}

func newEnv(t *testing.T) *env {
	t.Helper()
	store := pgtest.Store(t)
	return newEnvOn(t, store)
}

// newEnvOn starts the API on store; configure, if any, adjusts its configuration.
func newEnvOn(t *testing.T, store *postgres.Store, configure ...func(*api.Config)) *env {
	t.Helper()
	svc := experiment.NewService(store)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	cfg := api.Config{Logger: log, Ready: store, BodyLimit: 4 << 20, Metrics: api.NewMetrics(store.DB().DB)}
	for _, c := range configure {
		c(&cfg)
	}
	srv := httptest.NewServer(api.New(svc, cfg))
	t.Cleanup(srv.Close)
	e := &env{t: t, srv: srv, svc: svc, keys: map[experiment.Role]string{}}
	for _, role := range []experiment.Role{experiment.RoleAdmin, experiment.RoleEditor, experiment.RoleAnalyst, experiment.RoleIngest} {
		secret, _, err := svc.CreateAPIKey(context.Background(), uniqueName(t, string(role)), role)
		if err != nil {
			t.Fatal(err)
		}
		e.keys[role] = secret
	}
	return e
}

var nameSeq int

func uniqueName(t *testing.T, suffix string) string {
	nameSeq++
	name := strings.NewReplacer("/", "-", " ", "-").Replace(t.Name())
	if len(name) > 60 {
		name = name[:60]
	}
	return strings.ToLower(name) + "-" + suffix + "-" + itoa(nameSeq)
}

func itoa(i int) string { b, _ := json.Marshal(i); return string(b) }

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// client keeps connections to the test servers open across the many goroutines of the
// concurrency tests.
var client = &http.Client{Transport: &http.Transport{MaxIdleConns: 256, MaxIdleConnsPerHost: 64}}

// reply is a decoded HTTP answer.
type reply struct {
	Status int
	Body   []byte
	Header http.Header
}

func (r reply) json(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("decode %s: %v", r.Body, err)
	}
}

// errorBody decodes and checks the API.md error shape.
func (r reply) errorBody(t *testing.T) (code string, details []experiment.Detail) {
	t.Helper()
	var body struct {
		Error struct {
			Code    string              `json:"code"`
			Message string              `json:"message"`
			Details []experiment.Detail `json:"details"`
		} `json:"error"`
	}
	dec := json.NewDecoder(bytes.NewReader(r.Body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil || body.Error.Code == "" || body.Error.Message == "" || body.Error.Details == nil {
		t.Fatalf("not the API error shape (%v): %s", err, r.Body)
	}
	return body.Error.Code, body.Error.Details
}

func (e *env) do(role experiment.Role, method, path, contentType string, body []byte) reply {
	e.t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, bytes.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	if role != "" {
		req.Header.Set("Authorization", "Bearer "+e.keys[role])
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	res, err := client.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return reply{Status: res.StatusCode, Body: b, Header: res.Header}
}

func (e *env) call(role experiment.Role, method, path string, body any) reply {
	e.t.Helper()
	var b []byte
	ct := ""
	switch v := body.(type) {
	case nil:
	case string:
		b, ct = []byte(v), "application/json"
	default:
		var err error
		if b, err = json.Marshal(v); err != nil {
			e.t.Fatal(err)
		}
		ct = "application/json"
	}
	return e.do(role, method, path, ct, b)
}

// must calls and fails the test unless the status is want.
func (e *env) must(want int, role experiment.Role, method, path string, body any) reply {
	e.t.Helper()
	r := e.call(role, method, path, body)
	if r.Status != want {
		e.t.Fatalf("%s %s: status %d, want %d: %s", method, path, r.Status, want, r.Body)
	}
	return r
}

// createRunning creates and starts an experiment with the given arms (control first).
func (e *env) createRunning(key string, body map[string]any) {
	e.t.Helper()
	body["key"] = key
	e.must(http.StatusCreated, experiment.RoleEditor, "POST", "/v1/experiments", body)
	e.must(http.StatusOK, experiment.RoleEditor, "POST", "/v1/experiments/"+key+"/start", nil)
}

func threeArms() []map[string]any {
	return []map[string]any{
		{"key": "control", "name": "Standard reply", "weight": 2, "control": true},
		{"key": "callback", "name": "Personal call-back", "weight": 1},
		{"key": "letter", "name": "Personal letter", "weight": 1},
	}
}
