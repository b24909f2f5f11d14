package postgres

import (
	"context"
	"errors"
	"net"
	"testing"

	"github.com/lib/pq"

	"github.com/krslab/krslab/experiment"
)

// TestMapErr pins the domain code of each database failure: a statement timeout is no
// outage, the end of the caller's context neither, and text PostgreSQL cannot hold is the
// request's fault, not the server's.
func TestMapErr(t *testing.T) {
	for _, c := range []struct {
		name string
		err  error
		want experiment.Code
	}{
		{"statement timeout", &pq.Error{Code: "57014", Message: "canceling statement due to statement timeout"}, experiment.DatabaseTimeout},
		{"caller's deadline", context.DeadlineExceeded, experiment.DatabaseTimeout},
		{"NUL or invalid UTF-8", &pq.Error{Code: "22021", Message: `invalid byte sequence for encoding "UTF8": 0x00`}, experiment.Invalid},
		{`\u0000 in JSON`, &pq.Error{Code: "22P05", Message: "unsupported Unicode escape sequence"}, experiment.Invalid},
		{"terminated", &pq.Error{Code: "57P01", Message: "terminating connection due to administrator command"}, experiment.Unavailable},
		{"connection lost", &pq.Error{Code: "08006", Message: "connection failure"}, experiment.Unavailable},
		{"too many connections", &pq.Error{Code: "53300", Message: "too many connections"}, experiment.Unavailable},
		{"refused", &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connect: connection refused")}, experiment.Unavailable},
		{"deadlock", &pq.Error{Code: "40P01", Message: "deadlock detected"}, experiment.Unavailable},
		{"serialization", &pq.Error{Code: "40001", Message: "could not serialize access"}, experiment.Unavailable},
		{"unique", &pq.Error{Code: "23505"}, experiment.Conflict},
		{"other", &pq.Error{Code: "42P01", Message: "relation does not exist"}, experiment.Internal},
	} {
		if got := experiment.ErrorCode(mapErr(c.err)); got != c.want {
			t.Errorf("%s: %s, want %s", c.name, got, c.want)
		}
	}
	// A cancel request is what lib/pq sends when the caller's context ends: it stays the
	// context's end (the API answers it as the client's leaving), never a timeout or an outage.
	for _, err := range []error{context.Canceled, &pq.Error{Code: "57014", Message: "canceling statement due to user request"}} {
		mapped := mapErr(err)
		var de *experiment.Error
		if !errors.Is(mapped, context.Canceled) || errors.As(mapped, &de) {
			t.Errorf("mapErr(%v) = %#v, want the context's end", err, mapped)
		}
	}
}
