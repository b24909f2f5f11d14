package stats

import (
	"math"
	"slices"
)

// MannWhitneyResult is the Mann-Whitney U test of treatment against control.
type MannWhitneyResult struct {
	U               float64 // U of the treatment arm, midranks for ties
	PValue          float64 // two-sided, normal approximation with tie and 0.5 continuity correction
	ProbSuperiority float64 // U/(n_t*n_c): P(T > C) + P(T = C)/2
}

// MannWhitneyFromCounts is the exact U statistic from answer counts. Within a
// level every answer shares one midrank, so one pass over the levels gives
// the rank sum and the tie correction without touching single answers: no
// allocation, O(levels) time.
func MannWhitneyFromCounts(t, c Counts) MannWhitneyResult {
	lo := min(t.Min, c.Min)
	hi := max(t.Min+len(t.N), c.Min+len(c.N)) // exclusive
	var nt, nc, rank, rankSumT, ties float64
	for v := lo; v < hi; v++ {
		kt := float64(countAt(t, v))
		kc := float64(countAt(c, v))
		g := kt + kc
		if g == 0 {
			continue
		}
		mid := rank + (g+1)/2
		rankSumT += kt * mid
		ties += g*g*g - g
		rank += g
		nt += kt
		nc += kc
	}
	return mannWhitney(rankSumT, nt, nc, ties)
}

func countAt(c Counts, v int) int64 {
	i := v - c.Min
	if i < 0 || i >= len(c.N) {
		return 0
	}
	return c.N[i]
}

// MannWhitney is the U test on raw values of any real scale.
func MannWhitney(t, c []float64) MannWhitneyResult {
	type obs struct {
		v     float64
		treat bool
	}
	all := make([]obs, 0, len(t)+len(c))
	for _, v := range t {
		all = append(all, obs{v, true})
	}
	for _, v := range c {
		all = append(all, obs{v, false})
	}
	slices.SortFunc(all, func(a, b obs) int {
		switch {
		case a.v < b.v:
			return -1
		case a.v > b.v:
			return 1
		}
		return 0
	})
	var rankSumT, ties float64
	for i := 0; i < len(all); {
		j := i
		var kt float64
		for j < len(all) && all[j].v == all[i].v {
			if all[j].treat {
				kt++
			}
			j++
		}
		g := float64(j - i)
		rankSumT += kt * (float64(i) + (g+1)/2)
		ties += g*g*g - g
		i = j
	}
	return mannWhitney(rankSumT, float64(len(t)), float64(len(c)), ties)
}

// mannWhitney turns the treatment rank sum into U and its asymptotic
// p-value (as scipy.stats.mannwhitneyu, method="asymptotic",
// use_continuity=True). ties is the sum of g^3-g over tie groups.
func mannWhitney(rankSumT, nt, nc, ties float64) MannWhitneyResult {
	nan := math.NaN()
	if nt == 0 || nc == 0 {
		return MannWhitneyResult{U: nan, PValue: nan, ProbSuperiority: nan}
	}
	n := nt + nc
	u := rankSumT - nt*(nt+1)/2
	r := MannWhitneyResult{U: u, PValue: nan, ProbSuperiority: u / (nt * nc)}
	sd := math.Sqrt(nt * nc / 12 * ((n + 1) - ties/(n*(n-1))))
	if sd > 0 {
		z := (math.Abs(u-nt*nc/2) - 0.5) / sd
		r.PValue = math.Min(1, 2*normalSurvival(z))
	}
	return r
}
