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

// demoExperiment is one believable Dutch CX experiment with simulated answers.
type demoExperiment struct {
	def       experiment.Experiment
	arms      []demoArm
	customers int
	prefix    string  // customer ids
	response  float64 // response rate
	days      int     // answers spread over this many days
}

// demoBase is the mean answer of a control customer per outcome (1..7 scales, nps 0..10).
var demoBase = map[string]float64{
	"satisfaction": 4.9, "trust": 4.6, "love": 3.9, "involvement": 4.1, "choice_products": 4.7,
	"choice_channels": 4.3, "fairness": 4.8, "influence": 3.6, "nps": 6.9, "ces": 4.8,
}

// The customer attributes of the demo, for segmented results.
var (
	demoChannels = []string{"phone", "phone", "email", "chat", "app"}
	demoTenures  = []string{"under_1y", "1_5y", "5y_plus"}
)

// demoKey is the experiment `make run` points at.
const demoKey = "complaint-callback"

func target(n int) *int { return &n }

// demoExperiments: a call-back after a complaint builds trust and love; a birthday card
// deepens the connection but not trust; free choice of contact channel raises freedom of
// choice and makes contact easier.
var demoExperiments = []demoExperiment{
	{
		def: experiment.Experiment{Key: demoKey,
			Name: "Complaint follow-up: standard reply vs personal call-back vs letter",
			Hypothesis: "A personal call-back after a handled complaint restores trust (and with it the KRS) " +
				"more than the standard e-mail; a personal letter does so less.",
			PrimaryOutcome: "krs", Guardrails: []string{"ces"}, GuardrailMargins: map[string]float64{"ces": 10}, TargetResponsesPerArm: target(400)},
		arms: []demoArm{
			{arm: experiment.Arm{Key: "control", Name: "Standard reply", Description: "The usual e-mail confirming the complaint is closed.", Weight: 1, Control: true}},
			{arm: experiment.Arm{Key: "callback", Name: "Personal call-back", Description: "A service employee calls within two working days to check the solution works.", Weight: 1},
				effects: map[string]float64{"trust": 0.45, "satisfaction": 0.30, "love": 0.35, "involvement": 0.25, "fairness": 0.30, "influence": 0.20, "nps": 0.9, "ces": 0.2}},
			{arm: experiment.Arm{Key: "letter", Name: "Personal letter", Description: "A signed letter explaining what was changed after the complaint.", Weight: 1},
				effects: map[string]float64{"trust": 0.15, "satisfaction": 0.05, "fairness": 0.15, "nps": 0.2}},
		},
		customers: 3000, prefix: "cust", response: 0.62, days: 21,
	},
	{
		def: experiment.Experiment{Key: "birthday-message",
			Name:           "Birthday message: nothing vs personal card",
			Hypothesis:     "A personal birthday card makes customers feel more connected (love) and involved, without changing trust.",
			PrimaryOutcome: "love", Guardrails: []string{"trust"}, TargetResponsesPerArm: target(500)},
		arms: []demoArm{
			{arm: experiment.Arm{Key: "control", Name: "Nothing", Description: "No birthday message.", Weight: 1, Control: true}},
			{arm: experiment.Arm{Key: "card", Name: "Personal card", Description: "A hand-signed card from the customer's own advisor.", Weight: 1},
				effects: map[string]float64{"love": 0.40, "involvement": 0.30, "satisfaction": 0.10, "nps": 0.5}},
		},
		customers: 2000, prefix: "bday", response: 0.55, days: 28,
	},
	{
		def: experiment.Experiment{Key: "channel-choice",
			Name:           "Free choice of contact channel",
			Hypothesis:     "Letting customers choose phone, chat, e-mail or WhatsApp raises freedom of choice and makes contact easier (CES).",
			PrimaryOutcome: "freedom_of_choice", Guardrails: []string{"satisfaction"}, TargetResponsesPerArm: target(300)},
		arms: []demoArm{
			{arm: experiment.Arm{Key: "control", Name: "Phone only", Description: "Contact by phone, as today.", Weight: 2, Control: true}},
			{arm: experiment.Arm{Key: "free-choice", Name: "Free choice", Description: "Phone, chat, e-mail or WhatsApp, as the customer prefers.", Weight: 1},
				effects: map[string]float64{"choice_channels": 0.9, "choice_products": 0.1, "ces": 0.5, "influence": 0.35, "satisfaction": 0.15}},
		},
		customers: 2400, prefix: "chan", response: 0.5, days: 14,
	},
}

