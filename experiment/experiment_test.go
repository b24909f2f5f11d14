package experiment_test

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/krslab/krslab/experiment"
)

func f(v float64) *float64 { return &v }

// builtins mirrors the shape of the seeded outcomes that validation needs.
func builtins() map[string]experiment.Outcome {
	m := map[string]experiment.Outcome{}
	for _, k := range []string{"satisfaction", "trust", "love", "involvement", "choice_products", "choice_channels", "fairness", "influence"} {
		m[k] = experiment.Outcome{Key: k, Kind: experiment.Scale, Min: f(1), Max: f(7), HigherIsBetter: true}
	}
	m["nps"] = experiment.Outcome{Key: "nps", Kind: experiment.Net, Min: f(0), Max: f(10), TopMin: f(9), BottomMax: f(6), HigherIsBetter: true}
	m["ces"] = experiment.Outcome{Key: "ces", Kind: experiment.Net, Min: f(1), Max: f(7), TopMin: f(6), BottomMax: f(3), HigherIsBetter: true}
	m["krs"] = experiment.Outcome{Key: "krs", Kind: experiment.Composite, Min: f(0), Max: f(100), Components: []string{"satisfaction", "trust", "love"}, HigherIsBetter: true}
	m["freedom_of_choice"] = experiment.Outcome{Key: "freedom_of_choice", Kind: experiment.Composite, Min: f(0), Max: f(100), Components: []string{"choice_products", "choice_channels"}, HigherIsBetter: true}
	m["churned"] = experiment.Outcome{Key: "churned", Kind: experiment.Binary, Min: f(0), Max: f(1)}
	return m
}

func validExperiment() experiment.Experiment {
	e := experiment.Experiment{Key: "callback", Arms: []experiment.Arm{
		{Key: "control", Weight: 1, Control: true}, {Key: "callback", Weight: 1}}}
	e.ApplyDefaults()
	return e
}

// fields returns the fields named by an Invalid error.
func fields(t *testing.T, err error) []string {
	t.Helper()
	var e *experiment.Error
	if !errors.As(err, &e) {
		t.Fatalf("want *experiment.Error, got %v", err)
	}
	var out []string
	for _, d := range e.Details {
		out = append(out, d.Field)
	}
	return out
}

