package main

import (
	"bytes"
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
	// lasting is the share of the effects left in each survey wave of an experiment with
	// waves; nil: all of it in every wave.
	lasting []float64
}

// demoWave is one survey of a wave-based demo: it goes out day days after a customer's
// assignment and a share response of the customers answers it.
type demoWave struct {
	wave     experiment.Wave
	day      int
	response float64
}

// demoExperiment is one believable Dutch CX experiment with simulated answers.
type demoExperiment struct {
	def       experiment.Experiment
	arms      []demoArm
	customers int
	prefix    string  // customer ids
	response  float64 // response rate of the survey right after the intervention (without waves)
	// days the experiment has run: it started that many days ago, and its customers were
	// assigned over the first assignDays of them (0: all of them), so that every answer
	// comes after its customer's assignment.
	days, assignDays int
	// waves survey the same customers again; an experiment without them surveys each
	// customer once, right after the intervention.
	waves []demoWave
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
// choice and makes contact easier; and, surveyed after a week, a month and three months,
// a complaint letter's warm first impression fades while the call-back's trust lasts.
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
	{
		def: experiment.Experiment{Key: "complaint-lasting",
			Name: "Complaint follow-up over three months: does it last?",
			Hypothesis: "A personal letter after a handled complaint pleases at first but is forgotten within weeks; a personal " +
				"call-back restores trust that lasts. The same customers answer after a week, a month and three months, " +
				"and the decision rests on the third survey.",
			PrimaryOutcome: "krs", Guardrails: []string{"ces"}, GuardrailMargins: map[string]float64{"ces": 10}, TargetResponsesPerArm: target(400),
			DecisionWave: "month_3"},
		arms: []demoArm{
			{arm: experiment.Arm{Key: "control", Name: "Standard reply", Description: "The usual e-mail confirming the complaint is closed.", Weight: 1, Control: true}},
			{arm: experiment.Arm{Key: "callback", Name: "Personal call-back", Description: "A service employee calls within two working days to check the solution works.", Weight: 1},
				effects: map[string]float64{"trust": 0.45, "satisfaction": 0.30, "love": 0.35, "involvement": 0.25, "fairness": 0.30, "influence": 0.20, "nps": 0.9, "ces": 0.2},
				lasting: []float64{1, 1, 0.95}},
			{arm: experiment.Arm{Key: "letter", Name: "Personal letter", Description: "A signed letter explaining what was changed after the complaint.", Weight: 1},
				effects: map[string]float64{"trust": 0.70, "satisfaction": 0.50, "love": 0.45, "fairness": 0.35, "nps": 1.0},
				lasting: []float64{1, 0.45, 0.05}},
		},
		customers: 3000, prefix: "wave", days: 120, assignDays: 21,
		waves: []demoWave{
			{wave: experiment.Wave{Key: "week_1", Label: "After a week", LabelNL: "Na een week", FromDay: 5, ToDay: 13}, day: 7, response: 0.65},
			{wave: experiment.Wave{Key: "month_1", Label: "After a month", LabelNL: "Na een maand", FromDay: 25, ToDay: 40}, day: 30, response: 0.55},
			{wave: experiment.Wave{Key: "month_3", Label: "After three months", LabelNL: "Na drie maanden", FromDay: 85, ToDay: 110}, day: 90, response: 0.5},
		},
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
		n, err := loadDemo(ctx, svc, store, d, *seed+uint64(i))
		if err != nil {
			return fmt.Errorf("demo %s: %w", d.def.Key, err)
		}
		fmt.Fprintf(stdout, "loaded demo experiment %q: %d customers, %d responses\n", d.def.Key, d.customers, n)
	}
	// The tables were filled a moment ago: the first analyses must not wait for autovacuum
	// to learn their sizes (a busy server can take a minute), or they are planned as if
	// the tables were empty.
	if _, err := store.DB().ExecContext(ctx, `ANALYZE assignments, responses, covariates, customer_attributes`); err != nil {
		return err
	}
	return nil
}

