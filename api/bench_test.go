package api_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/krslab/krslab/api"
	"github.com/krslab/krslab/experiment"
	"github.com/krslab/krslab/experiment/postgres/pgtest"
)

// BenchmarkRepeatAssignment is the server's own work for the request a running experiment
// gets most: a customer asked for again, answered from the sticky cache. It goes through
// the whole middleware chain and handler, with the JSON request log of `krslab serve`
// (written to io.Discard), but without a network: the kernel's and the load generator's
// share are what `krslab bench assign` measures. Run with
//
//	.ci/with-postgres go test -run '^$' -bench RepeatAssignment -benchmem ./api/
func BenchmarkRepeatAssignment(b *testing.B) {
	store := pgtest.Store(b)
	svc := experiment.NewService(store)
	h := api.New(svc, api.Config{Logger: slog.New(slog.NewJSONHandler(io.Discard, nil)), Ready: store,
		Metrics: api.NewMetrics(store.DB().DB)})
	nameSeq++ // -count runs this again in the same database
	key := "bench-repeat-" + itoa(nameSeq)
	secret, _, err := svc.CreateAPIKey(context.Background(), key, experiment.RoleAdmin)
	if err != nil {
		b.Fatal(err)
	}
	serve := func(method, path, body string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(method, path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+secret)
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}
	must := func(want int, method, path, body string) {
		if rec := serve(method, path, body); rec.Code != want {
			b.Fatalf("%s %s: %d, want %d: %s", method, path, rec.Code, want, rec.Body)
		}
	}
	must(http.StatusCreated, "POST", "/v1/experiments",
		`{"key":"`+key+`","arms":[{"key":"control","weight":1,"control":true},{"key":"callback","weight":1}]}`)
	must(http.StatusOK, "POST", "/v1/experiments/"+key+"/start", "")
	path, body := "/v1/experiments/"+key+"/assignments", `{"customer_id":"w0-000000000001"}`
	must(http.StatusOK, "POST", path, body)
	for b.Loop() {
		if rec := serve("POST", path, body); rec.Code != http.StatusOK || strings.Contains(rec.Body.String(), `"new":true`) {
			b.Fatalf("repeat: %d %s", rec.Code, rec.Body)
		}
	}
}
