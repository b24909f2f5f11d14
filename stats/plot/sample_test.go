package plot

import (
	"math"
	"time"
)

// Sample inputs shared by the golden and decoding tests: the shapes a real
// report produces, including the edge cases (insufficient data, an interval
// beyond the axis, a non-significant worse row, guardrail margins held and
// not, a CUPED row).
func sampleEffects() EffectsInput {
	nan := math.NaN()
	row := func(g, label, arm string, d, lo, hi float64, unit string, sd float64, sig, better bool) EffectRow {
		return EffectRow{Group: g, Label: label, Arm: arm, Diff: d, Low: lo, High: hi, Unit: unit,
			Std: d / sd, StdLow: lo / sd, StdHigh: hi / sd, Significant: sig, Better: better}
	}
	primary := []Tag{{Text: "primary", Strong: true}}
	guardrail := []Tag{{Text: "guardrail"}}
	tagged := func(r EffectRow, tags []Tag) EffectRow { r.Tags = tags; return r }
	margin := func(r EffectRow, m float64, held bool) EffectRow {
		status := Tag{Text: "margin not shown"}
		if held {
			status.Text = "margin held"
		}
		r.Tags, r.Margin = append(guardrail, status), m
		return r
	}
	adjusted := func(r EffectRow) EffectRow { r.Adjusted = true; return r }
	const call, letter = "Personal call", "Personal letter"
	return EffectsInput{CILevel: 0.95, Note: "Means: Cohen's d. Net scores: difference ÷ control SD of the promoter (+1) / detractor (−1) indicator. Rates: difference ÷ √(p(1−p)) of control.",
		Rows: []EffectRow{
			tagged(row("KRS", "KRS", call, 4.8, 2.1, 7.5, " pts", 18, true, true), primary),
			tagged(row("KRS", "KRS", letter, 0.9, -1.8, 3.6, " pts", 18, false, true), primary),
			adjusted(row("KRS", "Satisfaction", call, 0.41, 0.22, 0.60, "", 1.3, true, true)),
			adjusted(row("KRS", "Satisfaction", letter, 0.05, -0.14, 0.24, "", 1.3, false, true)),
			row("KRS", "Trust", call, 0.12, -0.07, 0.31, "", 1.2, false, true),
			row("KRS", "Trust", letter, -0.08, -0.27, 0.11, "", 1.2, false, false),
			row("KRS", "Love", call, 0.02, -0.2, 0.24, "", 1.4, false, true),
			{Group: "KRS", Label: "Love", Arm: letter, Diff: nan, Low: nan, High: nan, Std: nan, StdLow: nan, StdHigh: nan},
			row("Building blocks", "Fairness", call, -0.35, -0.55, -0.15, "", 1.25, true, false),
			row("Building blocks", "Fairness", letter, 0.5, -1.2, 4.1, "", 1.0, false, true),
			// Guardrails: NPS (higher is better, margin 5 points), complaints (lower is better, margin 3 pp).
			margin(row("Loyalty", "NPS", call, 8.3, 1.2, 15.4, " pts", 70, true, true), -5.0/70, true),
			margin(row("Loyalty", "NPS", letter, -3.1, -10.2, 4.0, " pts", 70, false, false), -5.0/70, false),
			margin(row("Other outcomes", "Complaint repeated", call, -3.2, -6.1, -0.3, " pp", 38, true, true), 3.0/38, true),
			margin(row("Other outcomes", "Complaint repeated", letter, 1.1, -2.0, 4.2, " pp", 38, false, false), 3.0/38, false),
		}}
}

func sampleScale() DistributionInput {
	segs := []Segment{{"1", -1}, {"2", -1}, {"3", -1}, {"4", 0}, {"5", 1}, {"6", 1}, {"7", 1}}
	return DistributionInput{Title: "Satisfaction: How satisfied are you with our organisation?", Segments: segs,
		Arms: []ArmDistribution{
			{Arm: "Usual handling", N: 412, Shares: []float64{.05, .07, .12, .2, .25, .2, .11}, Summary: "mean 4.62"},
			{Arm: "Personal call", N: 398, Shares: []float64{.03, .05, .08, .16, .26, .26, .16}, Summary: "mean 5.01"},
			{Arm: "Personal letter", N: 211, Shares: []float64{.05, .06, .11, .21, .26, .19, .12}, Summary: "mean 4.66"},
		}}
}

// sampleNet is in Dutch, as the report hands it to a Dutch figure; the arms are named as
// the team named them.
func sampleNet() DistributionInput {
	return DistributionInput{Title: "NPS: Hoe waarschijnlijk is het dat je ons aanbeveelt aan vrienden of familie?",
		Segments: []Segment{{"Criticasters (0–6)", -1}, {"Passieven (7–8)", 0}, {"Promotors (9–10)", 1}},
		Arms: []ArmDistribution{
			{Arm: "Standaardantwoord", N: 1873, Shares: []float64{.31, .42, .27}, Summary: "NPS −4,0"},
			{Arm: "Terugbellen", N: 1211, Shares: []float64{.25, .41, .34}, Summary: "NPS +9,0"},
			{Arm: "Brief", N: 0, Shares: []float64{0, 0, 0}, Summary: ""},
		}}
}

func sampleBars() DistributionInput {
	return DistributionInput{Title: "Complaint repeated", Unit: "%", Axis: "Rate (%)", CILevel: 0.95,
		Arms: []ArmDistribution{
			{Arm: "Usual handling", N: 410, Estimate: 18.2, Low: 14.5, High: 21.9},
			{Arm: "Personal call", N: 401, Estimate: 15.0, Low: 11.5, High: 18.5},
			{Arm: "Personal letter", N: 1, Estimate: 100, Low: math.NaN(), High: math.NaN()},
		}}
}

// sampleComposite is the KRS, a composite: its axis is the whole 0–100 scale.
func sampleComposite() DistributionInput {
	return DistributionInput{Title: "KRS: KlantRelatieScore (satisfaction, trust, love)", Axis: "Mean score (0–100)", CILevel: 0.95,
		AxisMin: 0, AxisMax: 100,
		Arms: []ArmDistribution{
			{Arm: "Usual handling", N: 412, Estimate: 61.2, Low: 59.4, High: 63.0},
			{Arm: "Personal call", N: 398, Estimate: 66.0, Low: 64.1, High: 67.9},
			{Arm: "Personal letter", N: 211, Estimate: 62.1, Low: 59.6, High: 64.6},
		}}
}

func sampleTimeline() TimelineInput {
	day0 := time.Date(2025, 3, 3, 0, 0, 0, 0, time.UTC)
	var in TimelineInput
	in.Title = "KRS"
	in.Unit = "points"
	in.CILevel = 0.95
	in.Control = "Usual handling"
	for a, arm := range []string{"Personal call", "Personal letter"} {
		s := TimelineSeries{Arm: arm}
		for d := 0; d < 21; d++ {
			n := float64(30 * (d + 1))
			eff := 4.5 - 4.0*float64(a)
			wob := 3 * math.Sin(float64(d)/2.5) / math.Sqrt(float64(d+1))
			diff := eff + wob
			se := 18 * math.Sqrt(2/n)
			seq := se * (2.2 + 2.0/math.Sqrt(float64(d+1)))
			s.Points = append(s.Points, TimelinePoint{Day: day0.AddDate(0, 0, d), Diff: diff,
				Low: diff - 1.96*se, High: diff + 1.96*se, SeqLow: diff - seq, SeqHigh: diff + seq})
		}
		in.Series = append(in.Series, s)
	}
	return in
}
