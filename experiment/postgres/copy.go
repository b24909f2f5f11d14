package postgres

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"runtime/debug"
	"slices"
	"strings"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/krslab/krslab/experiment"
)

// Bulk import: every import streams its file with COPY into temporary staging tables of
// its own transaction, checks the staged lines in SQL, and moves the good ones into the
// real tables with INSERT ... SELECT, in the same transaction as its audit entry.

var _ experiment.BulkStore = (*Store)(nil)

// analyzeAfter is the number of stored rows from which an import refreshes the planner's
// statistics: the summaries plan badly on tables the planner still believes small.
const analyzeAfter = 10000

// importStatisticsTarget sizes an import's analysis: a sample of 9,000 rows (300 per unit)
// instead of the default 30,000, at a third of the cost. It is enough for what the plans
// read from it: how many rows the table has, the share of each of the 30 largest
// experiments (the others are estimated small, which is what their plans want), that ids
// are nearly unique, how many customers answered more than once. Autovacuum's later
// analyses use the server's default.
const importStatisticsTarget = 30

// ImportResponses copies the file straight into responses when it can (copyResponses):
// under the experiment's responses lock, held exclusively, in a savepoint. A file with a
// bad line, a replayed or repeated response_id or a customer without that assignment rolls
// the savepoint back and is read again into staging (stageResponses), which names every
// bad line.
func (s *Store) ImportResponses(ctx context.Context, e experiment.Experiment, fill func(stage func(experiment.ResponseLine) error) error, opt experiment.BulkOptions) (experiment.ImportResult, error) {
	var res experiment.ImportResult
	err := s.bulkTx(ctx, e, opt, &res, func(tx *sqlx.Tx, conn *sqlx.Conn) error {
		// No other writer of this experiment's responses runs until the commit: the checks
		// and the latest-answer rule see every stored response.
		if err := lockResponses(ctx, tx, e.ID, true); err != nil {
			return err
		}
		done, err := s.copyResponses(ctx, tx, conn, e, fill, &res)
		if err == nil && !done {
			res = experiment.ImportResult{}
			err = s.stageResponses(ctx, tx, conn, e, fill, opt, &res)
		}
		if err != nil {
			return err
		}
		// Statistics of the columns the planner filters and joins on; the arrays' statistics
		// would cost more than the rest of the analysis and serve no plan.
		return analyze(ctx, tx, opt, res.Answers, "responses (experiment_id, customer_id, response_id, first_response)")
	})
	return res, err
}

// errStage ends the direct copy of a file that needs staging.
var errStage = errors.New("the file needs staging")

// onStage, when set (by tests), is called when an import of responses goes to staging.
var onStage func()

// copyResponses copies the lines of a file with no bad line straight into responses and
// reports whether it did; when it did not, nothing of it is left.
//
// Each COPY statement is preceded by what its triggers need, the key sets of its lines, and
// each line says whether it is its customer's first response (first_response, migration
// 00019): not when the customer has another response, stored or earlier in the file. The
// triggers on responses then check and count the rows as for any writer, and raise the
// alerts. Each step costs what the statement's rows cost, however many responses the
// experiment had before.
//
// In an experiment without responses a customer with another response is one the file
// names again, which a Bloom filter tells as the lines go by (a false "seen" only writes a
// first response as a repeat, which is always safe): the file goes in one COPY, ended early
// only where a line brings a key set not added yet. In one with responses the database is
// asked, a chunk of copyChunk lines at a time.
func (s *Store) copyResponses(ctx context.Context, tx *sqlx.Tx, conn *sqlx.Conn, e experiment.Experiment, fill func(stage func(experiment.ResponseLine) error) error, res *experiment.ImportResult) (bool, error) {
	// (min() reads one entry of the primary key's index: an EXISTS may be planned as a scan
	// of the whole table, which for an experiment without responses reads every row.)
	var earlier bool
	if err := tx.GetContext(ctx, &earlier, `SELECT min(response_id) IS NOT NULL FROM responses WHERE experiment_id = $1`, e.ID); err != nil {
		return false, err
	}
	var seen *repeats
	if !earlier {
		seen = newRepeats()
	}
	if err := execAll(ctx, tx, `SAVEPOINT import_direct`); err != nil {
		return false, err
	}
	// The file is read in a goroutine of its own, its lines handed over in batches, so that
	// the reading and the server's work overlap as in a single COPY.
	feed := &lineFeed{batches: make(chan []copyLine, 8), stop: make(chan struct{})}
	go feed.read(fill, seen, res)
	err := s.copyFeed(ctx, tx, conn, e.ID, feed, seen == nil, res)
	if err != nil {
		feed.abandon()
	}
	if fillErr := feed.wait(); err == nil {
		err = fillErr
	}
	switch {
	case errors.Is(err, errStage) || isUniqueViolation(err) || isForeignKeyViolation(err):
		res.Stored = 0
		return false, execAll(ctx, tx, `ROLLBACK TO SAVEPOINT import_direct`)
	case err != nil:
		return false, err
	}
	return true, execAll(ctx, tx, `RELEASE SAVEPOINT import_direct`)
}

