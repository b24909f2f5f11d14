package plot

import "math"

// samplePersistence is a call-back whose effect on trust lasts and a letter whose effect
// fades, over three waves.
func samplePersistence() PersistenceInput {
	return PersistenceInput{
		Title: "Trust", Unit: "points", CILevel: 0.95, Control: "Standard reply",
		Waves: []PersistenceWave{{"After a week", 0, 13}, {"After a month", 21, 45}, {"After three months", 80, 110}},
		Series: []PersistenceSeries{
			{Arm: "Personal call-back", Points: []PersistencePoint{
				{0.92, 0.57, 1.28, true}, {1.03, 0.58, 1.47, true}, {1.12, 0.68, 1.55, true}},
				Change: &PersistenceChange{From: "After a week", To: "After three months", Diff: -0.14, Low: -0.62, High: 0.33, Trend: "stable"}},
			{Arm: "Personal letter", Points: []PersistencePoint{
				{0.60, 0.33, 0.88, true}, {0.48, 0.13, 0.83, true}, {-0.03, -0.40, 0.34, false}},
				Change: &PersistenceChange{From: "After a week", To: "After three months", Diff: -0.67, Low: -1.02, High: -0.32, Trend: "fading"}},
		},
	}
}

// samplePersistenceGap has a wave without a comparison and an arm without a change.
func samplePersistenceGap() PersistenceInput {
	in := samplePersistence()
	nan := math.NaN()
	in.Series[1].Points[1] = PersistencePoint{nan, nan, nan, false}
	in.Series[1].Points[2] = PersistencePoint{nan, nan, nan, false}
	in.Series[1].Change = nil
	return in
}
