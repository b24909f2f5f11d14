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
	"diff", "diff_ci_low", "diff_ci_high", "p_value", "p_adjusted", "verdict",
	"method", "se", "sequential_p", "bounds_lower", "bounds_upper", "bounds_ci_low", "bounds_ci_high", "odds_ratio"}

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
//   - diff, diff_ci_low, diff_ci_high, p_value, method, se: the effect that
//     decided the verdict (the comparison's effect block: with CUPED the
//     CUPED diff, interval, p-value and se), so that a row's numbers agree
//     with its p_adjusted and verdict;
//   - p_adjusted, verdict: the comparison's;
//   - sequential_p: the always-valid p-value (sequential.p_value, the running
//     minimum over looks);
//   - bounds_lower, bounds_upper, bounds_ci_low, bounds_ci_high: the bounds
//     under differential response (bounds.lower, .upper, .ci_low, .ci_high);
//   - odds_ratio: the ordinal effect (ordinal.odds_ratio, scale and net).
//
// The control arm's comparison columns and verdict are empty; an
// insufficient comparison has empty numbers and verdict insufficient_data,
// and a block a comparison does not have (no bounds, no ordinal fit) empty
// cells.
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
	empty := make([]string, len(CSVHeader)-len(row))
	c, ok := o.Comparisons[a.Key]
	if a.Control || !ok {
		return append(row, empty...)
	}
	if !c.Sufficient() {
		empty[5] = string(c.Verdict)
		return append(row, empty...)
	}
	e := c.Deciding
	row = append(row, cell(e.Diff), cell(e.CILow), cell(e.CIHigh), cell(e.PValue), cell(c.PAdjusted), string(c.Verdict),
		e.Method, cell(e.SE))
	seq, b, odds := math.NaN(), &stats.Bounds{Lower: math.NaN(), Upper: math.NaN(), CILow: math.NaN(), CIHigh: math.NaN()}, math.NaN()
	if c.Sequential != nil {
		seq = c.Sequential.PValue
	}
	if c.Bounds != nil {
		b = c.Bounds
	}
	if c.Ordinal != nil {
		odds = c.Ordinal.OddsRatio
	}
	return append(row, cell(seq), cell(b.Lower), cell(b.Upper), cell(b.CILow), cell(b.CIHigh), cell(odds))
}

// cell is a number as the JSON writes it (stats.Float), empty for null.
func cell(x float64) string {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return ""
	}
	b, _ := stats.Float(x).MarshalJSON()
	return string(b)
}
