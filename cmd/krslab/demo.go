package main

import (
	"context"
	"fmt"
	"io"
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/krslab/krslab/experiment"
)

// demoArm describes how an intervention shifts the latent answers of its customers.
type demoArm struct {
	arm     experiment.Arm
	effects map[string]float64 // shift in answer points per outcome
}

// The complaint follow-up demo: after a complaint is handled, customers get the standard
// e-mail reply, a personal call-back, or a personal letter. The call-back builds trust and
// love; the letter helps a little on trust only.
var demoArms = []demoArm{
	{arm: experiment.Arm{Key: "control", Name: "Standard reply", Description: "The usual e-mail confirming the complaint is closed.", Weight: 1, Control: true}},
	{arm: experiment.Arm{Key: "callback", Name: "Personal call-back", Description: "A service employee calls within two working days to check the solution works.", Weight: 1},
		effects: map[string]float64{"trust": 0.45, "satisfaction": 0.30, "love": 0.35, "involvement": 0.25, "fairness": 0.30, "influence": 0.20, "nps": 0.9, "ces": 0.2}},
	{arm: experiment.Arm{Key: "letter", Name: "Personal letter", Description: "A signed letter explaining what was changed after the complaint.", Weight: 1},
		effects: map[string]float64{"trust": 0.15, "satisfaction": 0.05, "fairness": 0.15, "nps": 0.2}},
}

// demoBase is the mean answer of a control customer per outcome (1..7 scales, nps 0..10).
var demoBase = map[string]float64{
	"satisfaction": 4.9, "trust": 4.6, "love": 3.9, "involvement": 4.1, "choice_products": 4.7,
	"choice_channels": 4.3, "fairness": 4.8, "influence": 3.6, "nps": 6.9, "ces": 4.8,
}

const demoKey = "complaint-callback"

func runDemo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var c common
	fs := newFlagSet("demo", stderr)
	c.register(fs)
	customers := fs.Int("customers", 3000, "customers to assign")
	seed := fs.Uint64("seed", 2026, "random seed")
	if err := fs.Parse(args); err != nil {
		return err
	}
	store, err := openStore(ctx, c)
	if err != nil {
		return err
	}
	defer store.Close()
	svc := experiment.NewService(store)
	ctx = experiment.WithActor(ctx, "demo")
	if _, err := svc.Experiment(ctx, demoKey); err == nil {
		fmt.Fprintf(stdout, "demo experiment %q is already loaded\n", demoKey)
		return nil
	} else if experiment.ErrorCode(err) != experiment.NotFound {
		return err
	}
	n, err := loadDemo(ctx, svc, *customers, *seed)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "loaded demo experiment %q: %d customers, %d responses\n", demoKey, *customers, n)
	return nil
}

// loadDemo creates, starts and fills the complaint follow-up experiment through the
// service, so that the demo data passes every rule real data does.
func loadDemo(ctx context.Context, svc *experiment.Service, customers int, seed uint64) (int, error) {
	arms := make([]experiment.Arm, len(demoArms))
	effects := map[string]map[string]float64{}
	for i, a := range demoArms {
		arms[i] = a.arm
		effects[a.arm.Key] = a.effects
	}
	target := 400
	_, err := svc.CreateExperiment(ctx, experiment.Experiment{
		Key:  demoKey,
		Name: "Complaint follow-up: standard reply vs personal call-back vs letter",
		Hypothesis: "A personal call-back after a handled complaint restores trust (and with it the KRS) " +
			"more than the standard e-mail; a personal letter does so less.",
		Arms:                  arms,
		PrimaryOutcome:        "krs",
		Guardrails:            []string{"ces"},
		TargetResponsesPerArm: &target,
	})
	if err != nil {
		return 0, err
	}
	if _, err := svc.Start(ctx, demoKey); err != nil {
		return 0, err
	}
	rng := rand.New(rand.NewPCG(seed, seed^0x5eed))
	ids := make([]string, customers)
	for i := range ids {
		ids[i] = fmt.Sprintf("cust-%06d", 100000+i)
	}
	var assigned []experiment.Assignment
	for start := 0; start < len(ids); start += experiment.MaxBatch {
		as, err := svc.AssignBatch(ctx, demoKey, ids[start:min(start+experiment.MaxBatch, len(ids))])
		if err != nil {
			return 0, err
		}
		assigned = append(assigned, as...)
	}
	now := time.Now().UTC()
	var responses []experiment.Response
	var covariates []experiment.Covariate
	for i, a := range assigned {
		// Everyone has a pre-experiment trust score from last quarter's survey.
		mood := rng.NormFloat64() * 0.9
		covariates = append(covariates, experiment.Covariate{CustomerID: a.CustomerID, Outcome: "trust",
			Value: clampRound(demoBase["trust"]+mood+rng.NormFloat64()*0.8, 1, 7)})
		if rng.Float64() > 0.62 {
			continue // no response
		}
		answers := map[string]float64{}
		// In key order, so that the seed alone decides the data.
		for _, key := range slices.Sorted(maps.Keys(demoBase)) {
			base := demoBase[key]
			if rng.Float64() < 0.04 {
				continue // item skipped
			}
			lo, hi, scale := 1.0, 7.0, 1.0
			if key == "nps" {
				lo, hi, scale = 0, 10, 1.6
			}
			v := base + effects[a.Arm][key] + scale*(mood+rng.NormFloat64()*0.95)
			answers[key] = clampRound(v, lo, hi)
		}
		answered := now.Add(-time.Duration(rng.Float64()*21*24) * time.Hour)
		responses = append(responses, experiment.Response{
			ResponseID: fmt.Sprintf("r-%06d", i), CustomerID: a.CustomerID, AnsweredAt: answered, Answers: answers})
	}
	for start := 0; start < len(responses); start += 2000 {
		if _, err := svc.RecordResponses(ctx, demoKey, responses[start:min(start+2000, len(responses))], true); err != nil {
			return 0, err
		}
	}
	for start := 0; start < len(covariates); start += experiment.MaxBatch {
		if err := svc.RecordCovariates(ctx, demoKey, covariates[start:min(start+experiment.MaxBatch, len(covariates))]); err != nil {
			return 0, err
		}
	}
	return len(responses), nil
}

func clampRound(v, lo, hi float64) float64 { return math.Max(lo, math.Min(hi, math.Round(v))) }
