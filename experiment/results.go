package experiment

import (
	"context"
	"math"
	"time"

	"github.com/krslab/krslab/stats"
)

// Results is the analysis of an experiment as an analyst and a product owner read it.
type Results struct {
	Experiment Experiment
	// Wave is the survey wave analysed (WaveResults); nil for the whole experiment.
	Wave           *Wave
	ComputedAt     time.Time
	Arms           map[string]ArmCount
	Outcomes       []OutcomeResults
	SRM            stats.SRM
	ResponseCheck  stats.ResponseCheck
	Recommendation stats.Recommendation

	// What the numbers came from, for recommending again once the sequential
	// p-values are the running minimum (the comparisons' maps are shared).
	design   stats.Design
	analysis stats.Analysis
	// version is the data the analysis read (Summary.Version with the experiment's).
	version DataVersion
	// decisionWave is the decision wave's analysis whose recommendation this is (nil
	// without a decision wave, and in a wave's own results).
	decisionWave *Results
}

// DecisionWave is the analysis of the decision wave whose recommendation the results carry;
// nil without a decision wave (and in a wave's own results).
func (r Results) DecisionWave() *Results { return r.decisionWave }

// OutcomeResults are the per-arm statistics and comparisons of one outcome.
type OutcomeResults struct {
	Outcome     Outcome
	Primary     bool
	Guardrail   bool
	Arms        map[string]stats.ArmStats
	Comparisons map[string]stats.Comparison
}

// TimelinePoint is the comparison of one treatment arm with control on the primary
// outcome, using every answer given up to the end of Day (UTC): how the effect and its
// intervals evolved while the experiment ran.
type TimelinePoint struct {
	Day        time.Time
	Arm        string
	Comparison stats.Comparison // Diff, CILow, CIHigh; Sequential for mean-based outcomes
}

// Results is the analysis of an experiment as its data stands. An analysis is kept with the
// version of the data it read and served again while that version holds (one query reads
// it); the first request after a write, on any instance, analyses again (SnapshotStore).
// Results served from a snapshot share their maps with every other caller: read only.
func (s *Service) Results(ctx context.Context, key string) (Results, error) {
	return s.WaveResults(ctx, key, "")
}

// WaveResults is the analysis of one survey wave of an experiment (STATS.md, third part),
// or of the whole experiment when wave is "": every number of /results over the responses
// in the wave, the latest answer within it counting, and the customers eligible in the wave
// (assigned at least its from_day days before now) as the assigned ones. A wave's analysis
// is kept like the whole experiment's, keyed on the wave, and only until the next customer
// becomes eligible: then its counts change with no write at all (DataVersion.ValidUntil).
// An unknown wave is Invalid, naming the parameter wave.
func (s *Service) WaveResults(ctx context.Context, key, wave string) (Results, error) {
	ss, ok := s.Store.(SnapshotStore)
	if !ok || s.snaps == nil {
		return s.analyse(ctx, key, wave)
	}
	cur, err := s.dataVersion(ctx, ss, key)
	if err != nil {
		return Results{}, err
	}
	return s.waveResultsAt(ctx, key, wave, cur)
}

// waveResultsAt is WaveResults for the data as it stands at cur (SnapshotStore.DataVersion,
// with At), with snapshots.
func (s *Service) waveResultsAt(ctx context.Context, key, wave string, cur DataVersion) (Results, error) {
	kept := key
	if wave != "" {
		kept = key + "\x00wave\x00" + wave
	}
	return s.snaps.results.get(ctx, kept, cur, func(ctx context.Context) (Results, DataVersion, error) {
		res, err := s.analyse(ctx, key, wave)
		return res, res.version, err
	})
}

