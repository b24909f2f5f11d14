package i18n

import (
	"bytes"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func TestNumberFormats(t *testing.T) {
	nan, inf := math.NaN(), math.Inf(1)
	for _, tt := range []struct {
		name, got, want string
	}{
		{"Num", Num(0.314, 2, English), "0.31"},
		{"Num nl", Num(-0.314, 2, Dutch), "−0,31"},
		{"Num rounds to zero without a sign", Num(-0.001, 2, English), "0.00"},
		{"Num negative zero", Num(math.Copysign(0, -1), 1, Dutch), "0,0"},
		{"Num no thousands separators", Num(12345.678, 1, English), "12345.7"},
		{"Num NaN", Num(nan, 2, English), "–"},
		{"Num Inf", Num(-inf, 2, Dutch), "–"},
		{"Num other language is English", Num(1.5, 1, "de"), "1.5"},
		{"Signed", Signed(0.314, 2, English), "+0.31"},
		{"Signed nl", Signed(12.26, 1, Dutch), "+12,3"},
		{"Signed negative", Signed(-0.9, 1, English), "−0.9"},
		{"Signed zero", Signed(0, 1, English), "0.0"},
		{"Signed rounds to zero", Signed(0.004, 2, Dutch), "0,00"},
		{"Signed NaN", Signed(nan, 1, English), "–"},
		// Sig is the recommendation's: three significant digits, whole numbers in full.
		{"Sig", Sig(0.84712, 3, English), "0.847"},
		{"Sig nl", Sig(-25.149, 3, Dutch), "−25,1"},
		{"Sig whole", Sig(-20, 3, English), "−20"},
		{"Sig whole large", Sig(1500, 3, Dutch), "1500"},
		{"Sig exponent", Sig(-0.0000123, 2, English), "−1.2e−05"},
		{"Sig negative zero", Sig(math.Copysign(0, -1), 3, English), "0"},
		{"Sig NaN", Sig(nan, 3, Dutch), "–"},
		{"SignedSig", SignedSig(4.7712, 3, English), "+4.77"},
		{"SignedSig negative", SignedSig(-0.9, 3, Dutch), "−0,9"},
		{"P", P(0.0042, English), "0.004"},
		{"P nl", P(0.29, Dutch), "0,290"},
		{"P small", P(0.0002, Dutch), "< 0,001"},
		{"P NaN", P(nan, English), "–"},
		{"PSentence", PSentence(0.0042, English), "= 0.004"},
		{"PSentence small", PSentence(1e-9, English), "< 0.001"},
		{"PSentence NaN", PSentence(nan, English), "–"},
		{"Percent", Percent(0.11, 0, English), "11%"},
		{"Percent nl", Percent(0.11, 0, Dutch), "11%"},
		{"Percent decimals nl", Percent(0.4521, 1, Dutch), "45,2%"},
		{"Percent NaN", Percent(nan, 0, English), "–"},
		{"Count", Count(10000, English), "10,000"},
		{"Count nl", Count(10000, Dutch), "10.000"},
		{"Count small", Count(412, Dutch), "412"},
		{"Count millions", Count(1234567, English), "1,234,567"},
		{"Count negative", Count(-1234, Dutch), "−1.234"},
		{"Count zero", Count(0, English), "0"},
		{"Interval", Interval(0.12, 0.5, 2, English), "[0.12, 0.50]"},
		{"Interval nl", Interval(-0.12, 0.5, 2, Dutch), "[−0,12; 0,50]"},
		{"List one", List([]string{"a"}, English), "a"},
		{"List two", List([]string{"a", "b"}, English), "a and b"},
		{"List three nl", List([]string{"a", "b", "c"}, Dutch), "a, b en c"},
		{"List none", List(nil, Dutch), ""},
	} {
		if tt.got != tt.want {
			t.Errorf("%s: got %q, want %q", tt.name, tt.got, tt.want)
		}
	}
}

func TestDates(t *testing.T) {
	d := time.Date(2026, 12, 1, 23, 59, 0, 0, time.UTC)
	m := time.Date(2025, 3, 3, 0, 0, 0, 0, time.UTC)
	for _, tt := range []struct{ got, want string }{
		{Date(d, English), "1 Dec 2026"},
		{Date(d, Dutch), "1 dec 2026"},
		{Day(m, English), "3 Mar"},
		{Day(m, Dutch), "3 mrt"},
		{Day(time.Date(2025, 5, 31, 0, 0, 0, 0, time.UTC), Dutch), "31 mei"},
		{Day(time.Date(2025, 10, 9, 0, 0, 0, 0, time.UTC), Dutch), "9 okt"},
	} {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
}

func TestLanguages(t *testing.T) {
	for lang, want := range map[string]string{"nl": Dutch, "en": English, "": English, "NL": English, "de": English} {
		if got := Normalize(lang); got != want {
			t.Errorf("Normalize(%q) = %q, want %q", lang, got, want)
		}
	}
	for lang, want := range map[string]bool{"nl": true, "en": true, "": false, "NL": false, "fr": false} {
		if got := Valid(lang); got != want {
			t.Errorf("Valid(%q) = %v, want %v", lang, got, want)
		}
	}
}

func TestT(t *testing.T) {
	if got := T(Dutch, "label.n", Count(1873, Dutch)); got != "n = 1.873" {
		t.Errorf("T with an argument: %q", got)
	}
	if got := T("", "arm.control"); got != "control" {
		t.Errorf("T in the default language: %q", got)
	}
	if got := T(Dutch, "unit.pp.abbr"); got != " %-pt" {
		t.Errorf("T writes a literal percent sign as %%%%: %q", got)
	}
	if got := T(Dutch, "no.such.message"); got != "no.such.message" {
		t.Errorf("an unknown id: %q, want the id", got)
	}
}

// TestMessages checks every message of every table (messages.go's and those the other
// files register): both languages written, the same fmt verbs in the same order in both,
// only verbs for the strings and whole numbers the messages take, and a percent sign
// written as "%%".
func TestMessages(t *testing.T) {
	ids := IDs()
	if len(ids) == 0 {
		t.Fatal("no messages")
	}
	for _, id := range ids {
		m := messages[id]
		if !idPattern(id) {
			t.Errorf("id %q is not lower-case words joined by dots", id)
		}
		for lang, s := range map[string]string{English: m.EN, Dutch: m.NL} {
			if strings.TrimSpace(s) == "" {
				t.Errorf("%s: no %s text", id, lang)
			}
			if !utf8.ValidString(s) {
				t.Errorf("%s: %s text is not UTF-8", id, lang)
			}
		}
		en, errEN := verbs(m.EN, "sdqv")
		nl, errNL := verbs(m.NL, "sdqv")
		for _, err := range []error{errEN, errNL} {
			if err != nil {
				t.Errorf("%s: %v", id, err)
			}
		}
		if !slices.Equal(en, nl) {
			t.Errorf("%s: English takes %q, Dutch %q", id, en, nl)
		}
	}
}

// TestRegisterRefusesADuplicate: two tables cannot both define an id.
func TestRegisterRefusesADuplicate(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("register accepted an id that is taken")
		}
	}()
	register(map[string]Message{"arm.control": {"control", "controle"}})
}

