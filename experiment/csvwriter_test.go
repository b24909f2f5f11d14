package experiment

import (
	"bytes"
	"encoding/csv"
	"slices"
	"testing"
)

// TestCSVWriterNeutralisesFormulas: the triggers are OWASP's (CSV Injection): =, +, -, @,
// tab and carriage return at the start of a cell.
func TestCSVWriterNeutralisesFormulas(t *testing.T) {
	for cell, want := range map[string]string{
		`=HYPERLINK("http://x")`: `'=HYPERLINK("http://x")`,
		"+1":                     "'+1",
		"-2+3":                   "'-2+3",
		"@SUM(A1)":               "'@SUM(A1)",
		"\tfoo":                  "'\tfoo",
		"\rfoo":                  "'\rfoo",
		"-cmd|' /C calc'!A0":     "'-cmd|' /C calc'!A0",
		"-":                      "'-",
		"-.5":                    "'-.5",
		"-1.":                    "'-1.",
		"-Inf":                   "'-Inf",
		"'=1":                    "'=1", // neutralised already
		"-0.53":                  "-0.53",
		"-1e-05":                 "-1e-05",
		"-12":                    "-12",
		"-3.25E+10":              "-3.25E+10",
		"0.53":                   "0.53",
		"cust-=1":                "cust-=1",
		" =1":                    " =1",
		"":                       "",
		"plain":                  "plain",
	} {
		if got := SafeCSVCell(cell); got != want {
			t.Errorf("SafeCSVCell(%q) = %q, want %q", cell, got, want)
		}
		if got := SafeCSVCell(SafeCSVCell(cell)); got != want {
			t.Errorf("SafeCSVCell twice on %q = %q", cell, got)
		}
	}
	var buf bytes.Buffer
	w := NewCSVWriter(&buf)
	rec := []string{"=1+1", "-0.53", "a,b", "\rx"}
	if err := w.Write(rec); err != nil {
		t.Fatal(err)
	}
	w.Flush()
	if err := w.Error(); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(rec, []string{"=1+1", "-0.53", "a,b", "\rx"}) {
		t.Errorf("Write changed its record: %q", rec)
	}
	got, err := csv.NewReader(&buf).Read()
	if err != nil || !slices.Equal(got, []string{"'=1+1", "-0.53", "a,b", "'\rx"}) {
		t.Errorf("read back %q, %v", got, err)
	}
}

func BenchmarkSafeCSVCell(b *testing.B) {
	cells := []string{"cust-000123", "callback", "2026-03-01T10:02:11.482Z", "-0.53", "4.36"}
	for b.Loop() {
		for _, c := range cells {
			SafeCSVCell(c)
		}
	}
}
