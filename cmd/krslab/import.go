package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/krslab/krslab/experiment"
)

const importUsage = `Usage: krslab import responses|assignments|covariates --experiment K [--skip-bad [--rejects FILE]] FILE.csv

  responses    response_id,customer_id,answered_at,<outcome keys...> (the API's CSV format;
               an empty cell is not answered)
  assignments  customer_id[,assigned_at] (the arm follows the hash rule, never the file)
  covariates   customer_id,outcome,value

Everything is checked before anything is stored: one bad line stores nothing and the bad
lines are listed, unless --skip-bad, which stores the good lines and writes the bad ones
with a reason column to the rejects file. FILE may be a pipe (/dev/stdin, <(zcat f.gz));
it is then copied to a temporary file first (in --spool-dir, nameless while in use), as
the import may read it twice.
`

// runImport loads a CSV file in one transaction; a progress bar goes to stderr when it is a
// terminal, the one-line summary to stdout.
func runImport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		fmt.Fprint(stderr, importUsage)
		return errors.New("import needs what to import: responses, assignments or covariates")
	}
	kind := args[0]
	var c common
	fs := newFlagSet("import "+kind, stderr)
	fs.Usage = func() { fmt.Fprint(stderr, importUsage); fs.PrintDefaults() }
	c.register(fs)
	key := fs.String("experiment", "", "the experiment's key")
	skipBad := fs.Bool("skip-bad", false, "store the good lines and write the bad ones to the rejects file")
	rejectsPath := fs.String("rejects", "", "where --skip-bad writes the bad lines (default FILE.rejects.csv)")
	spoolDir := spoolDirFlag(fs)
	files, err := parseInterleaved(fs, args[1:])
	if err != nil {
		return err
	}
	switch {
	case !slices.Contains(experiment.ImportKinds, kind):
		return fmt.Errorf("unknown import %q (use responses, assignments or covariates)", kind)
	case *key == "":
		return errors.New("import needs --experiment KEY")
	case len(files) != 1:
		return errors.New("import needs exactly one CSV file")
	}
	if n, err := experiment.RemoveDeadSpools(*spoolDir); err != nil {
		fmt.Fprintf(stderr, "warning: spool files of dead processes: %v\n", err)
	} else if n > 0 {
		fmt.Fprintf(stderr, "removed %d spool file(s) of krslab processes that are gone from %s\n", n, *spoolDir)
	}
	path := files[0]
	info, err := os.Stat(path)
	if err != nil {
		return err
	}
	if *rejectsPath == "" {
		*rejectsPath = path + ".rejects.csv"
		if !info.Mode().IsRegular() {
			*rejectsPath = filepath.Base(path) + ".rejects.csv"
		}
	}
	size, open := info.Size(), func() (io.ReadCloser, error) { return os.Open(path) }
	if !info.Mode().IsRegular() {
		// A pipe (/dev/stdin, <(zcat ...)) can be read only once; the import may read its
		// file again (to name bad lines, to write rejects), so it reads a copy.
		in, err := os.Open(path)
		if err != nil {
			return err
		}
		spool, err := experiment.NewSpool(*spoolDir, in)
		in.Close()
		if err != nil {
			return fmt.Errorf("copying %s: %w", path, err)
		}
		defer spool.Close()
		size, open = spool.Size(), spool.Open
	}

	store, err := openStore(ctx, c)
	if err != nil {
		return err
	}
	defer store.Close()
	svc := experiment.NewService(store)
	im := experiment.NewImporter(svc, store)
	ctx = experiment.WithActor(ctx, "cli")

	bar := newProgressBar(stderr, size)
	src := func() (io.ReadCloser, error) {
		f, err := open()
		if err != nil {
			return nil, err
		}
		bar.read.Store(0) // every pass over the file starts the bar again
		return countingReader{f, &bar.read}, nil
	}
	rejects := &lazyFile{path: *rejectsPath}
	opt := experiment.ImportOptions{SkipBad: *skipBad, Progress: bar.phase}
	if *skipBad {
		opt.Rejects = rejects
	}

	bar.start()
	res, err := im.Import(ctx, kind, *key, src, opt)
	bar.stop()
	if cerr := rejects.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("rejects file: %w", cerr)
	}
	if err != nil {
		if rejects.f != nil {
			os.Remove(rejects.path) // nothing was stored, so nothing was rejected
		}
		return importError(err, stderr)
	}

	secs := res.Elapsed.Seconds()
	switch kind {
	case "responses":
		fmt.Fprintf(stdout, "imported %d responses (%d answers) in %.1fs; %d replayed, %d rejected", res.Stored, res.Answers, secs, res.Replayed, res.Rejected)
	case "assignments":
		fmt.Fprintf(stdout, "imported %d assignments in %.1fs; %d already assigned, %d rejected", res.Stored, secs, res.Replayed, res.Rejected)
	case "covariates":
		fmt.Fprintf(stdout, "imported %d covariates in %.1fs; %d rejected", res.Stored, secs, res.Rejected)
	}
	if rejects.f != nil {
		fmt.Fprintf(stdout, " (written to %s)", rejects.path)
	}
	fmt.Fprintln(stdout)
	return nil
}

