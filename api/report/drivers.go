package report

import (
	"math"

	"github.com/krslab/krslab/experiment"
	"github.com/krslab/krslab/stats/plot"
)

// DriversOf is the priority matrix of a drivers question, labels in lang. The x axis is
// the drivers' means when they share one scale; drivers on different scales (a 1-7
// building block beside freedom_of_choice, a composite of 0..100) are placed by their
// means rescaled to 0..100 of their own ranges, as the composite rule rescales
// components, so that a score reads the same for each. When a driver has no range (a
// numeric outcome without bounds), every driver keeps its mean.
func DriversOf(res experiment.DriversResults, lang string) plot.DriversInput {
	in := plot.DriversInput{Outcome: Name(res.Outcome, lang), N: res.N, RSquared: res.RSquared, AdjRSquared: res.AdjRSquared,
		ScoreMin: math.NaN(), ScoreMax: math.NaN()}
	same, bounded := true, true
	var lo0, hi0 float64
	for i, d := range res.Drivers {
		lo, hi, ok := d.Bounds()
		bounded = bounded && ok
		if i == 0 {
			lo0, hi0 = lo, hi
		}
		same = same && ok && lo == lo0 && hi == hi0
	}
	switch {
	case same && len(res.Drivers) > 0:
		in.ScoreMin, in.ScoreMax = lo0, hi0
	case bounded:
		in.ScoreMin, in.ScoreMax, in.Rescaled = 0, 100, true
	}
	for i, d := range res.Drivers {
		s := res.DriversResult.Drivers[i]
		score := s.Mean
		if lo, hi, ok := d.Bounds(); in.Rescaled && ok && hi > lo {
			score = 100 * (s.Mean - lo) / (hi - lo)
		}
		in.Points = append(in.Points, plot.DriverPoint{Label: Name(d, lang), Score: score, Share: s.Share})
	}
	return in
}
