package report

import (
	"io"
	"math"
	"strconv"

	"github.com/krslab/krslab/experiment"
	"github.com/krslab/krslab/stats"
)

// CSVHeader is the first row of results.csv.
var CSVHeader = []string{"outcome", "kind", "arm", "n", "mean", "ci_low", "ci_high",
	"diff", "diff_ci_low", "diff_ci_high", "p_value", "p_adjusted", "verdict"}

// WriteCSV writes results.csv: one row per (outcome, arm), outcomes in
// analysis order, arms in the experiment's order, RFC 4180 with a header,
// through experiment.CSVWriter (a text cell that would start a spreadsheet
// formula gets a single quote in front; numbers are written as they are).
//
// The numbers are the /results JSON's, in the same shortest round-tripping
// form (strconv 'g', -1), with an empty cell where the JSON has null:
//
//   - n, ci_low, ci_high: the arm's n, ci_low, ci_high;
//   - mean: the arm's headline estimate (ArmStats.Estimate): mean for
//     scale, numeric and composite, score for net (not the JSON's mean of
//     the raw answers), rate (0..1) for binary;
//   - diff, diff_ci_low, diff_ci_high, p_value: the effect that decided the
//     verdict. With CUPED that is the cuped block's diff, ci_low, ci_high and
//     p_value (the p-value in the multiple-comparison family,
//     Comparison.FamilyP), so that a row's numbers agree with its
//     p_adjusted and verdict; otherwise the comparison's own fields;
//   - p_adjusted, verdict: the comparison's.
//
// The control arm's comparison columns and verdict are empty; an
// insufficient comparison has empty numbers and verdict insufficient_data.
func WriteCSV(w io.Writer, res experiment.Results) error {
	cw := experiment.NewCSVWriter(w)
	if err := cw.Write(CSVHeader); err != nil {
		return err
	}
	for _, o := range res.Outcomes {
		for _, a := range res.Experiment.Arms {
			if err := cw.Write(csvRow(o, a)); err != nil {
				return err
			}
		}
	}
	cw.Flush()
	return cw.Error()
}

func csvRow(o experiment.OutcomeResults, a experiment.Arm) []string {
	s := o.Arms[a.Key]
	row := []string{o.Outcome.Key, string(o.Outcome.Kind), a.Key, strconv.FormatInt(s.N, 10),
		cell(s.Estimate()), cell(s.CILow), cell(s.CIHigh)}
	c, ok := o.Comparisons[a.Key]
	if a.Control || !ok {
		return append(row, "", "", "", "", "", "")
	}
	if !c.Sufficient() {
		return append(row, "", "", "", "", "", string(c.Verdict))
	}
	diff, lo, hi := c.Effect()
	return append(row, cell(diff), cell(lo), cell(hi), cell(c.FamilyP), cell(c.PAdjusted), string(c.Verdict))
}

// cell is a number as the JSON writes it (stats.Float), empty for null.
func cell(x float64) string {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return ""
	}
	b, _ := stats.Float(x).MarshalJSON()
	return string(b)
}
