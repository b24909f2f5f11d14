package main

import (
	"os"
	"os/exec"
	"regexp"
	"testing"

	"github.com/krslab/krslab/experiment/postgres/pgtest"
)

// TestBenchAssignRuns runs `krslab bench assign` briefly with each load generator: it must
// measure, check that the repeat run stored nothing, and print its summary line. The figures
// themselves are for a quiet machine, not for a test.
func TestBenchAssignRuns(t *testing.T) {
	if testing.Short() {
		t.Skip("starts servers and pgbench")
	}
	for _, load := range []string{"wrk", "go"} {
		t.Run(load, func(t *testing.T) {
			if _, err := exec.LookPath(load); load == "wrk" && err != nil {
				if os.Getenv("KRSLAB_REQUIRE_DB") == "1" {
					t.Fatal("wrk is not installed (apt-get install wrk)")
				}
				t.Skip("wrk is not installed")
			}
			cmd := exec.Command(binary(t), "bench", "assign", "--duration", "1s", "--clients", "8", "--load", load)
			cmd.Env = append(os.Environ(), "DATABASE_URL="+pgtest.URL(t))
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			if !regexp.MustCompile(`new_assign_ratio=[0-9.]+ p99_ms=[0-9.]+ pgbench_p99_ms=[0-9.]+ errors=0 sticky_faster=(true|false) sticky_ratio=[0-9.]+ healthz_ratio=[0-9.]+ steal_max_pct=(-|[0-9]+)`).Match(out) {
				t.Fatalf("no summary line with zero errors:\n%s", out)
			}
		})
	}
}

// TestBenchResultsAndListRun runs `krslab bench results`, `krslab bench list`, `krslab
// bench waves` and `krslab bench import` small: each must measure and print its ratios
// (cold, repeated, the report, the list against its raw query, second waves against first
// ones, the import against psql's \copy), in databases of its own that it drops, leaving
// none behind and nothing in the database it was given. The figures themselves are for a
// quiet machine, not for a test.
func TestBenchResultsAndListRun(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a server and loads responses")
	}
	for _, tc := range []struct {
		args []string
		line string
	}{
		{[]string{"bench", "results", "--responses", "2000", "--days", "5"},
			`results_ratio=[0-9.]+ timeline_ratio=[0-9.]+ report_ratio=[0-9.]+ repeat_ratio=[0-9.]+`},
		{[]string{"bench", "list", "--experiments", "3", "--responses", "50"}, `list_ratio=[0-9.]+`},
		{[]string{"bench", "waves", "--sizes", "200", "--rounds", "1", "--history", "500"},
			`wave_ratios batch_200=[0-9.]+ import_200=[0-9.]+ cli_200=[0-9.]+\nmax_wave_ratio=[0-9.]+`},
		{[]string{"bench", "import", "--responses", "300", "--rounds", "2"},
			`import_ratio=[0-9.]+ import_keyed_ratio=[0-9.]+ import_steal_max_pct=(-|[0-9]+)`},
	} {
		cmd := exec.Command(binary(t), tc.args...)
		cmd.Env = append(os.Environ(), "DATABASE_URL="+pgtest.URL(t))
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%v: %v\n%s", tc.args, err, out)
		}
		if !regexp.MustCompile(tc.line).Match(out) {
			t.Errorf("%v: no line %s:\n%s", tc.args, tc.line, out)
		}
	}
	var left []string
	if err := pgtest.Store(t).DB().Select(&left, `SELECT datname FROM pg_database WHERE datname LIKE 'krslab\_bench%'`); err != nil {
		t.Fatal(err)
	}
	if len(left) > 0 {
		t.Errorf("the benchmarks left databases behind: %v", left)
	}
	var experiments int
	if err := pgtest.Store(t).DB().Get(&experiments, `SELECT count(*) FROM experiments WHERE key LIKE 'bench-%'`); err != nil {
		t.Fatal(err)
	}
	if experiments > 0 {
		t.Errorf("the benchmarks left %d experiments in the database they were given", experiments)
	}
}