// copyChunk is the number of lines of one COPY of the direct import into an experiment with
// responses (a variable for tests): large enough that the statements' fixed costs vanish,
// small enough that a chunk's lines are a few megabytes.
var copyChunk = 10_000

// copyLine is a line of the direct import with its key set and, when the reading could
// tell, whether its customer has another response.
type copyLine struct {
	experiment.ResponseLine
	keySet int64
	again  bool
}

// lineFeed hands the lines of a file from the goroutine that reads it to the one that
// copies them.
type lineFeed struct {
	batches chan []copyLine
	stop    chan struct{} // closed when the copy gives up: the reading ends at its next line
	err     error         // the reading's, once batches is closed
	batch   []copyLine    // being taken from
}

// errStopped ends the reading of a file whose copy gave up.
var errStopped = errors.New("the copy stopped")

// read reads the file and closes the batches.
func (f *lineFeed) read(fill func(stage func(experiment.ResponseLine) error) error, seen *repeats, res *experiment.ImportResult) {
	defer close(f.batches)
	defer func() {
		if p := recover(); p != nil {
			f.err = fmt.Errorf("import: panic: %v\n%s", p, debug.Stack())
		}
	}()
	const batchSize = 256
	keySets := newKeySets()
	batch := make([]copyLine, 0, batchSize)
	send := func() error {
		select {
		case f.batches <- batch:
			batch = make([]copyLine, 0, batchSize)
			return nil
		case <-f.stop:
			return errStopped
		}
	}
	f.err = fill(func(l experiment.ResponseLine) error {
		res.Lines++
		if l.Problem != "" {
			return errStage
		}
		res.Answers += int64(len(l.Keys))
		c := copyLine{ResponseLine: l, keySet: keySets.id(l.Keys)}
		if seen != nil {
			c.again = seen.add(l.CustomerID)
		}
		if batch = append(batch, c); len(batch) < batchSize {
			return nil
		}
		return send()
	})
	if f.err == nil && len(batch) > 0 {
		f.err = send()
	}
}

// peek returns the next line without taking it, false at the end of the file.
func (f *lineFeed) peek() (*copyLine, bool) {
	for len(f.batch) == 0 {
		b, ok := <-f.batches
		if !ok {
			return nil, false
		}
		f.batch = b
	}
	return &f.batch[0], true
}

func (f *lineFeed) next() { f.batch = f.batch[1:] }

// abandon ends the reading early and drops what it sent.
func (f *lineFeed) abandon() {
	close(f.stop)
	for range f.batches {
	}
}

// wait waits for the reading to end and returns its error.
func (f *lineFeed) wait() error {
	for range f.batches {
	}
	if errors.Is(f.err, errStopped) {
		return nil
	}
	return f.err
}

