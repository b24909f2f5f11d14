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

// TestSimulateWavesAA: aa with --waves prints how often A/A experiments surveyed in waves
// were called fading or growing, with its interval, the same for the same seed whatever
// the workers. (The rate itself is checked in the experiment package.)
func TestSimulateWavesAA(t *testing.T) {
	args := []string{"simulate", "aa", "--waves", "2", "--runs", "40", "--n", "200", "--seed", "2", "--quiet"}
	out, rate, hits, runs := simulateLine(t, "trend_false_positive_rate", args...)
	if runs != 40 || rate != float64(hits)/40 || !strings.Contains(out, "200 customers per arm surveyed in 2 waves") ||
		!strings.Contains(out, "95% interval") || !strings.Contains(out, "answered both the first and the last wave") {
		t.Errorf("output:\n%s", out)
	}
	if again, _, _, _ := simulateLine(t, "trend_false_positive_rate", append(args, "--workers", "1")...); again != out {
		t.Errorf("seed 2 printed\n%s then, with one worker,\n%s", out, again)
	}
}

// TestSimulateFade: fade prints how often persistence called the fading effect fading, with
// the planned power beside it, the true and the estimated change, and the durable rate.
func TestSimulateFade(t *testing.T) {
	out, rate, hits, runs := simulateLine(t, "fading_rate", "simulate", "fade", "--runs", "40", "--n", "600", "--waves", "2", "--quiet")
	if runs != 40 || rate != float64(hits)/40 || !strings.Contains(out, "planned_power=") ||
		!strings.Contains(out, "0.4 points in the first wave and 0.2 in the last") || !strings.Contains(out, "change of the effect on the answers: true -0.18") {
		t.Errorf("output:\n%s", out)
	}
	if _, _, _, runs := simulateLine(t, "durable_rate", "simulate", "fade", "--runs", "40", "--n", "600", "--waves", "2", "--quiet"); runs != 40 {
		t.Errorf("durable over %d runs", runs)
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
		{"simulate", "aa", "--waves", "2", "--looks", "5"}, // two checks at once
		{"simulate", "aa", "--waves", "1"},
		{"simulate", "aa", "--waves", "13"},
		{"simulate", "aa", "--correlation", "0.5"}, // needs --waves
		{"simulate", "aa", "--response", "0.5"},    // needs --looks or --waves
		{"simulate", "aa", "--waves", "2", "--correlation", "1"},
		{"simulate", "aa", "--waves", "2", "--arms", "3"}, // --looks's
		{"simulate", "power", "--waves", "2"},             // power has one look
		{"simulate", "fade", "--response", "0"},
		{"simulate", "fade", "--effect", "NaN"},
		{"simulate", "fade", "--remaining", "Inf"},
		{"simulate", "fade", "--n", "1"},
	} {
		var stdout, stderr bytes.Buffer
		if err := run(context.Background(), args, &stdout, &stderr); err == nil {
			t.Errorf("%v accepted:\n%s", args, stdout.String())
		}
	}
}
