package main

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/krslab/krslab/experiment"
	"github.com/krslab/krslab/experiment/postgres"
)

// runBench measures krslab against what the database itself can do on this machine, as
// ratios: `krslab bench assign`, `krslab bench results`, `krslab bench list`, `krslab
// bench waves` and `krslab bench import`. Each runs in a database of its own, created on
// the server of DATABASE_URL and dropped at the end, so that it neither reads nor leaves
// rows in the database it was given, and every run starts from the same empty one.
func runBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || !slices.Contains([]string{"assign", "results", "list", "waves", "import"}, args[0]) {
		return errors.New("bench needs assign, results, list, waves or import: krslab bench assign --clients 32 --duration 10s")
	}
	var c common
	fs := newFlagSet("bench "+args[0], stderr)
	c.register(fs)
	clients := fs.Int("clients", 32, "concurrent clients")
	duration := fs.Duration("duration", 10*time.Second, "length of each measurement")
	responses := fs.Int("responses", 0, "responses of the results and import benchmarks (10 answers each; default 100,000), or of each experiment of the list benchmark (default 10,000)")
	experiments := fs.Int("experiments", 200, "experiments of the list benchmark")
	days := fs.Int("days", 60, "days the responses of the results benchmark were answered on")
	sizes := fs.String("sizes", "3000,10000", "customers of each wave of the waves benchmark, comma-separated")
	waves := fs.Int("waves", 2, "waves of the same customers in the waves benchmark")
	rounds := fs.Int("rounds", 3, "runs of each path and size of the waves benchmark, each in an experiment of its own, or of the import benchmark, each in a database of its own")
	history := fs.Int("history", 100_000, "responses of another experiment loaded before the waves benchmark")
	keep := fs.Bool("keep", false, "keep the benchmark's database and print its URL, to look into it afterwards (bench import drops its rounds' databases still)")
	loadGen := fs.String("load", "auto", "HTTP load generator of the assign benchmark: wrk, go, or auto (wrk when installed)")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if c.databaseURL == "" {
		return errors.New("no database: set DATABASE_URL or --database-url")
	}
	dbURL, drop, err := postgres.CreateDatabase(ctx, c.databaseURL, fmt.Sprintf("krslab_bench_%d", os.Getpid()))
	if err != nil {
		return err
	}
	defer func() {
		if *keep {
			fmt.Fprintln(stderr, "bench: the database is kept:", dbURL)
		} else if err := drop(context.Background()); err != nil {
			fmt.Fprintln(stderr, "bench:", err)
		}
	}()
	// Loading a million responses takes longer than a request may.
	store, err := postgres.Open(ctx, dbURL, postgres.Options{StatementTimeout: time.Hour})
	if err != nil {
		return err
	}
	defer store.Close()
	if _, err := store.Migrate(ctx); err != nil {
		return err
	}
	var fsync string
	if err := store.DB().GetContext(ctx, &fsync, `SHOW fsync`); err != nil {
		return err
	}
	if args[0] == "waves" {
		var ns []int
		for _, f := range strings.Split(*sizes, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil || n < 1 {
				return fmt.Errorf("--sizes: %q is not a number of customers", f)
			}
			ns = append(ns, n)
		}
		return benchWaves(ctx, store, dbURL, ns, *waves, *rounds, *history, fsync, stdout, stderr)
	}
	if args[0] == "import" {
		return benchImport(ctx, dbURL, cmp.Or(*responses, 100_000), *rounds, fsync, stdout, stderr)
	}
	if args[0] == "list" {
		return benchList(ctx, store, *experiments, cmp.Or(*responses, 10_000), fsync, stdout, stderr)
	}
	if args[0] == "assign" {
		wrk := ""
		switch *loadGen {
		case "auto":
			wrk, _ = exec.LookPath("wrk")
		case "wrk":
			if wrk, err = exec.LookPath("wrk"); err != nil {
				return fmt.Errorf("--load wrk: %w (apt-get install wrk)", err)
			}
		case "go":
		default:
			return fmt.Errorf("--load: %q is not wrk, go or auto", *loadGen)
		}
		return benchAssign(ctx, store, dbURL, wrk, *clients, *duration, fsync, stdout, stderr)
	}
	return benchResults(ctx, store, dbURL, cmp.Or(*responses, 100_000), *days, fsync, stdout, stderr)
}

