package experiment_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/krslab/krslab/experiment"
	"github.com/krslab/krslab/stats"
)

// driversStore knows one experiment and the built-in outcomes, and records the variables
// a drivers question sums.
type driversStore struct {
	experiment.Store
	e    experiment.Experiment
	vars []experiment.DriverVariable
	arm  string
}

func (s *driversStore) Experiment(_ context.Context, key string) (experiment.Experiment, error) {
	if key != s.e.Key {
		return experiment.Experiment{}, experiment.Errorf(experiment.NotFound, "no experiment %q", key)
	}
	return s.e, nil
}

func (s *driversStore) Outcomes(context.Context) ([]experiment.Outcome, error) {
	p := func(v float64) *float64 { return &v }
	scale := func(k string) experiment.Outcome {
		return experiment.Outcome{Key: k, Kind: experiment.Scale, Label: k, Min: p(1), Max: p(7), HigherIsBetter: true}
	}
	out := []experiment.Outcome{
		{Key: "krs", Kind: experiment.Composite, Label: "KRS", Components: []string{"satisfaction", "trust", "love"}, HigherIsBetter: true},
		{Key: "freedom_of_choice", Kind: experiment.Composite, Label: "Freedom", Components: []string{"choice_products", "choice_channels"}, HigherIsBetter: true},
		{Key: "nps", Kind: experiment.Net, Label: "NPS", Min: p(0), Max: p(10), TopMin: p(9), BottomMax: p(6), HigherIsBetter: true},
		{Key: "churned", Kind: experiment.Binary, Label: "Churned", Min: p(0), Max: p(1)},
		{Key: "spend", Kind: experiment.Numeric, Label: "Spend", HigherIsBetter: true},
	}
	for _, k := range []string{"satisfaction", "trust", "love", "involvement", "choice_products", "choice_channels", "fairness", "influence", "other"} {
		out = append(out, scale(k))
	}
	return out, nil
}

func (s *driversStore) DriverSums(_ context.Context, _ int64, arm string, vars []experiment.DriverVariable) (stats.CrossProducts, error) {
	s.vars, s.arm = vars, arm
	return stats.NewCrossProducts(len(vars), nil), nil
}

func newDriversStore(outcomes ...string) *driversStore {
	return &driversStore{e: experiment.Experiment{ID: 7, Key: "exp", Outcomes: outcomes, Guardrails: []string{"churned"},
		Arms: []experiment.Arm{{Key: "email", Control: true, Weight: 1}, {Key: "call", Weight: 1}}}}
}

// TestDriversQuestion checks the defaults (krs, the building blocks less the outcome, its
// components and the composites it is part of, and those the experiment lacks) and every
// refusal, each naming its parameter.
func TestDriversQuestion(t *testing.T) {
	all := experiment.DefaultOutcomes
	for _, tt := range []struct {
		name     string
		outcomes []string
		q        experiment.DriversQuestion
		want     string // the variables summed, or the fields refused
		refused  bool
	}{
		{"defaults", all, experiment.DriversQuestion{}, "krs[satisfaction trust love] involvement freedom_of_choice[choice_products choice_channels] fairness influence", false},
		{"trust", all, experiment.DriversQuestion{Outcome: "trust"}, "trust involvement freedom_of_choice[choice_products choice_channels] fairness influence", false},
		{"a component of a building block", all, experiment.DriversQuestion{Outcome: "choice_products"}, "choice_products trust involvement fairness influence", false},
		{"net outcome", all, experiment.DriversQuestion{Outcome: "nps"}, "nps trust involvement freedom_of_choice[choice_products choice_channels] fairness influence", false},
		{"blocks the experiment lacks", []string{"krs", "fairness", "nps"}, experiment.DriversQuestion{}, "krs[satisfaction trust love] fairness", false},
		{"named drivers in order", all, experiment.DriversQuestion{Drivers: []string{"love", "nps", "churned", "trust"}}, "krs[satisfaction trust love] love nps churned trust", false},
		{"numeric outcome", append([]string{"spend"}, all...), experiment.DriversQuestion{Outcome: "spend", Drivers: []string{"krs"}}, "spend krs[satisfaction trust love]", false},

		{"no krs", []string{"trust", "fairness"}, experiment.DriversQuestion{}, "outcome", true},
		{"unknown outcome", all, experiment.DriversQuestion{Outcome: "nope"}, "outcome", true},
		{"outcome of another experiment", all, experiment.DriversQuestion{Outcome: "other"}, "outcome", true},
		{"binary outcome", all, experiment.DriversQuestion{Outcome: "churned"}, "outcome", true},
		{"no building block left", []string{"trust", "nps"}, experiment.DriversQuestion{Outcome: "trust"}, "drivers", true},
		{"empty list", all, experiment.DriversQuestion{Drivers: []string{}}, "drivers", true},
		{"every bad driver", all, experiment.DriversQuestion{Drivers: []string{"trust", "", "trust", "krs", "nope", "other"}}, "drivers drivers drivers drivers drivers", true},
		{"both", all, experiment.DriversQuestion{Outcome: "churned", Drivers: []string{"nope"}}, "outcome drivers", true},
		{"too many", all, experiment.DriversQuestion{Drivers: strings.Split(strings.Repeat("trust,", experiment.MaxDrivers+1), ",")[:experiment.MaxDrivers+1]}, "drivers", true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			store := newDriversStore(tt.outcomes...)
			res, err := experiment.NewService(store).Drivers(context.Background(), "exp", tt.q)
			if tt.refused {
				var de *experiment.Error
				if !errors.As(err, &de) || de.Code != experiment.Invalid {
					t.Fatalf("got %v, want invalid", err)
				}
				var fields []string
				for _, d := range de.Details {
					fields = append(fields, d.Field)
				}
				// "too many" also reports the repeats; only the first fields are fixed.
				if got := strings.Join(fields, " "); !strings.HasPrefix(got, tt.want) {
					t.Errorf("fields %q, want %q (%v)", got, tt.want, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, v := range store.vars {
				s := v.Outcome.Key
				if len(v.Components) > 0 {
					var cs []string
					for _, c := range v.Components {
						cs = append(cs, c.Key)
					}
					s += fmt.Sprint(cs)
				}
				got = append(got, s)
			}
			if strings.Join(got, " ") != tt.want {
				t.Errorf("variables %q, want %q", strings.Join(got, " "), tt.want)
			}
			if store.arm != "email" || res.Arm != "email" {
				t.Errorf("arm %q (result %q), want the control arm", store.arm, res.Arm)
			}
			if len(res.Drivers) != len(store.vars)-1 || res.Outcome.Key != store.vars[0].Outcome.Key {
				t.Errorf("result names %s on %d drivers", res.Outcome.Key, len(res.Drivers))
			}
		})
	}
	if _, err := experiment.NewService(newDriversStore(all...)).Drivers(context.Background(), "missing", experiment.DriversQuestion{}); experiment.ErrorCode(err) != experiment.NotFound {
		t.Errorf("unknown experiment: %v", err)
	}
	if _, err := experiment.NewService(plainStore{}).Drivers(context.Background(), "exp", experiment.DriversQuestion{}); experiment.ErrorCode(err) != experiment.Internal {
		t.Errorf("a store without DriverSums: %v", err)
	}
}
