package api_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/krslab/krslab/api"
	"github.com/krslab/krslab/experiment"
	"github.com/krslab/krslab/experiment/postgres/pgtest"
)

// TestPlotPixelBudget refuses a PNG of more than plot.MaxPixels (width × height × scale²)
// before anything is drawn, naming the parameter to lower; an SVG, which has no pixels to
// pay for, keeps the size bounds only.
func TestPlotPixelBudget(t *testing.T) {
	e := newEnv(t)
	key := "pixel-budget"
	e.createRunning(key, map[string]any{"arms": threeArms()})
	base := "/v1/experiments/" + key
	for _, tt := range []struct {
		path   string
		fields []string
	}{
		{"/plots/effects.png?width=4000&height=4000&scale=3", []string{"width", "height"}},
		{"/plots/effects.png?width=4000&height=4000", []string{"width", "height"}},
		{"/plots/timeline.png?scale=3", []string{"scale"}},
		{"/plots/trust.png?width=2000&height=2000&scale=2", []string{"scale"}},
		{"/plots/segments.png?segment=channel&width=4000&height=4000&scale=3", []string{"width", "height"}},
	} {
		r := e.call(analyst, "GET", base+tt.path, nil)
		if r.Status != http.StatusUnprocessableEntity {
			t.Errorf("%s: %d %s, want 422 naming %v", tt.path, r.Status, r.Header.Get("Content-Type"), tt.fields)
			continue
		}
		code, details := r.errorBody(t)
		var fields []string
		for _, d := range details {
			fields = append(fields, d.Field)
			if !strings.Contains(d.Message, "4000000 pixels") {
				t.Errorf("%s: %s: %q does not state the budget", tt.path, d.Field, d.Message)
			}
		}
		if code != "invalid" || strings.Join(fields, ",") != strings.Join(tt.fields, ",") {
			t.Errorf("%s: %s, want 422 naming %v", tt.path, r.Body, tt.fields)
		}
	}
	for _, path := range []string{"/plots/effects.svg?width=4000&height=4000&scale=3", "/plots/effects.png?width=2000&height=2000", "/plots/effects.png?scale=2"} {
		e.must(http.StatusOK, analyst, "GET", base+path, nil)
	}
}