// benchExperiment creates a running two-arm experiment and an ingest key for a benchmark.
func benchExperiment(ctx context.Context, store *postgres.Store, outcomes []string) (experiment.Experiment, string, error) {
	svc := experiment.NewService(store)
	ctx = experiment.WithActor(ctx, "bench")
	key := fmt.Sprintf("bench-%d", time.Now().UnixNano())
	def := experiment.Experiment{Key: key, Name: "Benchmark", Arms: []experiment.Arm{
		{Key: "control", Weight: 1, Control: true}, {Key: "treatment", Weight: 1}}}
	if outcomes != nil {
		def.Outcomes, def.PrimaryOutcome = outcomes, outcomes[0]
	}
	if _, err := svc.CreateExperiment(ctx, def); err != nil {
		return experiment.Experiment{}, "", err
	}
	e, err := svc.Start(ctx, key)
	if err != nil {
		return experiment.Experiment{}, "", err
	}
	secret, _, err := svc.CreateAPIKey(ctx, key, experiment.RoleAdmin)
	return e, secret, err
}

func benchAssign(ctx context.Context, store *postgres.Store, dbURL, wrk string, clients int, d time.Duration, fsync string, stdout, stderr io.Writer) error {
	e, secret, err := benchExperiment(ctx, store, nil)
	if err != nil {
		return err
	}
	// The baseline: pgbench inserting single rows into a table of the same shape as
	// assignments (columns, primary key, checks and indexes; no foreign key), in the
	// benchmark's own database, which goes with it.
	if _, err := store.DB().ExecContext(ctx, `CREATE TABLE bench_assignments (LIKE assignments INCLUDING ALL)`); err != nil {
		return err
	}
	// Each run starts right after a checkpoint, so that no run pays for the previous one's
	// writes (needs a superuser; without one the runs share that noise).
	checkpoint := func() { _, _ = store.DB().ExecContext(ctx, `CHECKPOINT`) }
	// The baseline runs twice, before the HTTP loads and after them, and is the mean of the
	// two: the loads are compared with what the database did around them, so that a host
	// whose share of the CPU moves during the run favours neither side.
	var pgRuns []loadResult
	var pgCPU []cpuUse
	runPgbench := func(when string) error {
		checkpoint()
		fmt.Fprintf(stderr, "pgbench %s: %d clients, %v ...\n", when, clients, d)
		before := readCPU(0)
		r, err := pgbench(ctx, dbURL, clients, d)
		pgRuns, pgCPU = append(pgRuns, r), append(pgCPU, before.until(readCPU(0)))
		return err
	}
	if err := runPgbench("before the HTTP loads"); err != nil {
		return err
	}

	srv, err := startBenchServer(ctx, dbURL)
	if err != nil {
		return err
	}
	defer srv.stop()
	path := "/v1/experiments/" + e.Key + "/assignments"
	// pgbench's rows are vacuumed and flushed before the HTTP runs, as the new run's rows are
	// before the repeats: autovacuum would otherwise take them on during the next load.
	_, _ = store.DB().ExecContext(ctx, `VACUUM (ANALYZE) bench_assignments`)
	checkpoint()
	// run measures one load, with wrk when it is installed, else with the Go load generator:
	// new customers, or the stored ones in repeat.
	run := func(repeat []string) (loadStats, error) {
		if wrk != "" {
			return srv.measured(func() (loadStats, error) {
				return wrkLoad(ctx, wrk, srv.url, path, secret, repeat, clients, d)
			})
		}
		var n atomic.Int64
		return srv.measured(func() (loadStats, error) {
			return load(ctx, clients, d, func(client *http.Client, w int) error {
				k := n.Add(1)
				id := fmt.Sprintf("w%d-%d", w, k)
				if repeat != nil {
					id = repeat[int(k)%len(repeat)]
				}
				return assignOnce(client, srv.url+path, secret, id)
			}).stats(), nil
		})
	}
	fmt.Fprintf(stderr, "HTTP new assignments: %d clients, %v (load: %s) ...\n", clients, d, map[bool]string{true: "wrk", false: "go"}[wrk != ""])
	newLoad, err := run(nil)
	if err != nil {
		return err
	}
	stored, groups := settledGroupCommits(srv.url)
	within := servedWithin(srv.url, "POST", "/v1/experiments/:key/assignments", "0.025")
	// The repeats ask for customers read back from the database: a load generator may
	// abandon its last requests when it stops, before they were stored.
	ids, err := storedCustomers(ctx, store, e.ID)
	if err != nil {
		return err
	}
	// The assignments (the new run's rows among them) are vacuumed and flushed before the
	// repeats, which write nothing: autovacuum would otherwise take the new rows on during
	// that run. Like the checkpoint, it is noise kept out, not a step to fail on.
	_, _ = store.DB().ExecContext(ctx, `VACUUM (ANALYZE) assignments`)
	checkpoint()
	fmt.Fprintf(stderr, "HTTP repeat (sticky) assignments: %d clients, %v ...\n", clients, d)
	sticky, err := run(ids)
	if err != nil {
		return err
	}
	// A repeat must come from what is stored: the repeat run may not store anything. (The
	// group commits may grow: a customer the in-process cache no longer holds, after more
	// new assignments than it keeps, is looked up by the same insert, which stores nothing.)
	settledGroupCommits(srv.url)
	if after, err := storedCustomers(ctx, store, e.ID); err != nil {
		return err
	} else if len(after) != len(ids) {
		return fmt.Errorf("the repeat run stored %d new assignments; it should only have repeated stored ones", len(after)-len(ids))
	}
	// What the server's HTTP stack answers on this machine at all: GET /healthz, without a
	// key or a body, the same request every time. No route can be faster; it bounds the
	// repeats, which are answered from memory.
	fmt.Fprintf(stderr, "HTTP GET /healthz: %d clients, %v ...\n", clients, d)
	healthz, err := srv.measured(func() (loadStats, error) {
		if wrk != "" {
			return runWrk(ctx, wrk, srv.url, wrkHealthz, clients, d)
		}
		return load(ctx, clients, d, func(client *http.Client, _ int) error {
			return answered(client.Get(srv.url + "/healthz"))
		}).stats(), nil
	})
	if err != nil {
		return err
	}
	srv.stop() // pgbench ran before the server started, and runs after it has stopped
	if err := runPgbench("after the HTTP loads"); err != nil {
		return err
	}
	pg := loadResult{tps: (pgRuns[0].tps + pgRuns[1].tps) / 2,
		latencies: slices.Sorted(slices.Values(append(pgRuns[0].latencies, pgRuns[1].latencies...)))}.stats()
	pg.cpu = cpuUse{steal: max(pgCPU[0].steal, pgCPU[1].steal), process: -1}

	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(stdout, "krslab bench assign: %d clients, %v per run, PostgreSQL fsync=%s\n", clients, d, fsync)
	fmt.Fprintln(tw, "\ttps\tp50 ms\tp99 ms\terrors\tratio to pgbench\tCPU stolen %\tserver CPU µs/request\t")
	fmt.Fprintf(tw, "pgbench single-row INSERT ON CONFLICT DO NOTHING\t%.0f\t%.1f\t%.1f\t0\t1.00\t%s\t-\t\n", pg.tps, pg.p50, pg.p99, stealCell(pg.cpu))
	stolen := pg.cpu.steal
	for _, r := range []struct {
		name string
		l    loadStats
	}{{"HTTP new assignments", newLoad}, {"HTTP repeat assignments (sticky)", sticky},
		{"HTTP GET /healthz (no key, no body: the HTTP ceiling here)", healthz}} {
		fmt.Fprintf(tw, "%s\t%.0f\t%.1f\t%.1f\t%d\t%.2f\t%s\t%s\t\n", r.name, r.l.tps, r.l.p50, r.l.p99, r.l.errors, r.l.tps/pg.tps,
			stealCell(r.l.cpu), perRequestCell(r.l.cpu, r.l.tps*d.Seconds()))
		stolen = max(stolen, r.l.cpu.steal)
	}
	tw.Flush()
	fmt.Fprintf(stdout, "pgbench ran at %.0f tps before the HTTP loads and %.0f after them; the baseline is their mean\n", pgRuns[0].tps, pgRuns[1].tps)
	if stolen >= stealWarn {
		// Steal is CPU time the hypervisor gave to other guests while this machine wanted it:
		// it comes and goes, and a ratio of two loads measured under different shares of it
		// says as much about the host as about krslab. The CPU per request does not move with it.
		fmt.Fprintf(stdout, "the host took up to %.0f%% of this machine's CPU time during a load (steal): the ratios are those of a shared host\n", 100*stolen)
	}
	fmt.Fprintf(stdout, "new assignments were stored in groups of %.1f on average (group commit)\n", stored/max(groups, 1))
	if within >= 0 {
		// The server's own clock, from a request read to its answer written. wrk's p99 adds
		// the time around it, and wrk counts a slow request again for each request its
		// connection would have sent meanwhile (its coordinated-omission correction), so a
		// few slow requests weigh more there than here.
		fmt.Fprintf(stdout, "the server answered %.2f%% of the new assignments within 25 ms (its request histogram)\n", 100*within)
	}
	fmt.Fprintf(stdout, "new_assign_ratio=%.2f p99_ms=%.1f pgbench_p99_ms=%.1f errors=%d sticky_faster=%v sticky_ratio=%.2f healthz_ratio=%.2f steal_max_pct=%s\n",
		newLoad.tps/pg.tps, newLoad.p99, pg.p99, newLoad.errors+sticky.errors+healthz.errors, sticky.tps > newLoad.tps,
		sticky.tps/pg.tps, healthz.tps/pg.tps, stealCell(cpuUse{steal: stolen}))
	return nil
}

