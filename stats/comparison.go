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

	Sequential  *Sequential        // every kind
	CUPED       *CUPEDResult       // mean kinds with covariates
	MannWhitney *MannWhitneyResult // scale and net
	Ordinal     *Ordinal           // scale and net, when a finite fit exists

	// Deciding is the effect the verdict rests on (nil without enough data).
	Deciding *Effect
	// Bounds are Lee's bounds under differential response (not numeric outcomes).
	Bounds *Bounds
	// NonInferiority is the test of a guardrail's margin on Deciding.
	NonInferiority *NonInferiority

	// Covariates is whether the outcome has covariates (mean kinds): the JSON
	// then has a cuped block, null where CUPED does not apply.
	Covariates bool
	// Guardrail: the comparison stands outside the family (PAdjusted = FamilyP);
	// HasMargin: it is a guardrail with a margin, so the JSON has non_inferiority.
	Guardrail, HasMargin bool

	ChanceToBeat float64

	// FamilyP is the p-value of the deciding effect, the one that enters the
	// multiple-comparison family (guardrails: the one their verdict takes as it is).
	FamilyP     float64
	PAdjusted   float64
	Significant bool
}

// Effect methods: the test the verdict of a comparison rests on.
const (
	MethodCUPED         = "cuped"
	MethodWelch         = "welch"
	MethodNetZ          = "net_z"
	MethodTwoProportion = "two_proportion"
)

// Effect is the effect a comparison's verdict rests on (STATS.md, second
// part): CUPED's when CUPED applies, else the plain test of the kind.
type Effect struct {
	Method string
	Diff   float64
	SE     float64
	DF     float64 // Welch's (or CUPED's) for means; +Inf (normal) for net and binary
	CILow  float64
	CIHigh float64
	PValue float64 // two-sided; binary: of the pooled z
}

// MarshalJSON writes method, diff, se, ci_low, ci_high and p_value.
func (e Effect) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Method string `json:"method"`
		Diff   Float  `json:"diff"`
		SE     Float  `json:"se"`
		CILow  Float  `json:"ci_low"`
		CIHigh Float  `json:"ci_high"`
		PValue Float  `json:"p_value"`
	}{e.Method, Float(e.Diff), Float(e.SE), Float(e.CILow), Float(e.CIHigh), Float(e.PValue)})
}

// Sufficient reports whether both arms had enough data for a test.
func (c Comparison) Sufficient() bool { return c.Verdict != VerdictInsufficientData }