// analyse computes the analysis of an experiment from per-arm sufficient statistics, so
// that its cost does not grow with the number of answers held in Go. Each analysis is a
// look at the sequential tests (recorded once, here) and leaves its headline for the
// console's list.
func (s *Service) analyse(ctx context.Context, key, wave string) (Results, error) {
	if s.snaps != nil {
		if fn := s.snaps.analyses.Load(); fn != nil {
			(*fn)(key)
		}
	}
	e, err := s.Store.Experiment(ctx, key)
	if err != nil {
		return Results{}, err
	}
	outcomes, err := s.OutcomeMap(ctx)
	if err != nil {
		return Results{}, err
	}
	now := s.Now()
	keys := e.AnalysedOutcomes()
	specs := SummarySpecs(keys, outcomes, time.Time{})
	var w *Wave
	if wave != "" {
		found, ok := e.Wave(wave)
		if !ok {
			return Results{}, &Error{Code: Invalid, Message: "unknown wave",
				Details: []Detail{fieldDetail("wave", Textf("experiment %q has no wave %q", e.Key, wave))}}
		}
		w = &found
		for i := range specs {
			specs[i].Wave = &WaveWindow{Wave: found, At: now}
		}
	}
	sum, err := s.Store.Summarize(ctx, e.ID, specs)
	if err != nil {
		return Results{}, err
	}
	res := Analyze(e, outcomes, keys, sum)
	res.ComputedAt, res.Wave = now, w
	if err := s.runningMinimum(ctx, &res); err != nil {
		return Results{}, err
	}
	if w == nil && e.DecisionWave != "" {
		if err := s.decideByWave(ctx, &res); err != nil {
			return Results{}, err
		}
	}
	if ss, ok := s.Store.(SnapshotStore); ok && res.version.known() && w == nil {
		if err := ss.SaveHeadline(ctx, e.ID, res.version, headlineOf(res)); err != nil {
			return Results{}, err
		}
	}
	return res, nil
}

// decideByWave makes the recommendation of the whole experiment's results that of its
// decision wave (STATS.md, third part), saying so: an intervention meant to last is judged
// where the team chose to judge it, and the target counts that wave's responses. The
// results then change as the wave's do, with time too (their versions' ValidUntil).
func (s *Service) decideByWave(ctx context.Context, res *Results) error {
	e := res.Experiment
	wave, ok := e.Wave(e.DecisionWave)
	if !ok {
		return Errorf(Internal, "experiment %q has no decision wave %q", e.Key, e.DecisionWave)
	}
	wr, err := s.WaveResults(ctx, e.Key, wave.Key)
	if err != nil {
		return err
	}
	res.Recommendation = wr.Recommendation.ForWave(wave.Name("en"), wave.Name("nl"), wave.FromDay, wave.ToDay)
	res.decisionWave = &wr
	if v := wr.version.ValidUntil; !v.IsZero() && (res.version.ValidUntil.IsZero() || v.Before(res.version.ValidUntil)) {
		res.version.ValidUntil = v
	}
	if wr.version.Data != res.version.Data || wr.version.Experiment != res.version.Experiment {
		// Written between the two reads: keep neither.
		res.version = DataVersion{}
	}
	return nil
}

// runningMinimum records this look at the sequential tests and reports each one's p-value
// as the minimum over all looks so far (AtRunningMinimum).
func (s *Service) runningMinimum(ctx context.Context, res *Results) error {
	looks := res.Looks()
	if len(looks) == 0 {
		return nil
	}
	mins, err := s.Store.RecordLooks(ctx, res.Experiment.ID, looks)
	if err != nil {
		return err
	}
	res.AtRunningMinimum(looks, mins)
	return nil
}

// Looks are the sequential p-values of this analysis, one per comparison that has one:
// what a look at the experiment records (Store.RecordLooks). They come in a stable order:
// by outcome as analysed, then by arm as the experiment lists them.
func (r Results) Looks() []Look {
	var looks []Look
	for _, o := range r.Outcomes {
		for _, a := range r.Experiment.Arms {
			c, ok := o.Comparisons[a.Key]
			if ok && c.Sequential != nil && !math.IsNaN(c.Sequential.PValue) {
				looks = append(looks, Look{Wave: r.waveKey(), Outcome: o.Outcome.Key, Arm: a.Key, PValue: c.Sequential.PValue})
			}
		}
	}
	return looks
}

// waveKey is the key of the wave analysed, "" for the whole experiment.
func (r Results) waveKey() string {
	if r.Wave == nil {
		return ""
	}
	return r.Wave.Key
}

// AtRunningMinimum reports each look's sequential p-value as mins[i], the minimum over
// every look recorded so far (as Store.RecordLooks returns them for looks, from Looks),
// and recommends again, so that the peeking rule reads the p-values as reported: the
// always-valid p-value stays valid under any number of peeks, so the smallest one seen
// is the one to report (STATS.md). /results and the simulations apply the rule here.
func (r *Results) AtRunningMinimum(looks []Look, mins []float64) {
	byOutcome := map[string]int{}
	for i, o := range r.Outcomes {
		byOutcome[o.Outcome.Key] = i
	}
	for i, l := range looks {
		o := r.Outcomes[byOutcome[l.Outcome]]
		c := o.Comparisons[l.Arm]
		seq := *c.Sequential
		seq.PValue = mins[i]
		c.Sequential = &seq
		o.Comparisons[l.Arm] = c
	}
	// The comparisons' maps are the analysis's too.
	r.Recommendation = stats.Recommend(r.design, r.analysis)
}