func assignOnce(client *http.Client, url, secret, id string) error {
	body, _ := json.Marshal(map[string]string{"customer_id": id})
	req, _ := http.NewRequest("POST", url, bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+secret)
	req.Header.Set("Content-Type", "application/json")
	return answered(client.Do(req))
}

// answered reads a load request's answer away; it is an error unless it is 200 OK.
func answered(res *http.Response, err error) error {
	if err != nil {
		return err
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("status %d", res.StatusCode)
	}
	return nil
}

// storedCustomers lists the customers stored in an experiment.
func storedCustomers(ctx context.Context, store *postgres.Store, experimentID int64) ([]string, error) {
	var ids []string
	if err := store.DB().SelectContext(ctx, &ids, `SELECT customer_id FROM assignments WHERE experiment_id = $1`, experimentID); err != nil {
		return nil, err
	}
	if len(ids) == 0 {
		return nil, errors.New("the new-assignment run stored no customers")
	}
	return ids, nil
}

// loadStats is what a load run measured: requests per second without errors, and latency
// percentiles in milliseconds.
type loadStats struct {
	tps, p50, p99 float64
	errors        int
	cpu           cpuUse // of the machine and the server during the load (bench assign)
}

// loadResult is what a load run of the Go load generator measured.
type loadResult struct {
	tps       float64
	errors    int
	latencies []time.Duration // sorted
}

