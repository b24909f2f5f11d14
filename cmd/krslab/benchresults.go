package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/lib/pq"

	"github.com/krslab/krslab/experiment/postgres"
)

// resultRounds is how many rounds bench results times (see timeRounds).
const resultRounds = 7

// answeredOutcomes are the ten answers of every benchmark response: the components of the
// default outcomes (the KRS, freedom of choice, the building blocks, NPS and CES).
var answeredOutcomes = []string{"satisfaction", "trust", "love", "involvement", "choice_products",
	"choice_channels", "fairness", "influence", "nps", "ces"}

// benchResults compares a cold GET /results (the first after a write) with the raw
// aggregate PostgreSQL needs at least: counting answers per arm, outcome and value; the
// timeline plot (the primary outcome on every answer day, plus the /results it draws on)
// and the report with one cold /results; and a repeated /results on unchanged data (served
// from the kept analysis) with a cold one. It ends with the server's peak resident memory
// (peak_rss_mb, VmHWM), for comparing sizes.
func benchResults(ctx context.Context, store *postgres.Store, dbURL string, responses, days int, fsync string, stdout, stderr io.Writer) error {
	e, secret, err := benchExperiment(ctx, store, nil)
	if err != nil {
		return err
	}
	if days < 1 {
		return fmt.Errorf("--days: %d is not a number of days", days)
	}
	fmt.Fprintf(stderr, "loading %d responses x %d answers over %d days ...\n", responses, len(answeredOutcomes), days)
	db := store.DB()
	start := time.Now()
	for i, q := range []string{
		`INSERT INTO assignments (experiment_id, customer_id, arm_key, assigned_at)
		 SELECT $1, 'c' || g, CASE WHEN g % 2 = 0 THEN 'control' ELSE 'treatment' END, now() - ($3 + 30) * interval '1 day'
		 FROM generate_series(1, $2) g`,
		`INSERT INTO answer_key_sets (id, outcome_keys) VALUES (answer_key_set_id($1), $1) ON CONFLICT DO NOTHING`,
		`INSERT INTO responses (experiment_id, response_id, customer_id, arm_key, answered_at, content_hash, key_set, answer_values, first_response)
		 SELECT $1, 'r' || g, 'c' || g, CASE WHEN g % 2 = 0 THEN 'control' ELSE 'treatment' END,
		        now() - (g % $4) * interval '1 day', sha256(('r' || g)::bytea),
		        answer_key_set_id($3::text[]),
		        -- (+ g * 0 ties the subquery to its row, so that every response draws its own values)
		        (SELECT array_agg(CASE WHEN o.key = 'nps' THEN floor(random() * 11) ELSE 1 + floor(random() * 7) END + g * 0
		                          ORDER BY o.pos)
		         FROM unnest($3::text[]) WITH ORDINALITY AS o(key, pos)), true
		 FROM generate_series(1, $2) g`,
	} {
		args := []any{e.ID, responses, pq.StringArray(answeredOutcomes), days}
		switch i {
		case 0: // (assigned a month before the first answer, so that every answer is in the wave below)
			args = []any{e.ID, responses, days}
		case 1:
			args = args[2:3]
		}
		if _, err := db.ExecContext(ctx, q, args...); err != nil {
			return err
		}
	}
	if _, err := db.ExecContext(ctx, `ANALYZE assignments; ANALYZE responses`); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "loaded in %v\n", time.Since(start).Round(time.Millisecond))

	raw := func() error {
		rows, err := db.QueryContext(ctx, `
			SELECT s.arm_key, a.outcome_key, a.value, count(*)
			FROM answers a JOIN assignments s ON s.experiment_id = a.experiment_id AND s.customer_id = a.customer_id
			WHERE a.experiment_id = $1 GROUP BY 1, 2, 3`, e.ID)
		if err != nil {
			return err
		}
		for rows.Next() {
		}
		rows.Close()
		return rows.Err()
	}
	// Without the console's background analyses, which would analyse between a write and
	// the request timed after it.
	srv, err := startBenchServer(ctx, dbURL, "--refresh-interval", "24h")
	if err != nil {
		return err
	}
	defer srv.stop()
	client := &http.Client{Timeout: 5 * time.Minute}
	get := func(path string) func() error {
		return func() error {
			req, _ := http.NewRequestWithContext(ctx, "GET", srv.url+"/v1/experiments/"+e.Key+path, nil)
			req.Header.Set("Authorization", "Bearer "+secret)
			res, err := client.Do(req)
			if err != nil {
				return err
			}
			defer res.Body.Close()
			io.Copy(io.Discard, res.Body)
			if res.StatusCode != http.StatusOK {
				return fmt.Errorf("%s: status %d", path, res.StatusCode)
			}
			return nil
		}
	}
	patch := func(body string) error {
		req, _ := http.NewRequestWithContext(ctx, "PATCH", srv.url+"/v1/experiments/"+e.Key, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+secret)
		req.Header.Set("Content-Type", "application/json")
		res, err := client.Do(req)
		if err != nil {
			return err
		}
		defer res.Body.Close()
		msg, _ := io.ReadAll(res.Body)
		if res.StatusCode != http.StatusOK {
			return fmt.Errorf("PATCH %s: status %d: %s", e.Key, res.StatusCode, msg)
		}
		// (A server reads an experiment's definition again at most a second later.)
		time.Sleep(1500 * time.Millisecond)
		return nil
	}
	// A cold request is the first after a write: any write moves the experiment's data
	// version (migration 00016), and moving it alone makes the next request analyse the
	// same data again. The move itself is not timed.
	write := func() error {
		_, err := db.ExecContext(ctx, `UPDATE experiment_data SET version = version + 1 WHERE experiment_id = $1`, e.ID)
		return err
	}
	// Rounds of a raw GROUP BY, a cold /results, the same /results repeated, a cold
	// timeline and a cold report, each ratio the median of its rounds' (see timeRounds).
	cold := step{write, get("/results")}
	t, err := timeRounds(resultRounds, step{nil, raw}, cold, step{nil, get("/results")},
		step{write, get("/plots/timeline.png")}, step{write, get("/report.html")})
	if err != nil {
		return err
	}
	rawT, coldT, repeatT, timelineT, reportT := t[0], t[1], t[2], t[3], t[4]
	fmt.Fprintf(stdout, "krslab bench results: %d responses x %d answers over %d days, PostgreSQL fsync=%s, medians of %d rounds\n",
		responses, len(answeredOutcomes), days, fsync, resultRounds)
	fmt.Fprintf(stdout, "  raw GROUP BY arm, outcome, value            %8.1f ms\n", ms(medianOf(rawT)))
	fmt.Fprintf(stdout, "  GET /results, cold (after a write)          %8.1f ms\n", ms(medianOf(coldT)))
	fmt.Fprintf(stdout, "  GET /results, repeated on unchanged data    %8.1f ms\n", ms(medianOf(repeatT)))
	fmt.Fprintf(stdout, "  GET /plots/timeline.png, cold               %8.1f ms\n", ms(medianOf(timelineT)))
	fmt.Fprintf(stdout, "  GET /report.html, cold                      %8.1f ms\n", ms(medianOf(reportT)))
	fmt.Fprintf(stdout, "results_ratio=%.2f timeline_ratio=%.2f report_ratio=%.2f repeat_ratio=%.3f\n",
		ratioOf(coldT, rawT), ratioOf(timelineT, coldT), ratioOf(reportT, coldT), ratioOf(repeatT, coldT))
	// A survey wave over every answer (waves may be added to a running experiment): its
	// analysis is the same analysis with the wave a condition on each answer's age.
	if err := patch(`{"waves": [{"key": "survey", "label": "Survey", "from_day": 0, "to_day": 3650}]}`); err != nil {
		return err
	}
	w, err := timeRounds(resultRounds, cold, step{write, get("/results?wave=survey")})
	if err != nil {
		return err
	}
	// A second survey wave: every customer answers again 20 days later (or now), written
	// as the service writes a repeat; the raw GROUP BY then counts every answer of both.
	if _, err := db.ExecContext(ctx, `
		INSERT INTO responses (experiment_id, response_id, customer_id, arm_key, answered_at, content_hash, key_set, answer_values, first_response)
		SELECT experiment_id, response_id || '-2', customer_id, arm_key, least(answered_at + interval '20 days', now()),
		       sha256((response_id || '-2')::bytea), key_set, answer_values, false
		FROM responses WHERE experiment_id = $1`, e.ID); err != nil {
		return err
	}
	if _, err := db.ExecContext(ctx, `VACUUM (ANALYZE) responses`); err != nil {
		return err
	}
	second, err := timeRounds(resultRounds, step{nil, raw}, cold)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "  GET /results?wave=, cold, a wave of every answer %8.1f ms\n", ms(medianOf(w[1])))
	fmt.Fprintf(stdout, "  after a second wave of every customer: raw %.1f ms, GET /results cold %.1f ms\n", ms(medianOf(second[0])), ms(medianOf(second[1])))
	fmt.Fprintf(stdout, "wave_ratio=%.2f second_wave_results_ratio=%.2f\n", ratioOf(w[1], w[0]), ratioOf(second[1], second[0]))
	// The server's peak memory over every request above, to compare between sizes (its
	// growth from 100,000 to 1,000,000 responses is held under 50 MB).
	if peak, err := srv.peakRSSMB(); err != nil {
		fmt.Fprintf(stdout, "peak_rss_mb=unknown (%v)\n", err)
	} else {
		fmt.Fprintf(stdout, "peak_rss_mb=%.1f\n", peak)
	}
	return nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
