package stats

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
)

// Distinct are the distinct values of one arm's answers with their counts,
// in ascending order: what trimming needs of an outcome that is not counted
// per integer level (a composite), in memory proportional to the number of
// distinct values, not of customers.
type Distinct struct {
	Values []float64
	N      []int64
}

// DistinctOf counts the distinct values of xs.
func DistinctOf(xs []float64) Distinct {
	ns := make([]int64, len(xs))
	for i := range ns {
		ns[i] = 1
	}
	return DistinctFrom(xs, ns)
}

// DistinctFrom sorts values with their counts and adds up the counts of equal
// values (a store may read one value in several groups). It does not change
// its arguments.
func DistinctFrom(values []float64, counts []int64) Distinct {
	if len(values) != len(counts) {
		panic(fmt.Sprintf("stats: DistinctFrom: %d values but %d counts", len(values), len(counts)))
	}
	idx := make([]int, len(values))
	for i := range idx {
		idx[i] = i
	}
	slices.SortFunc(idx, func(a, b int) int {
		switch {
		case values[a] < values[b]:
			return -1
		case values[a] > values[b]:
			return 1
		}
		return 0
	})
	var d Distinct
	for _, i := range idx {
		if counts[i] <= 0 {
			continue
		}
		if k := len(d.Values) - 1; k >= 0 && d.Values[k] == values[i] {
			d.N[k] += counts[i]
			continue
		}
		d.Values = append(d.Values, values[i])
		d.N = append(d.N, counts[i])
	}
	return d
}

// Bounds are Lee's (2009) trimming bounds on the treatment - control
// difference of an outcome's statistic (mean, net score, rate) when the arms
// answered at different rates, with the Imbens-Manski (2004) interval that
// covers the true difference with probability 1 - alpha (treating the trim
// share as known, a documented approximation).
type Bounds struct {
	TrimmedArm       string  // "treatment" or "control": the arm that answered more often
	TrimShare        float64 // p = (q_more - q_less)/q_more, q = answers/assigned
	Lower, Upper     float64
	SELower, SEUpper float64
	CILow, CIHigh    float64
}

// Trimmed arms of Bounds.
const (
	TrimmedTreatment = "treatment"
	TrimmedControl   = "control"
)

// MarshalJSON writes trimmed_arm, trim_share, lower, upper, ci_low and ci_high.
func (b Bounds) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		TrimmedArm string `json:"trimmed_arm"`
		TrimShare  Float  `json:"trim_share"`
		Lower      Float  `json:"lower"`
		Upper      Float  `json:"upper"`
		CILow      Float  `json:"ci_low"`
		CIHigh     Float  `json:"ci_high"`
	}{b.TrimmedArm, Float(b.TrimShare), Float(b.Lower), Float(b.Upper), Float(b.CILow), Float(b.CIHigh)})
}

// LeeBounds bounds the difference of a treatment arm with control on one
// outcome. q_a = n_a/assigned_a; the arm with the higher q is trimmed by
// p = (q_more - q_less)/q_more, its p*n highest values (boundary value by
// weight) for one bound and its p*n lowest for the other:
//
//	treatment trimmed: lower = stat(t without its top) - stat(c), upper = stat(t without its bottom) - stat(c)
//	control trimmed:   lower = stat(t) - stat(c without its bottom), upper = stat(t) - stat(c without its top)
//
// A trimmed arm's statistic takes the weighted values and n_eff = (1-p)n;
// each bound's se is sqrt(se_1^2 + se_2^2) of its two statistics. The
// interval is lower - c*se_lower .. upper + c*se_upper with c solving
// Phi(c + (upper-lower)/max(se)) - Phi(-c) = 1 - alpha. It is nil for numeric
// outcomes (their values are not summarized), an arm without Counts (scale,
// net, binary) or Distinct (composite), either arm with fewer than 2 values or nobody assigned, n_eff < 2 or both
// se 0.
func LeeBounds(o Outcome, t, c ArmData, assignedT, assignedC int64, alpha float64) *Bounds {
	lt, okT := levelsOf(o, t)
	lc, okC := levelsOf(o, c)
	if !okT || !okC || assignedT <= 0 || assignedC <= 0 {
		return nil
	}
	nt, nc := total(lt), total(lc)
	if nt < 2 || nc < 2 {
		return nil
	}
	qt, qc := nt/float64(assignedT), nc/float64(assignedC)
	var b Bounds
	var lo1, lo2, hi1, hi2 armStat // the statistics (treatment, control) of each bound
	if qt >= qc {
		b.TrimmedArm, b.TrimShare = TrimmedTreatment, (qt-qc)/qt
		if (1-b.TrimShare)*nt < 2 {
			return nil
		}
		whole := statOf(o, lc, 0, false)
		lo1, lo2 = statOf(o, lt, b.TrimShare, true), whole
		hi1, hi2 = statOf(o, lt, b.TrimShare, false), whole
	} else {
		b.TrimmedArm, b.TrimShare = TrimmedControl, (qc-qt)/qc
		if (1-b.TrimShare)*nc < 2 {
			return nil
		}
		whole := statOf(o, lt, 0, false)
		lo1, lo2 = whole, statOf(o, lc, b.TrimShare, false)
		hi1, hi2 = whole, statOf(o, lc, b.TrimShare, true)
	}
	b.Lower, b.Upper = lo1.stat-lo2.stat, hi1.stat-hi2.stat
	b.SELower, b.SEUpper = math.Hypot(lo1.se, lo2.se), math.Hypot(hi1.se, hi2.se)
	se := math.Max(b.SELower, b.SEUpper)
	if !(se > 0) {
		return nil
	}
	k := imbensManski(b.Upper-b.Lower, se, alpha)
	b.CILow, b.CIHigh = b.Lower-k*b.SELower, b.Upper+k*b.SEUpper
	return &b
}

