package stats

import (
	"encoding/json"
	"math"
)

// Verdict is the decision about one comparison.
type Verdict string

// Verdicts. A comparison is better or worse only when significant after the
// family-wide adjustment.
const (
	VerdictBetter           Verdict = "better"
	VerdictWorse            Verdict = "worse"
	VerdictInconclusive     Verdict = "inconclusive"
	VerdictInsufficientData Verdict = "insufficient_data"
)

// Comparison is a treatment arm against control on one outcome. Fields that
// do not apply to the outcome's kind are NaN (or nil); when Verdict is
// VerdictInsufficientData every statistic is NaN (null in JSON).
type Comparison struct {
	Kind    Kind
	Verdict Verdict

	Diff   float64 // treatment - control: means, net score points or rates
	SE     float64 // binary: the unpooled se
	DF     float64 // mean kinds (Welch)
	T      float64 // mean kinds
	Z      float64 // net, binary (binary: on the pooled se)
	PValue float64 // of the unadjusted test above
	CILow  float64
	CIHigh float64

	RelativeLift float64 // diff/control; NaN for net or a zero control
	CohensD      float64 // mean kinds

	Sequential  *Sequential        // mean kinds
	CUPED       *CUPEDResult       // mean kinds with covariates
	MannWhitney *MannWhitneyResult // scale and net

	// Covariates is whether the outcome has covariates (mean kinds): the JSON
	// then has a cuped block, null where CUPED does not apply.
	Covariates bool

	ChanceToBeat float64

	// FamilyP is the p-value that entered the multiple-comparison family:
	// CUPED's when present, else PValue.
	FamilyP     float64
	PAdjusted   float64
	Significant bool
}

// Sufficient reports whether both arms had enough data for a test.
func (c Comparison) Sufficient() bool { return c.Verdict != VerdictInsufficientData }

// Effect is the difference and interval of the test that decided the
// verdict: CUPED's when present, else the plain one. Use it when reporting
// the effect next to PAdjusted.
func (c Comparison) Effect() (diff, lo, hi float64) {
	if c.CUPED != nil {
		return c.CUPED.Diff, c.CUPED.CILow, c.CUPED.CIHigh
	}
	return c.Diff, c.CILow, c.CIHigh
}

func insufficient(k Kind) Comparison {
	nan := math.NaN()
	return Comparison{
		Kind: k, Verdict: VerdictInsufficientData,
		Diff: nan, SE: nan, DF: nan, T: nan, Z: nan, PValue: nan, CILow: nan, CIHigh: nan,
		RelativeLift: nan, CohensD: nan, ChanceToBeat: nan, FamilyP: nan, PAdjusted: nan,
	}
}

// Compare computes a treatment's comparison with control on one outcome,
// before the family-wide adjustment: PAdjusted is NaN, Significant false and
// the verdict inconclusive (or insufficient_data) until Analyze decides.
func Compare(o Outcome, t, c ArmData, alpha float64) Comparison {
	r := insufficient(o.Kind)
	switch o.Kind {
	case KindNet:
		nt := NetScore(t.counts(), o.TopMin, o.BottomMax)
		nc := NetScore(c.counts(), o.TopMin, o.BottomMax)
		if nt.N < 2 || nc.N < 2 {
			return r
		}
		z := NetDiff(nt, nc, alpha)
		if !(z.SE > 0) {
			return r
		}
		r.Diff, r.SE, r.Z, r.PValue, r.CILow, r.CIHigh = z.Diff, z.SE, z.Z, z.PValue, z.CILow, z.CIHigh
		mw := MannWhitneyFromCounts(t.counts(), c.counts())
		r.MannWhitney = &mw
	case KindBinary:
		mt, mc := t.moments(), c.moments()
		if mt.N < 2 || mc.N < 2 {
			return r
		}
		p := TwoProportion(int64(math.Round(mt.Total())), mt.N, int64(math.Round(mc.Total())), mc.N, alpha)
		if !(p.SE > 0) {
			return r
		}
		r.Diff, r.SE, r.Z, r.PValue, r.CILow, r.CIHigh = p.Diff, p.SE, p.Z, p.PValue, p.CILow, p.CIHigh
		r.RelativeLift = p.RelativeLift
	default:
		r.Covariates = t.Cov != nil || c.Cov != nil
		mt, mc := t.moments(), c.moments()
		w := WelchFromMoments(mt, mc, alpha)
		if math.IsNaN(w.SE) {
			return r
		}
		r.Diff, r.SE, r.DF, r.T, r.PValue, r.CILow, r.CIHigh = w.Diff, w.SE, w.DF, w.T, w.PValue, w.CILow, w.CIHigh
		r.RelativeLift = relativeLiftOfMeans(w.Diff, mc)
		sd := PooledSD(mt, mc)
		r.CohensD = w.Diff / sd
		tau := o.MDE
		if !(tau > 0) {
			tau = 0.2 * sd
		}
		seq := SequentialTest(w.Diff, w.SE, tau, alpha)
		r.Sequential = &seq
		if t.Cov != nil || c.Cov != nil {
			if cu, ok := CUPED(mt, mc, t.cov(), c.cov(), alpha); ok {
				r.CUPED = &cu
			}
		}
		if o.Kind == KindScale && t.Counts != nil && c.Counts != nil {
			mw := MannWhitneyFromCounts(*t.Counts, *c.Counts)
			r.MannWhitney = &mw
		}
	}
	r.ChanceToBeat = ChanceToBeat(r.Diff, r.SE, o.HigherIsBetter)
	r.FamilyP = r.PValue
	if r.CUPED != nil {
		r.FamilyP = r.CUPED.PValue
	}
	r.Verdict = VerdictInconclusive
	return r
}

