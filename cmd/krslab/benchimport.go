package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/krslab/krslab/experiment"
	"github.com/krslab/krslab/experiment/postgres"
)

// importedOutcomes are the outcomes of the import benchmark's experiment: the KRS (its
// primary outcome) and every building block, NPS and CES, which the answeredOutcomes give.
var importedOutcomes = []string{"krs", "satisfaction", "trust", "love", "involvement", "freedom_of_choice",
	"fairness", "influence", "nps", "ces"}

// benchImport times `krslab import responses` of n responses of 10 answers (the command,
// in a process of its own) against psql's \copy of the same answers as (customer, outcome,
// value) rows into a plain table: what PostgreSQL's own tool takes to load them at all.
// Each round runs in a database of its own, created beside base with the experiment, its
// assignments and the tables, and each timed load starts on a settled database: what the
// steps before it wrote is vacuumed, analysed and flushed, so that autovacuum and the
// checkpointer take none of it on during the load (after 100,000 assignments or 1,000,000
// answers autovacuum would, on one of the two cores, and fall on whichever load comes next).
func benchImport(ctx context.Context, base string, n, rounds int, fsync string, stdout, stderr io.Writer) error {
	if n < 1 || rounds < 1 {
		return fmt.Errorf("--responses %d --rounds %d: at least 1 of each", n, rounds)
	}
	psql := pgTool("psql")
	self, err := os.Executable()
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "krslab-bench-import-*")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	fmt.Fprintf(stderr, "generating %d responses x %d answers ...\n", n, len(answeredOutcomes))
	responses, answers, err := importFiles(dir, n)
	if err != nil {
		return err
	}

	// The round's database: dropped when the next round starts, and at the end.
	var (
		url, key string
		store    *postgres.Store
		drop     = func(context.Context) error { return nil }
	)
	closeRound := func() error {
		if store != nil {
			store.Close()
			store = nil
		}
		return drop(context.Background())
	}
	defer closeRound()
	round := 0
	newRound := func() error {
		if err := closeRound(); err != nil {
			return err
		}
		drop = func(context.Context) error { return nil }
		round++
		u, d, err := postgres.CreateDatabase(ctx, base, fmt.Sprintf("krslab_bench_import_%d_%d", os.Getpid(), round))
		if err != nil {
			return err
		}
		url, drop = u, d
		if store, err = postgres.Open(ctx, url, postgres.Options{StatementTimeout: time.Hour}); err != nil {
			return err
		}
		if _, err := store.Migrate(ctx); err != nil {
			return err
		}
		e, _, err := benchExperiment(ctx, store, importedOutcomes)
		if err != nil {
			return err
		}
		key = e.Key
		if err := benchAssignments(ctx, experiment.NewService(store), store, key, n); err != nil {
			return err
		}
		_, err = store.DB().ExecContext(ctx, `CREATE TABLE t (customer_id text, outcome_key text, value double precision);
			CREATE TABLE t_keyed (customer_id text, outcome_key text, value double precision,
			                      PRIMARY KEY (customer_id, outcome_key))`)
		return err
	}
	settle := func() error {
		for _, q := range []string{`VACUUM (ANALYZE)`, `CHECKPOINT`} {
			if _, err := store.DB().ExecContext(ctx, q); err != nil {
				return err
			}
		}
		return nil
	}
	run := func(name string, args ...string) error {
		out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
		if err != nil {
			return fmt.Errorf("%s: %v\n%s", filepath.Base(name), err, out)
		}
		return nil
	}
	copyInto := func(table string) func() error {
		return func() error {
			return run(psql, "-XqAt", "-v", "ON_ERROR_STOP=1", url, "-c",
				`\copy `+table+`(customer_id, outcome_key, value) FROM '`+answers+`' CSV`)
		}
	}
	// Each load's share of stolen CPU time, per step and round (the warm-up round's too).
	steal := make([][]float64, 3)
	stolen := func(i int, fn func() error) func() error {
		return func() error {
			before := readCPU(0)
			err := fn()
			steal[i] = append(steal[i], before.until(readCPU(0)).steal)
			return err
		}
	}
	fmt.Fprintf(stderr, "%d rounds after a warm-up round, each in a database of its own ...\n", rounds)
	times, err := timeRounds(rounds,
		step{func() error {
			if err := newRound(); err != nil {
				return err
			}
			return settle()
		}, stolen(0, copyInto("t"))},
		step{settle, stolen(1, copyInto("t_keyed"))},
		step{settle, stolen(2, func() error {
			return run(self, "import", "responses", "--experiment", key, "--database-url", url, responses)
		})},
	)
	if err != nil {
		return err
	}
	copies, keyed, imports := times[0], times[1], times[2]

	fmt.Fprintf(stdout, "krslab bench import: %d responses x %d answers, %d rounds, PostgreSQL fsync=%s\n",
		n, len(answeredOutcomes), rounds, fsync)
	worst := -1.0
	for r := range rounds {
		// steal[i][0] is the warm-up round's
		fmt.Fprintf(stdout, "round %d: \\copy %.2fs (CPU stolen %s%%), krslab import %.2fs (CPU stolen %s%%), ratio %.2f\n", r+1,
			copies[r].Seconds(), stealCell(cpuUse{steal: steal[0][r+1]}), imports[r].Seconds(), stealCell(cpuUse{steal: steal[2][r+1]}),
			imports[r].Seconds()/copies[r].Seconds())
		for i := range steal {
			worst = max(worst, steal[i][r+1])
		}
	}
	fmt.Fprintf(stdout, "\\copy of %d answers into a plain table, best: %.2fs\n", n*len(answeredOutcomes), slices.Min(copies).Seconds())
	fmt.Fprintf(stdout, "\\copy into a table keyed on (customer, outcome), best: %.2fs\n", slices.Min(keyed).Seconds())
	fmt.Fprintf(stdout, "krslab import responses, best: %.2fs\n", slices.Min(imports).Seconds())
	if worst >= stealWarn {
		fmt.Fprintf(stdout, "the host took up to %.0f%% of this machine's CPU time during a load (steal): the ratio is that of a shared host\n", 100*worst)
	}
	// The ratio is the median of the rounds' own ratios (target <= 1.5); the keyed one is for
	// reference: PostgreSQL's load into a table with a key, as responses have.
	fmt.Fprintf(stdout, "import_ratio=%.2f import_keyed_ratio=%.2f import_steal_max_pct=%s\n",
		ratioOf(imports, copies), ratioOf(imports, keyed), stealCell(cpuUse{steal: worst}))
	return nil
}