func (r loadResult) p(q float64) float64 {
	if len(r.latencies) == 0 {
		return 0
	}
	return float64(r.latencies[int(q*float64(len(r.latencies)-1))].Microseconds()) / 1000
}

func (r loadResult) stats() loadStats {
	return loadStats{tps: r.tps, p50: r.p(0.50), p99: r.p(0.99), errors: r.errors}
}

// load runs clients loops of do for d and measures throughput and latency.
func load(ctx context.Context, clients int, d time.Duration, do func(*http.Client, int) error) loadResult {
	transport := &http.Transport{MaxIdleConns: clients * 2, MaxIdleConnsPerHost: clients * 2}
	defer transport.CloseIdleConnections()
	client := &http.Client{Transport: transport, Timeout: 30 * time.Second}
	var mu sync.Mutex
	var res loadResult
	deadline := time.Now().Add(d)
	var wg sync.WaitGroup
	for w := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var lat []time.Duration
			errs := 0
			for time.Now().Before(deadline) && ctx.Err() == nil {
				start := time.Now()
				err := do(client, w)
				lat = append(lat, time.Since(start))
				if err != nil {
					errs++
				}
			}
			mu.Lock()
			res.latencies = append(res.latencies, lat...)
			res.errors += errs
			mu.Unlock()
		}()
	}
	wg.Wait()
	slices.Sort(res.latencies)
	res.tps = float64(len(res.latencies)-res.errors) / d.Seconds()
	return res
}

