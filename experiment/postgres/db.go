// Package postgres implements the experiment.Store on PostgreSQL with sqlx and lib/pq.
package postgres

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	neturl "net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
	"github.com/pressly/goose/v3"

	"github.com/krslab/krslab/experiment"
	"github.com/krslab/krslab/migrations"
)

// Store is the PostgreSQL implementation of experiment.Store.
type Store struct {
	db *sqlx.DB

	mu    sync.Mutex
	stmts map[string]*sqlx.Stmt
}

var _ experiment.Store = (*Store)(nil)

// Options tune the connection pool.
type Options struct {
	MaxOpenConns     int
	ConnectTimeout   time.Duration // default 2s: a database that is down is reported fast
	StatementTimeout time.Duration // default 60s: no request holds a connection forever
}

// Open connects to the database at url and checks that it answers.
func Open(ctx context.Context, url string, opt Options) (*Store, error) {
	if url == "" {
		return nil, errors.New("no database: set DATABASE_URL or --database-url")
	}
	if opt.ConnectTimeout <= 0 {
		opt.ConnectTimeout = 2 * time.Second
	}
	if opt.StatementTimeout <= 0 {
		opt.StatementTimeout = time.Minute
	}
	url, err := withDefaults(url, opt)
	if err != nil {
		return nil, err
	}
	db, err := sqlx.Open("postgres", url)
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	if opt.MaxOpenConns <= 0 {
		opt.MaxOpenConns = 16
	}
	db.SetMaxOpenConns(opt.MaxOpenConns)
	db.SetMaxIdleConns(opt.MaxOpenConns)
	db.SetConnMaxIdleTime(5 * time.Minute)
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("connect to database: %w", err)
	}
	return &Store{db: db, stmts: map[string]*sqlx.Stmt{}}, nil
}

// prepared returns a prepared statement for a hot query: lib/pq needs two round trips for
// an unprepared query with parameters, one for a prepared one. database/sql prepares it
// again on each connection as needed.
func (s *Store) prepared(ctx context.Context, query string) (*sqlx.Stmt, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if st, ok := s.stmts[query]; ok {
		return st, nil
	}
	st, err := s.db.PreparexContext(ctx, query)
	if err != nil {
		return nil, mapErr(err)
	}
	s.stmts[query] = st
	return st, nil
}

// withDefaults adds connection settings the URL does not set itself: the connect timeout,
// a statement timeout (sent as a run-time parameter) and the application name.
func withDefaults(raw string, opt Options) (string, error) {
	if !strings.HasPrefix(raw, "postgres://") && !strings.HasPrefix(raw, "postgresql://") {
		return raw, nil // a key=value connection string is used as it is
	}
	u, err := neturl.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("DATABASE_URL: %w", err)
	}
	q := u.Query()
	set := func(k, v string) {
		if q.Get(k) == "" {
			q.Set(k, v)
		}
	}
	set("connect_timeout", strconv.Itoa(max(1, int(opt.ConnectTimeout.Seconds()))))
	set("statement_timeout", strconv.FormatInt(opt.StatementTimeout.Milliseconds(), 10))
	set("application_name", "krslab")
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// Close releases the prepared statements and the connection pool.
func (s *Store) Close() error {
	s.mu.Lock()
	for _, st := range s.stmts {
		st.Close()
	}
	s.stmts = nil
	s.mu.Unlock()
	return s.db.Close()
}

// DB exposes the pool for tests and tools.
func (s *Store) DB() *sqlx.DB { return s.db }

// Warm opens n connections of the pool at once, so that the first requests after a start
// do not each wait for a new database session (a new PostgreSQL backend takes a few
// milliseconds to start, far more on a busy machine). The pool keeps them while idle.
func (s *Store) Warm(ctx context.Context, n int) error {
	n = min(n, s.db.Stats().MaxOpenConnections)
	if n <= 0 {
		return nil
	}
	conns := make([]*sql.Conn, 0, n)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for range n {
		c, err := s.db.Conn(ctx) // an idle one, else a new one: n are held at the end
		if err != nil {
			return mapErr(err)
		}
		conns = append(conns, c)
	}
	return nil
}

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error { return mapErr(s.db.PingContext(ctx)) }

func newGoose(db *sql.DB) (*goose.Provider, error) {
	return goose.NewProvider(goose.DialectPostgres, db, migrations.FS, goose.WithLogger(goose.NopLogger()))
}