// Effect is the difference and interval of the test that decided the
// verdict (Deciding): CUPED's when present, else the plain one. Use it when
// reporting the effect next to PAdjusted.
func (c Comparison) Effect() (diff, lo, hi float64) {
	if c.Deciding != nil {
		return c.Deciding.Diff, c.Deciding.CILow, c.Deciding.CIHigh
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
// Bounds and non-inferiority need the experiment (assigned counts, margins)
// and are Analyze's.
func Compare(o Outcome, t, c ArmData, alpha float64) Comparison {
	r := insufficient(o.Kind)
	switch o.Kind {
	case KindNet:
		ct, cc := t.counts(), c.counts()
		nt := NetScore(ct, o.TopMin, o.BottomMax)
		nc := NetScore(cc, o.TopMin, o.BottomMax)
		if nt.N < 2 || nc.N < 2 {
			return r
		}
		z := NetDiff(nt, nc, alpha)
		if !(z.SE > 0) {
			return r
		}
		r.Diff, r.SE, r.Z, r.PValue, r.CILow, r.CIHigh = z.Diff, z.SE, z.Z, z.PValue, z.CILow, z.CIHigh
		mw := MannWhitneyFromCounts(ct, cc)
		r.MannWhitney = &mw
		r.Deciding = &Effect{Method: MethodNetZ, Diff: z.Diff, SE: z.SE, DF: math.Inf(1), CILow: z.CILow, CIHigh: z.CIHigh, PValue: z.PValue}
		r.Sequential = sequential(o, z.Diff, z.SE, NetScore(ct.Merge(cc), o.TopMin, o.BottomMax).SD(), alpha)
		r.Ordinal = OrdinalFromCounts(ct, cc, alpha)
	case KindBinary:
		mt, mc := t.moments(), c.moments()
		if mt.N < 2 || mc.N < 2 {
			return r
		}
		xt, xc := int64(math.Round(mt.Total())), int64(math.Round(mc.Total()))
		p := TwoProportion(xt, mt.N, xc, mc.N, alpha)
		if !(p.SE > 0) {
			return r
		}
		r.Diff, r.SE, r.Z, r.PValue, r.CILow, r.CIHigh = p.Diff, p.SE, p.Z, p.PValue, p.CILow, p.CIHigh
		r.RelativeLift = p.RelativeLift
		r.Deciding = &Effect{Method: MethodTwoProportion, Diff: p.Diff, SE: p.SE, DF: math.Inf(1), CILow: p.CILow, CIHigh: p.CIHigh, PValue: p.PValue}
		pooled := float64(xt+xc) / float64(mt.N+mc.N)
		r.Sequential = sequential(o, p.Diff, p.SE, math.Sqrt(pooled*(1-pooled)), alpha)
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
		r.Sequential = sequential(o, w.Diff, w.SE, sd, alpha)
		r.Deciding = &Effect{Method: MethodWelch, Diff: w.Diff, SE: w.SE, DF: w.DF, CILow: w.CILow, CIHigh: w.CIHigh, PValue: w.PValue}
		if t.Cov != nil || c.Cov != nil {
			if cu, ok := CUPED(mt, mc, t.cov(), c.cov(), alpha); ok {
				r.CUPED = &cu
				r.Deciding = &Effect{Method: MethodCUPED, Diff: cu.Diff, SE: cu.SE, DF: cu.DF, CILow: cu.CILow, CIHigh: cu.CIHigh, PValue: cu.PValue}
			}
		}
		if o.Kind == KindScale && t.Counts != nil && c.Counts != nil {
			mw := MannWhitneyFromCounts(*t.Counts, *c.Counts)
			r.MannWhitney = &mw
			r.Ordinal = OrdinalFromCounts(*t.Counts, *c.Counts, alpha)
		}
	}
	r.ChanceToBeat = ChanceToBeat(r.Diff, r.SE, o.HigherIsBetter)
	r.FamilyP = r.Deciding.PValue
	r.Verdict = VerdictInconclusive
	return r
}

// sequential is the always-valid test of a comparison with standard error se:
// tau is the outcome's mde when it has one (the primary's), else 0.2 times
// the pooled per-customer sd.
func sequential(o Outcome, diff, se, pooledSD, alpha float64) *Sequential {
	tau := o.MDE
	if !(tau > 0) {
		tau = 0.2 * pooledSD
	}
	s := SequentialTest(diff, se, tau, alpha)
	return &s
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
// out. The blocks are there when the kind has them: sequential, effect and
// (but for numeric outcomes) bounds always, mann_whitney and ordinal for
// scale and net, cuped when the outcome has covariates (null where CUPED does
// not apply), non_inferiority for guardrails with a margin.
func (c Comparison) MarshalJSON() ([]byte, error) {
	tail := comparisonTail{ChanceToBeat: Float(c.ChanceToBeat), PAdjusted: Float(c.PAdjusted),
		Significant: c.Significant, Verdict: c.Verdict, Effect: c.Deciding}
	ordered := c.Kind == KindScale || c.Kind == KindNet
	mw, err := block(c.MannWhitney, ordered)
	if err != nil {
		return nil, err
	}
	if tail.Bounds, err = block(c.Bounds, c.Kind != KindNumeric); err != nil {
		return nil, err
	}
	if tail.Ordinal, err = block(c.Ordinal, ordered); err != nil {
		return nil, err
	}
	if tail.NonInferiority, err = block(c.NonInferiority, c.HasMargin); err != nil {
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
			Sequential   *Sequential     `json:"sequential"`
			comparisonTail
		}{Float(c.Diff), Float(c.SE), Float(c.Z), Float(c.PValue), Float(c.CILow), Float(c.CIHigh),
			Float(c.RelativeLift), mw, c.Sequential, tail})
	case KindBinary:
		return json.Marshal(struct {
			Diff         Float       `json:"diff"`
			SE           Float       `json:"se"`
			CILow        Float       `json:"ci_low"`
			CIHigh       Float       `json:"ci_high"`
			Z            Float       `json:"z"`
			PValue       Float       `json:"p_value"`
			RelativeLift Float       `json:"relative_lift"`
			Sequential   *Sequential `json:"sequential"`
			comparisonTail
		}{Float(c.Diff), Float(c.SE), Float(c.CILow), Float(c.CIHigh), Float(c.Z), Float(c.PValue),
			Float(c.RelativeLift), c.Sequential, tail})
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

// comparisonTail are the fields every kind ends with, after the adjustment,
// and the survey-aware blocks.
type comparisonTail struct {
	ChanceToBeat   Float           `json:"chance_to_beat"`
	PAdjusted      Float           `json:"p_adjusted"`
	Significant    bool            `json:"significant"`
	Verdict        Verdict         `json:"verdict"`
	Effect         *Effect         `json:"effect"`
	Bounds         json.RawMessage `json:"bounds,omitempty"`
	Ordinal        json.RawMessage `json:"ordinal,omitempty"`
	NonInferiority json.RawMessage `json:"non_inferiority,omitempty"`
}