var tpsLine = regexp.MustCompile(`tps = ([0-9.]+)`)

// pgbench runs PostgreSQL's own benchmark tool with a single-row insert, and reads the
// latency of every transaction from its log: the commit latency of the disk itself, which
// bounds what any client of this database can see.
func pgbench(ctx context.Context, dbURL string, clients int, d time.Duration) (loadResult, error) {
	bin := pgTool("pgbench")
	script, err := tempFile("krslab-pgbench-*.sql", `\set id random(1, 2000000000)
INSERT INTO bench_assignments (experiment_id, customer_id, arm_key, assigned_at) VALUES (1, 'pg-' || :id, 'control', now()) ON CONFLICT DO NOTHING;
`)
	if err != nil {
		return loadResult{}, err
	}
	defer os.Remove(script)
	logs, err := os.MkdirTemp("", "krslab-pgbench-log-*")
	if err != nil {
		return loadResult{}, err
	}
	defer os.RemoveAll(logs)
	out, err := exec.CommandContext(ctx, bin, "-n", "-M", "prepared", "-c", strconv.Itoa(clients), "-j", "2",
		"-T", strconv.Itoa(int(d.Seconds())), "-l", "--log-prefix", filepath.Join(logs, "tx"), "-f", script, dbURL).CombinedOutput()
	if err != nil {
		return loadResult{}, fmt.Errorf("pgbench: %v\n%s", err, out)
	}
	m := tpsLine.FindSubmatch(out)
	if m == nil {
		return loadResult{}, fmt.Errorf("pgbench output without tps:\n%s", out)
	}
	var res loadResult
	res.tps, _ = strconv.ParseFloat(string(m[1]), 64)
	if res.latencies, err = pgbenchLatencies(logs); err != nil {
		return loadResult{}, err
	}
	return res, nil
}

// pgbenchLatencies reads the per-transaction logs of pgbench -l (client, transaction,
// latency in microseconds, ...) in dir, sorted.
func pgbenchLatencies(dir string) ([]time.Duration, error) {
	files, err := filepath.Glob(filepath.Join(dir, "tx*"))
	if err != nil {
		return nil, err
	}
	var lat []time.Duration
	for _, name := range files {
		data, err := os.ReadFile(name)
		if err != nil {
			return nil, err
		}
		for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
			f := strings.Fields(line)
			if len(f) < 3 {
				continue
			}
			us, err := strconv.ParseInt(f[2], 10, 64)
			if err != nil {
				return nil, fmt.Errorf("pgbench log %s: %q", filepath.Base(name), line)
			}
			lat = append(lat, time.Duration(us)*time.Microsecond)
		}
	}
	if len(lat) == 0 {
		return nil, errors.New("pgbench wrote no transaction log")
	}
	slices.Sort(lat)
	return lat, nil
}

// benchServer is `krslab serve` in a process of its own, as in production.
type benchServer struct {
	cmd  *exec.Cmd
	url  string
	once sync.Once
}