// copyFeed copies the lines of feed, in statements each preceded by the key sets its lines
// use; with probe, in chunks of copyChunk lines whose customers with other responses are
// found first (answeredBefore).
func (s *Store) copyFeed(ctx context.Context, tx *sqlx.Tx, conn *sqlx.Conn, experimentID int64, feed *lineFeed, probe bool, res *experiment.ImportResult) error {
	added := map[int64]bool{}
	addKeys := func(lines ...*copyLine) error {
		fresh := newKeySets()
		for _, l := range lines {
			if !added[l.keySet] {
				added[l.keySet] = true
				fresh.add(l.Keys)
			}
		}
		return addKeySets(ctx, tx, fresh)
	}
	query := `COPY responses (experiment_id, ` + strings.Join(responseColumns, ", ") + `, first_response) FROM STDIN`
	write := func(w *copyWriter, l *copyLine) error {
		w.Int(experimentID)
		writeResponse(w, l.ResponseLine, l.keySet)
		w.Bool(!l.again)
		return w.EndRow()
	}
	for {
		first, ok := feed.peek()
		if !ok {
			return nil
		}
		var n int64
		var err error
		if probe {
			var chunk []*copyLine
			for ok && len(chunk) < copyChunk {
				l := *first
				chunk = append(chunk, &l)
				feed.next()
				first, ok = feed.peek()
			}
			if err := addKeys(chunk...); err != nil {
				return err
			}
			if err := answeredBefore(ctx, tx, experimentID, chunk); err != nil {
				return err
			}
			n, err = copyRows(ctx, conn, query, func(w *copyWriter) error {
				for _, l := range chunk {
					if err := write(w, l); err != nil {
						return err
					}
				}
				return nil
			})
		} else {
			// The statement runs until a line brings a key set not added yet.
			if err := addKeys(first); err != nil {
				return err
			}
			n, err = copyRows(ctx, conn, query, func(w *copyWriter) error {
				for {
					l, ok := feed.peek()
					if !ok || !added[l.keySet] {
						return nil
					}
					if err := write(w, l); err != nil {
						return err
					}
					feed.next()
				}
			})
		}
		if err != nil {
			return err
		}
		res.Stored += n
	}
}

// answeredBefore sets again on each line of a chunk whose customer has another response:
// named again in the chunk, or stored (the database holds the chunks copied before).
func answeredBefore(ctx context.Context, tx *sqlx.Tx, experimentID int64, lines []*copyLine) error {
	count := make(map[string]int, len(lines))
	customers := make(pq.StringArray, 0, len(lines))
	for _, l := range lines {
		if count[l.CustomerID]++; count[l.CustomerID] == 1 {
			customers = append(customers, l.CustomerID)
		}
	}
	// One index probe per customer, whatever the planner believes of the array's size.
	var before []string
	if err := tx.SelectContext(ctx, &before, `SELECT c.customer_id FROM unnest($2::text[]) AS c(customer_id)
		CROSS JOIN LATERAL (SELECT 1 FROM responses r WHERE r.experiment_id = $1 AND r.customer_id = c.customer_id LIMIT 1) r`,
		experimentID, customers); err != nil {
		return err
	}
	answered := make(map[string]bool, len(before))
	for _, c := range before {
		answered[c] = true
	}
	for _, l := range lines {
		l.again = answered[l.CustomerID] || count[l.CustomerID] > 1
	}
	return nil
}

// responseColumns are the columns of a response line in a COPY row (writeResponse).
var responseColumns = []string{"response_id", "customer_id", "arm_key", "answered_at", "content_hash", "key_set", "answer_values"}

// writeResponse writes the responseColumns of a good line, whose keys are those of keySet.
func writeResponse(w *copyWriter, l experiment.ResponseLine, keySet int64) {
	w.Text(l.ResponseID)
	w.Text(l.CustomerID)
	w.Text(l.Arm)
	w.Time(l.AnsweredAt)
	w.Bytes(l.Hash[:])
	w.Int(keySet)
	w.FloatArray(l.Values)
}

