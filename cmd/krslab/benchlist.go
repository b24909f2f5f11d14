package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"time"

	"github.com/lib/pq"

	"github.com/krslab/krslab/api"
	"github.com/krslab/krslab/api/console"
	"github.com/krslab/krslab/experiment"
	"github.com/krslab/krslab/experiment/postgres"
)

// listOutcomes are the answers of every response of the list benchmark: the KRS and NPS.
// The list reads no answer; they make each experiment's analysis, and so its headline, real.
var listOutcomes = []string{"satisfaction", "trust", "love", "nps"}

// benchList compares the console's list (Service.Overview: one query over experiments,
// their headlines and their open alerts, decoded into Headlines), and the console's page
// /experiments served over HTTP, with the same query run raw, over experiments that each
// have responses and an analysis.
func benchList(ctx context.Context, store *postgres.Store, experiments, responses int, fsync string, stdout, stderr io.Writer) error {
	if experiments < 1 || responses < 1 {
		return fmt.Errorf("--experiments %d --responses %d: both must be at least 1", experiments, responses)
	}
	svc := experiment.NewService(store)
	ctx = experiment.WithActor(ctx, "bench")
	prefix := fmt.Sprintf("benchlist-%d", time.Now().UnixNano())
	fmt.Fprintf(stderr, "creating %d experiments ...\n", experiments)
	start := time.Now()
	ids := make(pq.Int64Array, experiments)
	keys := make([]string, experiments)
	for i := range experiments {
		keys[i] = fmt.Sprintf("%s-%03d", prefix, i)
		def := experiment.Experiment{Key: keys[i], Name: fmt.Sprintf("List benchmark %03d", i), Arms: []experiment.Arm{
			{Key: "control", Weight: 1, Control: true}, {Key: "treatment", Weight: 1}}}
		if _, err := svc.CreateExperiment(ctx, def); err != nil {
			return err
		}
		e, err := svc.Start(ctx, keys[i])
		if err != nil {
			return err
		}
		ids[i] = e.ID
	}
	fmt.Fprintf(stderr, "loading %d responses x %d answers per experiment ...\n", responses, len(listOutcomes))
	db := store.DB()
	for i, q := range []string{
		`INSERT INTO assignments (experiment_id, customer_id, arm_key)
		 SELECT e, 'c' || g, CASE WHEN g % 2 = 0 THEN 'control' ELSE 'treatment' END
		 FROM unnest($1::bigint[]) e, generate_series(1, $2) g`,
		`INSERT INTO answer_key_sets (id, outcome_keys) VALUES (answer_key_set_id($1), $1) ON CONFLICT DO NOTHING`,
		`INSERT INTO responses (experiment_id, response_id, customer_id, arm_key, answered_at, content_hash, key_set, answer_values, first_response)
		 SELECT e, 'r' || g, 'c' || g, CASE WHEN g % 2 = 0 THEN 'control' ELSE 'treatment' END,
		        now() - (g % 30) * interval '1 day', sha256(('r' || g)::bytea), answer_key_set_id($3::text[]),
		        ARRAY[1 + floor(random() * 7), 1 + floor(random() * 7), 1 + floor(random() * 7), floor(random() * 11)], true
		 FROM unnest($1::bigint[]) e, generate_series(1, $2) g`,
	} {
		args := []any{ids, responses, pq.StringArray(listOutcomes)}
		switch i {
		case 0:
			args = args[:2]
		case 1:
			args = args[2:]
		}
		if _, err := db.ExecContext(ctx, q, args...); err != nil {
			return err
		}
	}
	if _, err := db.ExecContext(ctx, `ANALYZE assignments; ANALYZE responses`); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "loaded in %v; analysing each experiment once ...\n", time.Since(start).Round(time.Millisecond))
	start = time.Now()
	for _, key := range keys {
		if _, err := svc.Results(ctx, key); err != nil {
			return err
		}
	}
	fmt.Fprintf(stderr, "analysed in %v\n", time.Since(start).Round(time.Millisecond))

	var listed int
	list := func() error {
		hs, err := svc.Overview(ctx, "", prefix)
		listed = len(hs)
		return err
	}
	raw := func() error {
		rows, err := db.QueryContext(ctx, postgres.OverviewSQL, "", prefix)
		if err != nil {
			return err
		}
		for rows.Next() {
		}
		rows.Close()
		return rows.Err()
	}
	// The console's page over HTTP, as a signed-in analyst reads it.
	secret, _, err := svc.CreateAPIKey(ctx, prefix+"-reader", experiment.RoleAnalyst)
	if err != nil {
		return err
	}
	token, _, err := svc.SignIn(ctx, secret, "List benchmark", "en")
	if err != nil {
		return err
	}
	app := api.New(svc, api.Config{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	console.Mount(app, svc, console.Config{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	srv := httptest.NewServer(app)
	defer srv.Close()
	pageURL := srv.URL + "/experiments?q=" + url.QueryEscape(prefix)
	page := func() error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, pageURL, nil)
		if err != nil {
			return err
		}
		req.AddCookie(&http.Cookie{Name: api.SessionCookie, Value: token})
		resp, err := srv.Client().Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			return err
		}
		if resp.StatusCode != http.StatusOK || strings.Count(string(body), "data-key=") != experiments {
			return fmt.Errorf("the console's list answered %d with %d experiments", resp.StatusCode, strings.Count(string(body), "data-key="))
		}
		return nil
	}
	// A list takes milliseconds, which a busy machine's noise moves by as much: many rounds.
	const runs = 21
	t, err := timeRounds(runs, step{nil, raw}, step{nil, list}, step{nil, page})
	if err != nil {
		return err
	}
	if listed != experiments {
		return fmt.Errorf("the list has %d experiments, want %d", listed, experiments)
	}
	fmt.Fprintf(stdout, "krslab bench list: %d experiments x %d responses x %d answers, PostgreSQL fsync=%s, medians of %d rounds\n",
		experiments, responses, len(listOutcomes), fsync, runs)
	fmt.Fprintf(stdout, "  the headline query, raw                 %8.1f ms\n", ms(medianOf(t[0])))
	fmt.Fprintf(stdout, "  Service.Overview (query and Headlines)  %8.1f ms\n", ms(medianOf(t[1])))
	fmt.Fprintf(stdout, "  the console's page /experiments (HTTP)  %8.1f ms\n", ms(medianOf(t[2])))
	fmt.Fprintf(stdout, "list_ratio=%.2f\n", ratioOf(t[1], t[0]))
	fmt.Fprintf(stdout, "page_ratio=%.2f\n", ratioOf(t[2], t[0]))
	return nil
}
