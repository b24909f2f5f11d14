package experiment_test

import (
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/krslab/krslab/experiment"
)

// TestTextFieldsAreChecked: every free text of an experiment goes through CheckText,
// whatever else is wrong with the definition.
func TestTextFieldsAreChecked(t *testing.T) {
	known := builtins()
	e := experiment.Experiment{Key: "texts", Name: "n\x00", Hypothesis: "h\xff", Salt: "s\x00", Alpha: 0.05, Correction: "holm",
		PrimaryOutcome: "trust", Outcomes: []string{"trust"}, Coverage: 1,
		Arms: []experiment.Arm{{Key: "a", Weight: 1, Control: true, Name: "a\x00"}, {Key: "b", Weight: -1, Description: "d\x00"}}}
	err := e.Validate(known)
	for _, field := range []string{"name", "hypothesis", "salt", "arms[0].name", "arms[1].description", "arms[1].weight"} {
		if !strings.Contains(err.Error(), field+": ") {
			t.Errorf("%s not refused: %v", field, err)
		}
	}
}

// TestBooleanAnswersOnlyForBinary: true/false answers a binary outcome only, read from JSON
// (Booleans set by the API) or from CSV, by the fast reading of an import and by the API's.
func TestBooleanAnswersOnlyForBinary(t *testing.T) {
	known := builtins()
	e := validExperiment()
	e.Outcomes = []string{"trust", "churned"}
	e.PrimaryOutcome = "trust"
	allowed := experiment.AnswerKeys(e, known)
	now := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	at := now.Add(-time.Hour)
	r := experiment.Response{ResponseID: "r", CustomerID: "c", AnsweredAt: at,
		Answers: map[string]float64{"trust": 1, "churned": 1}, Booleans: map[string]bool{"trust": true, "churned": true}}
	d := experiment.CheckResponse(r, allowed, known, now)
	if len(d) != 1 || d[0].Field != "answers.trust" {
		t.Errorf("true for a scale and for a binary outcome: %v", d)
	}
	header := []string{"response_id", "customer_id", "answered_at", "trust", "churned"}
	fast, api := experiment.ReadResponseLines(e, header, [][]string{
		{"r1", "c1", "2026-03-01T10:00:00Z", "true", ""},
		{"r2", "c2", "2026-03-01T10:00:00Z", "5", "FALSE"},
	}, allowed, known, now)
	for i, want := range []bool{false, true} {
		for reading, lines := range map[string][]experiment.ResponseLine{"fast": fast, "api": api} {
			if ok := lines[i].Problem == ""; ok != want {
				t.Errorf("%s reading of line %d: problem %q, want ok %v", reading, i+2, lines[i].Problem, want)
			}
		}
	}
}

// TestAnAnswerRefusedIsStillAnAnswer: a response whose only answer was refused as it was
// read (a list where a number belongs) is told what is wrong with that answer, not also
// that it answered nothing.
func TestAnAnswerRefusedIsStillAnAnswer(t *testing.T) {
	known := builtins()
	allowed := experiment.AnswerKeys(validExperiment(), known)
	now := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	r := experiment.Response{ResponseID: "r", CustomerID: "c", AnsweredAt: now.Add(-time.Hour),
		Problems: []experiment.Detail{{Field: "answers.trust", Message: "must be a number"}}}
	if d := experiment.CheckResponse(r, allowed, known, now); len(d) != 1 || d[0].Field != "answers.trust" {
		t.Errorf("one refused answer: %v", d)
	}
	r.Problems = nil
	if d := experiment.CheckResponse(r, allowed, known, now); len(d) != 1 || d[0].Field != "answers" {
		t.Errorf("no answer at all: %v", d)
	}
}

// TestWeightsAreBounded: finite weights whose total is not ([1e308, 1e308]) are refused,
// each by its field.
func TestWeightsAreBounded(t *testing.T) {
	for _, weights := range [][]float64{{1e308, 1e308}, {1, math.MaxFloat64}, {1, experiment.MaxWeight * 2}} {
		e := validExperiment()
		for i, w := range weights {
			e.Arms[i].Weight = w
		}
		err := e.Validate(builtins())
		if err == nil || !strings.Contains(err.Error(), "weight: at most") {
			t.Errorf("weights %v: %v", weights, err)
		}
	}
	e := validExperiment()
	e.Arms[1].Weight = experiment.MaxWeight
	if err := e.Validate(builtins()); err != nil {
		t.Errorf("weight %g: %v", experiment.MaxWeight, err)
	}
}

// TestCheckNumber: the numbers the analysis takes in are 0 or MinMagnitude to MaxMagnitude
// in absolute value, edges included, and the refusal names those edges.
func TestCheckNumber(t *testing.T) {
	for _, v := range []float64{0, math.Copysign(0, -1), 1, -2.5, experiment.MinMagnitude, -experiment.MinMagnitude,
		experiment.MaxMagnitude, -experiment.MaxMagnitude, 1.7e9} {
		if msg := experiment.CheckNumber(v); msg != "" {
			t.Errorf("%g: %s", v, msg)
		}
	}
	edges := strings.ReplaceAll(fmt.Sprintf("between %g and %g", experiment.MinMagnitude, experiment.MaxMagnitude), "e+", "e")
	for _, v := range []float64{math.Nextafter(experiment.MaxMagnitude, math.Inf(1)), -1e101, 1e200, math.MaxFloat64,
		math.Nextafter(experiment.MinMagnitude, 0), -1e-101, 1e-200, math.SmallestNonzeroFloat64} {
		if msg := experiment.CheckNumber(v); !strings.Contains(msg, edges) {
			t.Errorf("%g: %q, want a refusal %s", v, msg, edges)
		}
	}
	for _, v := range []float64{math.NaN(), math.Inf(1), math.Inf(-1)} {
		if msg := experiment.CheckNumber(v); msg != "must be a finite number" {
			t.Errorf("%g: %q", v, msg)
		}
	}
}
