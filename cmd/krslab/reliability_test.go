package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/krslab/krslab/experiment"
	"github.com/krslab/krslab/experiment/postgres"
	"github.com/krslab/krslab/experiment/postgres/pgtest"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// binary builds the krslab command once per test run.
func binary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "krslab-bin-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "krslab")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("%v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// server is a krslab serve process.
type server struct {
	cmd  *exec.Cmd
	url  string
	logs *bytes.Buffer
}

func startServer(t *testing.T, dbURL string, args ...string) *server {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	s := &server{url: "http://" + addr, logs: &bytes.Buffer{}}
	s.cmd = exec.Command(binary(t), append([]string{"serve", "--addr", addr, "--database-url", dbURL, "--shutdown-timeout", "10s"}, args...)...)
	s.cmd.Stdout, s.cmd.Stderr = s.logs, s.logs
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if s.cmd.ProcessState == nil {
			s.cmd.Process.Kill()
			s.cmd.Wait()
		}
	})
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		if res, err := http.Get(s.url + "/readyz"); err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return s
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("server not ready:\n%s", s.logs)
	return nil
}

// fixture creates, on the database at url, a running experiment, customers and a key.
func fixture(t *testing.T, store *postgres.Store, key string, customers int) (apiKey string, ids []string) {
	t.Helper()
	ctx := experiment.WithActor(context.Background(), "test")
	svc := experiment.NewService(store)
	if _, err := svc.CreateExperiment(ctx, experiment.Experiment{Key: key, Outcomes: []string{"trust"}, PrimaryOutcome: "trust",
		Arms: []experiment.Arm{{Key: "control", Weight: 1, Control: true}, {Key: "callback", Weight: 1}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Start(ctx, key); err != nil {
		t.Fatal(err)
	}
	for i := range customers {
		ids = append(ids, fmt.Sprintf("%s-c%05d", key, i))
	}
	if _, err := svc.AssignBatch(ctx, key, ids); err != nil {
		t.Fatal(err)
	}
	secret, _, err := svc.CreateAPIKey(ctx, key+"-key", experiment.RoleAdmin)
	if err != nil {
		t.Fatal(err)
	}
	return secret, ids
}

func post(client *http.Client, url, key string, body any) (int, []byte, error) {
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest("POST", url, bytes.NewReader(b))
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	res, err := client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer res.Body.Close()
	out, err := io.ReadAll(res.Body)
	return res.StatusCode, out, err
}

// TestKillDuringWritesLosesNothingAcknowledged kills the server with SIGKILL while 8
// clients stream responses: every response acknowledged with 201 must be in the database.
func TestKillDuringWritesLosesNothingAcknowledged(t *testing.T) {
	store := pgtest.Store(t)
	key, ids := fixture(t, store, "kill9", 800)
	srv := startServer(t, pgtest.URL(t))
	var mu sync.Mutex
	var acked []string
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			client := &http.Client{Timeout: 5 * time.Second}
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				id := ids[(w*100+i)%len(ids)]
				rid := fmt.Sprintf("w%d-%d", w, i)
				code, _, err := post(client, srv.url+"/v1/experiments/kill9/responses", key, map[string]any{
					"response_id": rid, "customer_id": id, "answered_at": "2026-03-01T10:00:00Z",
					"answers": map[string]any{"trust": 1 + i%7}})
				if err != nil {
					return // the server is gone
				}
				if code == http.StatusCreated {
					mu.Lock()
					acked = append(acked, rid)
					mu.Unlock()
				}
			}
		}()
	}
	time.Sleep(1500 * time.Millisecond)
	srv.cmd.Process.Signal(syscall.SIGKILL)
	srv.cmd.Wait()
	close(stop)
	wg.Wait()
	if len(acked) < 50 {
		t.Fatalf("only %d responses acknowledged before the kill", len(acked))
	}
	var stored []string
	if err := store.DB().Select(&stored, `SELECT response_id FROM responses r JOIN experiments e ON e.id = r.experiment_id WHERE e.key = 'kill9'`); err != nil {
		t.Fatal(err)
	}
	have := map[string]bool{}
	for _, r := range stored {
		have[r] = true
	}
	lost := 0
	for _, r := range acked {
		if !have[r] {
			lost++
		}
	}
	if lost > 0 {
		t.Errorf("%d of %d acknowledged responses lost", lost, len(acked))
	}
	t.Logf("%d acknowledged, %d stored, 0 lost", len(acked), len(stored))
}

