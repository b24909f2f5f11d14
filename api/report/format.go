package report

import (
	"math"
	"strconv"
	"strings"

	"github.com/krslab/krslab/stats/plot"
)

// numText formats x with decimals in lang's notation (decimal comma for nl,
// a real minus sign); "–" when undefined.
func numText(x float64, decimals int, lang string) string {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return "–"
	}
	s := strconv.FormatFloat(x, 'f', decimals, 64)
	if strings.Trim(s, "-0.") == "" {
		s = strings.TrimPrefix(s, "-")
	}
	if lang == plot.Dutch {
		s = strings.Replace(s, ".", ",", 1)
	}
	return strings.Replace(s, "-", "−", 1)
}

// signedText is numText with a plus sign for positive values.
func signedText(x float64, decimals int, lang string) string {
	s := numText(x, decimals, lang)
	if x > 0 && strings.Trim(s, "0.,") != "" {
		return "+" + s
	}
	return s
}

func fmt2(x float64, lang string) string    { return numText(x, 2, lang) }
func signed1(x float64, lang string) string { return signedText(x, 1, lang) }

// decimals suits a kind's numbers: 2 for means on small scales, 1 for
// points and percentages.
func decimals(x float64) int {
	if math.Abs(x) < 10 {
		return 2
	}
	return 1
}

// pText is "0.004" or "< 0.001".
func pText(p float64, lang string) string {
	if math.IsNaN(p) {
		return "–"
	}
	if p < 0.001 {
		return "< " + numText(0.001, 3, lang)
	}
	return numText(p, 3, lang)
}
