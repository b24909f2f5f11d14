package stats_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/krslab/krslab/stats"
)

// TestSampleSize checks every question of power.json (statsmodels 0.13
// TTestIndPower for mean kinds, the STATS.md formula for binary).
func TestSampleSize(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(refDir, "power.json"))
	if err != nil {
		t.Fatal(err)
	}
	var cases []struct {
		Kind     stats.Kind `json:"kind"`
		MDE      float64    `json:"mde"`
		SD       *float64   `json:"sd"`
		Baseline *float64   `json:"baseline_rate"`
		Alpha    float64    `json:"alpha"`
		Power    float64    `json:"power"`
		Want     int        `json:"expected_n_per_arm"`
	}
	if err := json.Unmarshal(b, &cases); err != nil {
		t.Fatal(err)
	}
	if len(cases) == 0 {
		t.Fatal("power.json has no cases")
	}
	for i, c := range cases {
		t.Run(fmt.Sprintf("power.json[%d]_%s", i, c.Kind), func(t *testing.T) {
			var n int
			var err error
			if c.Kind == stats.KindBinary {
				n, err = stats.SampleSizeProportions(*c.Baseline, c.MDE, c.Alpha, c.Power)
			} else {
				n, err = stats.SampleSizeMeans(c.MDE, *c.SD, c.Alpha, c.Power)
			}
			if err != nil {
				t.Fatal(err)
			}
			if n != c.Want {
				t.Errorf("n per arm = %d, want %d", n, c.Want)
			}
			if c.Kind == stats.KindBinary {
				return
			}
			// n is the smallest: one fewer must fall short of the target.
			d := c.MDE / *c.SD
			if p := stats.PowerMeans(d, float64(n), c.Alpha); p < c.Power {
				t.Errorf("power at n = %d is %v < %v", n, p, c.Power)
			}
			if p := stats.PowerMeans(d, float64(n-1), c.Alpha); p >= c.Power {
				t.Errorf("power at n-1 = %d is %v >= %v", n-1, p, c.Power)
			}
		})
	}
}

func TestSampleSizeErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		f    func() (int, error)
	}{
		{"zero mde", func() (int, error) { return stats.SampleSizeMeans(0, 1, 0.05, 0.8) }},
		{"zero sd", func() (int, error) { return stats.SampleSizeMeans(1, 0, 0.05, 0.8) }},
		{"alpha 1", func() (int, error) { return stats.SampleSizeMeans(1, 1, 1, 0.8) }},
		{"power 1", func() (int, error) { return stats.SampleSizeMeans(1, 1, 0.05, 1) }},
		{"rate above 1", func() (int, error) { return stats.SampleSizeProportions(0.9, 0.2, 0.05, 0.8) }},
		{"zero baseline", func() (int, error) { return stats.SampleSizeProportions(0, 0.1, 0.05, 0.8) }},
	} {
		if _, err := tc.f(); err == nil {
			t.Errorf("%s: no error", tc.name)
		}
	}
}