// stageResponses stages one row per line: a response with its answers as arrays, or a bad
// line with its problem, in a table partitioned by kind, so that the checks on responses
// never read the bad lines.
func (s *Store) stageResponses(ctx context.Context, tx *sqlx.Tx, conn *sqlx.Conn, e experiment.Experiment, fill func(stage func(experiment.ResponseLine) error) error, opt experiment.BulkOptions, res *experiment.ImportResult) error {
	if onStage != nil {
		onStage()
	}
	if err := execAll(ctx, tx,
		`CREATE TEMP TABLE import_lines (
			kind          "char" NOT NULL,
			line          int NOT NULL,
			response_id   text,
			customer_id   text,
			arm_key       text, -- the hash rule's, unused: the insert takes the assignment's
			answered_at   timestamptz,
			content_hash  bytea,
			key_set       bigint,
			answer_values double precision[],
			problem       text
		) PARTITION BY LIST (kind) ON COMMIT DROP`,
		`CREATE TEMP TABLE import_responses PARTITION OF import_lines FOR VALUES IN ('r') ON COMMIT DROP`,
		`CREATE TEMP TABLE import_bad PARTITION OF import_lines FOR VALUES IN ('b') ON COMMIT DROP`,
	); err != nil {
		return err
	}
	keySets := newKeySets()
	_, err := copyRows(ctx, conn, `COPY import_lines (kind, line, `+strings.Join(responseColumns, ", ")+`, problem) FROM STDIN`,
		func(w *copyWriter) error {
			return fill(func(l experiment.ResponseLine) error {
				res.Lines++
				if l.Problem != "" {
					w.Text("b")
					w.Int(int64(l.Line))
					w.Nulls(len(responseColumns))
					w.Text(l.Problem)
					return w.EndRow()
				}
				w.Text("r")
				w.Int(int64(l.Line))
				writeResponse(w, l, keySets.id(l.Keys))
				w.Null()
				return w.EndRow()
			})
		})
	if err != nil {
		return err
	}
	progress(opt, "checking")
	// (The planner sizes the staging table from its pages: a table never analysed is
	// estimated from its size on disk, which is enough for these joins.)
	// The checks that need the database or the whole file add lines to import_bad.
	if _, err := tx.ExecContext(ctx, `
		INSERT INTO import_lines (kind, line, problem)
		SELECT 'b', line, format('response_id: %s duplicates line %s of this file', response_id, first)
		FROM (SELECT line, response_id, min(line) OVER (PARTITION BY response_id) AS first
		      FROM import_responses) d
		WHERE line > first
		UNION ALL
		SELECT 'b', r.line, 'customer_id: customer is not assigned in this experiment; assign before recording responses'
		FROM import_responses r
		WHERE NOT EXISTS (SELECT 1 FROM assignments a WHERE a.experiment_id = $1 AND a.customer_id = r.customer_id)
		UNION ALL
		SELECT 'b', r.line, format('response_id: response %s was recorded before with other content', r.response_id)
		FROM import_responses r
		JOIN responses s ON s.experiment_id = $1 AND s.response_id = r.response_id
		WHERE s.content_hash <> r.content_hash`, e.ID); err != nil {
		return err
	}
	if res.Rejected, err = badLines(ctx, tx, `SELECT line, problem FROM import_bad`, opt); err != nil {
		return err
	}
	progress(opt, "storing")
	// The good lines: replays of stored responses are counted, the others stored.
	const good = `NOT EXISTS (SELECT 1 FROM import_bad b WHERE b.line = r.line)`
	var want struct {
		Replayed int64 `db:"replayed"`
		Stored   int64 `db:"stored"`
		Answers  int64 `db:"answers"`
	}
	if err := tx.GetContext(ctx, &want, `
		SELECT count(*) FILTER (WHERE replay) AS replayed, count(*) FILTER (WHERE NOT replay) AS stored,
		       coalesce(sum(cardinality(answer_values)) FILTER (WHERE NOT replay), 0) AS answers
		FROM (SELECT r.answer_values,
		             EXISTS (SELECT 1 FROM responses s WHERE s.experiment_id = $1 AND s.response_id = r.response_id) AS replay
		      FROM import_responses r WHERE `+good+`) g`, e.ID); err != nil {
		return err
	}
	res.Replayed, res.Answers = want.Replayed, want.Answers
	if err := addKeySets(ctx, tx, keySets); err != nil {
		return err
	}
	// Responses go in file order, so that seq, which breaks ties of answered_at, follows
	// arrival as DOMAIN.md defines it. A line is its customer's first response when the
	// customer has no other, stored or in the file (the experiment's responses lock, taken
	// at the start, keeps other writers out meanwhile). Replays store nothing.
	const stores = good + ` AND NOT EXISTS (SELECT 1 FROM responses s WHERE s.experiment_id = $1 AND s.response_id = r.response_id)`
	r, err := tx.ExecContext(ctx, `
		INSERT INTO responses (experiment_id, response_id, customer_id, arm_key, answered_at, content_hash, key_set, answer_values, first_response)
		SELECT $1, r.response_id, r.customer_id, a.arm_key, r.answered_at, r.content_hash, r.key_set, r.answer_values,
		       count(*) OVER (PARTITION BY r.customer_id) = 1
		         AND NOT EXISTS (SELECT 1 FROM responses o WHERE o.experiment_id = $1 AND o.customer_id = r.customer_id)
		FROM import_responses r
		JOIN assignments a ON a.experiment_id = $1 AND a.customer_id = r.customer_id
		WHERE `+stores+`
		ORDER BY r.line`, e.ID)
	if isUniqueViolation(err) || err == nil && rowsAffected(r) != want.Stored {
		// Another writer stored some of these response ids after the check: a rerun
		// sees them as replays or conflicts.
		return experiment.Errorf(experiment.Conflict, "some response_ids were stored concurrently; nothing was imported, run the import again")
	}
	if err != nil {
		return err
	}
	res.Stored = want.Stored
	return nil
}

