package api_test

import (
	"encoding/csv"
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// formulas are customer ids and attribute values that a spreadsheet would run as formulas
// (OWASP, CSV Injection), and what the CSV files must say instead.
var formulas = map[string]string{
	`=HYPERLINK("http://x")`: `'=HYPERLINK("http://x")`,
	"+1":                     "'+1",
	"-2+3":                   "'-2+3",
	"@SUM(A1)":               "'@SUM(A1)",
}

// TestCSVExportsNeutraliseFormulas: ids and attribute values that start a formula come
// out of assignments.csv and results.csv?segment= with a single quote in front; ids that
// do not, and the numbers of the results, come out as they are.
func TestCSVExportsNeutraliseFormulas(t *testing.T) {
	e := newEnv(t)
	const key = "csv-formulas"
	e.createRunning(key, map[string]any{"arms": threeArms(), "outcomes": []string{"nps"}, "primary_outcome": "nps"})
	ids := []string{"-5", "cust-plain"}
	for id := range formulas {
		ids = append(ids, id)
	}
	for i := range 300 {
		ids = append(ids, fmt.Sprintf("csv-%03d", i))
	}
	values := slices.Sorted(func(yield func(string) bool) {
		for v := range formulas {
			if !yield(v) {
				return
			}
		}
	})
	var customers, responses []map[string]any
	rng := rand.New(rand.NewPCG(3, 5))
	for i, id := range ids {
		customers = append(customers, map[string]any{"customer_id": id, "attributes": map[string]string{"channel": values[i%len(values)]}})
		responses = append(responses, map[string]any{"response_id": "r-" + id, "customer_id": id,
			"answered_at": "2026-03-02T09:00:00Z", "answers": map[string]any{"nps": rng.IntN(11)}})
	}
	e.must(http.StatusOK, ingest, "POST", "/v1/customers:batch", map[string]any{"customers": customers})
	assign(t, e, key, ids...)
	e.must(http.StatusCreated, ingest, "POST", "/v1/experiments/"+key+"/responses:batch", map[string]any{"responses": responses})
	// A tab or a carriage return never gets in through the API: ids and values are
	// printable. (CSVWriter neutralises them too, for the rejects of an import.)
	for _, bad := range []string{"\tfoo", "\rfoo"} {
		e.must(http.StatusUnprocessableEntity, ingest, "POST", "/v1/experiments/"+key+"/assignments:batch", map[string]any{"customer_ids": []string{bad}})
		e.must(http.StatusUnprocessableEntity, ingest, "POST", "/v1/customers:batch", map[string]any{"customers": []map[string]any{
			{"customer_id": "cust-plain", "attributes": map[string]string{"channel": bad}}}})
	}

	readCSV := func(path string) [][]string {
		t.Helper()
		r := e.must(http.StatusOK, analyst, "GET", path, nil)
		rows, err := csv.NewReader(strings.NewReader(string(r.Body))).ReadAll()
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		return rows
	}

	got := map[string]bool{}
	for _, row := range readCSV("/v1/experiments/" + key + "/assignments.csv")[1:] {
		got[row[0]] = true
	}
	for id, want := range formulas {
		if !got[want] || got[id] {
			t.Errorf("assignments.csv: customer %q not written as %q", id, want)
		}
	}
	for _, id := range []string{"-5", "cust-plain", "csv-000"} {
		if !got[id] {
			t.Errorf("assignments.csv: customer %q not written as it is", id)
		}
	}
	if len(got) != len(ids) {
		t.Errorf("assignments.csv: %d customers, want %d", len(got), len(ids))
	}

	rows := readCSV("/v1/experiments/" + key + "/results.csv?segment=channel")
	segments := map[string]bool{}
	negative := false
	for _, row := range rows[1:] {
		segments[row[0]] = true
		for i, cell := range row[4:13] {
			if cell == "" {
				continue
			}
			if _, err := strconv.ParseFloat(cell, 64); err != nil {
				t.Errorf("results.csv: %s = %q is not a number", rows[0][4+i], cell)
			}
			negative = negative || strings.HasPrefix(cell, "-")
		}
	}
	for v, want := range formulas {
		if !segments[want] || segments[v] {
			t.Errorf("results.csv?segment=: value %q not written as %q: %v", v, want, segments)
		}
	}
	if !negative {
		t.Error("results.csv?segment=: no negative number, which the test means to see unquoted")
	}
}
