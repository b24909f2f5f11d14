package report

import (
	"math"
	"math/rand/v2"
	"time"

	"github.com/krslab/krslab/experiment"
	"github.com/krslab/krslab/stats"
)

func ptr(v float64) *float64 { return &v }

// builtins are DOMAIN.md's outcomes as the migration defines them, plus a
// team's binary outcome where lower is better.
func builtins() map[string]experiment.Outcome {
	scale := func(key, en, nl string) experiment.Outcome {
		return experiment.Outcome{Key: key, Kind: experiment.Scale, Label: en, LabelNL: nl, HigherIsBetter: true, Min: ptr(1), Max: ptr(7), BuiltIn: true}
	}
	os := []experiment.Outcome{
		scale("satisfaction", "How satisfied are you with our organisation?", "Hoe tevreden ben je over onze organisatie?"),
		scale("trust", "How much do you trust our organisation?", "Hoeveel vertrouwen heb je in onze organisatie?"),
		scale("love", "How connected do you feel to our organisation?", "In hoeverre voel je je verbonden met onze organisatie?"),
		scale("involvement", "How involved do you feel with our organisation?", "In hoeverre voel je je betrokken bij onze organisatie?"),
		scale("choice_products", "Is there freedom of choice in products or services?", "In hoeverre is er keuzevrijheid in de keuze voor producten of diensten?"),
		scale("choice_channels", "Is there freedom of choice in the communication channels you use?", "In hoeverre is er keuzevrijheid in het gebruik van communicatiekanalen?"),
		scale("fairness", "Do you feel you are treated fairly?", "Ben je van mening dat je rechtvaardig wordt behandeld?"),
		scale("influence", "Do you feel you have influence on our service?", "Heb je het gevoel dat je invloed hebt op onze dienstverlening?"),
		{Key: "nps", Kind: experiment.Net, Label: "How likely are you to recommend us to friends or family?",
			LabelNL: "Hoe waarschijnlijk is het dat je ons aanbeveelt aan vrienden of familie?", HigherIsBetter: true,
			Min: ptr(0), Max: ptr(10), TopMin: ptr(9), BottomMax: ptr(6), BuiltIn: true},
		{Key: "ces", Kind: experiment.Net, Label: "The organisation made it easy to get my issue handled",
			LabelNL: "De organisatie maakte het mij makkelijk om mijn zaak te regelen", HigherIsBetter: true,
			Min: ptr(1), Max: ptr(7), TopMin: ptr(6), BottomMax: ptr(3), BuiltIn: true},
		{Key: "krs", Kind: experiment.Composite, Label: "KlantRelatieScore (satisfaction, trust, love)",
			LabelNL: "KlantRelatieScore (tevredenheid, vertrouwen, liefde)", HigherIsBetter: true,
			Min: ptr(0), Max: ptr(100), Components: []string{"satisfaction", "trust", "love"}, BuiltIn: true},
		{Key: "freedom_of_choice", Kind: experiment.Composite, Label: "Freedom of choice (products, channels)",
			LabelNL: "Keuzevrijheid (producten, kanalen)", HigherIsBetter: true,
			Min: ptr(0), Max: ptr(100), Components: []string{"choice_products", "choice_channels"}, BuiltIn: true},
		{Key: "complaint_repeated", Kind: experiment.Binary, Label: "Complaint repeated within 90 days",
			LabelNL: "Klacht herhaald binnen 90 dagen", HigherIsBetter: false, Min: ptr(0), Max: ptr(1)},
	}
	m := map[string]experiment.Outcome{}
	for _, o := range os {
		m[o.Key] = o
	}
	return m
}

// answer is one simulated customer's latest answers.
type answer struct {
	arm    string
	day    int
	values map[string]float64 // raw answers, composites computed
	pre    float64            // pre-experiment satisfaction (CUPED covariate)
}

var day0 = time.Date(2025, 3, 3, 0, 0, 0, 0, time.UTC)