// ImportAssignments stages the customers with their arm by the hash rule and inserts the
// first line of every customer that has no assignment yet.
func (s *Store) ImportAssignments(ctx context.Context, e experiment.Experiment, fill func(stage func(experiment.AssignmentLine) error) error, opt experiment.BulkOptions) (experiment.ImportResult, error) {
	var res experiment.ImportResult
	err := s.bulkTx(ctx, e, opt, &res, func(tx *sqlx.Tx, conn *sqlx.Conn) error {
		if _, err := tx.ExecContext(ctx, `CREATE TEMP TABLE import_assignments (
				line        int NOT NULL,
				customer_id text,
				arm_key     text,
				assigned_at timestamptz,
				problem     text
			) ON COMMIT DROP`); err != nil {
			return err
		}
		_, err := copyRows(ctx, conn, `COPY import_assignments (line, customer_id, arm_key, assigned_at, problem) FROM STDIN`,
			func(w *copyWriter) error {
				return fill(func(l experiment.AssignmentLine) error {
					res.Lines++
					w.Int(int64(l.Line))
					if l.Problem != "" {
						w.Nulls(3)
						w.Text(l.Problem)
						return w.EndRow()
					}
					a := l.Assignment
					w.Text(a.CustomerID)
					w.Text(a.Arm)
					w.Time(a.AssignedAt)
					w.Null()
					return w.EndRow()
				})
			})
		if err != nil {
			return err
		}
		progress(opt, "checking")
		if err := execAll(ctx, tx, `ANALYZE import_assignments`); err != nil {
			return err
		}
		if res.Rejected, err = badLines(ctx, tx, `SELECT line, problem FROM import_assignments WHERE problem IS NOT NULL`, opt); err != nil {
			return err
		}
		progress(opt, "storing")
		r, err := tx.ExecContext(ctx, `
			INSERT INTO assignments (experiment_id, customer_id, arm_key, assigned_at)
			SELECT DISTINCT ON (customer_id) $1, customer_id, arm_key, assigned_at
			FROM import_assignments WHERE problem IS NULL
			ORDER BY customer_id, line
			ON CONFLICT (experiment_id, customer_id) DO NOTHING`, e.ID)
		if err != nil {
			return err
		}
		res.Stored, _ = r.RowsAffected()
		res.Replayed = res.Lines - res.Rejected - res.Stored
		return analyze(ctx, tx, opt, res.Stored, "assignments")
	})
	return res, err
}