func startBenchServer(ctx context.Context, dbURL string, flags ...string) (*benchServer, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := l.Addr().String()
	l.Close()
	cmd := exec.Command(self, append([]string{"serve", "--addr", addr, "--database-url", dbURL}, flags...)...)
	cmd.Stdout, cmd.Stderr = nil, os.Stderr // stdout (the request log) to /dev/null
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	s := &benchServer{cmd: cmd, url: "http://" + addr}
	for range 300 {
		if res, err := http.Get(s.url + "/readyz"); err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return s, nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	s.stop()
	return nil, errors.New("benchmark server did not become ready")
}

// peakRSSMB is the server's peak resident memory so far (VmHWM of /proc/PID/status), in
// MB (2^20 bytes); Linux only.
func (s *benchServer) peakRSSMB() (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", s.cmd.Process.Pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 64)
			if err != nil {
				return 0, fmt.Errorf("VmHWM: %q: %w", v, err)
			}
			return kb / 1024, nil
		}
	}
	return 0, errors.New("no VmHWM in /proc/PID/status")
}

// measured runs one load against the server and adds what the machine's and the server's
// CPU counters say about it.
func (s *benchServer) measured(run func() (loadStats, error)) (loadStats, error) {
	before := readCPU(s.cmd.Process.Pid)
	l, err := run()
	l.cpu = before.until(readCPU(s.cmd.Process.Pid))
	return l, err
}

// stop ends the server and waits for it; stopping it again does nothing.
func (s *benchServer) stop() {
	s.once.Do(func() {
		s.cmd.Process.Signal(os.Interrupt)
		s.cmd.Wait()
	})
}

var groupLine = regexp.MustCompile(`(?m)^krslab_assignment_group_commit_size_(sum|count) ([0-9.e+]+)$`)

// settledGroupCommits is groupCommits once the requests a load generator left in flight
// when it stopped have been stored.
func settledGroupCommits(url string) (stored, groups float64) {
	stored, groups = groupCommits(url)
	for range 50 {
		time.Sleep(100 * time.Millisecond)
		s, g := groupCommits(url)
		if s == stored && g == groups {
			break
		}
		stored, groups = s, g
	}
	return stored, groups
}

// servedWithin reads from the server's request histogram the share of the requests of a
// route answered within le seconds (a bucket bound), or -1 when it cannot tell.
func servedWithin(url, method, route, le string) float64 {
	var below, total float64
	for _, line := range strings.Split(scrape(url), "\n") {
		name, value, ok := strings.Cut(line, " ")
		if !ok || !strings.HasPrefix(name, "http_request_duration_seconds_bucket{") ||
			!strings.Contains(name, `method="`+method+`"`) || !strings.Contains(name, `route="`+route+`"`) {
			continue
		}
		v, err := strconv.ParseFloat(value, 64)
		if err != nil {
			continue
		}
		switch {
		case strings.Contains(name, `le="`+le+`"`):
			below += v
		case strings.Contains(name, `le="+Inf"`):
			total += v
		}
	}
	if total == 0 {
		return -1
	}
	return below / total
}

// groupCommits reads the server's group-commit histogram from /metrics: the assignments
// stored and the statements that stored them.
func groupCommits(url string) (stored, groups float64) {
	for _, m := range groupLine.FindAllStringSubmatch(scrape(url), -1) {
		v, _ := strconv.ParseFloat(m[2], 64)
		if m[1] == "sum" {
			stored = v
		} else {
			groups = v
		}
	}
	return stored, groups
}

// scrape reads the server's /metrics, "" when it cannot.
func scrape(url string) string {
	res, err := http.Get(url + "/metrics")
	if err != nil {
		return ""
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return string(body)
}

// tempFile writes content to a new temporary file and returns its name.
func tempFile(pattern, content string) (string, error) {
	f, err := os.CreateTemp("", pattern)
	if err != nil {
		return "", err
	}
	if _, err := f.WriteString(content); err != nil {
		f.Close()
		os.Remove(f.Name())
		return "", err
	}
	return f.Name(), f.Close()
}
