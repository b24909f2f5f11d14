package experiment

import (
	"context"
	"time"

	"github.com/krslab/krslab/stats"
)

// Results is the analysis of an experiment as an analyst and a product owner read it.
type Results struct {
	Experiment     Experiment
	ComputedAt     time.Time
	Arms           map[string]ArmCount
	Outcomes       []OutcomeResults
	SRM            stats.SRM
	Recommendation stats.Recommendation
}

// OutcomeResults are the per-arm statistics and comparisons of one outcome.
type OutcomeResults struct {
	Outcome     Outcome
	Primary     bool
	Guardrail   bool
	Arms        map[string]stats.ArmStats
	Comparisons map[string]stats.Comparison
}

// Results computes the analysis of an experiment from per-arm sufficient statistics, so
// that its cost does not grow with the number of answers held in Go.
func (s *Service) Results(ctx context.Context, key string) (Results, error) {
	e, err := s.Store.Experiment(ctx, key)
	if err != nil {
		return Results{}, err
	}
	outcomes, err := s.OutcomeMap(ctx)
	if err != nil {
		return Results{}, err
	}
	keys := e.AnalysedOutcomes()
	specs := make([]SummarySpec, len(keys))
	for i, k := range keys {
		o := outcomes[k]
		specs[i] = SummarySpec{Outcome: o, Counts: o.Kind == Scale || o.Kind == Net || o.Kind == Binary}
		for _, c := range o.Components {
			specs[i].Components = append(specs[i].Components, outcomes[c])
		}
	}
	sum, err := s.Store.Summarize(ctx, e.ID, specs)
	if err != nil {
		return Results{}, err
	}
	counts := sum.Arms
	design := stats.Design{
		Alpha:      e.Alpha,
		Correction: e.Correction,
		Control:    e.Control().Key,
		Weights:    map[string]float64{},
		Assigned:   map[string]int64{},
		Primary:    e.PrimaryOutcome,
		Guardrails: e.Guardrails,
		Stopped:    e.Status == Stopped || e.Status == Decided,
	}
	if e.TargetResponsesPerArm != nil {
		design.TargetResponsesPerArm = int64(*e.TargetResponsesPerArm)
	}
	for _, a := range e.Arms {
		design.Arms = append(design.Arms, a.Key)
		design.Weights[a.Key] = a.Weight
		design.Assigned[a.Key] = counts[a.Key].Assigned
	}
	inputs := make([]stats.Outcome, len(keys))
	for i, k := range keys {
		o := outcomes[k]
		in := stats.Outcome{
			Key:            o.Key,
			Kind:           stats.Kind(o.Kind),
			HigherIsBetter: o.HigherIsBetter,
			Arms:           sum.Outcomes[i],
		}
		if lo, hi, ok := o.Bounds(); ok {
			in.Min, in.Max = lo, hi
		}
		if o.TopMin != nil && o.BottomMax != nil {
			in.TopMin, in.BottomMax = *o.TopMin, *o.BottomMax
		}
		if e.MDE != nil && k == e.PrimaryOutcome {
			in.MDE = *e.MDE
		}
		inputs[i] = in
	}
	analysis := stats.Analyze(design, inputs)
	res := Results{
		Experiment:     e,
		ComputedAt:     s.Now(),
		Arms:           counts,
		SRM:            analysis.SRM,
		Recommendation: analysis.Recommendation,
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
	return res, nil
}

// TimelinePoint is the comparison of one treatment arm with control on the primary
// outcome, using every answer given up to the end of Day (UTC): how the effect and its
// intervals evolved while the experiment ran.
type TimelinePoint struct {
	Day        time.Time
	Arm        string
	Comparison stats.Comparison // Diff, CILow, CIHigh; Sequential for mean-based outcomes
}
