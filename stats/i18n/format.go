package i18n

import (
	"math"
	"strconv"
	"strings"
	"time"
)

// Number formats. English writes 0.31 and 10,000, Dutch 0,31 and 10.000; both write a
// negative number with the minus sign U+2212 ("−0.31"), which is as wide as a plus sign and
// a digit and does not break from its number at the end of a line as a hyphen does, and
// neither ever writes a zero with a sign ("−0.0"). Undefined numbers (NaN, ±Inf) are
// Undefined, never "NaN" or a zero.

// Undefined is what every formatter writes for a number that is not defined.
const Undefined = "–"

// minus is the minus sign.
const minus = "−"

// Num is x with decimals decimals: "−0.31", nl "−0,31". It writes no thousands separators,
// so that the numbers of a column or an axis keep one shape (counts have Count).
func Num(x float64, decimals int, lang string) string {
	if !finite(x) {
		return Undefined
	}
	return local(strconv.FormatFloat(x, 'f', decimals, 64), lang)
}

// Signed is Num with a plus sign on positive numbers: "+0.31", "−0.31", "0.00".
func Signed(x float64, decimals int, lang string) string {
	return withPlus(Num(x, decimals, lang))
}

// Sig is x to digits significant digits, for numbers in a sentence whose size is not known
// beforehand (an effect, a bound, a rate): 0.847, 25.1, 1.67. Whole numbers are written in
// full (20, 1500), as a team set them; very small or large ones in exponent form (1.2e−05).
func Sig(x float64, digits int, lang string) string {
	switch {
	case !finite(x):
		return Undefined
	case x == math.Trunc(x) && math.Abs(x) < 1e6:
		return local(strconv.FormatFloat(x, 'f', -1, 64), lang)
	}
	return local(strconv.FormatFloat(x, 'g', digits, 64), lang)
}

// SignedSig is Sig with a plus sign on positive numbers.
func SignedSig(x float64, digits int, lang string) string {
	return withPlus(Sig(x, digits, lang))
}

// P is a p-value to three decimals, or "< 0.001" below that: "0.004", nl "0,004".
func P(p float64, lang string) string {
	switch {
	case !finite(p):
		return Undefined
	case p < 0.001:
		return "< " + Num(0.001, 3, lang)
	}
	return Num(p, 3, lang)
}

// PSentence is P with its relation, for "p %s" in a sentence: "= 0.004" or "< 0.001".
func PSentence(p float64, lang string) string {
	s := P(p, lang)
	if s == Undefined || strings.HasPrefix(s, "<") {
		return s
	}
	return "= " + s
}

// Percent is a share (0..1) in percent with decimals decimals: 0.11 is "11%" in both
// languages, 0.452 with one decimal "45.2%", nl "45,2%".
func Percent(share float64, decimals int, lang string) string {
	if !finite(share) {
		return Undefined
	}
	return Num(100*share, decimals, lang) + "%"
}

// Count is a whole number with thousands separators: "10,000", nl "10.000".
func Count(n int64, lang string) string {
	s := strconv.FormatInt(n, 10)
	sign := ""
	if n < 0 {
		sign, s = minus, s[1:]
	}
	sep := ","
	if Normalize(lang) == Dutch {
		sep = "."
	}
	var b strings.Builder
	b.WriteString(sign)
	for i, d := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteString(sep)
		}
		b.WriteRune(d)
	}
	return b.String()
}

// Interval is a confidence interval: "[0.12, 0.50]", nl "[0,12; 0,50]" (the semicolon,
// because the comma is the decimal separator).
func Interval(lo, hi float64, decimals int, lang string) string {
	sep := ", "
	if Normalize(lang) == Dutch {
		sep = "; "
	}
	return "[" + Num(lo, decimals, lang) + sep + Num(hi, decimals, lang) + "]"
}

// List joins items as a sentence does: "a", "a and b", "a, b and c" (nl "a, b en c").
func List(items []string, lang string) string {
	if len(items) < 2 {
		return strings.Join(items, "")
	}
	return strings.Join(items[:len(items)-1], ", ") + T(lang, "list.and") + items[len(items)-1]
}

var (
	monthsEN = [...]string{"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"}
	monthsNL = [...]string{"jan", "feb", "mrt", "apr", "mei", "jun", "jul", "aug", "sep", "okt", "nov", "dec"}
)

// Date is t's day, month and year: "1 Dec 2026", nl "1 dec 2026".
func Date(t time.Time, lang string) string {
	return Day(t, lang) + " " + strconv.Itoa(t.Year())
}

// Day is t's day and month, for an axis of days: "3 Mar", nl "3 mrt".
func Day(t time.Time, lang string) string {
	m := monthsEN[t.Month()-1]
	if Normalize(lang) == Dutch {
		m = monthsNL[t.Month()-1]
	}
	return strconv.Itoa(t.Day()) + " " + m
}

// local turns strconv's notation into lang's: the decimal comma, the minus sign, and no
// sign on a number that rounded to zero.
func local(s, lang string) string {
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	if neg && strings.Trim(s, "0.") == "" {
		neg = false
	}
	if Normalize(lang) == Dutch {
		s = strings.Replace(s, ".", ",", 1)
	}
	s = strings.ReplaceAll(s, "-", minus) // an exponent's sign
	if neg {
		return minus + s
	}
	return s
}

// withPlus puts a plus sign before a positive formatted number.
func withPlus(s string) string {
	if s == Undefined || strings.HasPrefix(s, minus) || strings.Trim(s, "0.,") == "" {
		return s
	}
	return "+" + s
}

func finite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }
