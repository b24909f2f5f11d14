package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/pprof"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/krslab/krslab/api"
	"github.com/krslab/krslab/api/console"
	"github.com/krslab/krslab/experiment"
	"github.com/krslab/krslab/experiment/postgres"
	"github.com/krslab/krslab/experiment/webhook"
)

func openStore(ctx context.Context, c common) (*postgres.Store, error) {
	return postgres.Open(ctx, c.databaseURL, postgres.Options{})
}

func runMigrate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var c common
	fs := newFlagSet("migrate", stderr)
	c.register(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	store, err := openStore(ctx, c)
	if err != nil {
		return err
	}
	defer store.Close()
	switch fs.Arg(0) {
	case "status":
		list, err := store.MigrationStatus(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "VERSION\tNAME\tAPPLIED")
		for _, m := range list {
			applied := "pending"
			if m.Applied {
				applied = m.AppliedAt.UTC().Format(time.RFC3339)
			}
			fmt.Fprintf(tw, "%d\t%s\t%s\n", m.Version, m.Name, applied)
		}
		return tw.Flush()
	case "":
		applied, err := store.Migrate(ctx)
		if err != nil {
			return err
		}
		if len(applied) == 0 {
			fmt.Fprintln(stdout, "schema is current; nothing to apply")
		} else {
			fmt.Fprintf(stdout, "applied %d migration(s): %v\n", len(applied), applied)
		}
		return nil
	}
	return fmt.Errorf("unknown migrate argument %q (use: migrate, migrate status)", fs.Arg(0))
}

// serveGCPercent is the garbage collector's target of serve unless GOGC is set: collect
// when the heap has grown by four times what is live, not once it has doubled (Go's
// default). The server's live heap is small (tens of MB) and every request allocates, so
// the default collects many times a second under load: at 32 clients a tenth of the
// server's CPU went to collecting, which the assignment path, CPU-bound on two cores,
// pays for in throughput (krslab bench assign: 8 % more new assignments per second, 4 %
// more repeats). The heap's peak grows with it: see peak_rss_mb of krslab bench results.
const serveGCPercent = 400

