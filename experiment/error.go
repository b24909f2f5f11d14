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
}

// Error is the one error type of the domain. Details lists every offending field or
// row, never just the first.
type Error struct {
	Code    Code
	Message string
	Details []Detail
	Cause   error // the underlying error, for logs; never shown to clients
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
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

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
	p.details = append(p.details, Detail{Field: field, Message: fmt.Sprintf(format, args...)})
}

// Row records a problem with a row (1-based) of a batch; field may be empty.
func (p *Problems) Row(row int, field, format string, args ...any) {
	p.details = append(p.details, Detail{Row: row, Field: field, Message: fmt.Sprintf(format, args...)})
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
