package i18n

import (
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

// TestProblems checks the Dutch texts of the service's formats: written, and with the same
// fmt verbs in the same order as the English format, so that every argument lands where
// the English put it. The verbs are those the service formats with; %g (a limit) and %U
// (a character) among them.
func TestProblems(t *testing.T) {
	if len(problemsNL) == 0 {
		t.Fatal("no problems")
	}
	for en, nl := range problemsNL {
		if strings.TrimSpace(nl) == "" || !utf8.ValidString(nl) {
			t.Errorf("%q: no Dutch text", en)
		}
		if nl == en {
			t.Errorf("%q: the Dutch text is the English one", en)
		}
		ve, errEN := verbs(en, "sdqvgU")
		vn, errNL := verbs(nl, "sdqvgU")
		for _, err := range []error{errEN, errNL} {
			if err != nil {
				t.Errorf("%q: %v", en, err)
			}
		}
		if !slices.Equal(ve, vn) {
			t.Errorf("%q takes %q, its Dutch text %q", en, ve, vn)
		}
	}
}

type parts struct {
	format string
	args   []any
}

func (p parts) Parts() (string, []any) { return p.format, p.args }

// TestProblem: a known format is said in Dutch with its arguments, an argument that is a
// text of its own too; an unknown one stays English; English is the format as it is; a
// whole text passed on as "%s" is found as it is.
func TestProblem(t *testing.T) {
	inner := parts{"at most %d characters", []any{200}}
	for _, c := range []struct {
		lang, format string
		args         []any
		want         string
	}{
		{Dutch, "unknown arm %q", []any{"b"}, `onbekende variant "b"`},
		{English, "unknown arm %q", []any{"b"}, `unknown arm "b"`},
		{Dutch, "%s", []any{inner}, "hoogstens 200 tekens"},
		{English, "%s", []any{inner}, "at most 200 characters"},
		{Dutch, "column %d: %s", []any{3, inner}, "kolom 3: hoogstens 200 tekens"},
		{Dutch, "%s", []any{"not running"}, "loopt niet"},
		{Dutch, "%s", []any{"a text of no format"}, "a text of no format"},
		{Dutch, "%s", []any{"100% sure"}, "100% sure"},
		{Dutch, "no format like this %d", []any{1}, "no format like this 1"},
		{"fr", "unknown arm %q", []any{"b"}, `unknown arm "b"`},
	} {
		if got := Problem(c.lang, c.format, c.args...); got != c.want {
			t.Errorf("Problem(%s, %q, %v) = %q, want %q", c.lang, c.format, c.args, got, c.want)
		}
	}
}