// loadDemo creates and fills one experiment through the service, so that the demo data
// passes every rule real data does. It starts as of d.days ago and its customers are
// imported with the moments they were assigned, as a team brings in a programme that
// already ran: every answer then comes after its assignment, the console counts the days
// it has run, and each answer's age since the assignment is real (what survey waves read).
func loadDemo(ctx context.Context, svc *experiment.Service, bulk experiment.BulkStore, d demoExperiment, seed uint64) (int, error) {
	def := d.def
	effects := map[string]map[string]float64{}
	lasting := map[string][]float64{}
	for _, a := range d.arms {
		def.Arms = append(def.Arms, a.arm)
		effects[a.arm.Key], lasting[a.arm.Key] = a.effects, a.lasting
	}
	surveys := d.waves
	for _, w := range surveys {
		def.Waves = append(def.Waves, w.wave)
	}
	if len(surveys) == 0 {
		surveys = []demoWave{{day: 0, response: d.response}}
	}
	if _, err := svc.CreateExperiment(ctx, def); err != nil {
		return 0, err
	}
	now := time.Now().UTC()
	started := now.Add(-time.Duration(d.days) * 24 * time.Hour)
	e, err := svc.StartAsOf(ctx, def.Key, started)
	if err != nil {
		return 0, err
	}
	assignDays := d.assignDays
	if assignDays == 0 {
		assignDays = d.days
	}
	rng := rand.New(rand.NewPCG(seed, seed^0x5eed))
	var assignments bytes.Buffer
	assignments.WriteString("customer_id,assigned_at\n")
	var responses []experiment.Response
	var covariates []experiment.Covariate
	var attributes []experiment.CustomerAttributes
	for i := range d.customers {
		id := fmt.Sprintf("%s-%06d", d.prefix, 100000+i)
		// The arm the import gives the customer, by the hash rule.
		arm := experiment.AssignArm(e.Salt, id, e.Arms)
		assigned := started.Add(time.Duration(rng.Float64() * float64(assignDays) * float64(24*time.Hour))).Truncate(time.Second)
		fmt.Fprintf(&assignments, "%s,%s\n", id, assigned.Format(time.RFC3339))
		// What is known of every customer beforehand: the channel it mostly uses and how
		// long it has been a customer. Interventions land best with phone customers.
		channel := demoChannels[rng.IntN(len(demoChannels))]
		attributes = append(attributes, experiment.CustomerAttributes{CustomerID: id,
			Attributes: map[string]string{"channel": channel, "tenure": demoTenures[rng.IntN(len(demoTenures))]}})
		lift := 0.3
		if channel == "phone" {
			lift = 2.2
		}
		// Everyone has a pre-experiment trust score from last quarter's survey. The mood is
		// the customer's own and stays with it from one survey to the next.
		mood := rng.NormFloat64() * 0.9
		covariates = append(covariates, experiment.Covariate{CustomerID: id, Outcome: "trust",
			Value: clampRound(demoBase["trust"]+mood+rng.NormFloat64()*0.8, 1, 7)})
		for w, survey := range surveys {
			if rng.Float64() > survey.response {
				continue // no response
			}
			share := 1.0
			if l := lasting[arm]; l != nil {
				share = l[w]
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
				v := base + lift*share*effects[arm][key] + scale*(mood+rng.NormFloat64()*0.95)
				answers[key] = clampRound(v, lo, hi)
			}
			// Half answer the day the survey goes out, a quarter the next, ... (at most six
			// days later); those whose answer would still be on its way have not answered.
			delay := 0
			for delay < 6 && rng.Float64() < 0.5 {
				delay++
			}
			answered := assigned.Add(time.Duration(float64(survey.day+delay)+rng.Float64()) * 24 * time.Hour)
			if answered.After(now) {
				continue
			}
			rid := fmt.Sprintf("%s-r-%06d", d.prefix, i)
			if len(d.waves) > 0 {
				rid = fmt.Sprintf("%s-r-%06d-%s", d.prefix, i, d.waves[w].wave.Key)
			}
			responses = append(responses, experiment.Response{ResponseID: rid, CustomerID: id, AnsweredAt: answered, Answers: answers})
		}
	}
	im := experiment.NewImporter(svc, bulk)
	src := func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(assignments.Bytes())), nil }
	if res, err := im.ImportAssignments(ctx, def.Key, src, experiment.ImportOptions{}); err != nil {
		return 0, err
	} else if res.Stored != int64(d.customers) {
		return 0, fmt.Errorf("%d of %d customers assigned", res.Stored, d.customers)
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