// Timeline evaluates the primary outcome day by day: per treatment arm, the comparison
// with control over the answers given up to the end of each day on which answers came in.
// It is TimelineOf the experiment's Results.
func (s *Service) Timeline(ctx context.Context, key string) ([]TimelinePoint, error) {
	res, err := s.Results(ctx, key)
	if err != nil {
		return nil, err
	}
	return s.TimelineOf(ctx, res)
}

// TimelineOf is the timeline that goes with an analysis (Results): of the experiment as
// res read it, kept with res's snapshot while the data holds. A request that shows both
// (the report, the timeline plot) so analyses once. The store reads every day's
// statistics in one pass (SummarizeDays), so a timeline costs about one Summarize however
// many days it has; each day goes through Analyze as /results does.
func (s *Service) TimelineOf(ctx context.Context, res Results) ([]TimelinePoint, error) {
	if s.snaps == nil || !res.version.known() {
		points, _, err := s.timeline(ctx, res.Experiment)
		return points, err
	}
	return s.snaps.timelines.get(ctx, res.Experiment.Key, res.version, func(ctx context.Context) ([]TimelinePoint, DataVersion, error) {
		return s.timeline(ctx, res.Experiment)
	})
}

// ResultsWithTimeline is Results with TimelineOf them, for a request that shows both (the
// report, the timeline plot), without waiting for one to start the other: when the data
// changed since they were kept, the timeline's statistics (SummarizeDays) are read beside
// the analysis's (Summarize), in a snapshot of their own, rather than after them. Both
// read the data as it stood at least when the request came, as TimelineOf(Results) does,
// and each is kept with the version it read; a timeline drawn for another version of the
// experiment itself than the analysis (one changed between the two reads) is taken again
// for the analysis (TimelineOf). One analysis, as Results.
func (s *Service) ResultsWithTimeline(ctx context.Context, key string) (Results, []TimelinePoint, error) {
	ss, ok := s.Store.(SnapshotStore)
	if !ok || s.snaps == nil {
		res, err := s.Results(ctx, key)
		if err != nil {
			return Results{}, nil, err
		}
		points, err := s.TimelineOf(ctx, res)
		return res, points, err
	}
	cur, err := s.dataVersion(ctx, ss, key)
	if err != nil {
		return Results{}, nil, err
	}
	type timelineRead struct {
		points  []TimelinePoint
		version DataVersion
		err     error
	}
	read := make(chan timelineRead, 1) // buffered: the reader need not wait for a failed analysis
	var drawnFor int64                 // the experiment version of a timeline computed here
	go func() {
		points, version, err := s.snaps.timelines.getVersion(ctx, key, cur, func(ctx context.Context) ([]TimelinePoint, DataVersion, error) {
			e, err := s.Store.Experiment(ctx, key)
			if err != nil {
				return nil, DataVersion{}, err
			}
			drawnFor = e.Version
			return s.timeline(ctx, e)
		})
		read <- timelineRead{points, version, err}
	}()
	res, err := s.waveResultsAt(ctx, key, "", cur)
	if err != nil {
		return Results{}, nil, err
	}
	t := <-read
	if t.err != nil {
		return Results{}, nil, t.err
	}
	// A kept timeline, or one computed elsewhere, has a known version (get only keeps
	// and shares those); one without (no day to read) was computed here.
	of := t.version.Experiment
	if !t.version.known() {
		of = drawnFor
	}
	if of != res.Experiment.Version {
		t.points, err = s.TimelineOf(ctx, res)
	}
	return res, t.points, err
}

// timeline computes the timeline of e and returns the version of the data it read (zero
// when there was no day to read).
func (s *Service) timeline(ctx context.Context, e Experiment) ([]TimelinePoint, DataVersion, error) {
	return s.timelineIn(ctx, e, nil)
}

