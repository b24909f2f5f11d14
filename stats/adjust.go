package stats

import (
	"fmt"
	"math"
	"slices"
)

// Corrections for multiple comparisons, as named in experiments.
const (
	CorrectionHolm = "holm"
	CorrectionBH   = "bh"
	CorrectionNone = "none"
)

// HolmAdjust returns Holm-Bonferroni step-down adjusted p-values in the
// order of p: the k-th smallest becomes max over j <= k of (m-j+1)p_(j),
// capped at 1. They control the family-wise error rate. p must not hold NaN.
func HolmAdjust(p []float64) []float64 {
	m := float64(len(p))
	idx := ascending(p)
	adj := make([]float64, len(p))
	run := 0.0
	for k, i := range idx {
		run = math.Max(run, math.Min(1, (m-float64(k))*p[i]))
		adj[i] = run
	}
	return adj
}

// BHAdjust returns Benjamini-Hochberg step-up adjusted p-values in the order
// of p: the k-th smallest becomes min over j >= k of m/j p_(j), capped at 1.
// They control the false discovery rate.
func BHAdjust(p []float64) []float64 {
	m := float64(len(p))
	idx := ascending(p)
	adj := make([]float64, len(p))
	run := 1.0
	for k := len(idx) - 1; k >= 0; k-- {
		i := idx[k]
		run = math.Min(run, m/float64(k+1)*p[i])
		adj[i] = run
	}
	return adj
}

// AdjustP applies the named correction ("holm", "bh" or "none").
func AdjustP(p []float64, correction string) ([]float64, error) {
	switch correction {
	case CorrectionHolm:
		return HolmAdjust(p), nil
	case CorrectionBH:
		return BHAdjust(p), nil
	case CorrectionNone:
		return slices.Clone(p), nil
	}
	return nil, fmt.Errorf("stats: unknown correction %q (want holm, bh or none)", correction)
}

// ascending returns the indices of p sorted by p; stable so that equal
// p-values keep a reproducible order.
func ascending(p []float64) []int {
	idx := make([]int, len(p))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int {
		switch {
		case p[a] < p[b]:
			return -1
		case p[a] > p[b]:
			return 1
		}
		return 0
	})
	return idx
}
