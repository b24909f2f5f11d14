package experiment_test

import (
	"strings"
	"testing"

	"github.com/krslab/krslab/experiment"
)

func TestCheckText(t *testing.T) {
	for _, c := range []struct {
		text string
		ok   bool
	}{
		{"", true},
		{"Persoonlijk terugbellen na een klacht", true},
		{"tabs\tand\nline breaks\r\n are text", true},
		{"U+FFFD \uFFFD as such is a character", true},
		{strings.Repeat("é", 40), true}, // characters, not bytes
		{strings.Repeat("é", 41), false},
		{"a NUL \x00 here", false},
		{"DEL \x7f", false},
		{"escape \x1b[31m", false},
		{"NEL \u0085 (C1)", false},
		{"bytes \xff\xfe", false},
		{"cut \xe2\x82", false},
	} {
		msg := experiment.CheckText(c.text, 40)
		if msg.IsZero() != c.ok {
			t.Errorf("CheckText(%q) = %q, want ok %v", c.text, msg, c.ok)
		}
	}
}

// TestOutcomeAndRuleTextsAreChecked: an outcome's labels and an eligibility rule's values
// are text by CheckText, whatever else is wrong.
func TestOutcomeAndRuleTextsAreChecked(t *testing.T) {
	known := builtins()
	o := experiment.Outcome{Key: "texts", Kind: experiment.Binary, Label: "l\x00", LabelNL: "l\xff"}
	err := o.Validate(known)
	for _, field := range []string{"label", "label_nl"} {
		if err == nil || !strings.Contains(err.Error(), field+": ") {
			t.Errorf("%s not refused: %v", field, err)
		}
	}
	e := validExperiment()
	e.Eligibility = []experiment.Rule{{Attribute: "channel", Op: "in", Values: []string{"phone", "ch\x00at"}},
		{Attribute: "x", Op: "bogus", Value: "v\xff"}, {Attribute: "tenure", Op: "range", Value: "\x00"}}
	err = e.Validate(known)
	for _, field := range []string{"eligibility[0].values[1]", "eligibility[1].value", "eligibility[2].value"} {
		if err == nil || !strings.Contains(err.Error(), field+": ") {
			t.Errorf("%s not refused: %v", field, err)
		}
	}
}
