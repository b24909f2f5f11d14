package api_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/krslab/krslab/api"
	"github.com/krslab/krslab/api/internal/race"
	"github.com/krslab/krslab/experiment/postgres/pgtest"
)

// TestConcurrentReadersNeverFail has 16 readers ask for results, plots, the CSV and the report
// of a three-arm experiment at once: every answer is 200 (reads record sequential looks, and
// must never deadlock or fail one another). KRSLAB_READERS_SECONDS sets how long (default 3).
// The server draws with its default limits, but under the race detector, which slows drawing
// about tenfold, figures may wait longer for a slot.
func TestConcurrentReadersNeverFail(t *testing.T) {
	var configure []func(*api.Config)
	if race.Enabled {
		configure = append(configure, func(c *api.Config) { c.Renders = api.NewRenderLimit(0, 10*time.Minute) })
	}
	e := newEnvOn(t, pgtest.Store(t), configure...)
	key := "readers"
	deliverablesExperiment(t, e, key)
	seconds := 3.0
	if v := os.Getenv("KRSLAB_READERS_SECONDS"); v != "" {
		var err error
		if seconds, err = strconv.ParseFloat(v, 64); err != nil {
			t.Fatal(err)
		}
	}
	base := "/v1/experiments/" + key
	paths := []string{base + "/results", base + "/results?lang=nl", base + "/plots/effects.png", base + "/plots/timeline.svg",
		base + "/plots/nps.png", base + "/results.csv", base + "/report.html"}
	deadline := time.Now().Add(time.Duration(seconds * float64(time.Second)))
	var (
		mu       sync.Mutex
		answers  = map[string]map[int]int{}
		failures []string
		wg       sync.WaitGroup
	)
	for g := range 16 {
		wg.Go(func() {
			for i := g; time.Now().Before(deadline); i++ {
				path := paths[i%len(paths)]
				req, err := http.NewRequest("GET", e.srv.URL+path, nil)
				if err != nil {
					t.Error(err)
					return
				}
				req.Header.Set("Authorization", "Bearer "+e.keys[analyst])
				res, err := client.Do(req)
				if err != nil {
					t.Error(err)
					return
				}
				body, _ := io.ReadAll(res.Body)
				res.Body.Close()
				mu.Lock()
				if answers[path] == nil {
					answers[path] = map[int]int{}
				}
				answers[path][res.StatusCode]++
				if res.StatusCode != http.StatusOK && len(failures) < 5 {
					failures = append(failures, fmt.Sprintf("%s: %d %s", path, res.StatusCode, bytes.TrimSpace(body)))
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	for _, f := range failures {
		t.Error(f)
	}
	t.Logf("16 readers for %gs: %v", seconds, answers)
}

// TestExperimentETags: GET and every change answer the version as the ETag; a PATCH with a
// stale If-Match is 412 and changes nothing, one with the current ETag (or *) applies.
func TestExperimentETags(t *testing.T) {
	e := newEnv(t)
	key := "etags"
	created := e.must(http.StatusCreated, editor, "POST", "/v1/experiments", map[string]any{"key": key, "arms": threeArms()})
	got := e.must(http.StatusOK, analyst, "GET", "/v1/experiments/"+key, nil)
	tag := got.Header.Get("ETag")
	if tag == "" || tag != created.Header.Get("ETag") {
		t.Fatalf("ETag %q after create %q", tag, created.Header.Get("ETag"))
	}
	patch := func(ifMatch string, body map[string]any) reply {
		t.Helper()
		req, err := http.NewRequest("PATCH", e.srv.URL+"/v1/experiments/"+key, bytes.NewReader(mustJSON(t, body)))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+e.keys[editor])
		req.Header.Set("Content-Type", "application/json")
		if ifMatch != "" {
			req.Header.Set("If-Match", ifMatch)
		}
		res, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return reply{Status: res.StatusCode, Body: b, Header: res.Header}
	}
	first := patch(tag, map[string]any{"name": "first"})
	if first.Status != http.StatusOK || first.Header.Get("ETag") == tag {
		t.Fatalf("patch with the current ETag: %d %s, ETag %q", first.Status, first.Body, first.Header.Get("ETag"))
	}
	for _, stale := range []string{tag, `W/` + tag, `"999"`, `nonsense`} {
		r := patch(stale, map[string]any{"hypothesis": "lost"})
		if code, _ := r.errorBody(t); r.Status != http.StatusPreconditionFailed || code != "precondition_failed" {
			t.Errorf("If-Match %s: %d %s", stale, r.Status, r.Body)
		}
	}
	if r := patch(`"1", "2"`, map[string]any{"hypothesis": "lost"}); r.Status != http.StatusUnprocessableEntity {
		t.Errorf("If-Match with a list: %d %s", r.Status, r.Body)
	}
	var now struct {
		Name, Hypothesis string
		Version          int64
	}
	e.must(http.StatusOK, analyst, "GET", "/v1/experiments/"+key, nil).json(t, &now)
	if now.Name != "first" || now.Hypothesis == "lost" {
		t.Errorf("after refused patches: %+v", now)
	}
	if r := patch("*", map[string]any{"hypothesis": "any version"}); r.Status != http.StatusOK {
		t.Errorf("If-Match *: %d %s", r.Status, r.Body)
	}
	started := e.must(http.StatusOK, editor, "POST", "/v1/experiments/"+key+"/start", nil)
	if started.Header.Get("ETag") != `"`+strconv.FormatInt(now.Version+2, 10)+`"` {
		t.Errorf("start answered ETag %q, want version %d", started.Header.Get("ETag"), now.Version+2)
	}
}
