package experiment

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// Bulk import (krslab import): files far larger than an API batch are read once, line by
// line, validated in Go as far as a line can be judged on its own, and streamed to a
// BulkStore, which checks what needs the database (assignments, duplicates within the file,
// stored responses) and stores everything in one transaction. Nothing holds the file or its
// rows in memory.

// MaxShownBad is how many bad lines an import names; the rest are counted.
const MaxShownBad = 100

// BulkStore loads staged lines in one transaction: all good lines, or, when a line is bad
// and BulkOptions.SkipBad is not set, nothing. The postgres package implements it. A store
// may call fill more than once; each call reads the file from its start.
type BulkStore interface {
	// ImportResponses stores the responses and their answers. A response_id stored before
	// with the same content hash is a replay (skipped); with other content, a bad line; so
	// are a response_id seen on an earlier line and a customer without an assignment.
	ImportResponses(ctx context.Context, e Experiment, fill func(stage func(ResponseLine) error) error, opt BulkOptions) (ImportResult, error)
	// ImportAssignments stores first assignments; customers already assigned (or listed
	// on an earlier line) keep the assignment they have.
	ImportAssignments(ctx context.Context, e Experiment, fill func(stage func(AssignmentLine) error) error, opt BulkOptions) (ImportResult, error)
	// ImportCovariates upserts pre-experiment values; a (customer, outcome) seen on an
	// earlier line is a bad line.
	ImportCovariates(ctx context.Context, e Experiment, fill func(stage func(CovariateLine) error) error, opt BulkOptions) (ImportResult, error)
}

// ResponseLine is one line of a responses file. When Problem is set the line is bad and
// only Line counts.
type ResponseLine struct {
	Line       int
	ResponseID string
	CustomerID string
	AnsweredAt time.Time // in UTC
	// Arm is the customer's arm by the hash rule. Arms, weights and salt are frozen once
	// responses are accepted, so it is the arm of the customer's assignment, if any; the store
	// still checks it against the assignment.
	Arm    string
	Keys   []string  // the answered outcomes in key order; shared between lines, read only
	Values []float64 // the answers, in the order of Keys
	Hash   [32]byte  // Response.ContentHash
	// Problem says why the line is bad.
	Problem string
}

// AssignmentLine is one line of an assignments file, with the arm of the hash rule.
type AssignmentLine struct {
	Line       int
	Assignment Assignment
	Problem    string
}

// CovariateLine is one line of a covariates file.
type CovariateLine struct {
	Line      int
	Covariate Covariate
	Problem   string
}

// BulkOptions tell a BulkStore what to do with bad lines and whom to tell about progress.
type BulkOptions struct {
	SkipBad bool
	// OnBad receives every bad line, in line order, when SkipBad is set.
	OnBad func(BadLine) error
	// Progress is told the phase the import is in ("loading", "checking", "storing",
	// "analyzing"); it may be nil.
	Progress func(phase string)
	// Statuses the experiment must be in; checked again under a lock in the transaction.
	Statuses []Status
	// Audit is recorded in the import's transaction; the store adds the counts to its Diff.
	Audit AuditEntry
}

// BadLine is a line of an import file that was not stored, and why.
type BadLine struct {
	Line   int
	Reason string
}

// ImportResult counts what an import did.
type ImportResult struct {
	Kind     string // responses, assignments or covariates
	Lines    int64  // data lines read
	Stored   int64  // responses, new assignments or covariates stored
	Answers  int64  // answers stored (responses)
	Replayed int64  // responses stored before with the same content; customers already assigned
	Rejected int64  // bad lines skipped (SkipBad)
	Elapsed  time.Duration
}

// ImportSource opens the file to import. It may be opened again: by a store that reads the
// file a second time when its direct path fails, and to copy bad lines to the rejects file.
// It must give the same bytes each time.
type ImportSource func() (io.ReadCloser, error)

// ImportOptions are the choices of one import.
type ImportOptions struct {
	SkipBad bool
	// Rejects receives, with SkipBad, the bad lines as CSV: the file's header and columns
	// plus a reason column. It may be nil.
	Rejects io.Writer
	// Progress is told the phase and the number of data lines read so far; it may be nil.
	Progress func(phase string, lines int64)
}

// Importer loads CSV files into an experiment with the rules of the API.
type Importer struct {
	Service *Service
	Bulk    BulkStore
}

