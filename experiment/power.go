package experiment

import (
	"context"
	"errors"
	"math"

	"github.com/krslab/krslab/stats"
)

// PowerPlan asks how many customers per arm an experiment needs (POST /v1/power).
type PowerPlan struct {
	Kind         Kind
	SD           *float64 // scale, numeric, composite; net: sd of a customer's contribution to the score
	BaselineRate *float64 // binary
	MDE          float64  // the smallest difference worth detecting, in outcome units
	Alpha        float64  // two-sided; default 0.05
	Power        float64  // default 0.8
	Comparisons  int      // treatment arms x outcomes in the family; alpha is divided by it (Bonferroni)
}

// PowerAnswer is the sample size of a plan, with the plan as it was computed (defaults
// filled in).
type PowerAnswer struct {
	Plan           PowerPlan
	NPerArm        int
	EffectiveAlpha float64
}

// SampleSize validates the plan, reporting every bad field, and computes n per arm as
// STATS.md defines it.
func (p PowerPlan) SampleSize() (PowerAnswer, error) {
	if p.Alpha == 0 {
		p.Alpha = 0.05
	}
	if p.Power == 0 {
		p.Power = 0.8
	}
	if p.Comparisons == 0 {
		p.Comparisons = 1
	}
	var pr Problems
	finite := func(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
	if !(p.Alpha > 0 && p.Alpha < 0.5) {
		pr.Field("alpha", "must be > 0 and < 0.5")
	}
	if !(p.Power > 0 && p.Power < 1) {
		pr.Field("power", "must be > 0 and < 1")
	}
	if p.Comparisons < 1 || p.Comparisons > 1000 {
		pr.Field("comparisons", "must be from 1 to 1000")
	}
	if p.MDE == 0 || !finite(p.MDE) {
		pr.Field("mde", "must be a non-zero finite number")
	}
	switch p.Kind {
	case Scale, Numeric, Composite, Net:
		if p.SD == nil || !(*p.SD > 0) || !finite(*p.SD) {
			pr.Field("sd", "a finite standard deviation > 0 is required for a %s outcome", p.Kind)
		}
		if p.BaselineRate != nil {
			pr.Field("baseline_rate", "only binary outcomes have a baseline rate")
		}
	case Binary:
		if p.BaselineRate == nil || !(*p.BaselineRate > 0 && *p.BaselineRate < 1) {
			pr.Field("baseline_rate", "a rate strictly between 0 and 1 is required for a binary outcome")
		} else if r := *p.BaselineRate + p.MDE; finite(p.MDE) && !(r > 0 && r < 1) {
			pr.Field("mde", "baseline_rate + mde must stay strictly between 0 and 1")
		}
		if p.SD != nil {
			pr.Field("sd", "binary outcomes take baseline_rate, not sd")
		}
	default:
		pr.Field("kind", "must be scale, net, binary, numeric or composite")
	}
	if err := pr.Err("invalid power plan"); err != nil {
		return PowerAnswer{}, err
	}
	alpha := p.Alpha / float64(p.Comparisons)
	var n int
	var err error
	if p.Kind == Binary {
		n, err = stats.SampleSizeProportions(*p.BaselineRate, p.MDE, alpha, p.Power)
	} else {
		n, err = stats.SampleSizeMeans(p.MDE, *p.SD, alpha, p.Power)
	}
	if err != nil {
		// The plan was checked above: what is left is a difference too small to plan for.
		msg := Textf("%s", err.Error())
		if errors.Is(err, stats.ErrSampleTooLarge) {
			msg = Textf("more than %d per arm needed", stats.MaxSampleSize)
		}
		return PowerAnswer{}, &Error{Code: Invalid, Message: "no feasible sample size", Details: []Detail{fieldDetail("mde", msg)}}
	}
	return PowerAnswer{Plan: p, NPerArm: n, EffectiveAlpha: alpha}, nil
}

// PlanFrom starts a power plan from an earlier experiment's numbers: the outcome's kind and
// its control arm's spread, the standard deviation of the answers (of a customer's
// contribution to the score, for a net outcome: its standard error times √n) or, for a
// binary outcome, the rate. A control arm with fewer than two answers has no spread to
// plan from.
func (s *Service) PlanFrom(ctx context.Context, key, outcome string) (PowerPlan, error) {
	res, err := s.Results(ctx, key)
	if err != nil {
		return PowerPlan{}, err
	}
	control := res.Experiment.Control().Key
	for _, o := range res.Outcomes {
		if o.Outcome.Key != outcome {
			continue
		}
		a := o.Arms[control]
		p := PowerPlan{Kind: o.Outcome.Kind}
		var v float64
		switch o.Outcome.Kind {
		case Binary:
			v = a.Rate
			p.BaselineRate = &v
		case Net:
			v = a.SE * math.Sqrt(float64(a.N))
			p.SD = &v
		default:
			v = a.SD
			p.SD = &v
		}
		if a.N < 2 || math.IsNaN(v) || math.IsInf(v, 0) || (o.Outcome.Kind != Binary && !(v > 0)) {
			return PowerPlan{}, &Error{Code: Invalid, Message: "no numbers to plan from",
				Details: []Detail{fieldDetail("from", Textf("the control arm of %s has too few answers to %s", key, outcome))}}
		}
		return p, nil
	}
	return PowerPlan{}, &Error{Code: Invalid, Message: "no numbers to plan from",
		Details: []Detail{fieldDetail("from_outcome", Textf("%s does not analyse %s", key, outcome))}}
}