// Migrate applies every pending migration and returns the versions it applied.
func (s *Store) Migrate(ctx context.Context) ([]int64, error) {
	p, err := newGoose(s.db.DB)
	if err != nil {
		return nil, err
	}
	results, err := p.Up(ctx)
	if err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	applied := make([]int64, 0, len(results))
	for _, r := range results {
		applied = append(applied, r.Source.Version)
	}
	return applied, nil
}

// MigrationStatus describes one migration.
type MigrationStatus struct {
	Version   int64
	Name      string
	Applied   bool
	AppliedAt time.Time
}

// MigrationStatus lists every migration and whether it is applied.
func (s *Store) MigrationStatus(ctx context.Context) ([]MigrationStatus, error) {
	p, err := newGoose(s.db.DB)
	if err != nil {
		return nil, err
	}
	list, err := p.Status(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]MigrationStatus, 0, len(list))
	for _, m := range list {
		out = append(out, MigrationStatus{
			Version:   m.Source.Version,
			Name:      m.Source.Path,
			Applied:   m.State == goose.StateApplied,
			AppliedAt: m.AppliedAt,
		})
	}
	return out, nil
}

// SchemaCurrent reports whether every migration is applied.
func (s *Store) SchemaCurrent(ctx context.Context) (bool, error) {
	p, err := newGoose(s.db.DB)
	if err != nil {
		return false, err
	}
	pending, err := p.HasPending(ctx)
	if err != nil {
		return false, mapErr(err)
	}
	return !pending, nil
}

// isUniqueViolation says whether err is a unique violation reported by the database.
func isUniqueViolation(err error) bool {
	var pe *pq.Error
	return errors.As(err, &pe) && pe.Code == "23505"
}

// isLockTimeout reports a statement that gave up waiting for a lock (lock_timeout).
func isLockTimeout(err error) bool {
	var pe *pq.Error
	return errors.As(err, &pe) && pe.Code == "55P03"
}

// isForeignKeyViolation reports a reference the database refused, such as a response of a
// customer that is not assigned (responses_check).
func isForeignKeyViolation(err error) bool {
	var pe *pq.Error
	return errors.As(err, &pe) && pe.Code == "23503"
}

// rowsAffected is r's count of rows, 0 when the driver cannot tell.
func rowsAffected(r sql.Result) int64 {
	n, _ := r.RowsAffected()
	return n
}

// mapErr turns database errors into domain errors: unique violations are conflicts, values
// the database refuses are invalid, lost connections are unavailable, a statement that ran
// out of its statement timeout is database_timeout; the end of the caller's context stays a
// context error, for the caller knows why it ended; anything else is internal (with the
// cause kept for logs).
// outOfRangeMessage is the refusal of an analysis of numbers it cannot compute with.
const outOfRangeMessage = "this experiment holds numbers too large or too small to compute with; the analysis takes 0 and 1e-100 to 1e100 in absolute value"

