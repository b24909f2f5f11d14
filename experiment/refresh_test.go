package experiment

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"
)

// failingAnalyses is a store whose one experiment cannot be analysed: every analysis fails
// at its first read with code.
type failingAnalyses struct {
	Store
	code  Code
	reads int
}

func (f *failingAnalyses) DataVersion(context.Context, string) (DataVersion, error) {
	f.reads++
	return DataVersion{}, &Error{Code: f.code, Message: "cannot"}
}

func (f *failingAnalyses) AssignedPerArm(context.Context, string) (map[string]int64, error) {
	return nil, nil
}

func (f *failingAnalyses) SaveHeadline(context.Context, int64, DataVersion, HeadlineAnalysis) error {
	return nil
}

func (f *failingAnalyses) Overview(context.Context, Status, string) ([]Headline, error) {
	return []Headline{{Key: "failing", Status: Running, ExperimentVersion: 3, DataVersion: 7}}, nil
}

// TestRefreshRemembersFailuresOfTheExperimentOnly: an analysis that fails on what the
// experiment holds is not tried again at the same versions (TestTheListLeavesAnUnanalysable-
// ExperimentAlone in experiment/postgres covers the versions and the hour), but one that
// failed because the database was unavailable is tried on the next pass, and logged again.
func TestRefreshRemembersFailuresOfTheExperimentOnly(t *testing.T) {
	for code, want := range map[Code]int{Unavailable: 3, Conflict: 1, DatabaseTimeout: 1, Internal: 1} {
		store := &failingAnalyses{code: code}
		svc := NewService(store)
		var logged bytes.Buffer
		log := slog.New(slog.NewTextHandler(&logged, nil))
		for range 3 {
			if n, err := svc.RefreshHeadlines(context.Background(), log); n != 0 || err != nil {
				t.Fatalf("%s: a pass analysed %d, %v", code, n, err)
			}
		}
		if lines := strings.Count(logged.String(), "experiment=failing"); store.reads != want || lines != want {
			t.Errorf("%s: 3 passes tried %d times and logged %d lines, want %d of each", code, store.reads, lines, want)
		}
		svc.Now = func() time.Time { return time.Now().Add(RetryFailedAnalysisAfter) }
		svc.RefreshHeadlines(context.Background(), nil)
		if store.reads != want+1 {
			t.Errorf("%s: after the hour tried %d times in all, want %d", code, store.reads, want+1)
		}
	}
}