// simulate draws the answers of an experiment where a personal call after a
// complaint (callback) makes customers more satisfied and a bit more
// trusting but not more connected, and a letter does little.
func simulate(seed uint64, perArm int) []answer {
	r := rand.New(rand.NewPCG(seed, 7))
	effects := map[string]map[string]float64{
		"control":  {},
		"callback": {"satisfaction": 0.6, "trust": 0.45, "love": 0.02, "fairness": 0.35, "influence": 0.25, "nps": 0.6, "ces": 0.7, "complaint": -0.07},
		"letter":   {"satisfaction": 0.08, "trust": 0.05, "involvement": 0.05, "nps": 0.1, "complaint": 0.01},
	}
	level := func(mu float64, lo, hi int) float64 {
		return math.Max(float64(lo), math.Min(float64(hi), math.Round(mu)))
	}
	var out []answer
	for _, arm := range []string{"control", "callback", "letter"} {
		eff := effects[arm]
		for i := 0; i < perArm; i++ {
			g := r.NormFloat64() // the customer's general attitude
			a := answer{arm: arm, day: r.IntN(21), values: map[string]float64{}}
			for _, b := range scaleBase { // in order: the draws must not depend on map order
				a.values[b.key] = level(b.mu+0.9*g+eff[b.key]+1.0*r.NormFloat64(), 1, 7)
			}
			a.pre = a.values["satisfaction"] - eff["satisfaction"] + 0.8*r.NormFloat64()
			a.values["nps"] = level(7+1.6*g+eff["nps"]*1.5+1.6*r.NormFloat64(), 0, 10)
			a.values["ces"] = level(4.8+1.2*g+eff["ces"]+1.3*r.NormFloat64(), 1, 7)
			if r.Float64() < 0.2+eff["complaint"] {
				a.values["complaint_repeated"] = 1
			} else {
				a.values["complaint_repeated"] = 0
			}
			if i%9 == 0 {
				delete(a.values, "love") // no KRS for customers who skipped a component
			}
			out = append(out, a)
		}
	}
	return out
}

// scaleBase are the control means of the scale outcomes.
var scaleBase = []struct {
	key string
	mu  float64
}{{"satisfaction", 4.9}, {"trust", 4.6}, {"love", 3.9}, {"involvement", 4.1},
	{"choice_products", 4.4}, {"choice_channels", 4.8}, {"fairness", 4.7}, {"influence", 3.8}}

// composite is DOMAIN.md's composite rule: the mean of the components
// rescaled to 0..100; undefined when one is missing.
func composite(a answer, comps []string) (float64, bool) {
	var sum float64
	for _, c := range comps {
		v, ok := a.values[c]
		if !ok {
			return 0, false
		}
		sum += 100 * (v - 1) / 6
	}
	return sum / float64(len(comps)), true
}

// armData summarizes the answers of one arm for one outcome as the store
// does: moments for means, counts per level for scale, net and binary, and
// a composite's distinct values (for the bounds).
func armData(o experiment.Outcome, as []answer, arm string, withCov bool) stats.ArmData {
	var ys, xs []float64
	for _, a := range as {
		if a.arm != arm {
			continue
		}
		var v float64
		var ok bool
		if o.Kind == experiment.Composite {
			v, ok = composite(a, o.Components)
		} else {
			v, ok = a.values[o.Key]
		}
		if ok {
			ys = append(ys, v)
			xs = append(xs, a.pre)
		}
	}
	var d stats.ArmData
	if o.Kind == experiment.Composite || o.Kind == experiment.Numeric {
		d.Moments = stats.MomentsOf(ys)
		if o.Kind == experiment.Composite {
			dv := stats.DistinctOf(ys)
			d.Distinct = &dv
		}
	} else {
		lo, hi, _ := o.Bounds()
		c := stats.CountsOf(ys, int(lo), int(hi))
		d.Counts = &c
	}
	if withCov {
		cs := stats.CovariateSumsOf(ys, xs)
		d.Cov = &cs
	}
	return d
}

var fixtureOutcomes = append(append([]string(nil), experiment.DefaultOutcomes...), "complaint_repeated")

