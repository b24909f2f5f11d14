package stats

import (
	"encoding/json"
	"math"

	"github.com/krslab/krslab/stats/i18n"
)

// Trend is where an effect went between the first and the last survey wave.
type Trend string

// Trends of a Change. Growing and fading follow the outcome's direction: an
// effect grows when the treated customers moved further the good way than the
// control customers did between the waves.
const (
	TrendGrowing Trend = "growing"
	TrendFading  Trend = "fading"
	TrendStable  Trend = "stable"
)

// WaveEffect is a treatment's effect in one survey wave: the deciding
// effect of that wave's comparison with control (STATS.md, third part).
// Without a comparison the numbers are NaN and the verdict insufficient_data.
type WaveEffect struct {
	Wave    string
	Diff    float64
	CILow   float64
	CIHigh  float64
	Verdict Verdict
}

// WaveEffectOf is the entry of wave in a persistence block, from that wave's comparison.
func WaveEffectOf(wave string, c Comparison) WaveEffect {
	if !c.Sufficient() {
		nan := math.NaN()
		return WaveEffect{Wave: wave, Diff: nan, CILow: nan, CIHigh: nan, Verdict: VerdictInsufficientData}
	}
	diff, lo, hi := c.Effect()
	return WaveEffect{Wave: wave, Diff: diff, CILow: lo, CIHigh: hi, Verdict: c.Verdict}
}

// MarshalJSON writes wave, diff, ci_low, ci_high and verdict.
func (w WaveEffect) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Wave    string  `json:"wave"`
		Diff    Float   `json:"diff"`
		CILow   Float   `json:"ci_low"`
		CIHigh  Float   `json:"ci_high"`
		Verdict Verdict `json:"verdict"`
	}{w.Wave, Float(w.Diff), Float(w.CILow), Float(w.CIHigh), w.Verdict})
}

// ChangeWaves picks the waves a change is measured between: the first and the
// last (indexes into waves) that have a comparison. ok is false with fewer
// than two such waves, when there is no change to measure.
func ChangeWaves(waves []WaveEffect) (first, last int, ok bool) {
	first, last = -1, -1
	for i, w := range waves {
		if w.Verdict == VerdictInsufficientData {
			continue
		}
		if first < 0 {
			first = i
		}
		last = i
	}
	return first, last, first >= 0 && last > first
}

// Durable reports whether the effect holds at the end: the last wave with a
// comparison has verdict better.
func Durable(waves []WaveEffect) bool {
	for i := len(waves) - 1; i >= 0; i-- {
		if waves[i].Verdict != VerdictInsufficientData {
			return waves[i].Verdict == VerdictBetter
		}
	}
	return false
}

// Change is the within-customer change of a treatment's effect between two
// waves: each customer who answered the outcome in both has a delta
// c(last) - c(first), and Welch's test compares the treated customers'
// deltas with the control customers'. A difference-in-differences on the
// same customers, so it is not confused by who answers which wave.
type Change struct {
	FromWave, ToWave string
	NT, NC           int64 // customers with a delta, treatment and control
	Diff             float64
	SE               float64
	DF               float64
	PValue           float64
	CILow, CIHigh    float64
	Trend            Trend
}

// WaveChange is the change between waves from and to, from the moments of
// the per-customer deltas of treatment (t) and control (c): Welch's test of
// the deltas at alpha, the trend growing or fading (by the outcome's
// direction) when its p-value is below alpha, else stable. The deltas of rate
// outcomes are of 0/1 values and those of net outcomes of +100 (promoter),
// -100 (detractor) and 0, so that their means are differences of rates and
// net scores. nil (null) with fewer than 2 deltas in either arm, or when the
// deltas have no spread at all (se 0): then there is no change to test.
func WaveChange(from, to string, t, c Moments, alpha float64, higherIsBetter bool) *Change {
	if !(alpha > 0 && alpha < 1) {
		alpha = DefaultAlpha
	}
	w := WelchFromMoments(t, c, alpha)
	if math.IsNaN(w.SE) {
		return nil
	}
	ch := &Change{FromWave: from, ToWave: to, NT: t.N, NC: c.N,
		Diff: w.Diff, SE: w.SE, DF: w.DF, PValue: w.PValue, CILow: w.CILow, CIHigh: w.CIHigh, Trend: TrendStable}
	if w.PValue < alpha {
		if (w.Diff > 0) == higherIsBetter {
			ch.Trend = TrendGrowing
		} else {
			ch.Trend = TrendFading
		}
	}
	return ch
}

// NetPoints is a net outcome's answer as a per-customer value whose mean is
// the net score: +100 for a promoter (>= topMin), -100 for a detractor
// (<= bottomMax), 0 for a passive.
func NetPoints(v, topMin, bottomMax float64) float64 {
	switch {
	case v >= topMin:
		return 100
	case v <= bottomMax:
		return -100
	}
	return 0
}

// LevelPairs count the customers of one arm of a counted outcome (scale, net,
// binary) by the level they answered in the first wave and in the last: the
// sufficient statistics of their deltas, of at most levels² cells.
type LevelPairs struct {
	First, Last []float64
	N           []int64
}

// Add counts n customers who answered first, then last.
func (p *LevelPairs) Add(first, last float64, n int64) {
	p.First, p.Last, p.N = append(p.First, first), append(p.Last, last), append(p.N, n)
}

// DeltaMoments are the moments of the customers' deltas c(last) - c(first),
// c being the level itself (scale, binary) or its NetPoints (net), as raw
// sums: deltas of small integers sum exactly.
func (p LevelPairs) DeltaMoments(o Outcome) Moments {
	c := func(v float64) float64 {
		if o.Kind == KindNet {
			return NetPoints(v, o.TopMin, o.BottomMax)
		}
		return v
	}
	var m Moments
	for i, n := range p.N {
		d := c(p.Last[i]) - c(p.First[i])
		m.N += n
		m.Sum += float64(n) * d
		m.SumSq += float64(n) * d * d
	}
	m.Exact = DecimalRat(m.Sum)
	return m
}

// MarshalJSON writes from_wave, to_wave, n_t, n_c, diff, se, df, p_value,
// ci_low, ci_high and trend.
func (c Change) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		FromWave string `json:"from_wave"`
		ToWave   string `json:"to_wave"`
		NT       int64  `json:"n_t"`
		NC       int64  `json:"n_c"`
		Diff     Float  `json:"diff"`
		SE       Float  `json:"se"`
		DF       Float  `json:"df"`
		PValue   Float  `json:"p_value"`
		CILow    Float  `json:"ci_low"`
		CIHigh   Float  `json:"ci_high"`
		Trend    Trend  `json:"trend"`
	}{c.FromWave, c.ToWave, c.NT, c.NC, Float(c.Diff), Float(c.SE), Float(c.DF), Float(c.PValue),
		Float(c.CILow), Float(c.CIHigh), c.Trend})
}

// Persistence is one outcome's effect over the waves for one treatment arm.
type Persistence struct {
	Waves   []WaveEffect `json:"waves"`
	Change  *Change      `json:"change"`
	Durable bool         `json:"durable"`
}

// ForWave is the recommendation of a survey wave made the experiment's (its decision
// wave): the reason says first which wave it is, by its English and Dutch names, and the
// days since assignment it covers.
func (r Recommendation) ForWave(name, nameNL string, fromDay, toDay int) Recommendation {
	r.Reason = i18n.T(i18n.English, "reason.wave", name, fromDay, toDay, r.Reason)
	r.ReasonNL = i18n.T(i18n.Dutch, "reason.wave", nameNL, fromDay, toDay, r.ReasonNL)
	return r
}