func mapErr(err error) error {
	if err == nil {
		return nil
	}
	var de *experiment.Error
	if errors.As(err, &de) {
		return err
	}
	var pe *pq.Error
	if errors.As(err, &pe) {
		switch {
		case pe.Code == "23505":
			return &experiment.Error{Code: experiment.Conflict, Message: "already exists", Cause: err}
		case pe.Code == "22003" && strings.HasPrefix(pe.Message, "value out of range: "):
			// A float8 product overflowed or underflowed: stored numbers beyond what the
			// analysis takes (experiment.CheckNumber), written before that rule held.
			return &experiment.Error{Code: experiment.Conflict, Message: outOfRangeMessage, Cause: err}
		case pe.Code == "23503" || pe.Code == "23514" || pe.Code == "22P02" || pe.Code == "22003":
			return &experiment.Error{Code: experiment.Invalid, Message: "refused by a database constraint", Cause: err}
		case pe.Code == "22021" || pe.Code == "22P05":
			// Text the database cannot hold: a NUL or bytes that are not UTF-8
			// (character_not_in_repertoire), a \u0000 in JSON (untranslatable_character).
			// The API refuses both, naming the field; this is for any writer that does not.
			return &experiment.Error{Code: experiment.Invalid, Message: "refused by the database: text with a NUL or bytes that are not UTF-8", Cause: err}
		case pe.Code == "57014":
			return queryCanceled(pe, err)
		case pe.Code.Class() == "40":
			// A deadlock or serialization failure: the database rolled this transaction back
			// to let a concurrent one through. Nothing of it was stored; sent again, it goes.
			return &experiment.Error{Code: experiment.Unavailable, Message: "the database rolled this write back for a concurrent one; nothing was stored, send it again", Cause: err}
		case pe.Code.Class() == "08" || pe.Code.Class() == "53" || pe.Code.Class() == "57":
			return &experiment.Error{Code: experiment.Unavailable, Message: "database unavailable", Cause: err}
		}
		return &experiment.Error{Code: experiment.Internal, Message: "internal error", Cause: err}
	}
	var oe *net.OpError
	if errors.As(err, &oe) || errors.Is(err, driver.ErrBadConn) || errors.Is(err, io.EOF) ||
		errors.Is(err, io.ErrUnexpectedEOF) || strings.Contains(err.Error(), "connection refused") {
		return &experiment.Error{Code: experiment.Unavailable, Message: "database unavailable", Cause: err}
	}
	switch {
	case errors.Is(err, context.Canceled):
		return err
	case errors.Is(err, context.DeadlineExceeded):
		// The caller's deadline passed while the database worked or while its statement
		// waited for a connection: the database is there, it did not answer in time.
		return &experiment.Error{Code: experiment.DatabaseTimeout, Message: timeoutMessage, Cause: err}
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return &experiment.Error{Code: experiment.Unavailable, Message: "database unavailable", Cause: err}
	}
	return &experiment.Error{Code: experiment.Internal, Message: "internal error", Cause: err}
}

const timeoutMessage = "the database did not answer in time; try again or narrow the request"

// queryCanceled tells the two causes of query_canceled (57014) apart. The server's
// statement timeout is database_timeout. A cancel request is what lib/pq sends when the
// caller's context ends (the client went away): that stays the context's end, not the
// database's failure. Only the message tells them apart; were it translated (lc_messages),
// a cancel request would read as a timeout, which the API answers as the end of the
// request anyway when its client is gone.
func queryCanceled(pe *pq.Error, err error) error {
	if strings.Contains(pe.Message, "user request") {
		return fmt.Errorf("%w: %w", context.Canceled, err)
	}
	return &experiment.Error{Code: experiment.DatabaseTimeout, Message: timeoutMessage, Cause: err}
}

// inTx runs fn in a transaction, committing when it returns nil.
func (s *Store) inTx(ctx context.Context, fn func(tx *sqlx.Tx) error) error {
	return s.runTx(ctx, nil, fn)
}

// inReadTx runs fn in a read-only transaction that sees one snapshot throughout.
func (s *Store) inReadTx(ctx context.Context, fn func(tx *sqlx.Tx) error) error {
	return s.runTx(ctx, &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true}, fn)
}

func (s *Store) runTx(ctx context.Context, opts *sql.TxOptions, fn func(tx *sqlx.Tx) error) error {
	return s.runTxOn(ctx, func() (*sqlx.Tx, error) { return s.db.BeginTxx(ctx, opts) }, fn)
}

// runTxOn runs fn in the transaction begin starts: committed when fn succeeds, rolled back
// when it fails.
func (s *Store) runTxOn(ctx context.Context, begin func() (*sqlx.Tx, error), fn func(tx *sqlx.Tx) error) error {
	tx, err := begin()
	if err != nil {
		return mapErr(err)
	}
	if err := fn(tx); err != nil {
		if rbErr := tx.Rollback(); rbErr != nil && !errors.Is(rbErr, sql.ErrTxDone) {
			slog.WarnContext(ctx, "rollback failed", "err", rbErr)
		}
		return mapErr(err)
	}
	return mapErr(tx.Commit())
}

func writeAudit(ctx context.Context, tx *sqlx.Tx, a experiment.AuditEntry) error {
	diff, err := auditJSON(a.Diff)
	if err != nil {
		return err
	}
	var expID sql.NullInt64
	if a.ExperimentID != 0 {
		expID = sql.NullInt64{Int64: a.ExperimentID, Valid: true}
	}
	_, err = tx.ExecContext(ctx,
		`INSERT INTO audit_log (experiment_id, at, actor, action, subject, diff) VALUES ($1, $2, $3, $4, $5, $6)`,
		expID, a.At, a.Actor, a.Action, a.Subject, diff)
	return err
}