func TestExperimentValidate(t *testing.T) {
	tests := []struct {
		name   string
		change func(*experiment.Experiment)
		fields []string // every field expected in the error, in order
	}{
		{"valid with defaults", func(*experiment.Experiment) {}, nil},
		{"one arm", func(e *experiment.Experiment) { e.Arms = e.Arms[:1] }, []string{"arms"}},
		{"no control", func(e *experiment.Experiment) { e.Arms[0].Control = false }, []string{"arms"}},
		{"two controls", func(e *experiment.Experiment) { e.Arms[1].Control = true }, []string{"arms"}},
		{"duplicate arm key", func(e *experiment.Experiment) { e.Arms[1].Key = "control" }, []string{"arms[1].key"}},
		{"zero weight", func(e *experiment.Experiment) { e.Arms[1].Weight = 0 }, []string{"arms[1].weight"}},
		{"negative weight", func(e *experiment.Experiment) { e.Arms[0].Weight = -1 }, []string{"arms[0].weight"}},
		{"unknown outcome", func(e *experiment.Experiment) { e.Outcomes = append(e.Outcomes, "happiness") }, []string{"outcomes[10]"}},
		{"primary not among outcomes", func(e *experiment.Experiment) { e.PrimaryOutcome = "churned" }, []string{"primary_outcome"}},
		{"unknown guardrail", func(e *experiment.Experiment) { e.Guardrails = []string{"nope"} }, []string{"guardrails[0]"}},
		{"alpha too big", func(e *experiment.Experiment) { e.Alpha = 0.5 }, []string{"alpha"}},
		{"alpha negative", func(e *experiment.Experiment) { e.Alpha = -0.1 }, []string{"alpha"}},
		{"bad correction", func(e *experiment.Experiment) { e.Correction = "bonferroni" }, []string{"correction"}},
		{"bad key", func(e *experiment.Experiment) { e.Key = "Has Spaces" }, []string{"key"}},
		{"guardrail margin", func(e *experiment.Experiment) {
			e.Guardrails, e.GuardrailMargins = []string{"nps", "churned"}, map[string]float64{"nps": 10, "churned": 0.05}
		}, nil},
		{"margin of no guardrail", func(e *experiment.Experiment) {
			e.Guardrails, e.GuardrailMargins = []string{"nps"}, map[string]float64{"ces": 10, "nps": 5}
		}, []string{"guardrail_margins.ces"}},
		{"margins not positive or not finite", func(e *experiment.Experiment) {
			e.Guardrails = []string{"nps", "ces", "churned"}
			e.GuardrailMargins = map[string]float64{"nps": 0, "ces": -1, "churned": math.Inf(1)}
		}, []string{"guardrail_margins.ces", "guardrail_margins.churned", "guardrail_margins.nps"}},
		{"everything wrong at once", func(e *experiment.Experiment) {
			e.Key, e.Alpha, e.Correction, e.Arms[1].Weight = "", 0.9, "x", 0
		}, []string{"key", "arms[1].weight", "alpha", "correction"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := validExperiment()
			tt.change(&e)
			err := e.Validate(builtins())
			if tt.fields == nil {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if got := fields(t, err); strings.Join(got, ",") != strings.Join(tt.fields, ",") {
				t.Errorf("fields = %v, want %v (%v)", got, tt.fields, err)
			}
		})
	}
}

func TestApplyDefaults(t *testing.T) {
	e := experiment.Experiment{Key: "k"}
	e.ApplyDefaults()
	if e.PrimaryOutcome != "krs" || e.Alpha != 0.05 || e.Correction != "holm" || e.Salt != "k" || e.Status != experiment.Draft {
		t.Errorf("defaults: %+v", e)
	}
	if strings.Join(e.Outcomes, ",") != strings.Join(experiment.DefaultOutcomes, ",") {
		t.Errorf("outcomes = %v", e.Outcomes)
	}
	if e.GuardrailMargins == nil || len(e.GuardrailMargins) != 0 {
		t.Errorf("guardrail margins = %v, want an empty map", e.GuardrailMargins)
	}
}

func TestLifecycle(t *testing.T) {
	now := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	steps := []struct {
		to experiment.Status
		ok bool
	}{
		{experiment.Stopped, false}, {experiment.Decided, false}, {experiment.Running, true},
		{experiment.Running, false}, {experiment.Draft, false}, {experiment.Stopped, true},
		{experiment.Running, false}, {experiment.Decided, true}, {experiment.Stopped, false},
	}
	e := validExperiment()
	for i, s := range steps {
		before := e.Status
		err := e.Transition(s.to, now)
		if s.ok != (err == nil) {
			t.Fatalf("step %d %s -> %s: err = %v, want ok = %v", i, before, s.to, err, s.ok)
		}
		if err != nil {
			if experiment.ErrorCode(err) != experiment.Conflict || !strings.Contains(err.Error(), string(before)) {
				t.Errorf("step %d: want a conflict naming %s, got %v", i, before, err)
			}
			if e.Status != before {
				t.Errorf("step %d: status changed on a refused move", i)
			}
		}
	}
	if e.StartedAt == nil || e.StoppedAt == nil {
		t.Error("start and stop times not recorded")
	}
}

func TestCheckAnswer(t *testing.T) {
	o := builtins()
	tests := []struct {
		outcome string
		v       float64
		ok      bool
	}{
		{"trust", 1, true}, {"trust", 7, true}, {"trust", 0, false}, {"trust", 8, false}, {"trust", 3.5, false},
		{"nps", 0, true}, {"nps", 10, true}, {"nps", 11, false}, {"nps", -1, false},
		{"churned", 0, true}, {"churned", 1, true}, {"churned", 0.5, false},
		{"krs", 50, false},
	}
	for _, tt := range tests {
		msg := o[tt.outcome].CheckAnswer(tt.v)
		if (msg == "") != tt.ok {
			t.Errorf("%s = %g: message %q, want ok = %v", tt.outcome, tt.v, msg, tt.ok)
		}
	}
	num := experiment.Outcome{Key: "spend", Kind: experiment.Numeric}
	for _, v := range []float64{-1e9, 0, 1.5, 1e12} {
		if msg := num.CheckAnswer(v); msg != "" {
			t.Errorf("numeric %g refused: %s", v, msg)
		}
	}
}

func TestCheckResponseNamesEveryProblem(t *testing.T) {
	o := builtins()
	e := validExperiment()
	allowed := experiment.AnswerKeys(e, o)
	if _, ok := allowed["krs"]; ok {
		t.Error("a composite must not be answerable")
	}
	for _, k := range []string{"satisfaction", "trust", "love", "choice_products", "nps"} {
		if _, ok := allowed[k]; !ok {
			t.Errorf("%s should be answerable", k)
		}
	}
	now := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	r := experiment.Response{ResponseID: "", CustomerID: "c\x01", AnsweredAt: now.Add(48 * time.Hour),
		Answers: map[string]float64{"krs": 50, "trust": 9, "churned": 1, "nps": 10}}
	var got []string
	for _, d := range experiment.CheckResponse(r, allowed, o, now) {
		got = append(got, d.Field)
	}
	want := "response_id,customer_id,answered_at,answers.churned,answers.krs,answers.trust"
	if strings.Join(got, ",") != want {
		t.Errorf("fields = %v, want %s", got, want)
	}
}

func TestOutcomeValidate(t *testing.T) {
	known := builtins()
	tests := []struct {
		name string
		o    experiment.Outcome
		bad  string // a field the error must name, "" for valid
	}{
		{"custom scale", experiment.Outcome{Key: "respect", Kind: experiment.Scale, Label: "Respect"}, ""},
		{"custom net", experiment.Outcome{Key: "enps", Kind: experiment.Net, Label: "eNPS", Min: f(0), Max: f(10), TopMin: f(9), BottomMax: f(6)}, ""},
		{"custom composite", experiment.Outcome{Key: "bond", Kind: experiment.Composite, Label: "Bond", Components: []string{"trust", "love", "nps"}}, ""},
		{"numeric", experiment.Outcome{Key: "spend_next_90d", Kind: experiment.Numeric, Label: "Spend"}, ""},
		{"exists", experiment.Outcome{Key: "trust", Kind: experiment.Scale, Label: "x"}, "conflict"},
		{"bad kind", experiment.Outcome{Key: "x", Kind: "likert", Label: "x"}, "kind"},
		{"net without thresholds", experiment.Outcome{Key: "x", Kind: experiment.Net, Label: "x", Min: f(0), Max: f(10)}, "top_min"},
		{"composite of composite", experiment.Outcome{Key: "x", Kind: experiment.Composite, Label: "x", Components: []string{"krs", "trust"}}, "components[0]"},
		{"composite of numeric without bounds", experiment.Outcome{Key: "x", Kind: experiment.Composite, Label: "x", Components: []string{"trust", "spend"}}, "components[1]"},
		{"fractional scale", experiment.Outcome{Key: "x", Kind: experiment.Scale, Label: "x", Min: f(0.5), Max: f(7)}, "min"},
		{"missing label", experiment.Outcome{Key: "x", Kind: experiment.Scale}, "label"},
		{"reserved key", experiment.Outcome{Key: "timeline", Kind: experiment.Scale, Label: "x"}, "key"},
	}
	known["spend"] = experiment.Outcome{Key: "spend", Kind: experiment.Numeric}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := tt.o
			o.Normalize()
			err := o.Validate(known)
			switch {
			case tt.bad == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tt.bad == "conflict":
				if experiment.ErrorCode(err) != experiment.Conflict {
					t.Fatalf("want conflict, got %v", err)
				}
			case tt.bad != "":
				if err == nil || !strings.Contains(strings.Join(fields(t, err), ","), tt.bad) {
					t.Fatalf("want an error naming %s, got %v", tt.bad, err)
				}
			}
		})
	}
}
