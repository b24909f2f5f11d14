package experiment

import "context"

// WaveTimeline is the timeline of one survey wave (STATS.md, third part) with the wave's
// results (WaveResults), or Results and their Timeline when wave is "": the primary
// outcome's comparison per treatment arm at the end of every day on which the wave was
// answered, over the answers in the wave given up to then (by their age since the
// customer's assignment), the latest within the wave as of that day counting. The traffic
// is the wave's as the results count it (its eligible customers at their moment of
// computing), so the last day's comparisons are those of the wave's results before the
// running minimum of the sequential p-values. It is kept with the wave's results' snapshot
// while the data holds, and no longer than they are (DataVersion.ValidUntil). An unknown
// wave is Invalid, naming the parameter wave.
func (s *Service) WaveTimeline(ctx context.Context, key, wave string) (Results, []TimelinePoint, error) {
	res, err := s.WaveResults(ctx, key, wave)
	if err != nil {
		return Results{}, nil, err
	}
	if res.Wave == nil {
		points, err := s.TimelineOf(ctx, res)
		return res, points, err
	}
	w := WaveWindow{Wave: *res.Wave, At: res.ComputedAt}
	if s.snaps == nil || !res.version.known() {
		points, _, err := s.timelineIn(ctx, res.Experiment, &w)
		return res, points, err
	}
	cur := res.version
	cur.At = s.Now()
	points, err := s.snaps.timelines.get(ctx, key+"\x00wave\x00"+w.Wave.Key, cur, func(ctx context.Context) ([]TimelinePoint, DataVersion, error) {
		return s.timelineIn(ctx, res.Experiment, &w)
	})
	return res, points, err
}
