package experiment

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/krslab/krslab/stats"
)

// Drivers: which building blocks move an outcome, read from the control arm as it is today
// (STATS.md, "Drivers"). A regression of the outcome on the drivers over the control
// customers who answered all of them says where an intervention would pay off most: a
// driver that explains much of the outcome while its score is low is the one to improve
// first. The control arm is used because the interventions of the other arms change the
// very relationships being measured.

// DefaultDriversOutcome is the outcome a drivers question explains when it names none.
const DefaultDriversOutcome = "krs"

// BuildingBlocks are the five building blocks of a lasting relationship (DOMAIN.md), the
// default drivers.
var BuildingBlocks = []string{"trust", "involvement", "freedom_of_choice", "fairness", "influence"}

// MaxDrivers bounds the drivers of one question: the cross-products grow with its square,
// and a regression on more drivers than this is no priority list a team can act on.
const MaxDrivers = 20

// DriverVariable is one variable of a drivers question: the outcome, and for a composite
// its components in order (its per-customer value is computed from them).
type DriverVariable struct {
	Outcome    Outcome
	Components []Outcome
}

// DriverStore is what drivers need from a Store beyond the Store interface. The postgres
// Store implements it; the service finds it by a type assertion.
type DriverStore interface {
	// DriverSums reads, in one statement, the sums and cross-products of the variables
	// (the outcome first, then the drivers) over the customers of the arm who have a
	// counted answer of each (the latest-answer rule; a composite: a value, which needs
	// every component), taken about reference values near the data.
	DriverSums(ctx context.Context, experimentID int64, arm string, vars []DriverVariable) (stats.CrossProducts, error)
}

// DriversResults is the answer to a drivers question.
type DriversResults struct {
	Experiment Experiment
	ComputedAt time.Time
	Outcome    Outcome
	Arm        string    // the control arm
	Drivers    []Outcome // in the order asked
	stats.DriversResult
}

// DriversQuestion is a drivers question as asked: an empty Outcome means the default
// (krs) and nil Drivers the default drivers.
type DriversQuestion struct {
	Outcome string
	Drivers []string
}

func (s *Service) driverStore() (DriverStore, error) {
	ds, ok := s.Store.(DriverStore)
	if !ok {
		return nil, &Error{Code: Internal, Message: "internal error", Cause: fmt.Errorf("store %T does not sum cross-products", s.Store)}
	}
	return ds, nil
}

// Drivers answers a drivers question over the control arm of the experiment key. An
// outcome or driver the experiment does not analyse (nor has as a component of one), a
// binary outcome, the outcome among its drivers, a repeated driver or too many are
// Invalid, naming the parameter (outcome or drivers) with every problem.
func (s *Service) Drivers(ctx context.Context, key string, q DriversQuestion) (DriversResults, error) {
	ds, err := s.driverStore()
	if err != nil {
		return DriversResults{}, err
	}
	e, err := s.Store.Experiment(ctx, key)
	if err != nil {
		return DriversResults{}, err
	}
	outcomes, err := s.OutcomeMap(ctx)
	if err != nil {
		return DriversResults{}, err
	}
	y, drivers, err := driversOf(e, outcomes, q)
	if err != nil {
		return DriversResults{}, err
	}
	vars := make([]DriverVariable, 0, len(drivers)+1)
	for _, o := range append([]Outcome{y}, drivers...) {
		v := DriverVariable{Outcome: o}
		for _, c := range o.Components {
			v.Components = append(v.Components, outcomes[c])
		}
		vars = append(vars, v)
	}
	arm := e.Control().Key
	sums, err := ds.DriverSums(ctx, e.ID, arm, vars)
	if err != nil {
		return DriversResults{}, err
	}
	return DriversResults{Experiment: e, ComputedAt: s.Now(), Outcome: y, Arm: arm, Drivers: drivers,
		DriversResult: stats.Drivers(sums)}, nil
}

// driversOf resolves a question against the experiment: the outcome and the drivers, or
// every problem with them.
func driversOf(e Experiment, outcomes map[string]Outcome, q DriversQuestion) (Outcome, []Outcome, error) {
	// What the experiment has answers of: its outcomes and guardrails and their
	// components (the answers a response may give, API.md).
	available := map[string]bool{}
	for _, k := range e.AnalysedOutcomes() {
		available[k] = true
		for _, c := range outcomes[k].Components {
			available[c] = true
		}
	}
	var p Problems
	yKey := q.Outcome
	if yKey == "" {
		yKey = DefaultDriversOutcome
	}
	y, known := outcomes[yKey]
	switch {
	case !known:
		p.Field("outcome", "no outcome %q exists", yKey)
	case !available[yKey]:
		p.Field("outcome", "experiment %q does not analyse %q (nor has it as a component of an outcome); choose one of %s",
			e.Key, yKey, strings.Join(slices.Sorted(maps.Keys(available)), ", "))
	case y.Kind == Binary:
		// A linear regression of a 0/1 outcome (a linear probability model) has residuals
		// whose variance depends on the drivers by construction, so the classical standard
		// errors and p-values of the contract would be wrong.
		p.Field("outcome", "%q is a binary outcome; drivers explain a scale, net, numeric or composite outcome", yKey)
	}

	var keys []string
	if q.Drivers == nil {
		// The five building blocks the experiment has, less the outcome, its components
		// and the composites it is a component of (each would explain it by itself).
		for _, k := range BuildingBlocks {
			if k == yKey || slices.Contains(y.Components, k) || slices.Contains(outcomes[k].Components, yKey) || !available[k] {
				continue
			}
			keys = append(keys, k)
		}
		if len(keys) == 0 && p.Len() == 0 {
			p.Field("drivers", "experiment %q has no building block to explain %q by; name the drivers", e.Key, yKey)
		}
	} else {
		keys = q.Drivers
		if len(keys) == 0 {
			p.Field("drivers", "name at least one driver, or leave the parameter out for the building blocks")
		}
		if len(keys) > MaxDrivers {
			p.Field("drivers", "at most %d drivers (got %d)", MaxDrivers, len(keys))
		}
		seen := map[string]bool{}
		for i, k := range keys {
			_, known := outcomes[k]
			switch {
			case k == "":
				p.Field("drivers", "driver %d is empty", i+1)
			case seen[k]:
				p.Field("drivers", "%q is named twice", k)
			case k == yKey:
				p.Field("drivers", "%q is the outcome itself", k)
			case !known:
				p.Field("drivers", "no outcome %q exists", k)
			case !available[k]:
				p.Field("drivers", "experiment %q does not analyse %q (nor has it as a component of an outcome)", e.Key, k)
			}
			seen[k] = true
		}
	}
	if err := p.Err("invalid drivers question"); err != nil {
		return Outcome{}, nil, err
	}
	drivers := make([]Outcome, len(keys))
	for i, k := range keys {
		drivers[i] = outcomes[k]
	}
	return y, drivers, nil
}
