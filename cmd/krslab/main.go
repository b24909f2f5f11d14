// Command krslab runs the krslab experimentation engine: the HTTP API, migrations, API
// keys and demo data.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"
)

const usage = `krslab: experiments on the customer relationship

Usage:
  krslab migrate [status]                 apply pending database migrations (or list them)
  krslab serve [--migrate] [--addr :8080] serve the HTTP API
  krslab apikey create --role R --name N  create an API key and print it
  krslab apikey list | revoke --name N    list or revoke API keys
  krslab demo                             load a demo experiment with simulated answers
  krslab import responses|assignments|covariates --experiment K [--skip-bad] FILE.csv
  krslab simulate aa|power [--runs R --n N --alpha A --effect D --seed S]
                                          check false-positive rate and power by simulation
  krslab simulate aa --looks L [--runs R]  A/A experiments read every day: how often one rolls out
  krslab simulate response-bias [--runs R] a treatment that only changes who answers
  krslab simulate aa --waves W [--runs R]  A/A experiments surveyed in waves: how often one fades or grows
  krslab simulate fade [--runs R]         an effect that halves between waves: how often it is called fading
  krslab bench assign|results|list        measure against PostgreSQL's own speed (ratios)
  krslab bench waves                      second survey waves against first ones (ratios)
  krslab bench import                     krslab import against psql \copy (ratio)

Every command reads DATABASE_URL (or --database-url). Run "krslab COMMAND -h" for flags.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "krslab: "+err.Error())
		}
		os.Exit(1)
	}
}

// run dispatches a subcommand; it is main without the process, for tests.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errors.New("no command given")
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "migrate":
		return runMigrate(ctx, rest, stdout, stderr)
	case "serve":
		return runServe(ctx, rest, stdout, stderr)
	case "apikey":
		return runAPIKey(ctx, rest, stdout, stderr)
	case "demo":
		return runDemo(ctx, rest, stdout, stderr)
	case "simulate":
		return runSimulate(ctx, rest, stdout, stderr)
	case "import":
		return runImport(ctx, rest, stdout, stderr)
	case "bench":
		return runBench(ctx, rest, stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("unknown command %q", cmd)
}

// common holds the flags every command shares.
type common struct {
	databaseURL string
	logFormat   string
}

func (c *common) register(fs *flag.FlagSet) {
	fs.StringVar(&c.databaseURL, "database-url", os.Getenv("DATABASE_URL"), "PostgreSQL URL (env DATABASE_URL)")
	fs.StringVar(&c.logFormat, "log-format", envOr("KRSLAB_LOG_FORMAT", "json"), "log format: json or text (env KRSLAB_LOG_FORMAT)")
}

func (c *common) logger(w io.Writer) *slog.Logger {
	if c.logFormat == "text" {
		return slog.New(slog.NewTextHandler(w, nil))
	}
	return slog.New(slog.NewJSONHandler(w, nil))
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// envDuration is the duration in the environment variable name (e.g. 45m), def when it is
// unset or not a duration.
func envDuration(name string, def time.Duration) time.Duration {
	if d, err := time.ParseDuration(os.Getenv(name)); err == nil && d > 0 {
		return d
	}
	return def
}

// spoolDirFlag registers --spool-dir, the directory of the temporary copies of piped and
// uploaded CSV files (serve and import).
func spoolDirFlag(fs *flag.FlagSet) *string {
	return fs.String("spool-dir", envOr("KRSLAB_SPOOL_DIR", os.TempDir()),
		"directory of the temporary copies of piped or uploaded CSV files, nameless while in use; copies left by dead krslab processes are removed at start (env KRSLAB_SPOOL_DIR)")
}

func newFlagSet(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("krslab "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}