// TestDatabaseOutage stops PostgreSQL under a running server: readiness and API calls must
// answer 503 unavailable within two seconds; when PostgreSQL is back the server recovers
// by itself.
func TestDatabaseOutage(t *testing.T) {
	cluster := pgtest.NewCluster(t)
	ctx := context.Background()
	store, err := postgres.Open(ctx, cluster.URL(), postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	if _, err := store.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	key, ids := fixture(t, store, "outage", 10)
	srv := startServer(t, cluster.URL())
	client := &http.Client{Timeout: 10 * time.Second}
	assignURL := srv.url + "/v1/experiments/outage/assignments"

	cluster.Stop()
	for _, check := range []struct {
		name string
		do   func() (int, []byte, error)
	}{
		{"readyz", func() (int, []byte, error) {
			res, err := client.Get(srv.url + "/readyz")
			if err != nil {
				return 0, nil, err
			}
			defer res.Body.Close()
			b, _ := io.ReadAll(res.Body)
			return res.StatusCode, b, nil
		}},
		{"assign", func() (int, []byte, error) {
			return post(client, assignURL, key, map[string]any{"customer_id": ids[0]})
		}},
	} {
		start := time.Now()
		code, body, err := check.do()
		took := time.Since(start)
		if err != nil || code != http.StatusServiceUnavailable || !strings.Contains(string(body), `"unavailable"`) {
			t.Errorf("%s with the database down: %d %s %v", check.name, code, body, err)
		}
		if took > 2*time.Second {
			t.Errorf("%s took %v with the database down", check.name, took)
		}
	}
	healthz, err := client.Get(srv.url + "/healthz")
	if err != nil || healthz.StatusCode != http.StatusOK {
		t.Errorf("healthz must stay up: %v", err)
	}

	cluster.Start()
	deadline := time.Now().Add(10 * time.Second)
	for {
		code, body, err := post(client, assignURL, key, map[string]any{"customer_id": ids[1]})
		if err == nil && code == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no recovery within 10s: %d %s %v", code, body, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestSIGTERMDrains sends SIGTERM under load: requests either complete normally or never
// reach the server (refused, or a connection still in the kernel's accept queue when the
// listener closed, which the client sees as EOF before any response); none is answered
// with an error or cut off, and the process exits cleanly.
func TestSIGTERMDrains(t *testing.T) {
	store := pgtest.Store(t)
	key, ids := fixture(t, store, "drain", 200)
	srv := startServer(t, pgtest.URL(t))
	var wg sync.WaitGroup
	var mu sync.Mutex
	completed, refused, broken := 0, 0, []string{}
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
			for i := 0; i < 2000; i++ {
				code, _, err := post(client, srv.url+"/v1/experiments/drain/assignments:batch", key,
					map[string]any{"customer_ids": ids[(w*20+i)%150 : (w*20+i)%150+50]})
				mu.Lock()
				switch {
				case err == nil && code == http.StatusOK:
					completed++
				case err != nil && (strings.Contains(err.Error(), "connection refused") ||
					strings.HasSuffix(err.Error(), ": EOF") || strings.Contains(err.Error(), "connection reset")):
					refused++
					mu.Unlock()
					return
				default:
					broken = append(broken, fmt.Sprintf("%d %v", code, err))
				}
				mu.Unlock()
			}
		}()
	}
	time.Sleep(time.Second)
	if err := srv.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("exit after SIGTERM: %v\n%s", err, srv.logs)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("server did not stop within 15s of SIGTERM")
	}
	wg.Wait()
	if len(broken) > 0 {
		t.Errorf("%d requests cut off: %v", len(broken), broken[:min(5, len(broken))])
	}
	if completed == 0 {
		t.Error("no request completed before SIGTERM")
	}
	t.Logf("%d completed, %d refused after shutdown, %d broken", completed, refused, len(broken))

	// The server's log: one JSON object per line, a line per request with its request id,
	// route, status, latency and key name, and never a key or a customer id.
	lines := strings.Split(strings.TrimSpace(srv.logs.String()), "\n")
	requests := 0
	for _, line := range lines {
		var entry map[string]any
		if err := json.Unmarshal([]byte(line), &entry); err != nil {
			t.Fatalf("log line is not JSON: %q", line)
		}
		if entry["msg"] == "request" {
			requests++
			for _, field := range []string{"request_id", "route", "status", "latency_ms", "key"} {
				route, _ := entry["route"].(string)
				if _, ok := entry[field]; !ok && (field != "key" || strings.HasPrefix(route, "/v1")) {
					t.Errorf("request log line without %s: %s", field, line)
				}
			}
		}
	}
	if requests < completed {
		t.Errorf("%d request log lines for %d completed requests", requests, completed)
	}
	if strings.Contains(srv.logs.String(), "drain-c0") || strings.Contains(srv.logs.String(), key) {
		t.Error("the log contains a customer id or an API key")
	}
}
