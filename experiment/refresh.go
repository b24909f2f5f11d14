package experiment

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// RetryFailedAnalysisAfter is how long the background pass leaves an experiment alone whose
// analysis failed, while neither it nor its data change: an analysis that failed on numbers
// the database cannot carry fails again, and one that ran into the statement timeout would
// hold a connection for the whole timeout on every pass. A write, or a change of the
// experiment, has it tried on the next pass.
const RetryFailedAnalysisAfter = time.Hour

// RefreshHeadlines analyses every experiment with results whose headline is missing or of
// older data, one at a time, so that the console's list shows current recommendations
// without a reader waiting for an analysis. Drafts have nothing to analyse. It returns the
// number analysed. An experiment whose analysis fails (but for an unavailable database) is
// logged once and left alone while its versions hold, for RetryFailedAnalysisAfter.
func (s *Service) RefreshHeadlines(ctx context.Context, log *slog.Logger) (int, error) {
	list, err := s.Overview(ctx, "", "")
	if err != nil {
		return 0, err
	}
	n := 0
	for _, h := range list {
		if h.Status == Draft || (h.Analysis != nil && h.Analysis.Current) {
			continue
		}
		if err := ctx.Err(); err != nil {
			return n, err
		}
		at := s.Now()
		if s.refresh.failedRecently(h, at) {
			continue
		}
		if _, err := s.Results(ctx, h.Key); err != nil {
			if ctx.Err() != nil {
				return n, ctx.Err()
			}
			// An unavailable database is no news about the experiment: the next pass tries.
			news := ErrorCode(err) == Unavailable || s.refresh.failed(h, at)
			if news && log != nil {
				log.Warn("could not analyse for the experiment list; tried again after a change of it or its data",
					"experiment", h.Key, "err", err, "or_after", RetryFailedAnalysisAfter)
			}
			continue
		}
		s.refresh.succeeded(h.Key)
		n++
	}
	return n, nil
}

// KeepHeadlinesFresh runs RefreshHeadlines now and then every interval until ctx ends.
func (s *Service) KeepHeadlinesFresh(ctx context.Context, interval time.Duration, log *slog.Logger) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if _, err := s.RefreshHeadlines(ctx, log); err != nil && ctx.Err() == nil && log != nil {
			log.Warn("could not refresh the experiment list", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// refreshFailures remembers, per experiment, the versions at which the background pass
// last failed to analyse it, and when.
type refreshFailures struct {
	mu sync.Mutex
	m  map[string]refreshFailure
}

type refreshFailure struct {
	experiment, data int64
	at               time.Time
}

func newRefreshFailures() *refreshFailures { return &refreshFailures{m: map[string]refreshFailure{}} }

// failedRecently says that the analysis of h failed at h's versions, less than
// RetryFailedAnalysisAfter before now.
func (r *refreshFailures) failedRecently(h Headline, now time.Time) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	f, ok := r.m[h.Key]
	return ok && f.experiment == h.ExperimentVersion && f.data == h.DataVersion && now.Sub(f.at) < RetryFailedAnalysisAfter
}

// failed records a failure at h's versions; it says whether it is news (the first at these
// versions), worth a line in the log.
func (r *refreshFailures) failed(h Headline, at time.Time) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	f, ok := r.m[h.Key]
	r.m[h.Key] = refreshFailure{experiment: h.ExperimentVersion, data: h.DataVersion, at: at}
	return !ok || f.experiment != h.ExperimentVersion || f.data != h.DataVersion
}

func (r *refreshFailures) succeeded(key string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.m, key)
}
