package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/lib/pq"

	"github.com/krslab/krslab/experiment"
	"github.com/krslab/krslab/experiment/postgres"
)

// wavePaths are the three ways a survey wave arrives: JSON batches of at most
// experiment.MaxBatch over HTTP, one CSV over HTTP, and the command-line import.
var wavePaths = []string{"batch", "import", "cli"}

// benchWaves times survey waves of the same customers: the first wave (every customer
// answers for the first time) against each later one (every customer answers again), per
// way of writing them and per size, each run in an experiment of its own. Relationship
// experiments survey the same customers again after a week or three months, so a later
// wave is the normal case; its latest-answer upkeep should cost what the first wave's
// rows cost, not what the customers' history costs.
//
// history responses of another experiment (and as many assignments) are loaded first, as a
// database in use has them: no step should read them.
func benchWaves(ctx context.Context, store *postgres.Store, dbURL string, sizes []int, waves, rounds, history int, fsync string, stdout, stderr io.Writer) error {
	if waves < 2 || rounds < 1 || history < 0 {
		return fmt.Errorf("--waves %d --rounds %d --history %d: at least 2 waves and 1 round", waves, rounds, history)
	}
	if history > 0 {
		if err := benchHistory(ctx, store, history, stderr); err != nil {
			return err
		}
	}
	svc := experiment.NewService(store)
	ctx = experiment.WithActor(ctx, "bench")
	// One ingest key for every run, made before the server starts: a server looks a new key
	// up at most once a second, and the runs make experiments faster than that.
	secret, _, err := svc.CreateAPIKey(ctx, fmt.Sprintf("bench-waves-%d", time.Now().UnixNano()), experiment.RoleIngest)
	if err != nil {
		return err
	}
	// The console's list analyses every experiment whose data changed, in the background:
	// not while the waves are timed.
	srv, err := startBenchServer(ctx, dbURL, "--refresh-interval", "24h")
	if err != nil {
		return err
	}
	defer srv.stop()
	self, err := os.Executable()
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "krslab-bench-waves-*")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	client := &http.Client{Timeout: 10 * time.Minute}
	db := store.DB()
	// Every step starts right after a checkpoint, so that none pays for the writes of the
	// one before (needs a superuser; without one the steps share that noise).
	checkpoint := func() { _, _ = db.ExecContext(ctx, `CHECKPOINT`) }

	type cell struct{ path, size string }
	times := map[cell][][]time.Duration{} // per round, per wave
	failed := map[cell]string{}
	now := time.Now().UTC().Truncate(time.Second)
	for _, n := range sizes {
		for _, path := range wavePaths {
			c := cell{path, strconv.Itoa(n)}
			for round := range rounds {
				if _, bad := failed[c]; bad {
					break
				}
				e, _, err := benchExperiment(ctx, store, nil)
				if err != nil {
					return err
				}
				if err := benchAssignments(ctx, svc, store, e.Key, n); err != nil {
					return err
				}
				fmt.Fprintf(stderr, "%s, %d customers, round %d:", path, n, round+1)
				var ds []time.Duration
				for w := range waves {
					// Wave w is answered (waves - w) months ago, one customer a second.
					at := now.AddDate(0, -(waves - w), 0)
					rs := waveResponses(w, n, at)
					// Waves are weeks apart: autovacuum has cleaned up after the last one.
					if w > 0 {
						if _, err := db.ExecContext(ctx, `VACUUM (ANALYZE) responses`); err != nil {
							return err
						}
					}
					checkpoint()
					d, err := sendWave(ctx, client, srv.url, self, dbURL, dir, path, e.Key, secret, rs)
					if err != nil {
						failed[c] = fmt.Sprintf("wave %d: %v", w+1, err)
						fmt.Fprintf(stderr, " wave %d failed after %v: %v\n", w+1, d.Round(time.Millisecond), err)
						break
					}
					ds = append(ds, d)
					fmt.Fprintf(stderr, " %.2fs", d.Seconds())
				}
				if len(ds) == waves {
					times[c] = append(times[c], ds)
					fmt.Fprintln(stderr)
				}
			}
		}
	}

	fmt.Fprintf(stdout, "krslab bench waves: %d waves of the same customers (%d answers each), history of %d responses, PostgreSQL fsync=%s, medians of %d rounds\n",
		waves, len(answeredOutcomes), history, fsync, rounds)
	fmt.Fprintf(stdout, "  %-8s %7s %10s", "path", "size", "wave 1 s")
	for w := 2; w <= waves; w++ {
		fmt.Fprintf(stdout, " %9s", fmt.Sprintf("wave %d s", w))
	}
	fmt.Fprintf(stdout, " %8s\n", "ratio")
	var summary []string
	worst := 0.0
	for _, n := range sizes {
		for _, path := range wavePaths {
			c := cell{path, strconv.Itoa(n)}
			name := fmt.Sprintf("%s_%d", path, n)
			if msg, bad := failed[c]; bad {
				fmt.Fprintf(stdout, "  %-8s %7d failed: %s\n", path, n, msg)
				summary = append(summary, name+"=failed")
				worst = -1
				continue
			}
			ws := make([][]time.Duration, waves) // per wave, per round
			for _, r := range times[c] {
				for w := range waves {
					ws[w] = append(ws[w], r[w])
				}
			}
			// The ratio is the slowest later wave's over the first's, each the median over the
			// rounds of a round's own ratio: a round's waves run back to back (see timeRounds).
			ratio := 0.0
			fmt.Fprintf(stdout, "  %-8s %7d %10.2f", path, n, medianOf(ws[0]).Seconds())
			for _, later := range ws[1:] {
				fmt.Fprintf(stdout, " %9.2f", medianOf(later).Seconds())
				ratio = max(ratio, ratioOf(later, ws[0]))
			}
			fmt.Fprintf(stdout, " %8.2f\n", ratio)
			summary = append(summary, fmt.Sprintf("%s=%.2f", name, ratio))
			if worst >= 0 {
				worst = max(worst, ratio)
			}
		}
	}
	fmt.Fprintf(stdout, "wave_ratios %s\n", strings.Join(summary, " "))
	if worst < 0 {
		fmt.Fprintln(stdout, "max_wave_ratio=failed (target <= 1.5)")
	} else {
		fmt.Fprintf(stdout, "max_wave_ratio=%.2f (target <= 1.5)\n", worst)
	}
	return nil
}