// ImportCovariates stages the values and upserts them; a later import replaces a value.
func (s *Store) ImportCovariates(ctx context.Context, e experiment.Experiment, fill func(stage func(experiment.CovariateLine) error) error, opt experiment.BulkOptions) (experiment.ImportResult, error) {
	var res experiment.ImportResult
	err := s.bulkTx(ctx, e, opt, &res, func(tx *sqlx.Tx, conn *sqlx.Conn) error {
		if _, err := tx.ExecContext(ctx, `CREATE TEMP TABLE import_covariates (
				line        int NOT NULL,
				customer_id text,
				outcome_key text,
				value       double precision,
				problem     text
			) ON COMMIT DROP`); err != nil {
			return err
		}
		_, err := copyRows(ctx, conn, `COPY import_covariates (line, customer_id, outcome_key, value, problem) FROM STDIN`,
			func(w *copyWriter) error {
				return fill(func(l experiment.CovariateLine) error {
					res.Lines++
					w.Int(int64(l.Line))
					if l.Problem != "" {
						w.Nulls(3)
						w.Text(l.Problem)
						return w.EndRow()
					}
					c := l.Covariate
					w.Text(c.CustomerID)
					w.Text(c.Outcome)
					w.Float(c.Value + 0)
					w.Null()
					return w.EndRow()
				})
			})
		if err != nil {
			return err
		}
		progress(opt, "checking")
		if err := execAll(ctx, tx, `ANALYZE import_covariates`); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `
			INSERT INTO import_covariates (line, problem)
			SELECT line, format('customer_id: %s with outcome %s duplicates line %s of this file', customer_id, outcome_key, first)
			FROM (SELECT line, customer_id, outcome_key,
			             min(line) OVER (PARTITION BY customer_id, outcome_key) AS first
			      FROM import_covariates WHERE problem IS NULL) d
			WHERE line > first`); err != nil {
			return err
		}
		if res.Rejected, err = badLines(ctx, tx, `SELECT line, problem FROM import_covariates WHERE problem IS NOT NULL`, opt); err != nil {
			return err
		}
		progress(opt, "storing")
		r, err := tx.ExecContext(ctx, `
			INSERT INTO covariates (experiment_id, customer_id, outcome_key, value)
			SELECT $1, c.customer_id, c.outcome_key, c.value
			FROM import_covariates c
			WHERE c.problem IS NULL
			  AND NOT EXISTS (SELECT 1 FROM import_covariates b WHERE b.line = c.line AND b.problem IS NOT NULL)
			ON CONFLICT (experiment_id, outcome_key, customer_id)
			DO UPDATE SET value = excluded.value, updated_at = now()`, e.ID)
		if err != nil {
			return err
		}
		res.Stored, _ = r.RowsAffected()
		return analyze(ctx, tx, opt, res.Stored, "covariates")
	})
	return res, err
}

// bulkTx runs one import in a transaction with its audit entry: without the statement
// timeout (an import of a large file takes longer than any request), with room to sort in
// memory, and with the experiment locked against lifecycle changes until it commits.
//
// load gets the transaction's connection too, for its COPY (copyRows).
func (s *Store) bulkTx(ctx context.Context, e experiment.Experiment, opt experiment.BulkOptions, res *experiment.ImportResult, load func(tx *sqlx.Tx, conn *sqlx.Conn) error) error {
	conn, err := s.db.Connx(ctx)
	if err != nil {
		return mapErr(err)
	}
	defer conn.Close()
	return s.runTxOn(ctx, func() (*sqlx.Tx, error) { return conn.BeginTxx(ctx, nil) }, func(tx *sqlx.Tx) error {
		// No JIT: the staging tables are never analysed, and the planner's guesses for them
		// can cross the JIT thresholds, whose compilation then costs more than it saves.
		if err := execAll(ctx, tx, `SET LOCAL statement_timeout = 0`, `SET LOCAL work_mem = '256MB'`, `SET LOCAL jit = off`); err != nil {
			return err
		}
		var status experiment.Status
		err := tx.GetContext(ctx, &status, `SELECT status FROM experiments WHERE id = $1 FOR SHARE`, e.ID)
		if errors.Is(err, sql.ErrNoRows) {
			return experiment.Errorf(experiment.NotFound, "experiment %q not found", e.Key)
		}
		if err != nil {
			return err
		}
		if len(opt.Statuses) > 0 && !slices.Contains(opt.Statuses, status) {
			return experiment.Errorf(experiment.Conflict, "experiment %q is %s", e.Key, status).
				With(experiment.Detail{Field: "status", Message: string(status)})
		}
		if err := load(tx, conn); err != nil {
			return err
		}
		return writeImportAudit(ctx, tx, opt.Audit, *res)
	})
}