// NewImporter returns an Importer over the service's store and a bulk store.
func NewImporter(svc *Service, bulk BulkStore) *Importer {
	return &Importer{Service: svc, Bulk: bulk}
}

// ImportResponses loads a file in the CSV format of the API
// (response_id,customer_id,answered_at,<outcome keys...>; an empty cell is not answered).
func (im *Importer) ImportResponses(ctx context.Context, key string, src ImportSource, opt ImportOptions) (ImportResult, error) {
	start := time.Now()
	e, err := im.Service.Store.Experiment(ctx, key)
	if err != nil {
		return ImportResult{}, err
	}
	if !e.AcceptsResponses() {
		return ImportResult{}, statusError(e, acceptsResponses)
	}
	outcomes, err := im.Service.OutcomeMap(ctx)
	if err != nil {
		return ImportResult{}, err
	}
	allowed := AnswerKeys(e, outcomes)
	now := im.Service.Now()
	fill := func(stage func(ResponseLine) error) error {
		var rr *responseReader
		return readCSV(src, opt.Progress, CheckResponseHeader, func(line int, header, rec []string) error {
			if rr == nil {
				rr = newResponseReader(e, header, allowed, outcomes, now)
			}
			return stage(rr.line(line, rec))
		})
	}
	res, err := im.run(ctx, e, "responses.import", src, opt, []Status{Running, Stopped}, func(bo BulkOptions) (ImportResult, error) {
		return im.Bulk.ImportResponses(ctx, e, fill, bo)
	})
	return finish(res, err, "responses", start)
}

// ImportAssignments assigns the customers of a file (customer_id[,assigned_at]) by the hash
// rule; the arm is never read from the file.
func (im *Importer) ImportAssignments(ctx context.Context, key string, src ImportSource, opt ImportOptions) (ImportResult, error) {
	start := time.Now()
	e, err := im.Service.Store.Experiment(ctx, key)
	if err != nil {
		return ImportResult{}, err
	}
	if !e.AcceptsAssignments() {
		return ImportResult{}, statusError(e, AssignsWhileRunning)
	}
	now := im.Service.Now()
	fill := func(stage func(AssignmentLine) error) error {
		return readCSV(src, opt.Progress, checkAssignmentHeader, func(line int, header, rec []string) error {
			return stage(assignmentLine(line, header, rec, e, now))
		})
	}
	res, err := im.run(ctx, e, "assignments.import", src, opt, []Status{Running}, func(bo BulkOptions) (ImportResult, error) {
		return im.Bulk.ImportAssignments(ctx, e, fill, bo)
	})
	return finish(res, err, "assignments", start)
}

// ImportCovariates loads pre-experiment values (customer_id,outcome,value).
func (im *Importer) ImportCovariates(ctx context.Context, key string, src ImportSource, opt ImportOptions) (ImportResult, error) {
	start := time.Now()
	e, err := im.Service.Store.Experiment(ctx, key)
	if err != nil {
		return ImportResult{}, err
	}
	outcomes, err := im.Service.OutcomeMap(ctx)
	if err != nil {
		return ImportResult{}, err
	}
	rules := newCovariateRules(e, outcomes)
	fill := func(stage func(CovariateLine) error) error {
		return readCSV(src, opt.Progress, checkCovariateHeader, func(line int, header, rec []string) error {
			return stage(covariateLine(line, header, rec, rules))
		})
	}
	res, err := im.run(ctx, e, "covariates.import", src, opt, nil, func(bo BulkOptions) (ImportResult, error) {
		return im.Bulk.ImportCovariates(ctx, e, fill, bo)
	})
	return finish(res, err, "covariates", start)
}

// ImportKinds are what can be imported, the kind argument of Import.
var ImportKinds = []string{"responses", "assignments", "covariates"}

// Import loads a file of one of the ImportKinds.
func (im *Importer) Import(ctx context.Context, kind, key string, src ImportSource, opt ImportOptions) (ImportResult, error) {
	switch kind {
	case "responses":
		return im.ImportResponses(ctx, key, src, opt)
	case "assignments":
		return im.ImportAssignments(ctx, key, src, opt)
	case "covariates":
		return im.ImportCovariates(ctx, key, src, opt)
	}
	return ImportResult{}, &Error{Code: Invalid, Message: fmt.Sprintf("unknown import %q", kind),
		Details: []Detail{{Field: "kind", Message: "must be one of " + strings.Join(ImportKinds, ", ")}}}
}