// benchHistory loads n responses of 10 answers, each of its own customer, into an
// experiment of their own, and vacuums and analyses the tables, as autovacuum would in
// time (not while the waves are timed).
func benchHistory(ctx context.Context, store *postgres.Store, n int, stderr io.Writer) error {
	e, _, err := benchExperiment(ctx, store, nil)
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "loading a history of %d responses x %d answers ...\n", n, len(answeredOutcomes))
	db := store.DB()
	for i, q := range []string{
		`INSERT INTO assignments (experiment_id, customer_id, arm_key)
		 SELECT $1, 'h' || g, CASE WHEN g % 2 = 0 THEN 'control' ELSE 'treatment' END FROM generate_series(1, $2) g`,
		`INSERT INTO answer_key_sets (id, outcome_keys) VALUES (answer_key_set_id($1), $1) ON CONFLICT DO NOTHING`,
		`INSERT INTO responses (experiment_id, response_id, customer_id, arm_key, answered_at, content_hash, key_set, answer_values, first_response)
		 SELECT $1, 'r' || g, 'h' || g, CASE WHEN g % 2 = 0 THEN 'control' ELSE 'treatment' END,
		        now() - (g % 90) * interval '1 day', sha256(('r' || g)::bytea), answer_key_set_id($3::text[]),
		        array_fill(4::float8, ARRAY[cardinality($3::text[])]), true
		 FROM generate_series(1, $2) g`,
		`VACUUM (ANALYZE) assignments`,
		`VACUUM (ANALYZE) responses`,
	} {
		args := []any{e.ID, n, pq.StringArray(answeredOutcomes)}
		switch i {
		case 0:
			args = args[:2]
		case 1:
			args = args[2:]
		case 3, 4:
			args = nil
		}
		if _, err := db.ExecContext(ctx, q, args...); err != nil {
			return err
		}
	}
	return nil
}

