package postgres_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/krslab/krslab/experiment"
	"github.com/krslab/krslab/experiment/postgres/pgtest"
)

// TestStartAsOf: a programme brought in from before krslab starts as of its first
// assignment, which the audit log records; a start in the future or more than ten years
// back is refused naming started_at, and leaves the experiment a draft.
func TestStartAsOf(t *testing.T) {
	svc := experiment.NewService(pgtest.Store(t))
	ctx := context.Background()
	e, err := svc.CreateExperiment(ctx, experiment.Experiment{Key: "brought-in", Arms: []experiment.Arm{
		{Key: "control", Weight: 1, Control: true}, {Key: "b", Weight: 1}}})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	for _, at := range []time.Time{now.Add(time.Hour), now.AddDate(-11, 0, 0)} {
		_, err := svc.StartAsOf(ctx, e.Key, at)
		var ee *experiment.Error
		if !errors.As(err, &ee) || ee.Code != experiment.Invalid || len(ee.Details) != 1 || ee.Details[0].Field != "started_at" {
			t.Errorf("start as of %v: %v", at, err)
		}
	}
	if got, err := svc.Experiment(ctx, e.Key); err != nil || got.Status != experiment.Draft || got.StartedAt != nil {
		t.Fatalf("after refused starts: %+v, %v", got, err)
	}
	at := now.AddDate(0, 0, -90).Truncate(time.Microsecond)
	started, err := svc.StartAsOf(ctx, e.Key, at)
	if err != nil || started.Status != experiment.Running || started.StartedAt == nil || !started.StartedAt.Equal(at) {
		t.Fatalf("started: %+v, %v", started, err)
	}
	if got, err := svc.Experiment(ctx, e.Key); err != nil || got.StartedAt == nil || !got.StartedAt.Equal(at) {
		t.Errorf("stored: %+v, %v", got, err)
	}
	log, err := svc.Audit(ctx, e.Key, 10)
	if err != nil {
		t.Fatal(err)
	}
	var diff struct {
		To        string    `json:"to"`
		StartedAt time.Time `json:"started_at"`
	}
	for _, a := range log {
		if a.Action == "experiment.start" {
			if err := json.Unmarshal(a.Diff.(json.RawMessage), &diff); err != nil {
				t.Fatal(err)
			}
		}
	}
	if diff.To != "running" || !diff.StartedAt.Equal(at) {
		t.Errorf("audit of the start: %+v", diff)
	}
}