func runDemo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var c common
	fs := newFlagSet("demo", stderr)
	c.register(fs)
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
	for i, d := range demoExperiments {
		if _, err := svc.Experiment(ctx, d.def.Key); err == nil {
			fmt.Fprintf(stdout, "demo experiment %q is already loaded\n", d.def.Key)
			continue
		} else if experiment.ErrorCode(err) != experiment.NotFound {
			return err
		}
		n, err := loadDemo(ctx, svc, d, *seed+uint64(i))
		if err != nil {
			return fmt.Errorf("demo %s: %w", d.def.Key, err)
		}
		fmt.Fprintf(stdout, "loaded demo experiment %q: %d customers, %d responses\n", d.def.Key, d.customers, n)
	}
	return nil
}

// loadDemo creates, starts and fills one experiment through the service, so that the demo
// data passes every rule real data does.
func loadDemo(ctx context.Context, svc *experiment.Service, d demoExperiment, seed uint64) (int, error) {
	def := d.def
	effects := map[string]map[string]float64{}
	for _, a := range d.arms {
		def.Arms = append(def.Arms, a.arm)
		effects[a.arm.Key] = a.effects
	}
	if _, err := svc.CreateExperiment(ctx, def); err != nil {
		return 0, err
	}
	if _, err := svc.Start(ctx, def.Key); err != nil {
		return 0, err
	}
	rng := rand.New(rand.NewPCG(seed, seed^0x5eed))
	ids := make([]string, d.customers)
	for i := range ids {
		ids[i] = fmt.Sprintf("%s-%06d", d.prefix, 100000+i)
	}
	var assigned []experiment.Assignment
	for start := 0; start < len(ids); start += experiment.MaxBatch {
		as, err := svc.AssignBatch(ctx, def.Key, ids[start:min(start+experiment.MaxBatch, len(ids))])
		if err != nil {
			return 0, err
		}
		assigned = append(assigned, as...)
	}
	now := time.Now().UTC()
	var responses []experiment.Response
	var covariates []experiment.Covariate
	var attributes []experiment.CustomerAttributes
	for i, a := range assigned {
		// What is known of every customer beforehand: the channel it mostly uses and how
		// long it has been a customer. Interventions land best with phone customers.
		channel := demoChannels[rng.IntN(len(demoChannels))]
		attributes = append(attributes, experiment.CustomerAttributes{CustomerID: a.CustomerID,
			Attributes: map[string]string{"channel": channel, "tenure": demoTenures[rng.IntN(len(demoTenures))]}})
		lift := 0.6
		if channel == "phone" {
			lift = 1.8
		}
		// Everyone has a pre-experiment trust score from last quarter's survey.
		mood := rng.NormFloat64() * 0.9
		covariates = append(covariates, experiment.Covariate{CustomerID: a.CustomerID, Outcome: "trust",
			Value: clampRound(demoBase["trust"]+mood+rng.NormFloat64()*0.8, 1, 7)})
		if rng.Float64() > d.response {
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
			v := base + lift*effects[a.Arm][key] + scale*(mood+rng.NormFloat64()*0.95)
			answers[key] = clampRound(v, lo, hi)
		}
		answered := now.Add(-time.Duration(rng.Float64()*float64(d.days)*24) * time.Hour)
		responses = append(responses, experiment.Response{
			ResponseID: fmt.Sprintf("%s-r-%06d", d.prefix, i), CustomerID: a.CustomerID, AnsweredAt: answered, Answers: answers})
	}
	for start := 0; start < len(responses); start += 2000 {
		if _, err := svc.RecordResponses(ctx, def.Key, responses[start:min(start+2000, len(responses))], true); err != nil {
			return 0, err
		}
	}
	for start := 0; start < len(attributes); start += experiment.MaxBatch {
		if err := svc.RecordAttributes(ctx, attributes[start:min(start+experiment.MaxBatch, len(attributes))]); err != nil {
			return 0, err
		}
	}
	for start := 0; start < len(covariates); start += experiment.MaxBatch {
		if err := svc.RecordCovariates(ctx, def.Key, covariates[start:min(start+experiment.MaxBatch, len(covariates))]); err != nil {
			return 0, err
		}
	}
	return len(responses), nil
}

func clampRound(v, lo, hi float64) float64 { return math.Max(lo, math.Min(hi, math.Round(v))) }
