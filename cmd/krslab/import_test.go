package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"

	"github.com/krslab/krslab/experiment"
	"github.com/krslab/krslab/experiment/postgres/pgtest"
)

func runCLI(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errOut bytes.Buffer
	t.Setenv("DATABASE_URL", pgtest.URL(t))
	err = run(context.Background(), args, &out, &errOut)
	return out.String(), errOut.String(), err
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// pipe returns a named pipe that yields content once.
func pipe(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "in.csv")
	if err := syscall.Mkfifo(path, 0o600); err != nil {
		t.Fatal(err)
	}
	go func() {
		f, err := os.OpenFile(path, os.O_WRONLY, 0)
		if err != nil {
			t.Error(err)
			return
		}
		defer f.Close()
		f.WriteString(content)
	}()
	return path
}

func TestImportCommand(t *testing.T) {
	svc := experiment.NewService(pgtest.Store(t))
	ctx := context.Background()
	if _, err := svc.CreateExperiment(ctx, experiment.Experiment{Key: "cli-import", Arms: []experiment.Arm{
		{Key: "control", Weight: 1, Control: true}, {Key: "letter", Weight: 1}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Start(ctx, "cli-import"); err != nil {
		t.Fatal(err)
	}

	var assignments, responses strings.Builder
	assignments.WriteString("customer_id\n")
	responses.WriteString("response_id,customer_id,answered_at,satisfaction,trust,love,nps,ces\n")
	for i := range 100 {
		fmt.Fprintf(&assignments, "cust-%03d\n", i)
		fmt.Fprintf(&responses, "resp-%03d,cust-%03d,2026-03-01T10:%02d:00Z,%d,%d,%d,%d,%d\n", i, i, i%60, 1+i%7, 1+(i+1)%7, 1+(i+2)%7, i%11, 1+i%7)
	}
	out, err := krslab(t, "import", "assignments", "--experiment", "cli-import", writeFile(t, "a.csv", assignments.String()))
	if err != nil || !regexp.MustCompile(`^imported 100 assignments in [0-9.]+s; 0 already assigned, 0 rejected\n$`).MatchString(out) {
		t.Fatalf("assignments: %q %v", out, err)
	}

	// One bad line among 100: named by its line, nothing stored.
	bad := strings.Replace(responses.String(), "resp-041,cust-041", "resp-041,cust-999", 1)
	badPath := writeFile(t, "bad.csv", bad)
	out, errOut, err := runCLI(t, "import", "responses", "--experiment", "cli-import", badPath)
	if err == nil || out != "" || !strings.Contains(err.Error(), "1 bad line; nothing was imported") ||
		!strings.Contains(errOut, "line 43: customer_id: customer is not assigned") {
		t.Fatalf("bad file: out %q, stderr %q, err %v", out, errOut, err)
	}
	if _, err := os.Stat(badPath + ".rejects.csv"); !os.IsNotExist(err) {
		t.Errorf("rejects file written without --skip-bad: %v", err)
	}

	// --skip-bad (given after the file) stores the 99 good lines and writes the bad one.
	rejects := filepath.Join(t.TempDir(), "rejects.csv")
	out, errOut, err = runCLI(t, "import", "responses", "--experiment", "cli-import", badPath, "--skip-bad", "--rejects", rejects)
	if err != nil || !regexp.MustCompile(`^imported 99 responses \(495 answers\) in [0-9.]+s; 0 replayed, 1 rejected \(written to .*rejects.csv\)\n$`).MatchString(out) {
		t.Fatalf("skip-bad: %q %v", out, err)
	}
	if errOut != "" {
		t.Errorf("stderr is not a terminal, yet got %q", errOut)
	}
	got, err := os.ReadFile(rejects)
	if err != nil || !strings.HasPrefix(string(got), "response_id,customer_id,answered_at,satisfaction,trust,love,nps,ces,reason\nresp-041,cust-999,") {
		t.Fatalf("rejects %q %v", got, err)
	}

	// The full file again, from a pipe: 99 replays and the one line that was missing. The
	// replays send the import to staging, which reads the file a second time.
	out, err = krslab(t, "import", "responses", "--experiment", "cli-import", pipe(t, responses.String()))
	if err != nil || !strings.HasPrefix(out, "imported 1 responses (5 answers) in ") || !strings.HasSuffix(out, "; 99 replayed, 0 rejected\n") {
		t.Fatalf("replay: %q %v", out, err)
	}

	out, err = krslab(t, "import", "covariates", "--experiment", "cli-import", writeFile(t, "c.csv", "customer_id,outcome,value\ncust-001,trust,5\n"))
	if err != nil || !strings.HasPrefix(out, "imported 1 covariates in ") {
		t.Fatalf("covariates: %q %v", out, err)
	}

	audit, err := svc.Audit(ctx, "cli-import", 20)
	if err != nil {
		t.Fatal(err)
	}
	actions := map[string]int{}
	for _, a := range audit {
		if a.Actor == "cli" {
			actions[a.Action]++
		}
	}
	if actions["responses.import"] != 2 || actions["assignments.import"] != 1 || actions["covariates.import"] != 1 {
		t.Errorf("audit actions by cli: %v", actions)
	}
}

func TestImportCommandUsage(t *testing.T) {
	for _, args := range [][]string{
		{"import"},
		{"import", "answers", "--experiment", "x", "f.csv"},
		{"import", "responses", "f.csv"},
		{"import", "responses", "--experiment", "x"},
		{"import", "responses", "--experiment", "x", "/no/such/file.csv"},
	} {
		if _, _, err := runCLI(t, args...); err == nil {
			t.Errorf("%v accepted", args)
		}
	}
}

func TestProgressBarRender(t *testing.T) {
	b := newProgressBar(&bytes.Buffer{}, 200)
	if b.on {
		t.Fatal("a buffer is not a terminal")
	}
	b.start()
	b.read.Store(50)
	b.phase("loading", 1234)
	if got := b.render(20); !strings.HasPrefix(got, "loading   [=====               ]  25%  1234 lines") {
		t.Errorf("render = %q", got)
	}
	b.stop()
}