// timelineIn computes the timeline of e, of survey wave w when w is not nil, and returns
// the version of the data it read (zero when there was no day to read).
func (s *Service) timelineIn(ctx context.Context, e Experiment, w *WaveWindow) ([]TimelinePoint, DataVersion, error) {
	outcomes, err := s.OutcomeMap(ctx)
	if err != nil {
		return nil, DataVersion{}, err
	}
	keys := []string{e.PrimaryOutcome}
	spec := SummarySpecs(keys, outcomes, time.Time{})[0]
	spec.Wave = w
	days, err := s.Store.SummarizeDays(ctx, e.ID, spec)
	if err != nil {
		return nil, DataVersion{}, err
	}
	var points []TimelinePoint
	var version DataVersion
	for _, d := range days {
		res := Analyze(e, outcomes, keys, d.Summary)
		version = res.version
		for _, a := range e.Arms {
			if !a.Control {
				points = append(points, TimelinePoint{Day: d.Day, Arm: a.Key, Comparison: res.Outcomes[0].Comparisons[a.Key]})
			}
		}
	}
	return points, version, nil
}

// SummarySpecs says how to summarize each outcome, counting answers given before until
// (all answers when until is zero).
func SummarySpecs(keys []string, outcomes map[string]Outcome, until time.Time) []SummarySpec {
	specs := make([]SummarySpec, len(keys))
	for i, k := range keys {
		o := outcomes[k]
		specs[i] = SummarySpec{Outcome: o, Counts: o.Kind == Scale || o.Kind == Net || o.Kind == Binary, Until: until}
		for _, c := range o.Components {
			specs[i].Components = append(specs[i].Components, outcomes[c])
		}
	}
	return specs
}

// Analyze turns the summaries of an experiment's outcomes (keys, in the order of
// sum.Outcomes) into results. It is the one path from data to numbers: /results, the
// timeline and the simulations all go through it.
func Analyze(e Experiment, outcomes map[string]Outcome, keys []string, sum Summary) Results {
	design := stats.Design{
		Alpha:      e.Alpha,
		Correction: e.Correction,
		Control:    e.Control().Key,
		ArmNames:   map[string]string{},
		Weights:    map[string]float64{},
		Assigned:   map[string]int64{},
		Responded:  map[string]int64{},
		Primary:    e.PrimaryOutcome,
		Guardrails: e.Guardrails,
		Margins:    e.GuardrailMargins,
		Stopped:    e.Status == Stopped || e.Status == Decided,
	}
	if e.TargetResponsesPerArm != nil {
		design.TargetResponsesPerArm = int64(*e.TargetResponsesPerArm)
	}
	for _, a := range e.Arms {
		design.Arms = append(design.Arms, a.Key)
		design.ArmNames[a.Key] = a.Name
		design.Weights[a.Key] = a.Weight
		design.Assigned[a.Key] = sum.Arms[a.Key].Assigned
		design.Responded[a.Key] = sum.Arms[a.Key].Responded
	}
	inputs := make([]stats.Outcome, len(keys))
	for i, k := range keys {
		o := outcomes[k]
		in := statsOutcome(o)
		in.Arms = sum.Outcomes[i]
		// The experiment's mde is in the units of its primary outcome.
		if e.MDE != nil && k == e.PrimaryOutcome {
			in.MDE = *e.MDE
		}
		inputs[i] = in
	}
	analysis := stats.Analyze(design, inputs)
	res := Results{Experiment: e, Arms: sum.Arms, SRM: analysis.SRM, ResponseCheck: analysis.ResponseCheck,
		Recommendation: analysis.Recommendation, design: design, analysis: analysis, version: sum.Version}
	if sum.Version.Assigned != nil {
		res.version.Experiment = e.Version
	}
	guardrail := map[string]bool{}
	for _, g := range e.Guardrails {
		guardrail[g] = true
	}
	for i, r := range analysis.Outcomes {
		res.Outcomes = append(res.Outcomes, OutcomeResults{
			Outcome:     outcomes[keys[i]],
			Primary:     keys[i] == e.PrimaryOutcome,
			Guardrail:   guardrail[keys[i]],
			Arms:        r.Arms,
			Comparisons: r.Comparisons,
		})
	}
	return res
}

// statsOutcome is what the stats package needs to know of an outcome, without its data.
func statsOutcome(o Outcome) stats.Outcome {
	in := stats.Outcome{Key: o.Key, Name: o.Name("en"), NameNL: o.Name("nl"), Kind: stats.Kind(o.Kind),
		HigherIsBetter: o.HigherIsBetter}
	if lo, hi, ok := o.Bounds(); ok {
		in.Min, in.Max = lo, hi
	}
	if o.TopMin != nil && o.BottomMax != nil {
		in.TopMin, in.BottomMax = *o.TopMin, *o.BottomMax
	}
	return in
}
