package report

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"strconv"
	"testing"
)

// TestCSVMatchesJSON reads results.csv back and checks every number
// against the JSON field of /results it comes from, as text: both use the
// shortest round-tripping form, so equal text means equal float64.
func TestCSVMatchesJSON(t *testing.T) {
	res, _ := fixture()
	var buf bytes.Buffer
	if err := WriteCSV(&buf, res); err != nil {
		t.Fatal(err)
	}
	r := csv.NewReader(bytes.NewReader(buf.Bytes()))
	r.FieldsPerRecord = len(CSVHeader) // RFC 4180: every record as wide as the header
	rows, err := r.ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(rows), 1+len(res.Outcomes)*len(res.Experiment.Arms); got != want {
		t.Fatalf("%d rows, want %d", got, want)
	}
	for i, h := range CSVHeader {
		if rows[0][i] != h {
			t.Fatalf("header %v, want %v", rows[0], CSVHeader)
		}
	}
	col := map[string]int{}
	for i, h := range CSVHeader {
		col[h] = i
	}
	sawCUPED, sawBounds, sawOrdinal := false, false, false
	k := 1
	for _, o := range res.Outcomes {
		for _, a := range res.Experiment.Arms {
			row := rows[k]
			k++
			at := func(name string) string { return row[col[name]] }
			if at("outcome") != o.Outcome.Key || at("arm") != a.Key || at("kind") != string(o.Outcome.Kind) {
				t.Fatalf("row %d is %v, want %s/%s", k, row[:3], o.Outcome.Key, a.Key)
			}
			arm := jsonFields(t, o.Arms[a.Key])
			mean := map[string]string{"net": "score", "binary": "rate"}[string(o.Outcome.Kind)]
			if mean == "" {
				mean = "mean"
			}
			want := map[string]string{"n": arm["n"], "mean": arm[mean], "ci_low": arm["ci_low"], "ci_high": arm["ci_high"]}
			if a.Control {
				for _, c := range CSVHeader[7:] {
					want[c] = ""
				}
			} else {
				cmp := jsonFields(t, o.Comparisons[a.Key])
				// The deciding effect (CUPED's when present: its p-value is the one in the family).
				eff := block(t, cmp["effect"])
				if unquote(eff["method"]) == "cuped" {
					sawCUPED = true
					if at("p_value") == cmp["p_value"] {
						t.Errorf("%s/%s: p_value is the unadjusted Welch p, not CUPED's", o.Outcome.Key, a.Key)
					}
				}
				want["diff"], want["diff_ci_low"], want["diff_ci_high"], want["p_value"] = eff["diff"], eff["ci_low"], eff["ci_high"], eff["p_value"]
				want["method"], want["se"] = unquote(eff["method"]), eff["se"]
				want["p_adjusted"], want["verdict"] = cmp["p_adjusted"], unquote(cmp["verdict"])
				want["sequential_p"] = block(t, cmp["sequential"])["p_value"]
				b := block(t, cmp["bounds"])
				want["bounds_lower"], want["bounds_upper"], want["bounds_ci_low"], want["bounds_ci_high"] = b["lower"], b["upper"], b["ci_low"], b["ci_high"]
				want["odds_ratio"] = block(t, cmp["ordinal"])["odds_ratio"]
				sawBounds = sawBounds || b["lower"] != ""
				sawOrdinal = sawOrdinal || want["odds_ratio"] != ""
			}
			for name, w := range want {
				if w == "null" {
					w = ""
				}
				if got := at(name); got != w {
					t.Errorf("%s/%s %s = %q, JSON has %q", o.Outcome.Key, a.Key, name, got, w)
				}
			}
			for _, name := range []string{"mean", "ci_low", "diff", "p_value", "se", "sequential_p", "bounds_lower", "odds_ratio"} {
				if v := at(name); v != "" {
					if _, err := strconv.ParseFloat(v, 64); err != nil {
						t.Errorf("%s/%s %s = %q is not a plain number", o.Outcome.Key, a.Key, name, v)
					}
				}
			}
		}
	}
	if !sawCUPED || !sawBounds || !sawOrdinal {
		t.Errorf("the fixture lacks a CUPED comparison (%v), bounds (%v) or an ordinal fit (%v); the test does not cover that path",
			sawCUPED, sawBounds, sawOrdinal)
	}
}

// block is the fields of a comparison's block as raw JSON text; none for an
// absent or null block, so that each reads as an empty cell.
func block(t *testing.T, raw string) map[string]string {
	t.Helper()
	if raw == "" || raw == "null" {
		return map[string]string{}
	}
	return jsonFields(t, json.RawMessage(raw))
}

// jsonFields marshals v as the API does and returns its top-level fields
// as raw JSON text.
func jsonFields(t *testing.T, v any) map[string]string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for k, raw := range m {
		out[k] = string(raw)
	}
	return out
}

func unquote(s string) string {
	u, err := strconv.Unquote(s)
	if err != nil {
		return s
	}
	return u
}

// TestCSVInsufficientComparison: no numbers, verdict insufficient_data.
func TestCSVInsufficientComparison(t *testing.T) {
	// letter keeps a single answer: too few to compare.
	var kept []answer
	letters := 0
	for _, a := range simulate(3, 40) {
		if a.arm == "letter" {
			if letters++; letters > 1 {
				continue
			}
		}
		kept = append(kept, a)
	}
	res := analyse(fixtureExperiment(), kept, map[string]int64{"control": 50, "callback": 50, "letter": 50})
	var buf bytes.Buffer
	if err := WriteCSV(&buf, res); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	for _, row := range rows[1:] {
		if row[2] != "letter" {
			continue
		}
		if (row[3] != "0" && row[3] != "1") || row[12] != "insufficient_data" || row[7] != "" || row[10] != "" {
			t.Errorf("letter row %v: want n <= 1, empty comparison numbers, insufficient_data", row)
		}
	}
}