// benchAssignments assigns customers c0000001..n by the hash rule, with the bulk importer.
func benchAssignments(ctx context.Context, svc *experiment.Service, store *postgres.Store, key string, n int) error {
	var b strings.Builder
	b.WriteString("customer_id\n")
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, "c%07d\n", i)
	}
	src := func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(b.String())), nil }
	_, err := experiment.NewImporter(svc, store).Import(ctx, "assignments", key, src, experiment.ImportOptions{})
	return err
}

// waveResponse is one response of a benchmark wave, as the API's JSON has it.
type waveResponse struct {
	ResponseID string             `json:"response_id"`
	CustomerID string             `json:"customer_id"`
	AnsweredAt string             `json:"answered_at"`
	Answers    map[string]float64 `json:"answers"`
}

// waveResponses is wave w of customers c0000001..n, answered from at on, one a second,
// with answers that differ between waves.
func waveResponses(w, n int, at time.Time) []waveResponse {
	rs := make([]waveResponse, n)
	for i := range rs {
		r := waveResponse{ResponseID: fmt.Sprintf("w%d-r%07d", w+1, i+1), CustomerID: fmt.Sprintf("c%07d", i+1),
			AnsweredAt: at.Add(time.Duration(i) * time.Second).Format(time.RFC3339), Answers: map[string]float64{}}
		for j, o := range answeredOutcomes {
			h := (i+1)*31 + j*17 + w*7
			if o == "nps" {
				r.Answers[o] = float64(h % 11)
			} else {
				r.Answers[o] = float64(1 + h%7)
			}
		}
		rs[i] = r
	}
	return rs
}

// waveCSV is the API's CSV of a wave's responses.
func waveCSV(rs []waveResponse) []byte {
	var b bytes.Buffer
	b.WriteString("response_id,customer_id,answered_at," + strings.Join(answeredOutcomes, ",") + "\n")
	for _, r := range rs {
		b.WriteString(r.ResponseID + "," + r.CustomerID + "," + r.AnsweredAt)
		for _, o := range answeredOutcomes {
			b.WriteString("," + strconv.FormatFloat(r.Answers[o], 'f', -1, 64))
		}
		b.WriteByte('\n')
	}
	return b.Bytes()
}

// sendWave writes a wave by one path and returns the time it took, the encoding of the
// request or file excluded.
func sendWave(ctx context.Context, client *http.Client, baseURL, self, dbURL, dir, path, key, secret string, rs []waveResponse) (time.Duration, error) {
	post := func(suffix, contentType string, body []byte) error {
		req, err := http.NewRequestWithContext(ctx, "POST", baseURL+"/v1/experiments/"+key+suffix, bytes.NewReader(body))
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", "Bearer "+secret)
		req.Header.Set("Content-Type", contentType)
		res, err := client.Do(req)
		if err != nil {
			return err
		}
		defer res.Body.Close()
		answer, _ := io.ReadAll(res.Body)
		if res.StatusCode != http.StatusCreated {
			return fmt.Errorf("status %d: %.300s", res.StatusCode, bytes.TrimSpace(answer))
		}
		return nil
	}
	switch path {
	case "batch":
		var bodies [][]byte
		for from := 0; from < len(rs); from += experiment.MaxBatch {
			body, err := json.Marshal(map[string]any{"responses": rs[from:min(from+experiment.MaxBatch, len(rs))]})
			if err != nil {
				return 0, err
			}
			bodies = append(bodies, body)
		}
		start := time.Now()
		for _, body := range bodies {
			if err := post("/responses:batch", "application/json", body); err != nil {
				return time.Since(start), err
			}
		}
		return time.Since(start), nil
	case "import":
		body := waveCSV(rs)
		start := time.Now()
		err := post("/responses:import", "text/csv", body)
		return time.Since(start), err
	case "cli":
		file := fmt.Sprintf("%s/%s-%s.csv", dir, key, rs[0].ResponseID)
		if err := os.WriteFile(file, waveCSV(rs), 0o600); err != nil {
			return 0, err
		}
		defer os.Remove(file)
		cmd := exec.CommandContext(ctx, self, "import", "responses", "--experiment", key, "--database-url", dbURL, file)
		start := time.Now()
		out, err := cmd.CombinedOutput()
		if err != nil {
			return time.Since(start), fmt.Errorf("%v: %.300s", err, out)
		}
		return time.Since(start), nil
	}
	return 0, fmt.Errorf("unknown path %q", path)
}