// decide sets the adjusted p-value and the verdict it implies.
func (c *Comparison) decide(pAdj, alpha float64, higherIsBetter bool) {
	c.PAdjusted = pAdj
	c.Significant = pAdj < alpha
	c.Verdict = VerdictInconclusive
	if !c.Significant {
		return
	}
	diff, _, _ := c.Effect()
	if (diff > 0) == higherIsBetter {
		c.Verdict = VerdictBetter
	} else {
		c.Verdict = VerdictWorse
	}
}

// goodDiff is the effect signed so that positive is good.
func (c Comparison) goodDiff(higherIsBetter bool) float64 {
	d, _, _ := c.Effect()
	if !higherIsBetter {
		return -d
	}
	return d
}

type sequentialJSON struct {
	PValue Float `json:"p_value"`
	CILow  Float `json:"ci_low"`
	CIHigh Float `json:"ci_high"`
}

// MarshalJSON writes p_value, ci_low and ci_high.
func (s Sequential) MarshalJSON() ([]byte, error) {
	return json.Marshal(sequentialJSON{Float(s.PValue), Float(s.CILow), Float(s.CIHigh)})
}

// MarshalJSON writes theta, diff, ci_low, ci_high, p_value and variance_reduction.
func (r CUPEDResult) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Theta             Float `json:"theta"`
		Diff              Float `json:"diff"`
		CILow             Float `json:"ci_low"`
		CIHigh            Float `json:"ci_high"`
		PValue            Float `json:"p_value"`
		VarianceReduction Float `json:"variance_reduction"`
	}{Float(r.Theta), Float(r.Diff), Float(r.CILow), Float(r.CIHigh), Float(r.PValue), Float(r.VarianceReduction)})
}

// MarshalJSON writes u, p_value and prob_superiority.
func (r MannWhitneyResult) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		U               Float `json:"u"`
		PValue          Float `json:"p_value"`
		ProbSuperiority Float `json:"prob_superiority"`
	}{Float(r.U), Float(r.PValue), Float(r.ProbSuperiority)})
}

// MarshalJSON writes the fields of the outcome's kind in the order of
// API.md, in one shape whatever the data: a statistic that is undefined, every
// statistic of an insufficient_data comparison included, is null, never left
// out. The blocks are there when the kind has them: sequential for the mean
// kinds, mann_whitney for scale and net, cuped when the outcome has covariates
// (null when CUPED does not apply).
func (c Comparison) MarshalJSON() ([]byte, error) {
	tail := comparisonTail{Float(c.ChanceToBeat), Float(c.PAdjusted), c.Significant, c.Verdict}
	mw, err := block(c.MannWhitney, c.Kind == KindScale || c.Kind == KindNet)
	if err != nil {
		return nil, err
	}
	switch c.Kind {
	case KindNet:
		return json.Marshal(struct {
			Diff         Float           `json:"diff"`
			SE           Float           `json:"se"`
			Z            Float           `json:"z"`
			PValue       Float           `json:"p_value"`
			CILow        Float           `json:"ci_low"`
			CIHigh       Float           `json:"ci_high"`
			RelativeLift Float           `json:"relative_lift"`
			MannWhitney  json.RawMessage `json:"mann_whitney,omitempty"`
			comparisonTail
		}{Float(c.Diff), Float(c.SE), Float(c.Z), Float(c.PValue), Float(c.CILow), Float(c.CIHigh),
			Float(c.RelativeLift), mw, tail})
	case KindBinary:
		return json.Marshal(struct {
			Diff         Float `json:"diff"`
			SE           Float `json:"se"`
			CILow        Float `json:"ci_low"`
			CIHigh       Float `json:"ci_high"`
			Z            Float `json:"z"`
			PValue       Float `json:"p_value"`
			RelativeLift Float `json:"relative_lift"`
			comparisonTail
		}{Float(c.Diff), Float(c.SE), Float(c.CILow), Float(c.CIHigh), Float(c.Z), Float(c.PValue),
			Float(c.RelativeLift), tail})
	}
	cuped, err := block(c.CUPED, c.Covariates)
	if err != nil {
		return nil, err
	}
	return json.Marshal(struct {
		Diff         Float           `json:"diff"`
		SE           Float           `json:"se"`
		DF           Float           `json:"df"`
		T            Float           `json:"t"`
		PValue       Float           `json:"p_value"`
		CILow        Float           `json:"ci_low"`
		CIHigh       Float           `json:"ci_high"`
		RelativeLift Float           `json:"relative_lift"`
		CohensD      Float           `json:"cohens_d"`
		Sequential   *Sequential     `json:"sequential"`
		CUPED        json.RawMessage `json:"cuped,omitempty"`
		MannWhitney  json.RawMessage `json:"mann_whitney,omitempty"`
		comparisonTail
	}{Float(c.Diff), Float(c.SE), Float(c.DF), Float(c.T), Float(c.PValue), Float(c.CILow), Float(c.CIHigh),
		Float(c.RelativeLift), Float(c.CohensD), c.Sequential, cuped, mw, tail})
}

// block is the JSON of an optional block of a comparison: null when the
// comparison shows the block (always) but has none, left out (nil) when it
// neither shows nor has one.
func block[T any](b *T, always bool) (json.RawMessage, error) {
	if b == nil && !always {
		return nil, nil
	}
	return json.Marshal(b)
}

// comparisonTail are the fields every kind ends with, after the adjustment.
type comparisonTail struct {
	ChanceToBeat Float   `json:"chance_to_beat"`
	PAdjusted    Float   `json:"p_adjusted"`
	Significant  bool    `json:"significant"`
	Verdict      Verdict `json:"verdict"`
}