// TestRendersBeyondTheLimitAreBusy holds the only render slot and asks every route that
// draws: each waits its short wait and is answered 503 with Retry-After, while routes that
// draw nothing are served; once the slot is free, they are all served.
func TestRendersBeyondTheLimitAreBusy(t *testing.T) {
	limit := api.NewRenderLimit(1, 20*time.Millisecond)
	e := newEnvOn(t, pgtest.Store(t), func(c *api.Config) { c.Renders = limit })
	key := "busy-renders"
	deliverablesExperiment(t, e, key)
	var customers []map[string]any
	for i := range 900 {
		customers = append(customers, map[string]any{"customer_id": fmt.Sprintf("%s-%04d", key, i),
			"attributes": map[string]string{"channel": []string{"phone", "email"}[i%2]}})
	}
	e.must(http.StatusOK, ingest, "POST", "/v1/customers:batch", map[string]any{"customers": customers})
	base := "/v1/experiments/" + key
	drawing := []string{"/plots/effects.png", "/plots/effects.svg", "/plots/timeline.png", "/plots/trust.svg",
		"/plots/segments.png?segment=channel", "/plots/segments.svg?segment=channel", "/report.html"}

	release, err := limit.Acquire(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range drawing {
		r := e.call(analyst, "GET", base+path, nil)
		if r.Status != http.StatusServiceUnavailable {
			t.Errorf("%s with the slot taken: %d %s, want 503", path, r.Status, r.Header.Get("Content-Type"))
			continue
		}
		if code, _ := r.errorBody(t); code != "unavailable" || r.Header.Get("Retry-After") != "2" || !strings.Contains(string(r.Body), "figures") {
			t.Errorf("%s with the slot taken: Retry-After %q %s", path, r.Header.Get("Retry-After"), r.Body)
		}
	}
	e.must(http.StatusOK, analyst, "GET", base+"/results.csv", nil)
	e.must(http.StatusOK, analyst, "GET", base+"/results", nil)
	release()

	for _, path := range drawing {
		if r := e.call(analyst, "GET", base+path, nil); r.Status != http.StatusOK || r.Header.Get("Retry-After") != "" {
			t.Errorf("%s with the slot free: %d %s", path, r.Status, r.Body)
		}
	}
}

// TestRenderLimitWaitsForASlot: a render that finds the slots taken gets one given back
// within its wait, and one whose client leaves stops waiting.
func TestRenderLimitWaitsForASlot(t *testing.T) {
	limit := api.NewRenderLimit(1, time.Minute)
	release, err := limit.Acquire(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan error, 1)
	go func() {
		r, err := limit.Acquire(context.Background())
		if err == nil {
			r()
		}
		got <- err
	}()
	release()
	if err := <-got; err != nil {
		t.Fatalf("waiting render: %v", err)
	}

	release, err = limit.Acquire(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := limit.Acquire(ctx); experiment.ErrorCode(err) != experiment.Canceled {
		t.Fatalf("render of a client gone: %v", err)
	}
}

// slowEnv is an API behind a server with a read timeout of 100 ms, as serve has one of
// two minutes, and the given import timeout.
func slowEnv(t *testing.T, importTimeout time.Duration, configure ...func(*api.Config)) *env {
	t.Helper()
	e := newEnvOn(t, pgtest.Store(t), append(configure, func(c *api.Config) { c.ImportTimeout = importTimeout })...)
	h := e.srv.Config.Handler
	e.srv.Close()
	e.srv = httptest.NewUnstartedServer(h)
	e.srv.Config.ReadTimeout = 100 * time.Millisecond
	e.srv.Start()
	t.Cleanup(e.srv.Close)
	return e
}

// upload posts a CSV body as the ingest role and returns the answer, failing the test when
// there is none within 30 seconds.
func (e *env) upload(path string, body io.Reader) reply {
	e.t.Helper()
	req, err := http.NewRequest("POST", e.srv.URL+path, body)
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+e.keys[ingest])
	req.Header.Set("Content-Type", "text/csv")
	res, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
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

func customersCSV(from, to int) string {
	var b strings.Builder
	for i := from; i < to; i++ {
		fmt.Fprintf(&b, "cust-%05d\n", i)
	}
	return b.String()
}

// TestImportSlowerThanTheReadTimeout uploads a file that pauses for three times the
// server's read timeout: the import routes have their own, longer timeout, so it is
// stored.
func TestImportSlowerThanTheReadTimeout(t *testing.T) {
	e := slowEnv(t, time.Minute)
	key := "slow-import"
	e.createRunning(key, map[string]any{"arms": threeArms()})
	pr, pw := io.Pipe()
	go func() {
		io.WriteString(pw, "customer_id\n"+customersCSV(0, 500))
		time.Sleep(300 * time.Millisecond) // the slow client under test, not a synchronisation
		io.WriteString(pw, customersCSV(500, 1000))
		pw.Close()
	}()
	r := e.upload("/v1/experiments/"+key+"/assignments:import", pr)
	if r.Status != http.StatusCreated || !strings.Contains(string(r.Body), `"stored":1000`) {
		t.Fatalf("slow upload: %d %s", r.Status, r.Body)
	}
}

// TestImportStalledBeyondTheImportTimeout uploads half a file and then nothing: when the
// import timeout has passed, the answer is 408 timeout, not 400 bad input, and nothing is
// stored.
func TestImportStalledBeyondTheImportTimeout(t *testing.T) {
	e := slowEnv(t, 500*time.Millisecond)
	key := "stalled-import"
	e.createRunning(key, map[string]any{"arms": threeArms()})
	pr, pw := io.Pipe()
	defer pw.Close()
	go io.WriteString(pw, "customer_id\n"+customersCSV(0, 500)) // and never the rest
	r := e.upload("/v1/experiments/"+key+"/assignments:import", pr)
	code, _ := r.errorBody(t)
	if r.Status != http.StatusRequestTimeout || code != "timeout" || !strings.Contains(string(r.Body), "upload timed out") {
		t.Fatalf("stalled upload: %d %s", r.Status, r.Body)
	}
	e.must(http.StatusNotFound, ingest, "GET", "/v1/experiments/"+key+"/assignments/cust-00001", nil)
}

// TestImportClientGoneIsNoBadInput sends half a body and closes the connection: the
// request is logged as the client's leaving (499 canceled), not as bad input (400).
func TestImportClientGoneIsNoBadInput(t *testing.T) {
	logs := &syncBuffer{}
	e := newEnvOn(t, pgtest.Store(t), func(c *api.Config) { c.Logger = slog.New(slog.NewJSONHandler(logs, nil)) })
	key := "gone-import"
	e.createRunning(key, map[string]any{"arms": threeArms()})
	conn, err := net.Dial("tcp", strings.TrimPrefix(e.srv.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	body := "customer_id\n" + customersCSV(0, 100)
	fmt.Fprintf(conn, "POST /v1/experiments/%s/assignments:import HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"+
		"Content-Type: text/csv\r\nContent-Length: %d\r\n\r\n%s", key, e.keys[ingest], 2*len(body), body)
	conn.Close()
	// The server notices when it reads on; wait for its log line of the request.
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(logs.String(), `"route":"/v1/experiments/:key/assignments\\:import"`) {
		if time.Now().After(deadline) {
			t.Fatalf("no log line of the import:\n%s", logs)
		}
		time.Sleep(10 * time.Millisecond)
	}
	for _, line := range strings.Split(logs.String(), "\n") {
		if strings.Contains(line, ":import") && !strings.Contains(line, `"status":499`) {
			t.Errorf("the import of a client gone is logged as %s", line)
		}
	}
}

// TestImportSpoolHasNoName looks at the spool of an upload in flight: the server holds it
// open, yet no file of it is in the spool directory, so that a server killed now leaves
// no copy of the customer ids behind. Once the import is done it is closed.
func TestImportSpoolHasNoName(t *testing.T) {
	if _, err := os.Stat("/proc/self/fd"); err != nil {
		t.Skip("needs /proc/self/fd")
	}
	dir := t.TempDir()
	e := newEnvOn(t, pgtest.Store(t), func(c *api.Config) { c.SpoolDir = dir })
	key := "nameless-spool"
	e.createRunning(key, map[string]any{"arms": threeArms()})
	pr, pw := io.Pipe()
	done := make(chan reply, 1)
	go func() { done <- e.upload("/v1/experiments/"+key+"/assignments:import", pr) }()
	if _, err := io.WriteString(pw, "customer_id\n"+customersCSV(0, 500)); err != nil {
		t.Fatal(err)
	}
	// The server has the spool open once a descriptor of this process points into dir.
	deadline := time.Now().Add(10 * time.Second)
	var open []string
	for open = spoolsOpen(t, dir); len(open) == 0; open = spoolsOpen(t, dir) {
		if time.Now().After(deadline) {
			t.Fatal("the server never opened a spool file")
		}
		time.Sleep(10 * time.Millisecond)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 0 || !strings.HasSuffix(open[0], " (deleted)") {
		t.Errorf("during the upload the spool directory holds %v (open: %q)", entries, open)
	}
	io.WriteString(pw, customersCSV(500, 1000))
	pw.Close()
	if r := <-done; r.Status != http.StatusCreated {
		t.Fatalf("import: %d %s", r.Status, r.Body)
	}
	if open := spoolsOpen(t, dir); len(open) != 0 {
		t.Errorf("after the import the spool is still open: %q", open)
	}
}

// spoolsOpen lists the targets of this process's descriptors of files in dir.
func spoolsOpen(t *testing.T, dir string) []string {
	t.Helper()
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, fd := range fds {
		target, err := os.Readlink(filepath.Join("/proc/self/fd", fd.Name()))
		if err == nil && strings.HasPrefix(target, dir+string(filepath.Separator)) {
			out = append(out, target)
		}
	}
	return out
}