// pgTool is the path of one of PostgreSQL's programs (psql, pgbench): in PGBIN when it is
// set, else on PATH, else where Debian installs PostgreSQL 15.
func pgTool(name string) string {
	if dir := os.Getenv("PGBIN"); dir != "" {
		return filepath.Join(dir, name)
	}
	if _, err := exec.LookPath(name); err == nil {
		return name
	}
	return filepath.Join("/usr/lib/postgresql/15/bin", name)
}

// importFiles writes the import benchmark's n responses twice into dir: as the API's CSV,
// one line per response, and as one (customer, outcome, value) line per answer for \copy.
func importFiles(dir string, n int) (responses, answers string, err error) {
	rs := waveResponses(0, n, time.Now().UTC().AddDate(0, -1, 0).Truncate(time.Second))
	var flat strings.Builder
	for _, r := range rs {
		for _, o := range answeredOutcomes {
			flat.WriteString(r.CustomerID + "," + o + "," + strconv.FormatFloat(r.Answers[o], 'f', -1, 64) + "\n")
		}
	}
	responses, answers = filepath.Join(dir, "responses.csv"), filepath.Join(dir, "answers.csv")
	if err := os.WriteFile(responses, waveCSV(rs), 0o600); err != nil {
		return "", "", err
	}
	return responses, answers, os.WriteFile(answers, []byte(flat.String()), 0o600)
}