// parseInterleaved parses flags given before or after the file names.
func parseInterleaved(fs interface {
	Parse([]string) error
	Args() []string
}, args []string) ([]string, error) {
	var files []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return files, nil
		}
		files, args = append(files, rest[0]), rest[1:]
	}
}

// importError lists the bad lines of a refused import on stderr, one per line, and returns
// a one-line error for main to print.
func importError(err error, stderr io.Writer) error {
	var e *experiment.Error
	if !errors.As(err, &e) {
		return err
	}
	if e.Code == experiment.Internal && e.Cause != nil {
		return fmt.Errorf("%s: %w", e.Message, e.Cause)
	}
	if len(e.Details) == 0 {
		return err
	}
	for _, d := range e.Details {
		switch {
		case d.Row != 0:
			fmt.Fprintf(stderr, "line %d: %s\n", d.Row, d.Message)
		case d.Field != "":
			fmt.Fprintf(stderr, "%s: %s\n", d.Field, d.Message)
		default:
			fmt.Fprintln(stderr, d.Message)
		}
	}
	msg := e.Message
	if len(e.Details) == experiment.MaxShownBad && strings.Contains(msg, "bad line") {
		msg += fmt.Sprintf(" (the first %d are listed above)", experiment.MaxShownBad)
	}
	if e.Code == experiment.Invalid && strings.Contains(msg, "bad line") {
		msg += "; --skip-bad stores the good lines and writes the bad ones to a rejects file"
	}
	return errors.New(msg)
}

type countingReader struct {
	r interface {
		io.Reader
		io.Closer
	}
	n *atomic.Int64
}

func (c countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

func (c countingReader) Close() error { return c.r.Close() }

// lazyFile creates its file at the first write, so that an import without bad lines
// leaves no empty rejects file behind.
type lazyFile struct {
	path string
	f    *os.File
}

func (l *lazyFile) Write(p []byte) (int, error) {
	if l.f == nil {
		f, err := os.Create(l.path)
		if err != nil {
			return 0, err
		}
		l.f = f
	}
	return l.f.Write(p)
}

func (l *lazyFile) Close() error {
	if l.f == nil {
		return nil
	}
	return l.f.Close()
}

// progressBar redraws one line on a terminal five times a second: the phase, the share of
// the file read, the lines and the time. It draws nothing when w is not a terminal.
type progressBar struct {
	w     io.Writer
	on    bool
	total int64
	read  atomic.Int64
	lines atomic.Int64
	mu    sync.Mutex
	label string
	began time.Time
	quit  chan struct{}
	done  chan struct{}
}

func newProgressBar(w io.Writer, total int64) *progressBar {
	return &progressBar{w: w, on: isCharDevice(w), total: total, label: "loading"}
}

func isCharDevice(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

func (b *progressBar) phase(name string, lines int64) {
	if lines >= 0 {
		b.lines.Store(lines)
	}
	b.mu.Lock()
	b.label = name
	b.mu.Unlock()
}

func (b *progressBar) start() {
	b.began = time.Now()
	if !b.on {
		return
	}
	b.quit, b.done = make(chan struct{}), make(chan struct{})
	go func() {
		defer close(b.done)
		t := time.NewTicker(200 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-b.quit:
				fmt.Fprint(b.w, "\r\033[K")
				return
			case <-t.C:
				fmt.Fprint(b.w, "\r\033[K"+b.render(40))
			}
		}
	}()
}

func (b *progressBar) stop() {
	if b.on {
		close(b.quit)
		<-b.done
	}
}

func (b *progressBar) render(width int) string {
	frac := 1.0
	if b.total > 0 {
		frac = min(1, float64(b.read.Load())/float64(b.total))
	}
	filled := int(frac * float64(width))
	b.mu.Lock()
	label := b.label
	b.mu.Unlock()
	return fmt.Sprintf("%-9s [%s%s] %3.0f%%  %d lines  %.1fs", label, strings.Repeat("=", filled),
		strings.Repeat(" ", width-filled), 100*frac, b.lines.Load(), time.Since(b.began).Seconds())
}
