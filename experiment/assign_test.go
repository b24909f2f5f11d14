package experiment_test

import (
	"encoding/json"
	"math"
	"os"
	"testing"

	"github.com/krslab/krslab/experiment"
)

// TestAssignArmReference checks every case of ../shared/testdata/assignment.json, computed
// by an independent implementation of the DOMAIN.md rule.
func TestAssignArmReference(t *testing.T) {
	raw, err := os.ReadFile("../../shared/testdata/assignment.json")
	if err != nil {
		t.Fatalf("reference cases: %v", err)
	}
	var ref struct {
		Cases []struct {
			Salt       string           `json:"salt"`
			CustomerID string           `json:"customer_id"`
			Arms       []experiment.Arm `json:"arms"`
			U          float64          `json:"u"`
			Arm        string           `json:"arm"`
		} `json:"cases"`
	}
	if err := json.Unmarshal(raw, &ref); err != nil {
		t.Fatal(err)
	}
	if len(ref.Cases) == 0 {
		t.Fatal("no reference cases")
	}
	for _, c := range ref.Cases {
		u := experiment.HashUnit(c.Salt, c.CustomerID)
		if math.Abs(u-c.U) > 1e-15 {
			t.Errorf("HashUnit(%q, %q) = %.17g, want %.17g", c.Salt, c.CustomerID, u, c.U)
		}
		if got := experiment.AssignArm(c.Salt, c.CustomerID, c.Arms); got != c.Arm {
			t.Errorf("AssignArm(%q, %q, %+v) = %q, want %q", c.Salt, c.CustomerID, c.Arms, got, c.Arm)
		}
	}
	t.Logf("%d reference cases", len(ref.Cases))
}

func TestAssignArmSplitFollowsWeights(t *testing.T) {
	arms := []experiment.Arm{{Key: "control", Weight: 2, Control: true}, {Key: "a", Weight: 1}, {Key: "b", Weight: 1}}
	counts := map[string]int{}
	const n = 40000
	for i := range n {
		counts[experiment.AssignArm("split", string(rune('a'+i%26))+itoa(i), arms)]++
	}
	for key, want := range map[string]float64{"control": 0.5, "a": 0.25, "b": 0.25} {
		got := float64(counts[key]) / n
		// 5 standard errors of a proportion at n = 40000 is about 0.0125.
		if math.Abs(got-want) > 0.0125 {
			t.Errorf("share of %s = %.4f, want about %.2f", key, got, want)
		}
	}
}

func itoa(i int) string {
	b, _ := json.Marshal(i)
	return string(b)
}

func BenchmarkAssignArm(b *testing.B) {
	arms := []experiment.Arm{{Key: "control", Weight: 1, Control: true}, {Key: "callback", Weight: 1}, {Key: "letter", Weight: 1}}
	for b.Loop() {
		experiment.AssignArm("complaint-callback", "cust-123456", arms)
	}
}
