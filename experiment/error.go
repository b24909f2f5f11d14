package experiment

import (
	"errors"
	"fmt"
	"strings"
)

// Code classifies an Error; the API maps each code to one HTTP status.
type Code string

// The error codes of the API contract.
const (
	Invalid      Code = "invalid"
	Unauthorized Code = "unauthorized"
	Forbidden    Code = "forbidden"
	NotFound     Code = "not_found"
	Conflict     Code = "conflict"
	// PreconditionFailed: the request named a version of the resource (If-Match) that is
	// no longer the stored one.
	PreconditionFailed Code = "precondition_failed"
	PayloadTooLarge    Code = "payload_too_large"
	Unavailable        Code = "unavailable"
	// DatabaseTimeout: the database did not answer within its statement timeout. It is up
	// (not Unavailable), the request was too much for the time given.
	DatabaseTimeout Code = "database_timeout"
	Internal        Code = "internal"
)

// The error codes of requests that failed in transport rather than in content.
const (
	// Timeout: the request body did not arrive in time (a slow or stalled upload).
	Timeout Code = "timeout"
	// Canceled: the client went away before its answer. No one reads the answer; the code
	// keeps such requests apart from bad input and from the server's failures in logs.
	Canceled Code = "canceled"
)

// Detail names one offending field or row of a request.
type Detail struct {
	Field   string `json:"field,omitempty"`
	Row     int    `json:"row,omitempty"`
	Message string `json:"message"`
	text    Text   // Message as its format and arguments, when this package made it
}

// Text is Message as its format and arguments, so that the console can say it in the
// reader's language; a detail made elsewhere gives its Message as a whole ("%s").
func (d Detail) Text() Text {
	if d.text.format == "" {
		return Textf("%s", d.Message)
	}
	return d.text
}

// Error is the one error type of the domain. Details lists every offending field or
// row, never just the first.
type Error struct {
	Code    Code
	Message string
	Details []Detail
	Cause   error // the underlying error, for logs; never shown to clients
	text    Text  // Message as its format and arguments, when Errorf made it
}

// Text is Message as its format and arguments; see Detail.Text.
func (e *Error) Text() Text {
	if e.text.format == "" {
		return Textf("%s", e.Message)
	}
	return e.text
}

// Unwrap gives errors.Is and errors.As access to the cause.
func (e *Error) Unwrap() error { return e.Cause }

func (e *Error) Error() string {
	if len(e.Details) == 0 {
		return e.Message
	}
	parts := make([]string, 0, len(e.Details))
	for _, d := range e.Details {
		switch {
		case d.Field != "":
			parts = append(parts, d.Field+": "+d.Message)
		case d.Row != 0:
			parts = append(parts, fmt.Sprintf("row %d: %s", d.Row, d.Message))
		default:
			parts = append(parts, d.Message)
		}
	}
	return e.Message + ": " + strings.Join(parts, "; ")
}

// Errorf returns an Error with the given code and a formatted message.
func Errorf(code Code, format string, args ...any) *Error {
	t := Textf(format, args...)
	return &Error{Code: code, Message: t.String(), text: t}
}

// Text is a text for people, a refusal's message or one of its details, kept as its English
// fmt format and its arguments. The API answers its English String, the contract's
// language; the console says it in the reader's (i18n.Problem, which finds the Dutch text
// by the English format, so that a format is the one name of its text). An argument that
// is a Text is said in the same language. The zero Text is no text: what the checks
// (CheckText, CheckID, ...) return when nothing is wrong.
type Text struct {
	format string
	args   []any
}

// Textf is the text of format with args.
func Textf(format string, args ...any) Text { return Text{format: format, args: args} }

// String is the text in English.
func (t Text) String() string {
	if t.format == "" {
		return ""
	}
	return fmt.Sprintf(t.format, t.args...)
}

// IsZero reports whether t is no text.
func (t Text) IsZero() bool { return t.format == "" }

// Parts are t's format and arguments.
func (t Text) Parts() (format string, args []any) { return t.format, t.args }

// ErrorCode returns the code of err, Internal for errors that are not an *Error.
func ErrorCode(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return Internal
}

// Problems collects the details of a validation; it becomes one Invalid error.
type Problems struct {
	details []Detail
}

// Field records a problem with a named field.
func (p *Problems) Field(field, format string, args ...any) {
	p.details = append(p.details, fieldDetail(field, Textf(format, args...)))
}

// Row records a problem with a row (1-based) of a batch; field may be empty.
func (p *Problems) Row(row int, field, format string, args ...any) {
	d := fieldDetail(field, Textf(format, args...))
	d.Row = row
	p.details = append(p.details, d)
}

// With adds details to e and returns it: an Errorf with the fields it names.
func (e *Error) With(details ...Detail) *Error {
	e.Details = append(e.Details, details...)
	return e
}

// fieldDetail is the detail of a field that says t.
func fieldDetail(field string, t Text) Detail {
	return Detail{Field: field, Message: t.String(), text: t}
}

// Add records details found elsewhere.
func (p *Problems) Add(d ...Detail) { p.details = append(p.details, d...) }

// Len is the number of problems recorded.
func (p *Problems) Len() int { return len(p.details) }

// Err returns nil when nothing was recorded, else an Invalid error listing everything.
func (p *Problems) Err(message string) error {
	if len(p.details) == 0 {
		return nil
	}
	return &Error{Code: Invalid, Message: message, Details: p.details}
}

func asError(err error, target **Error) bool { return errors.As(err, target) }