// imbensManski is the critical value c of the Imbens-Manski interval:
// Phi(c + width/se) - Phi(-c) = 1 - alpha, between z(1-alpha) (a wide
// identified set: one-sided at each end) and z(1-alpha/2) (width 0). In
// survival form, alpha - S(c) - S(c + width/se) = 0, which keeps its digits
// where Phi is near 1; the left side grows with c, so bisection finds it.
func imbensManski(width, se, alpha float64) float64 {
	hi := zCrit(alpha)
	if !(width > 0) {
		return hi
	}
	r := width / se
	lo := zCrit(2 * alpha)
	for range 200 {
		mid := (lo + hi) / 2
		if mid == lo || mid == hi {
			break
		}
		if alpha-normalSurvival(mid)-normalSurvival(mid+r) < 0 {
			lo = mid
		} else {
			hi = mid
		}
	}
	return (lo + hi) / 2
}

// level is one distinct value of an arm with its count (a weight once trimmed).
type level struct{ v, n float64 }

// levelsOf lays an arm's values out as ascending levels: from the counts of
// scale, net and binary outcomes, from Distinct for composites. ok is false
// when the kind has no such values (numeric) or the arm has answers but not
// them.
func levelsOf(o Outcome, a ArmData) (ls []level, ok bool) {
	switch o.Kind {
	case KindScale, KindNet, KindBinary:
		if a.Counts == nil {
			return nil, a.moments().N == 0
		}
		for i, k := range a.Counts.N {
			if k > 0 {
				ls = append(ls, level{float64(a.Counts.Level(i)), float64(k)})
			}
		}
		return ls, true
	case KindComposite:
		if a.Distinct == nil {
			return nil, a.moments().N == 0
		}
		for i, v := range a.Distinct.Values {
			ls = append(ls, level{v, float64(a.Distinct.N[i])})
		}
		return ls, true
	}
	return nil, false
}

func total(ls []level) float64 {
	var n float64
	for _, l := range ls {
		n += l.n
	}
	return n
}

// armStat is one arm's statistic of the kind (mean, net score or rate) with its se.
type armStat struct{ stat, se float64 }

// statOf is the statistic of the levels with share p of them trimmed from the
// top (top) or the bottom: the p*n extreme values dropped, the boundary level
// by weight, over n_eff = (1-p)n.
func statOf(o Outcome, ls []level, p float64, top bool) armStat {
	n := total(ls)
	w := make([]float64, len(ls))
	cut := p * n
	for k := range ls {
		i := k
		if top {
			i = len(ls) - 1 - k
		}
		drop := math.Min(ls[i].n, cut)
		w[i] = ls[i].n - drop
		cut -= drop
	}
	neff := (1 - p) * n
	switch o.Kind {
	case KindNet:
		var prom, detr float64
		for i, l := range ls {
			if l.v >= o.TopMin {
				prom += w[i]
			}
			if l.v <= o.BottomMax {
				detr += w[i]
			}
		}
		prom, detr = prom/neff, detr/neff
		return armStat{100 * (prom - detr), netSD(prom, detr) / math.Sqrt(neff)}
	case KindBinary:
		var ones float64
		for i, l := range ls {
			ones += w[i] * l.v
		}
		r := ones / neff
		return armStat{r, math.Sqrt(r * (1 - r) / neff)}
	}
	var sum float64
	for i, l := range ls {
		sum += w[i] * l.v
	}
	mean := sum / neff
	var ss float64
	for i, l := range ls {
		ss += w[i] * (l.v - mean) * (l.v - mean)
	}
	return armStat{mean, math.Sqrt(ss / (neff - 1) / neff)}
}