// run calls the bulk store with the options of an import and closes the rejects file's
// reader when the store is done.
func (im *Importer) run(ctx context.Context, e Experiment, action string, src ImportSource, opt ImportOptions, statuses []Status, load func(BulkOptions) (ImportResult, error)) (res ImportResult, err error) {
	bo := BulkOptions{SkipBad: opt.SkipBad, Statuses: statuses,
		Audit: im.Service.audit(ctx, action, e.ID, e.Key, nil)}
	if opt.Progress != nil {
		bo.Progress = func(phase string) { opt.Progress(phase, -1) }
	}
	if opt.SkipBad && opt.Rejects != nil {
		rw := &rejectsWriter{src: src, out: opt.Rejects}
		bo.OnBad = rw.write
		defer func() {
			if cerr := rw.Close(); err == nil {
				err = cerr
			}
		}()
	}
	return load(bo)
}

// The rules of what an experiment's status allows, for its refusals: acceptsResponses
// that of Experiment.AcceptsResponses, AssignsWhileRunning that of new assignments (the
// store refuses those too).
var (
	acceptsResponses    = Textf("responses are accepted while it is running or stopped")
	AssignsWhileRunning = Textf("customers are only assigned while it is running")
)

// statusError refuses what e's status does not allow, saying the rule that does.
func statusError(e Experiment, rule Text) error {
	return Errorf(Conflict, "experiment %q is %s; %s", e.Key, e.Status, rule).
		With(Detail{Field: "status", Message: string(e.Status)})
}

func finish(res ImportResult, err error, kind string, start time.Time) (ImportResult, error) {
	res.Kind, res.Elapsed = kind, time.Since(start)
	return res, err
}

// readCSV reads src, checks its header and hands every data line to fn with its line
// number (the header is line 1). A line with the wrong number of columns is handed on too,
// for fn to refuse; malformed CSV (a stray quote) ends the import.
func readCSV(src ImportSource, progress func(string, int64), checkHeader func([]string) error, fn func(line int, header, rec []string) error) error {
	f, err := src()
	if err != nil {
		return err
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.FieldsPerRecord = -1
	r.ReuseRecord = true
	header, err := r.Read()
	if errors.Is(err, io.EOF) {
		return &Error{Code: Invalid, Message: "empty file", Details: []Detail{{Field: "header", Message: "a header line is required"}}}
	}
	if err != nil {
		return malformed(err)
	}
	header = append([]string(nil), header...)
	header[0] = strings.TrimPrefix(header[0], "\ufeff")
	for i := range header {
		header[i] = strings.TrimSpace(header[i])
	}
	if err := checkHeader(header); err != nil {
		return err
	}
	if progress != nil {
		progress("loading", 0)
	}
	var lines int64
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return malformed(err)
		}
		line, _ := r.FieldPos(0)
		lines++
		if progress != nil && lines%4096 == 0 {
			progress("loading", lines)
		}
		if err := fn(line, header, rec); err != nil {
			return err
		}
	}
}

func malformed(err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return &Error{Code: Invalid, Message: "malformed CSV; nothing was imported",
			Details: []Detail{{Row: pe.Line, Message: pe.Err.Error()}}}
	}
	return err
}

func checkAssignmentHeader(header []string) error {
	ok := len(header) >= 1 && header[0] == "customer_id" && (len(header) == 1 || len(header) == 2 && header[1] == "assigned_at")
	if !ok {
		return &Error{Code: Invalid, Message: "invalid CSV header",
			Details: []Detail{{Field: "header", Message: fmt.Sprintf("must be customer_id or customer_id,assigned_at, not %q", strings.Join(header, ","))}}}
	}
	return nil
}

func checkCovariateHeader(header []string) error {
	if strings.Join(header, ",") != "customer_id,outcome,value" {
		return &Error{Code: Invalid, Message: "invalid CSV header",
			Details: []Detail{{Field: "header", Message: fmt.Sprintf("must be customer_id,outcome,value, not %q", strings.Join(header, ","))}}}
	}
	return nil
}

