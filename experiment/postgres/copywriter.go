package postgres

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"math"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/krslab/krslab/experiment"
)

// copyWriter encodes rows in the text format of COPY ... FROM STDIN and sends them to the
// server a buffer at a time: a few calls per 64 KiB instead of one trip through
// database/sql per value, which costs more than the server's own work for a large import.
type copyWriter struct {
	buf   []byte
	start bool // at the start of a row: no column separator before the next value
	send  func([]byte) error
}

// copyFlushSize is the size at which the buffered rows go to the server.
const copyFlushSize = 64 << 10

func (w *copyWriter) sep() {
	if !w.start {
		w.buf = append(w.buf, '\t')
	}
	w.start = false
}

// Text writes a text value, escaped.
func (w *copyWriter) Text(s string) {
	w.sep()
	w.buf = appendCopyText(w.buf, s)
}

// Null writes SQL NULL.
func (w *copyWriter) Null() {
	w.sep()
	w.buf = append(w.buf, `\N`...)
}

// Nulls writes n NULLs: the columns a bad line leaves empty.
func (w *copyWriter) Nulls(n int) {
	for range n {
		w.Null()
	}
}

// Int writes an integer.
func (w *copyWriter) Int(n int64) {
	w.sep()
	w.buf = strconv.AppendInt(w.buf, n, 10)
}

// Bool writes a boolean.
func (w *copyWriter) Bool(b bool) {
	w.sep()
	if b {
		w.buf = append(w.buf, 't')
	} else {
		w.buf = append(w.buf, 'f')
	}
}

// Float writes a double precision value exactly (the shortest form that reads back the
// same float64).
func (w *copyWriter) Float(f float64) {
	w.sep()
	w.buf = appendFloat(w.buf, f)
}

// Time writes a timestamptz.
func (w *copyWriter) Time(t time.Time) {
	w.sep()
	w.buf = append(w.buf, pq.FormatTimestamp(t)...)
}

// Bytes writes a bytea in hex (\x..., its backslash escaped for COPY).
func (w *copyWriter) Bytes(b []byte) {
	w.sep()
	const hex = "0123456789abcdef"
	w.buf = append(w.buf, `\\x`...)
	for _, c := range b {
		w.buf = append(w.buf, hex[c>>4], hex[c&15])
	}
}

// FloatArray writes a double precision[].
func (w *copyWriter) FloatArray(values []float64) {
	w.sep()
	w.buf = append(w.buf, '{')
	for i, f := range values {
		if i > 0 {
			w.buf = append(w.buf, ',')
		}
		w.buf = appendFloat(w.buf, f)
	}
	w.buf = append(w.buf, '}')
}

// EndRow ends the row and sends the buffer once it is full.
func (w *copyWriter) EndRow() error {
	w.buf = append(w.buf, '\n')
	w.start = true
	if len(w.buf) < copyFlushSize {
		return nil
	}
	err := w.send(w.buf)
	w.buf = w.buf[:0]
	return err
}

func appendFloat(b []byte, f float64) []byte {
	switch {
	case math.IsNaN(f):
		return append(b, "NaN"...)
	case math.IsInf(f, 1):
		return append(b, "Infinity"...)
	case math.IsInf(f, -1):
		return append(b, "-Infinity"...)
	}
	return strconv.AppendFloat(b, f, 'g', -1, 64)
}

// appendCopyText appends s with the escapes of COPY's text format.
func appendCopyText(b []byte, s string) []byte {
	if strings.IndexAny(s, "\\\n\r\t") < 0 {
		return append(b, s...)
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\':
			b = append(b, '\\', '\\')
		case '\n':
			b = append(b, '\\', 'n')
		case '\r':
			b = append(b, '\\', 'r')
		case '\t':
			b = append(b, '\\', 't')
		default:
			b = append(b, c)
		}
	}
	return b
}

// copyRows runs query, a COPY ... FROM STDIN, on conn (in its transaction), with the rows
// that fill writes, and returns how many the server stored. When fill fails the COPY is
// aborted (nothing it sent is stored) and fill's error returned, as the file's (fileError);
// when the server refused rows or the connection failed, that error, as it is.
func copyRows(ctx context.Context, conn *sqlx.Conn, query string, fill func(w *copyWriter) error) (stored int64, err error) {
	err = conn.Raw(func(dc any) (err error) {
		// database/sql closes a connection whose Raw function fails with ErrBadConn or
		// panics, and closing waits for the transaction open on it, which waits for this
		// function: the import would hang. Such failures leave here as plain errors; the
		// transaction's rollback then finds the connection broken and drops it.
		defer func() {
			if p := recover(); p != nil {
				err = fmt.Errorf("copy: panic: %v\n%s", p, debug.Stack())
			}
			if errors.Is(err, driver.ErrBadConn) {
				err = &experiment.Error{Code: experiment.Unavailable, Message: "database unavailable: the connection was lost during COPY"}
			}
		}()
		prep, ok := dc.(driver.ConnPrepareContext)
		if !ok {
			return fmt.Errorf("copy: driver connection %T cannot prepare", dc)
		}
		stmt, err := prep.PrepareContext(ctx, query)
		if err != nil {
			return err
		}
		defer stmt.Close()
		ci, ok := stmt.(interface {
			CopyData(ctx context.Context, line string) (driver.Result, error)
		})
		if !ok {
			return fmt.Errorf("copy: statement %T takes no raw rows", stmt)
		}
		var sendErr error
		send := func(rows []byte) error {
			// CopyData ends what it is given with a newline.
			if _, err := ci.CopyData(ctx, string(rows[:len(rows)-1])); err != nil && sendErr == nil {
				sendErr = err
			}
			return sendErr
		}
		w := &copyWriter{buf: make([]byte, 0, copyFlushSize+4096), start: true, send: send}
		if err := fill(w); err != nil {
			if sendErr != nil {
				return sendErr // the server's refusal or the connection's failure, not the file's
			}
			// lib/pq has no way to fail a COPY once it runs: a row short of its columns
			// makes the server abort it, so that none of it is stored or seen by triggers.
			_ = send([]byte("\n"))
			_, _ = stmt.Exec(nil) //nolint:staticcheck // the driver's own way to end a COPY
			return fileError(err)
		}
		if len(w.buf) > 0 {
			if err := send(w.buf); err != nil {
				return err
			}
		}
		res, err := stmt.Exec(nil) //nolint:staticcheck // ends the COPY and reports what the server refused
		if err != nil {
			return err
		}
		stored, err = res.RowsAffected()
		return err
	})
	return stored, err
}

// fileError is an error of reading the file of a copy: one that is not already an error
// for the user, a cancellation or a signal to the caller (errStage) says so.
func fileError(err error) error {
	var de *experiment.Error
	if errors.As(err, &de) || errors.Is(err, errStage) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return &experiment.Error{Code: experiment.Invalid, Message: "reading the file: " + err.Error(), Cause: err}
}
