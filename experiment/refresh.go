package experiment

import (
	"context"
	"log/slog"
	"time"
)

// RefreshHeadlines analyses every experiment with results whose headline is missing or of
// older data, one at a time, so that the console's list shows current recommendations
// without a reader waiting for an analysis. Drafts have nothing to analyse. It returns the
// number analysed; an experiment that fails is logged and skipped.
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
		if _, err := s.Results(ctx, h.Key); err != nil {
			if log != nil {
				log.Warn("could not analyse for the experiment list", "experiment", h.Key, "err", err)
			}
			continue
		}
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
