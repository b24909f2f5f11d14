package stats_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/krslab/krslab/stats"
)

// surveyDir holds the reference cases of STATS.md's second part (response
// check, bounds, ordinal effect, non-inferiority, the deciding effect, the
// recommendation), computed independently with numpy/scipy 1.10 and checked
// against statsmodels 0.13 OrderedModel and R MASS::polr (see its README.md).
const surveyDir = "../../shared/testdata/survey"

// surveyCase is a case of surveyDir: the inputs of refDir plus the survey
// design (responded, guardrails, margins, target).
type surveyCase struct {
	refCase
	Responded  map[string]int64   `json:"responded"`
	Guardrails []string           `json:"guardrails"`
	Margins    map[string]float64 `json:"margins"`
	Target     int64              `json:"target"`
	Expected   struct {
		ResponseCheck  any `json:"response_check"`
		Recommendation struct {
			Action  string   `json:"action"`
			Arm     *string  `json:"arm"`
			Caveats []string `json:"caveats"`
		} `json:"recommendation"`
	} `json:"expected"`
}

func surveyCaseFiles(t testing.TB) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(surveyDir, "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatalf("no reference cases in %s", surveyDir)
	}
	return files
}

func loadSurveyCase(t testing.TB, file string) surveyCase {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var c surveyCase
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	// The embedded refCase has its own expected block (outcomes, srm).
	if err := json.Unmarshal(b, &c.refCase); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	return c
}

// design is the running experiment the README describes: the primary is the
// first outcome; responded, when absent, is the longest list of values of an
// arm (the lists are aligned by customer).
func (c surveyCase) design() stats.Design {
	d := c.refCase.design()
	d.Primary = c.Outcomes[0].Key
	d.Guardrails, d.Margins, d.TargetResponsesPerArm = c.Guardrails, c.Margins, c.Target
	d.Responded = c.Responded
	if d.Responded == nil {
		d.Responded = map[string]int64{}
		for _, o := range c.Outcomes {
			for arm, vs := range o.Arms {
				d.Responded[arm] = max(d.Responded[arm], int64(len(vs)))
			}
		}
	}
	return d
}

// TestSurveyReferenceCases checks Analyze against every case of surveyDir:
// every number of the first part (guardrails outside the family), the
// response check, and per comparison effect, sequential (net and binary
// too), bounds, ordinal and non_inferiority, p_adjusted and verdicts, and the
// recommendation's action, arm and caveats, at the README's tolerance.
func TestSurveyReferenceCases(t *testing.T) {
	for _, file := range surveyCaseFiles(t) {
		t.Run(filepath.Base(file), func(t *testing.T) {
			c := loadSurveyCase(t, file)
			a := stats.Analyze(c.design(), c.outcomes(t))
			got := asJSON(t, a)
			checked := c.refCase.check(t, got)
			checked += compareJSON(t, "response_check", c.Expected.ResponseCheck, got["response_check"])
			want := c.Expected.Recommendation
			r := a.Recommendation
			wantArm := ""
			if want.Arm != nil {
				wantArm = *want.Arm
			}
			if r.Action != want.Action || r.Arm != wantArm || !slices.Equal(r.Caveats, want.Caveats) {
				t.Errorf("recommendation %s %q %v, want %s %q %v (%s)", r.Action, r.Arm, r.Caveats, want.Action, wantArm, want.Caveats, r.Reason)
			}
			checked += 3
			t.Logf("%d expected values checked; %s", checked, r.Reason)
			t.Logf("nl: %s", r.ReasonNL)
		})
	}
}
