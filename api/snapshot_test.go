package api_test

import (
	"net/http"
	"sync/atomic"
	"testing"
	"time"
)

// TestDeliverablesAnalyseOnce: every deliverable of an unchanged experiment comes from one
// analysis (the report and the timeline plot read the timeline beside it), in both
// languages; a response makes the next one analyse again.
func TestDeliverablesAnalyseOnce(t *testing.T) {
	e := newEnv(t)
	key := "analyse-once"
	deliverablesExperiment(t, e, key)
	var analyses atomic.Int64
	e.svc.ObserveAnalyses(func(string) { analyses.Add(1) })
	base := "/v1/experiments/" + key
	paths := []string{"/results", "/results?lang=nl", "/report.html", "/report.html?lang=nl", "/results.csv",
		"/plots/timeline.png", "/plots/effects.svg", "/plots/trust.png"}
	for _, p := range paths {
		e.must(http.StatusOK, analyst, "GET", base+p, nil)
	}
	if n := analyses.Load(); n != 1 {
		t.Errorf("%d analyses for %d deliverables of unchanged data, want 1", n, len(paths))
	}
	e.must(http.StatusCreated, ingest, "POST", base+"/responses", map[string]any{"response_id": "again", "customer_id": key + "-0001",
		"answered_at": time.Now().Add(-time.Minute).Format(time.RFC3339), "answers": map[string]any{"trust": 1}})
	e.must(http.StatusOK, analyst, "GET", base+"/report.html", nil)
	e.must(http.StatusOK, analyst, "GET", base+"/plots/timeline.png", nil)
	if n := analyses.Load(); n != 2 {
		t.Errorf("%d analyses after a response, want 2", n)
	}
}
