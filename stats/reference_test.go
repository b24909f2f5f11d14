package stats_test

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"testing"

	"github.com/krslab/krslab/stats"
)

// refDir holds the reference cases computed independently with scipy 1.10 and
// statsmodels 0.13 (see its README.md). They are read at test time; no
// expected number is copied into Go source.
const refDir = "../../shared/testdata/stats"

// Tolerances of the reference README: 1e-6 relative, 1e-9 absolute.
const (
	relTol = 1e-6
	absTol = 1e-9
)

// refCase is one analysis case file.
type refCase struct {
	Alpha      float64            `json:"alpha"`
	Correction string             `json:"correction"`
	Control    string             `json:"control"`
	Weights    map[string]float64 `json:"weights"`
	Assigned   map[string]int64   `json:"assigned"`
	Outcomes   []refOutcome       `json:"outcomes"`
	Expected   struct {
		Outcomes map[string]map[string]any `json:"outcomes"`
		SRM      any                       `json:"srm"`
	} `json:"expected"`
}

type refOutcome struct {
	Key            string                `json:"key"`
	Kind           stats.Kind            `json:"kind"`
	Min            *float64              `json:"min"`
	Max            *float64              `json:"max"`
	TopMin         float64               `json:"top_min"`
	BottomMax      float64               `json:"bottom_max"`
	HigherIsBetter *bool                 `json:"higher_is_better"`
	Arms           map[string][]float64  `json:"arms"`
	Covariate      map[string][]*float64 `json:"covariate"`
}

// refCaseFiles are every case file but power.json.
func refCaseFiles(t testing.TB) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(refDir, "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	files = slices.DeleteFunc(files, func(f string) bool { return filepath.Base(f) == "power.json" })
	if len(files) == 0 {
		t.Fatalf("no reference cases in %s", refDir)
	}
	return files
}

func loadCase(t testing.TB, file string) refCase {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var c refCase
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	return c
}

// design turns a case into a Design, control first and the other arms in
// key order (Go maps do not keep the file's order; only SRM and the
// recommendation see the order, and neither depends on it for these cases).
func (c refCase) design() stats.Design {
	arms := []string{c.Control}
	for a := range c.Weights {
		if a != c.Control {
			arms = append(arms, a)
		}
	}
	sort.Strings(arms[1:])
	return stats.Design{
		Alpha:      c.Alpha,
		Correction: c.Correction,
		Control:    c.Control,
		Arms:       arms,
		Weights:    c.Weights,
		Assigned:   c.Assigned,
	}
}

// outcomes turns the per-customer values into sufficient statistics:
// counts for scale, net and binary (0..1), moments for the rest, and CUPED
// sums from the aligned covariate lists (null = missing).
func (c refCase) outcomes(t testing.TB) []stats.Outcome {
	t.Helper()
	var out []stats.Outcome
	for _, ro := range c.Outcomes {
		o := stats.Outcome{
			Key:            ro.Key,
			Kind:           ro.Kind,
			TopMin:         ro.TopMin,
			BottomMax:      ro.BottomMax,
			HigherIsBetter: ro.HigherIsBetter == nil || *ro.HigherIsBetter,
			Arms:           map[string]stats.ArmData{},
		}
		if ro.Min != nil && ro.Max != nil {
			o.Min, o.Max = *ro.Min, *ro.Max
		}
		for arm, ys := range ro.Arms {
			var a stats.ArmData
			switch ro.Kind {
			case stats.KindScale, stats.KindNet:
				cs := stats.CountsOf(ys, int(o.Min), int(o.Max))
				a.Counts = &cs
			case stats.KindBinary:
				cs := stats.CountsOf(ys, 0, 1)
				a.Counts = &cs
			default:
				a.Moments = stats.MomentsOf(ys)
				if ro.Kind == stats.KindComposite {
					d := stats.DistinctOf(ys)
					a.Distinct = &d
				}
			}
			if xs, ok := ro.Covariate[arm]; ok {
				fx := make([]float64, len(xs))
				for i, x := range xs {
					fx[i] = math.NaN()
					if x != nil {
						fx[i] = *x
					}
				}
				cov := stats.CovariateSumsOf(ys, fx)
				a.Cov = &cov
			}
			o.Arms[arm] = a
		}
		out = append(out, o)
	}
	return out
}

