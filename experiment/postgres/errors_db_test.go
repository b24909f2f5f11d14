package postgres_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/krslab/krslab/experiment"
	"github.com/krslab/krslab/experiment/postgres"
	"github.com/krslab/krslab/experiment/postgres/pgtest"
)

// TestStatementTimeout runs a statement into the statement timeout (it waits for a lock
// held by another transaction) and, apart, one whose caller gives up.
func TestStatementTimeout(t *testing.T) {
	ctx := context.Background()
	base := pgtest.Store(t)
	if _, err := experiment.NewService(base).CreateExperiment(ctx, experiment.Experiment{Key: "statement-timeout",
		Arms: []experiment.Arm{{Key: "control", Weight: 1, Control: true}, {Key: "b", Weight: 1}}}); err != nil {
		t.Fatal(err)
	}
	s, err := postgres.Open(ctx, pgtest.URL(t), postgres.Options{StatementTimeout: 200 * time.Millisecond, MaxOpenConns: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	lock, err := base.DB().BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Rollback()
	if _, err := lock.ExecContext(ctx, `LOCK TABLE experiments IN ACCESS EXCLUSIVE MODE`); err != nil {
		t.Fatal(err)
	}

	_, err = s.Experiment(ctx, "statement-timeout")
	if experiment.ErrorCode(err) != experiment.DatabaseTimeout {
		t.Errorf("a statement past the statement timeout: %v (%s), want %s", err, experiment.ErrorCode(err), experiment.DatabaseTimeout)
	}

	gone, cancel := context.WithCancel(ctx)
	time.AfterFunc(50*time.Millisecond, cancel)
	_, err = s.Experiment(gone, "statement-timeout")
	if code := experiment.ErrorCode(err); !errors.Is(err, context.Canceled) || code == experiment.DatabaseTimeout || code == experiment.Unavailable {
		t.Errorf("a statement whose caller gave up: %v (%s), want the context's end", err, code)
	}
}

// TestTextTheDatabaseCannotHold sends a NUL and invalid UTF-8 straight to the store, past
// every check of the domain: the last line of defence answers invalid, not internal.
func TestTextTheDatabaseCannotHold(t *testing.T) {
	s := pgtest.Store(t)
	for _, key := range []string{"nul\x00key", "bad\xff\xfekey"} {
		if _, err := s.Experiment(context.Background(), key); experiment.ErrorCode(err) != experiment.Invalid {
			t.Errorf("experiment %q: %v (%s), want invalid", key, err, experiment.ErrorCode(err))
		}
	}
}
