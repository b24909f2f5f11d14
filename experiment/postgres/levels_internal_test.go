package postgres

import (
	"fmt"
	"testing"

	"github.com/krslab/krslab/experiment"
)

// TestLevelColumnsTakeOnlyWhatLevelsBound: the pass by grouping sets counts positions of the
// answers asked for and composites of outcomes counted by level, one column each; a
// composite with a numeric component, or more columns than GROUPING can tell apart, leave
// the summary to the pass that makes a row per answer.
func TestLevelColumnsTakeOnlyWhatLevelsBound(t *testing.T) {
	lo, hi := 1.0, 7.0
	scale := func(k string) experiment.Outcome {
		return experiment.Outcome{Key: k, Kind: experiment.Scale, Min: &lo, Max: &hi}
	}
	krs := experiment.SummarySpec{Outcome: experiment.Outcome{Key: "krs", Kind: experiment.Composite},
		Components: []experiment.Outcome{scale("satisfaction"), scale("trust"), scale("love")}}
	sets := []keySet{
		{id: 1, keys: []string{"love", "satisfaction", "trust"}},
		{id: 2, keys: []string{"nps", "trust"}},
	}
	var a args
	cols := levelColumns(&a, []string{"trust", "nps"}, []experiment.SummarySpec{krs}, sets)
	got := map[string]map[int64]string{}
	for _, c := range cols {
		got[c.expr] = c.holds
	}
	if len(cols) != 4 || fmt.Sprint(got["r.answer_values[3]"]) != "map[1:trust]" || fmt.Sprint(got["r.answer_values[1]"]) != "map[2:nps]" ||
		fmt.Sprint(got["r.answer_values[2]"]) != "map[2:trust]" || fmt.Sprint(cols[3].holds) != "map[1:krs]" {
		t.Errorf("columns %+v", cols)
	}

	money := experiment.Outcome{Key: "spend", Kind: experiment.Numeric, Min: &lo, Max: &hi}
	mixed := experiment.SummarySpec{Outcome: experiment.Outcome{Key: "mixed", Kind: experiment.Composite},
		Components: []experiment.Outcome{scale("trust"), money}}
	if cols := levelColumns(&args{}, []string{"trust"}, []experiment.SummarySpec{mixed}, []keySet{{id: 3, keys: []string{"spend", "trust"}}}); cols != nil {
		t.Errorf("a composite with a numeric component: %+v", cols)
	}

	var wide []string
	for i := range maxLevelColumns + 1 {
		wide = append(wide, fmt.Sprintf("q%02d", i))
	}
	if cols := levelColumns(&args{}, wide, nil, []keySet{{id: 4, keys: wide}}); cols != nil {
		t.Errorf("%d columns: %d taken", len(wide), len(cols))
	}
}