func assignmentLine(line int, header, rec []string, e Experiment, now time.Time) AssignmentLine {
	if len(rec) != len(header) {
		return AssignmentLine{Line: line, Problem: columns(rec, header)}
	}
	var p []Detail
	id := rec[0]
	if msg := CheckID(id); !msg.IsZero() {
		p = append(p, fieldDetail("customer_id", msg))
	}
	at := now
	if len(rec) > 1 && strings.TrimSpace(rec[1]) != "" {
		t, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(rec[1]))
		switch {
		case err != nil:
			p = append(p, Detail{Field: "assigned_at", Message: "must be an RFC 3339 timestamp such as 2026-03-01T10:00:00Z"})
		case t.After(now.Add(MaxFutureSkew)):
			p = append(p, Detail{Field: "assigned_at", Message: "lies more than a day in the future"})
		default:
			at = t.UTC()
		}
	}
	if len(p) == 0 && !e.Admits(id) {
		p = append(p, Detail{Field: "customer_id", Message: "not admitted: outside the experiment's coverage or layer range"})
	}
	if len(p) > 0 {
		return AssignmentLine{Line: line, Problem: reason(p)}
	}
	return AssignmentLine{Line: line,
		Assignment: Assignment{CustomerID: id, Arm: AssignArm(e.Salt, id, e.Arms), AssignedAt: at}}
}

// covariateLine reads one line of a covariates file and checks it by the rules of a
// covariate, those of the API.
func covariateLine(line int, header, rec []string, rules covariateRules) CovariateLine {
	if len(rec) != len(header) {
		return CovariateLine{Line: line, Problem: columns(rec, header)}
	}
	c := Covariate{CustomerID: rec[0], Outcome: strings.TrimSpace(rec[1])}
	if cell := strings.TrimSpace(rec[2]); cell == "" {
		c.Problems = append(c.Problems, fieldDetail("value", Textf("is required")))
	} else if v, err := strconv.ParseFloat(cell, 64); err != nil {
		c.Problems = append(c.Problems, fieldDetail("value", Textf("%q is not a number", cell)))
	} else {
		c.Value = v
	}
	if p := rules.problems(c); len(p) > 0 {
		return CovariateLine{Line: line, Problem: reason(p)}
	}
	return CovariateLine{Line: line, Covariate: c}
}

// columns is the problem of a line with another number of cells than its header.
func columns(rec, header []string) string {
	return fmt.Sprintf("has %d columns, the header has %d", len(rec), len(header))
}

func reason(d []Detail) string {
	parts := make([]string, len(d))
	for i, x := range d {
		parts[i] = x.Message
		if x.Field != "" {
			parts[i] = x.Field + ": " + x.Message
		}
	}
	return strings.Join(parts, "; ")
}

// rejectsWriter copies bad lines to the rejects file. The store reports them in line order,
// so one more pass over the file, in step with the reports, finds them without holding
// anything but the current record.
type rejectsWriter struct {
	src    ImportSource
	out    io.Writer
	f      io.ReadCloser
	r      *csv.Reader
	w      *CSVWriter
	header []string
}

func (rw *rejectsWriter) write(b BadLine) error {
	if rw.r == nil {
		f, err := rw.src()
		if err != nil {
			return err
		}
		rw.f, rw.r, rw.w = f, csv.NewReader(f), NewCSVWriter(rw.out)
		rw.r.FieldsPerRecord = -1
		header, err := rw.r.Read()
		if err != nil {
			return fmt.Errorf("rereading the file for rejects: %w", err)
		}
		rw.header = append(header, "reason")
		if err := rw.w.Write(rw.header); err != nil {
			return err
		}
	}
	for {
		rec, err := rw.r.Read()
		if err != nil {
			return fmt.Errorf("rereading the file for rejects: line %d not found: %w", b.Line, err)
		}
		line, _ := rw.r.FieldPos(0)
		if line < b.Line {
			continue
		}
		if line > b.Line {
			return fmt.Errorf("rereading the file for rejects: line %d not found (the file changed?)", b.Line)
		}
		if err := rw.w.Write(append(rec, b.Reason)); err != nil {
			return err
		}
		return nil
	}
}

func (rw *rejectsWriter) Close() error {
	if rw.r == nil {
		return nil
	}
	rw.w.Flush()
	err := rw.w.Error()
	if cerr := rw.f.Close(); err == nil {
		err = cerr
	}
	return err
}
