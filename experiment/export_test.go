package experiment

import "time"

// ReadResponseLines reads the data lines of a responses file as the importer does, and as
// the API reads a CSV batch row, for tests that compare the two.
func ReadResponseLines(e Experiment, header []string, recs [][]string, allowed, outcomes map[string]Outcome, now time.Time) (fast, api []ResponseLine) {
	rr := newResponseReader(e, header, allowed, outcomes, now)
	for i, rec := range recs {
		fast = append(fast, rr.line(i+2, rec))
		api = append(api, rr.checked(i+2, rec))
	}
	return fast, api
}
