package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/krslab/krslab/experiment/postgres/pgtest"
)

// deadSpool writes, in dir, a spool file named for a process that has ended, as a krslab
// killed between creating its spool and removing its name leaves one.
func deadSpool(t *testing.T, dir string) string {
	t.Helper()
	gone := exec.Command("true")
	if err := gone.Run(); err != nil {
		t.Skip(err)
	}
	path := filepath.Join(dir, fmt.Sprintf("krslab-spool-%d-123.csv", gone.Process.Pid))
	if err := os.WriteFile(path, []byte("customer_id\ncust-secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestImportRemovesDeadSpools: `krslab import` removes the spool files of dead processes
// in its --spool-dir as it starts, and leaves a live process's alone.
func TestImportRemovesDeadSpools(t *testing.T) {
	dir := t.TempDir()
	dead := deadSpool(t, dir)
	live := filepath.Join(dir, fmt.Sprintf("krslab-spool-%d-7.csv", os.Getpid()))
	if err := os.WriteFile(live, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	// The import itself fails (no such experiment); the cleanup comes first.
	_, errOut, _ := runCLI(t, "import", "assignments", "--experiment", "no-such", "--spool-dir", dir, pipe(t, "customer_id\ncust-1\n"))
	if _, err := os.Stat(dead); !os.IsNotExist(err) {
		t.Errorf("the spool of a dead process is still there: %v", err)
	}
	if _, err := os.Stat(live); err != nil {
		t.Errorf("the spool of a live process was removed: %v", err)
	}
	if !strings.Contains(errOut, "removed 1 spool file(s)") {
		t.Errorf("stderr does not say what was removed: %q", errOut)
	}
}

// TestKilledServerLeavesNoSpool kills a server with SIGKILL while it spools an upload: no
// copy of the file is left in its spool directory. A server starting removes the spool
// files of dead processes.
func TestKilledServerLeavesNoSpool(t *testing.T) {
	if _, err := os.Stat("/proc/self/fd"); err != nil {
		t.Skip("needs /proc")
	}
	store := pgtest.Store(t)
	key, _ := fixture(t, store, "spoolkill", 1)
	dir := t.TempDir()
	dead := deadSpool(t, dir)
	srv := startServer(t, pgtest.URL(t), "--spool-dir", dir)
	if _, err := os.Stat(dead); !os.IsNotExist(err) {
		t.Errorf("serve left the spool of a dead process: %v", err)
	}

	pr, pw := io.Pipe()
	defer pw.Close()
	req, _ := http.NewRequest("POST", srv.url+"/v1/experiments/spoolkill/assignments:import", pr)
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "text/csv")
	go func() {
		if res, err := http.DefaultClient.Do(req); err == nil {
			res.Body.Close()
		}
	}()
	if _, err := io.WriteString(pw, "customer_id\n"+strings.Repeat("cust-secret\n", 1000)); err != nil {
		t.Fatal(err)
	}
	// The server is spooling once one of its descriptors points into dir.
	fdDir := fmt.Sprintf("/proc/%d/fd", srv.cmd.Process.Pid)
	deadline := time.Now().Add(15 * time.Second)
	for !holds(fdDir, dir) {
		if time.Now().After(deadline) {
			t.Fatalf("the server never opened a spool file:\n%s", srv.logs)
		}
		time.Sleep(10 * time.Millisecond)
	}
	srv.cmd.Process.Signal(syscall.SIGKILL)
	srv.cmd.Wait()
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("a server killed during an upload left %v in its spool directory", entries)
	}
}

// holds reports whether a descriptor in fdDir (/proc/PID/fd) points into dir.
func holds(fdDir, dir string) bool {
	fds, _ := os.ReadDir(fdDir)
	for _, fd := range fds {
		if target, err := os.Readlink(filepath.Join(fdDir, fd.Name())); err == nil && strings.HasPrefix(target, dir+"/") {
			return true
		}
	}
	return false
}

// TestServeImportTimeout: serve reads the import timeout from KRSLAB_IMPORT_TIMEOUT (or
// --import-timeout); an upload that stalls beyond it is answered 408 timeout.
func TestServeImportTimeout(t *testing.T) {
	store := pgtest.Store(t)
	key, _ := fixture(t, store, "stalled", 1)
	t.Setenv("KRSLAB_IMPORT_TIMEOUT", "300ms")
	srv := startServer(t, pgtest.URL(t))
	pr, pw := io.Pipe()
	defer pw.Close()
	go io.WriteString(pw, "customer_id\ncust-1\n") // and never the rest
	req, _ := http.NewRequest("POST", srv.url+"/v1/experiments/stalled/assignments:import", pr)
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "text/csv")
	res, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err) // no answer: the import timeout is not the server's
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusRequestTimeout || !strings.Contains(string(body), `"code":"timeout"`) || !strings.Contains(string(body), "300ms") {
		t.Fatalf("stalled upload: %d %s", res.StatusCode, body)
	}
}