func fixtureExperiment() experiment.Experiment {
	e := experiment.Experiment{
		ID: 1, Key: "callback-after-complaint", Name: "Callback after a complaint",
		Hypothesis: "A personal call within a day of a complaint raises the KRS more than a letter.",
		Status:     experiment.Running,
		Arms: []experiment.Arm{
			{Key: "control", Name: "Usual handling", Weight: 1, Control: true},
			{Key: "callback", Name: "Personal call", Weight: 1},
			{Key: "letter", Name: "Personal letter", Weight: 1},
		},
		PrimaryOutcome: "krs",
		Outcomes:       fixtureOutcomes,
		Guardrails:     []string{"complaint_repeated"},
		Alpha:          0.05,
		Correction:     "holm",
	}
	return e
}

// analyse runs the analysis on answers the way Service.Results does
// (experiment.Analyze on the summaries the store would give), with CUPED
// covariates on satisfaction; every customer with an answer has responded.
func analyse(e experiment.Experiment, as []answer, assigned map[string]int64) experiment.Results {
	defs := builtins()
	sum := experiment.Summary{Arms: map[string]experiment.ArmCount{}}
	for _, a := range e.Arms {
		sum.Arms[a.Key] = experiment.ArmCount{Assigned: assigned[a.Key]}
	}
	for _, a := range as {
		n := sum.Arms[a.arm]
		n.Responded++
		sum.Arms[a.arm] = n
	}
	keys := e.AnalysedOutcomes()
	for _, k := range keys {
		arms := map[string]stats.ArmData{}
		for _, a := range e.Arms {
			arms[a.Key] = armData(defs[k], as, a.Key, k == "satisfaction")
		}
		sum.Outcomes = append(sum.Outcomes, arms)
	}
	res := experiment.Analyze(e, defs, keys, sum)
	res.ComputedAt = day0.AddDate(0, 0, 21)
	return res
}

// fixture is the experiment every report test reads.
func fixture() (experiment.Results, []experiment.TimelinePoint) {
	as := simulate(42, 600)
	assigned := map[string]int64{"control": 741, "callback": 752, "letter": 738}
	res := analyse(fixtureExperiment(), as, assigned)
	return res, timelineOf(res.Experiment, as)
}

// differentialFixture is the same experiment where the call-back arm
// answered the survey more often (61% against 48% of the assigned
// customers), with margins on two guardrails: NPS may not fall by more than
// 5 points, the complaint rate not rise by more than half a percentage point
// (which the letter does not show).
func differentialFixture() (experiment.Results, []experiment.TimelinePoint) {
	var as []answer
	kept := map[string]int{}
	for _, a := range simulate(42, 610) {
		if a.arm != "callback" && kept[a.arm] == 480 {
			continue
		}
		kept[a.arm]++
		as = append(as, a)
	}
	e := fixtureExperiment()
	e.Guardrails = []string{"nps", "complaint_repeated"}
	e.GuardrailMargins = map[string]float64{"nps": 5, "complaint_repeated": 0.005}
	res := analyse(e, as, map[string]int64{"control": 1000, "callback": 1000, "letter": 1000})
	return res, timelineOf(res.Experiment, as)
}

// timelineOf compares the primary outcome with control on the answers up
// to each day, as the service's timeline does.
func timelineOf(e experiment.Experiment, as []answer) []experiment.TimelinePoint {
	o := builtins()[e.PrimaryOutcome]
	so := stats.Outcome{Key: o.Key, Kind: stats.Kind(o.Kind), HigherIsBetter: true}
	var pts []experiment.TimelinePoint
	for d := 0; d < 21; d++ {
		var upTo []answer
		for _, a := range as {
			if a.day <= d {
				upTo = append(upTo, a)
			}
		}
		c := armData(o, upTo, "control", false)
		for _, arm := range []string{"callback", "letter"} {
			pts = append(pts, experiment.TimelinePoint{Day: day0.AddDate(0, 0, d), Arm: arm,
				Comparison: stats.Compare(so, armData(o, upTo, arm, false), c, e.Alpha)})
		}
	}
	return pts
}