// TestReferenceCases checks Analyze against every reference case file
// (random_*.json, edge_cases.json): every field of expected.outcomes[key].arms,
// .comparisons and expected.srm, at the README's tolerance.
func TestReferenceCases(t *testing.T) {
	for _, file := range refCaseFiles(t) {
		t.Run(filepath.Base(file), func(t *testing.T) {
			c := loadCase(t, file)
			checked := c.check(t, asJSON(t, stats.Analyze(c.design(), c.outcomes(t))))
			t.Logf("%d expected values checked", checked)
		})
	}
}

// check compares an analysis (as JSON) with the case's expected outcomes and
// srm, and returns how many values it compared.
func (c refCase) check(t *testing.T, got map[string]any) int {
	t.Helper()
	byKey := map[string]any{}
	for _, o := range got["outcomes"].([]any) {
		byKey[o.(map[string]any)["key"].(string)] = o
	}
	checked := 0
	for key, exp := range c.Expected.Outcomes {
		gotO, ok := byKey[key]
		if !ok {
			t.Errorf("outcomes[%s]: missing", key)
			continue
		}
		for _, part := range []string{"arms", "comparisons"} {
			if e, ok := exp[part]; ok {
				checked += compareJSON(t, fmt.Sprintf("outcomes[%s].%s", key, part), e, gotO.(map[string]any)[part])
			}
		}
		// An insufficient comparison has null statistics, each field present.
		cmps, _ := exp["comparisons"].(map[string]any)
		for arm, e := range cmps {
			if e.(map[string]any)["verdict"] != "insufficient_data" {
				continue
			}
			g := gotO.(map[string]any)["comparisons"].(map[string]any)[arm].(map[string]any)
			for _, f := range []string{"diff", "se", "p_value", "ci_low", "ci_high", "relative_lift", "chance_to_beat", "p_adjusted"} {
				if v, ok := g[f]; !ok || v != nil {
					t.Errorf("outcomes[%s].comparisons[%s].%s: got %v (present %v), want null", key, arm, f, v, ok)
				}
			}
		}
	}
	return checked + compareJSON(t, "srm", c.Expected.SRM, got["srm"])
}

// asJSON round-trips v through its JSON encoding, which is what the API serves.
func asJSON(t testing.TB, v any) map[string]any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// compareJSON reports every field of want that got lacks or differs in.
// Fields only in got are not checked, as the README says.
func compareJSON(t *testing.T, path string, want, got any) (leaves int) {
	t.Helper()
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			t.Errorf("%s: got %v, want an object", path, got)
			return
		}
		keys := make([]string, 0, len(w))
		for k := range w {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			gv, ok := g[k]
			if !ok {
				t.Errorf("%s.%s: missing, want %v", path, k, w[k])
				continue
			}
			leaves += compareJSON(t, path+"."+k, w[k], gv)
		}
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			t.Errorf("%s: got %v, want %v", path, got, want)
			return
		}
		for i := range w {
			leaves += compareJSON(t, fmt.Sprintf("%s[%d]", path, i), w[i], g[i])
		}
	case float64:
		g, ok := got.(float64)
		if !ok || !close(g, w) {
			t.Errorf("%s: got %v, want %v", path, got, w)
		}
		return 1
	default:
		if got != want {
			t.Errorf("%s: got %v, want %v", path, got, want)
		}
		return 1
	}
	return leaves
}

func close(got, want float64) bool {
	d := math.Abs(got - want)
	return d <= absTol || d <= relTol*math.Abs(want)
}