// writeImportAudit records an import with its counts.
func writeImportAudit(ctx context.Context, tx *sqlx.Tx, a experiment.AuditEntry, res experiment.ImportResult) error {
	diff, err := json.Marshal(map[string]int64{"lines": res.Lines, "stored": res.Stored, "answers": res.Answers,
		"replayed": res.Replayed, "rejected": res.Rejected})
	if err != nil {
		return err
	}
	var expID sql.NullInt64
	if a.ExperimentID != 0 {
		expID = sql.NullInt64{Int64: a.ExperimentID, Valid: true}
	}
	_, err = tx.ExecContext(ctx,
		`INSERT INTO audit_log (experiment_id, at, actor, action, subject, diff) VALUES ($1, $2, $3, $4, $5, $6)`,
		expID, a.At, a.Actor, a.Action, a.Subject, string(diff))
	return err
}

// badLines counts the distinct bad lines of query (line, problem). Unless opt.SkipBad, any
// bad line ends the import with the first MaxShownBad of them; with SkipBad every bad line
// goes to opt.OnBad, in line order, with all its problems.
func badLines(ctx context.Context, tx *sqlx.Tx, query string, opt experiment.BulkOptions) (int64, error) {
	var n int64
	if err := tx.GetContext(ctx, &n, `SELECT count(DISTINCT line) FROM (`+query+`) b`); err != nil {
		return 0, err
	}
	if n == 0 || opt.SkipBad && opt.OnBad == nil {
		return n, nil
	}
	grouped := `SELECT line, string_agg(problem, '; ') AS problem FROM (` + query + `) b GROUP BY line ORDER BY line`
	if !opt.SkipBad {
		grouped += fmt.Sprintf(" LIMIT %d", experiment.MaxShownBad)
	}
	rows, err := tx.QueryContext(ctx, grouped)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	var shown []experiment.Detail
	for rows.Next() {
		var b experiment.BadLine
		if err := rows.Scan(&b.Line, &b.Reason); err != nil {
			return 0, err
		}
		if opt.SkipBad {
			if err := opt.OnBad(b); err != nil {
				return 0, &experiment.Error{Code: experiment.Internal, Message: "writing rejects: " + err.Error(), Cause: err}
			}
			continue
		}
		shown = append(shown, experiment.Detail{Row: b.Line, Message: b.Reason})
	}
	if err := rows.Err(); err != nil {
		return 0, err
	}
	if opt.SkipBad {
		return n, nil
	}
	return n, &experiment.Error{Code: experiment.Invalid, Details: shown,
		Message: fmt.Sprintf("%d bad %s; nothing was imported", n, plural(n, "line", "lines"))}
}

// analyze refreshes the planner's statistics of the tables an import filled, when it stored
// enough rows to change the plans. It runs in the import's transaction, which it sees, so
// that the statistics come with the rows; and on pages the import just wrote, before their
// first reader after the commit has to mark every row on them as committed.
func analyze(ctx context.Context, tx *sqlx.Tx, opt experiment.BulkOptions, stored int64, tables ...string) error {
	if stored < analyzeAfter {
		return nil
	}
	progress(opt, "analyzing")
	// ANALYZE waits for a VACUUM of the table, and the import's locks would make the
	// experiment's writers wait with it: after a short wait it leaves the statistics to
	// autovacuum instead.
	if err := execAll(ctx, tx, `SAVEPOINT import_analyze`, `SET LOCAL lock_timeout = '1s'`,
		fmt.Sprintf(`SET LOCAL default_statistics_target = %d`, importStatisticsTarget)); err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx, `ANALYZE `+strings.Join(tables, ", "))
	if isLockTimeout(err) {
		return execAll(ctx, tx, `ROLLBACK TO SAVEPOINT import_analyze`)
	}
	if err != nil {
		return err
	}
	// (The settings last until the commit; only the import's audit entry follows.)
	return execAll(ctx, tx, `RELEASE SAVEPOINT import_analyze`)
}

func execAll(ctx context.Context, tx *sqlx.Tx, stmts ...string) error {
	for _, q := range stmts {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return err
		}
	}
	return nil
}

func progress(opt experiment.BulkOptions, phase string) {
	if opt.Progress != nil {
		opt.Progress(phase)
	}
}

func plural(n int64, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
