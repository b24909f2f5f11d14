package i18n_test

import (
	"fmt"

	"github.com/krslab/krslab/stats/i18n"
)

// An effect and its interval as the report and the figures write them.
func ExampleSigned() {
	for _, lang := range []string{i18n.English, i18n.Dutch} {
		fmt.Println(i18n.Signed(-0.314, 2, lang), i18n.Interval(-0.52, -0.11, 2, lang), "p", i18n.PSentence(0.0042, lang))
	}
	// Output:
	// −0.31 [−0.52, −0.11] p = 0.004
	// −0,31 [−0,52; −0,11] p = 0,004
}

// A label with a count in it.
func ExampleT() {
	fmt.Println(i18n.T(i18n.English, "label.n", i18n.Count(10000, i18n.English)))
	fmt.Println(i18n.T(i18n.Dutch, "label.n", i18n.Count(10000, i18n.Dutch)))
	// Output:
	// n = 10,000
	// n = 10.000
}