// verbs are the fmt verbs of a format, in order, with their flags, width and precision;
// an error for a verb not in allowed, the verbs the table has use for (a lone "%" before a
// letter reads as one: "% p" is the verb %p).
func verbs(format, allowed string) ([]string, error) {
	var out []string
	for i := 0; i < len(format); i++ {
		if format[i] != '%' {
			continue
		}
		j := i + 1
		for j < len(format) && strings.IndexByte("+-# 0123456789.[]", format[j]) >= 0 {
			j++
		}
		if j == len(format) {
			return nil, fmt.Errorf("%q ends in a lone %%", format)
		}
		v := format[i : j+1]
		switch format[j] {
		case '%':
			if j != i+1 {
				return nil, fmt.Errorf("%q has %s; write a percent sign as %%%%", format, v)
			}
		default:
			if strings.IndexByte(allowed, format[j]) < 0 {
				return nil, fmt.Errorf("%q has the verb %s; write a percent sign as %%%%, and format numbers with this package's formatters (%%s)", format, v)
			}
			out = append(out, v)
		}
		i = j
	}
	return out, nil
}

func idPattern(id string) bool {
	if id == "" || strings.HasPrefix(id, ".") || strings.HasSuffix(id, ".") || strings.Contains(id, "..") {
		return false
	}
	for _, r := range id {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' || r == '.') {
			return false
		}
	}
	return true
}

// TestSourcesNameKnownMessages reads the Go sources of the module that import this package
// and checks that every message id they spell out in full exists, so that a mistyped id
// cannot ship as a raw id in a figure or on a page. Ids built from a prefix and a value
// ("report.status." + status) end in a dot here and are left to the tests of their package.
func TestSourcesNameKnownMessages(t *testing.T) {
	literal := regexp.MustCompile(`"((?:arm|label|list|unit|plot|report|reason|console)\.[a-z0-9_.]*)"`)
	root := filepath.Join("..", "..")
	here, err := filepath.Abs(".")
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && strings.HasPrefix(d.Name(), ".") && path != root {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		abs, err := filepath.Abs(filepath.Dir(path))
		if err != nil {
			return err
		}
		own := abs == here
		if !own && !bytes.Contains(src, []byte(`"github.com/krslab/krslab/stats/i18n"`)) {
			return nil
		}
		// Comments may show ids by way of example.
		src = regexp.MustCompile(`(?m)^\s*//.*$`).ReplaceAll(src, nil)
		for _, m := range literal.FindAllSubmatch(src, -1) {
			id := string(m[1])
			if strings.HasSuffix(id, ".") {
				continue
			}
			checked++
			if !Has(id) {
				t.Errorf("%s: message %q does not exist", path, id)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if checked < 50 {
		t.Errorf("only %d ids found in the sources; the test no longer reads them", checked)
	}
}
