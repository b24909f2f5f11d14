package main

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
)

// simulateLine runs krslab with args and reads the rate and counts of the output line
// that starts with prefix.
func simulateLine(t *testing.T, prefix string, args ...string) (out string, rate float64, hits, runs int) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	if err := run(context.Background(), args, &stdout, &stderr); err != nil {
		t.Fatalf("%v: %v", args, err)
	}
	for _, line := range strings.Split(stdout.String(), "\n") {
		if strings.HasPrefix(line, prefix+"=") {
			if _, err := fmt.Sscanf(line, prefix+"=%f (%d of %d", &rate, &hits, &runs); err != nil {
				t.Fatalf("%q: %v", line, err)
			}
			return stdout.String(), rate, hits, runs
		}
	}
	t.Fatalf("%v printed no %s:\n%s", args, prefix, stdout.String())
	return
}

// TestSimulatePeeking: aa with --looks prints both rules' roll-out rates, the same for the
// same seed. (The rates themselves are checked in the experiment package.)
func TestSimulatePeeking(t *testing.T) {
	args := []string{"simulate", "aa", "--runs", "30", "--looks", "8", "--per-day", "40", "--target", "100", "--seed", "4", "--quiet"}
	out, _, _, runs := simulateLine(t, "second_part_roll_out_rate", args...)
	if runs != 30 || !strings.Contains(out, "8 daily looks") || !strings.Contains(out, "target 100 responses per arm") {
		t.Errorf("output:\n%s", out)
	}
	if _, _, _, runs := simulateLine(t, "first_part_roll_out_rate", args...); runs != 30 {
		t.Errorf("first part over %d runs", runs)
	}
	if again, _, _, _ := simulateLine(t, "second_part_roll_out_rate", append(args, "--workers", "1")...); again != out {
		t.Errorf("seed 4 printed\n%s then, with one worker,\n%s", out, again)
	}
}

func TestSimulateResponseBias(t *testing.T) {
	out, _, _, runs := simulateLine(t, "second_part_roll_out_rate", "simulate", "response-bias", "--runs", "20", "--n", "500", "--quiet")
	if runs != 20 || !strings.Contains(out, "first_part_roll_out_rate=") || !strings.Contains(out, "differential response flagged") {
		t.Errorf("output:\n%s", out)
	}
}

func TestSimulateRefusesBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"simulate"},
		{"simulate", "bb"},
		{"simulate", "aa", "--looks", "28", "--n", "400"},  // --n is the one-look calibration's
		{"simulate", "aa", "--arms", "3"},                  // peeking flags need --looks
		{"simulate", "power", "--looks", "28"},             // power has one look
		{"simulate", "aa", "--looks", "28", "--arms", "4"}, // 2 or 3
		{"simulate", "aa", "--looks", "400"},
		{"simulate", "aa", "--looks", "5", "--correction", "bonferroni"},
		{"simulate", "aa", "--looks", "5", "--response", "0"},
		{"simulate", "aa", "--looks", "5", "--ces-margin", "-1"},
		{"simulate", "response-bias", "--happy-quantile", "1"},
		{"simulate", "response-bias", "--happy-response", "1.5"},
		{"simulate", "response-bias", "--n", "1"},
	} {
		var stdout, stderr bytes.Buffer
		if err := run(context.Background(), args, &stdout, &stderr); err == nil {
			t.Errorf("%v accepted:\n%s", args, stdout.String())
		}
	}
}