func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var c common
	fs := newFlagSet("serve", stderr)
	c.register(fs)
	addr := fs.String("addr", envOr("KRSLAB_ADDR", ":8080"), "listen address (env KRSLAB_ADDR)")
	migrate := fs.Bool("migrate", false, "apply pending migrations before serving")
	bodyLimit := fs.Int64("body-limit", envInt("KRSLAB_BODY_LIMIT", 16<<20), "largest request body in bytes (env KRSLAB_BODY_LIMIT)")
	importLimit := fs.Int64("import-limit", envInt("KRSLAB_IMPORT_LIMIT", 1<<30), "largest CSV body of the :import routes in bytes, streamed (env KRSLAB_IMPORT_LIMIT)")
	importTimeout := fs.Duration("import-timeout", envDuration("KRSLAB_IMPORT_TIMEOUT", api.DefaultImportTimeout), "longest upload of an :import body, in place of the 2-minute read timeout of other requests (env KRSLAB_IMPORT_TIMEOUT)")
	spoolDir := spoolDirFlag(fs)
	maxConns := fs.Int("db-max-conns", int(envInt("KRSLAB_DB_MAX_CONNS", 16)), "database connection pool size (env KRSLAB_DB_MAX_CONNS)")
	drain := fs.Duration("shutdown-timeout", 20*time.Second, "how long in-flight requests may finish on SIGTERM")
	refresh := fs.Duration("refresh-interval", envDuration("KRSLAB_REFRESH_INTERVAL", time.Minute),
		"how often experiments whose data changed are analysed again for the console's list (env KRSLAB_REFRESH_INTERVAL)")
	sessionIdle := fs.Duration("session-idle", envDuration("KRSLAB_SESSION_IDLE", experiment.DefaultSessionIdle),
		"how long a console session may go unused before it ends (env KRSLAB_SESSION_IDLE)")
	webhookAllow := fs.String("webhook-allow", os.Getenv("KRSLAB_WEBHOOK_ALLOW"),
		"host names, IP addresses and CIDR networks that alert webhooks may reach besides public addresses, comma-separated (env KRSLAB_WEBHOOK_ALLOW)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(serveGCPercent)
	}
	webhooks, err := experiment.ParseWebhookAllow(*webhookAllow)
	if err != nil {
		return fmt.Errorf("--webhook-allow: %w", err)
	}
	log := c.logger(stdout)
	if n, err := experiment.RemoveDeadSpools(*spoolDir); err != nil {
		log.Warn("could not remove the spool files of dead processes", "dir", *spoolDir, "err", err)
	} else if n > 0 {
		log.Info("removed the spool files of dead processes", "dir", *spoolDir, "files", n)
	}
	store, err := postgres.Open(ctx, c.databaseURL, postgres.Options{MaxOpenConns: *maxConns})
	if err != nil {
		return err
	}
	defer store.Close()
	if *migrate {
		applied, err := store.Migrate(ctx)
		if err != nil {
			return err
		}
		log.Info("migrated", "applied", len(applied))
	}
	// The connections a burst of requests needs at once: group commits, the renewals of
	// keys and experiments, and other routes' queries. Only the first requests are slower
	// without them.
	if err := store.Warm(ctx, 4); err != nil {
		log.Warn("could not open the first database connections ahead", "err", err)
	}
	// One policy for the URLs editors store and for what the worker connects to.
	svc := experiment.NewService(store)
	defer svc.Close() // after the drain: assignments queued then are refused, commits in flight finish
	svc.Webhooks = webhooks
	if allow := webhooks.String(); allow != "" {
		log.Info("webhooks may also reach", "allow", allow)
	}
	svc.SessionIdle = *sessionIdle
	renders := api.NewRenderLimit(0, 0)
	handler := api.New(svc, api.Config{BodyLimit: *bodyLimit, ImportLimit: *importLimit, Logger: log, Ready: store,
		Metrics: api.NewMetrics(store.DB().DB), ImportTimeout: *importTimeout, SpoolDir: *spoolDir, Renders: renders})
	// The console: the same service, on the same server, under / (the API is under /v1).
	console.Mount(handler, svc, console.Config{Logger: log, Renders: renders})
	srv := &http.Server{
		Addr:              *addr,
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       2 * time.Minute,
		IdleTimeout:       2 * time.Minute,
	}
	if addr := os.Getenv("KRSLAB_PPROF_ADDR"); addr != "" {
		// Profiling for operators, on its own (loopback) address, never on the API's.
		go func() { log.Error("pprof", "err", http.ListenAndServe(addr, pprofMux())) }()
	}
	// The experiment list reads the headlines analyses leave; keep them current in the
	// background, so that no reader of the list waits for an analysis.
	hctx, stopHeadlines := context.WithCancel(ctx)
	headlinesDone := make(chan struct{})
	go func() { defer close(headlinesDone); svc.KeepHeadlinesFresh(hctx, *refresh, log) }()
	defer func() { stopHeadlines(); <-headlinesDone }()
	// The webhook worker posts alerts until shutdown, then finishes the attempts in flight.
	wctx, stopWebhooks := context.WithCancel(ctx)
	webhooksDone := make(chan struct{})
	go func() {
		defer close(webhooksDone)
		webhook.NewWorker(store, webhook.Options{Policy: webhooks, Logger: log}).Run(wctx)
	}()
	defer func() { stopWebhooks(); <-webhooksDone }()
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	log.Info("serving", "addr", *addr)
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down", "timeout", drain.String())
	sctx, cancel := context.WithTimeout(context.Background(), *drain)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func envInt(name string, def int64) int64 {
	if v, err := strconv.ParseInt(os.Getenv(name), 10, 64); err == nil {
		return v
	}
	return def
}

func runAPIKey(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return errors.New("apikey needs a subcommand: create, list or revoke")
	}
	var c common
	fs := newFlagSet("apikey "+args[0], stderr)
	c.register(fs)
	role := fs.String("role", "", "admin, editor, analyst or ingest")
	name := fs.String("name", "", "a unique name for the key (shown in logs and the audit log)")
	link := fs.Bool("link", false, "create: also print a one-time console sign-in link for the key, after the key")
	linkTTL := fs.Duration("link-ttl", experiment.DefaultLinkTTL, "create --link: how long the link stays valid")
	base := fs.String("url", envOr("KRSLAB_URL", "http://localhost:8080"), "create --link: the console's address, for the link (env KRSLAB_URL)")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	store, err := openStore(ctx, c)
	if err != nil {
		return err
	}
	defer store.Close()
	svc := experiment.NewService(store)
	ctx = experiment.WithActor(ctx, "cli")
	switch args[0] {
	case "create":
		secret, k, err := svc.CreateAPIKey(ctx, *name, experiment.Role(*role))
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, secret)
		if *link {
			token, err := svc.CreateSignInLink(ctx, k, *linkTTL)
			if err != nil {
				return err
			}
			fmt.Fprintln(stdout, strings.TrimRight(*base, "/")+"/sign-in/link?token="+token)
		}
		return nil
	case "list":
		keys, err := store.APIKeys(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "NAME\tROLE\tPREFIX\tCREATED\tREVOKED")
		for _, k := range keys {
			revoked := "-"
			if k.RevokedAt != nil {
				revoked = k.RevokedAt.Format(time.RFC3339)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s…\t%s\t%s\n", k.Name, k.Role, k.Prefix, k.CreatedAt.Format(time.RFC3339), revoked)
		}
		return tw.Flush()
	case "revoke":
		if err := svc.RevokeAPIKey(ctx, *name); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "revoked %s\n", *name)
		return nil
	}
	return fmt.Errorf("unknown apikey subcommand %q (use create, list or revoke)", args[0])
}

func pprofMux() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return mux
}
