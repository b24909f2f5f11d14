package stats

import (
	"math"

	"gonum.org/v1/gonum/stat/distuv"
)

// Heterogeneity is Cochran's Q test of whether one comparison's effect differs
// between subgroups (segments of customers), with Higgins' I²:
//
//	w_i = 1/se_i²,  d̄ = Σ w_i d_i / Σ w_i,  Q = Σ w_i (d_i − d̄)²,
//	df = k − 1,  p = P(χ²_df ≥ Q),  I² = max(0, (Q − df)/Q)
//
// over the k subgroups with an effect. With fewer than two such subgroups
// there is nothing to compare: Q, PValue, I2 and Pooled are NaN, DF is 0 and
// Heterogeneous false.
type Heterogeneity struct {
	K      int     // subgroups with a finite effect and a positive se
	Q      float64 // Cochran's Q
	DF     int     // K - 1
	PValue float64 // chi-square survival of Q at DF
	I2     float64 // share of the variation between subgroups beyond chance, 0..1
	Pooled float64 // the fixed-effect (inverse-variance weighted) mean effect d̄
	// Heterogeneous is PValue < alpha: the subgroups' effects differ by more
	// than their standard errors explain. It is a warning to read subgroup
	// effects with care, not a verdict; Q has little power with few subgroups.
	Heterogeneous bool
}

// CochranQ tests whether the effects (one per subgroup, each with its
// standard error) are homogeneous. Entries whose effect is not finite or
// whose se is not a positive finite number are left out (a subgroup with too
// little data). alpha outside (0, 1) means DefaultAlpha.
func CochranQ(effects, ses []float64, alpha float64) Heterogeneity {
	if len(effects) != len(ses) {
		panic("stats: CochranQ: effects and ses differ in length")
	}
	if !(alpha > 0 && alpha < 1) {
		alpha = DefaultAlpha
	}
	var ds, ws []float64
	for i, d := range effects {
		se := ses[i]
		if math.IsNaN(d) || math.IsInf(d, 0) || !(se > 0) || math.IsInf(se, 0) {
			continue
		}
		ds, ws = append(ds, d), append(ws, 1/(se*se))
	}
	nan := math.NaN()
	h := Heterogeneity{K: len(ds), Q: nan, PValue: nan, I2: nan, Pooled: nan}
	if len(ds) < 2 {
		return h
	}
	var sw, swd float64
	for i, d := range ds {
		sw += ws[i]
		swd += ws[i] * d
	}
	pooled := swd / sw
	var q float64
	for i, d := range ds {
		q += ws[i] * (d - pooled) * (d - pooled)
	}
	h.DF = len(ds) - 1
	h.Q, h.Pooled = q, pooled
	h.PValue = distuv.ChiSquared{K: float64(h.DF)}.Survival(q)
	h.I2 = 0
	if q > 0 {
		h.I2 = math.Max(0, (q-float64(h.DF))/q)
	}
	h.Heterogeneous = h.PValue < alpha
	return h
}

// FamilyMember is one comparison of a multiple-comparison family that a
// caller assembles outside Analyze, for example every (segment, outcome,
// treatment) comparison of a segmented analysis.
type FamilyMember struct {
	C              *Comparison
	HigherIsBetter bool
}

// AdjustFamily adjusts the FamilyP of every member together with the named
// correction (unknown means holm, as in Analyze) and sets PAdjusted,
// Significant and Verdict exactly as Analyze does (STATS.md: significant is
// p_adjusted < alpha; better or worse by the outcome's direction). Members
// without enough data or without a FamilyP are not part of the family and
// are left as they are; guardrails (Comparison.Guardrail) stand outside it,
// their PAdjusted being their own FamilyP. alpha outside (0, 1) means
// DefaultAlpha. It returns the size of the family.
func AdjustFamily(members []FamilyMember, correction string, alpha float64) int {
	if !(alpha > 0 && alpha < 1) {
		alpha = DefaultAlpha
	}
	var in []int
	var ps []float64
	for i, m := range members {
		if m.C == nil || !m.C.Sufficient() || math.IsNaN(m.C.FamilyP) {
			continue
		}
		if m.C.Guardrail {
			m.C.decide(m.C.FamilyP, alpha, m.HigherIsBetter)
			continue
		}
		in = append(in, i)
		ps = append(ps, m.C.FamilyP)
	}
	adj, err := AdjustP(ps, correction)
	if err != nil {
		adj = HolmAdjust(ps)
	}
	for k, i := range in {
		members[i].C.decide(adj[k], alpha, members[i].HigherIsBetter)
	}
	return len(in)
}
