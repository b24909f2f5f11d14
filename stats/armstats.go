package stats

import (
	"encoding/json"
	"math"
)

// ArmStats are one arm's statistics for one outcome. Fields that do not
// apply to the outcome's kind, or are undefined (too few answers), are NaN.
// Estimate returns the kind's headline number.
type ArmStats struct {
	Kind Kind
	N    int64

	// Scale, numeric, composite; Mean also for net (of the raw answers).
	Mean, SD float64
	// Scale: count per level Min..Max.
	Distribution []int64

	// Net.
	Promoters, Passives, Detractors, Score float64
	// Binary.
	Rate float64
	// Net and binary: standard error of Score or Rate.
	SE float64

	// Interval around the estimate at 1-alpha.
	CILow, CIHigh float64
}

// Estimate is the mean, net score or rate, by kind.
func (s ArmStats) Estimate() float64 {
	switch s.Kind {
	case KindNet:
		return s.Score
	case KindBinary:
		return s.Rate
	}
	return s.Mean
}

// NewArmStats computes one arm's statistics for an outcome.
func NewArmStats(o Outcome, a ArmData, alpha float64) ArmStats {
	nan := math.NaN()
	s := ArmStats{
		Kind: o.Kind, Mean: nan, SD: nan, Promoters: nan, Passives: nan,
		Detractors: nan, Score: nan, Rate: nan, SE: nan, CILow: nan, CIHigh: nan,
	}
	switch o.Kind {
	case KindNet:
		n := NetScore(a.counts(), o.TopMin, o.BottomMax)
		s.N, s.Promoters, s.Passives, s.Detractors = n.N, n.Promoters, n.Passives, n.Detractors
		s.Score, s.SE, s.Mean = n.Score, n.SE, n.Mean
		if n.N > 0 {
			s.CILow, s.CIHigh = n.CI(alpha)
		}
	case KindBinary:
		m := a.moments()
		p := NewProportion(int64(math.Round(m.Total())), m.N, alpha)
		s.N, s.Rate, s.SE, s.CILow, s.CIHigh = p.N, p.Rate, p.SE, p.CILow, p.CIHigh
	default:
		m := a.moments()
		s.N, s.Mean, s.SD = m.N, m.Mean(), m.SD()
		s.CILow, s.CIHigh = MeanCI(m, alpha)
		if o.Kind == KindScale {
			s.Distribution = distribution(a.Counts, o.Min, o.Max)
		}
	}
	return s
}

// distribution lays the counts out on the outcome's levels min..max, so the
// JSON always has one entry per level, zeros included.
func distribution(c *Counts, lo, hi float64) []int64 {
	minL, maxL := int(math.Round(lo)), int(math.Round(hi))
	if maxL < minL || (lo == 0 && hi == 0) {
		// No usable bounds: fall back to the levels counted.
		if c == nil || len(c.N) == 0 {
			return []int64{}
		}
		minL, maxL = c.Min, c.Min+len(c.N)-1
	}
	d := make([]int64, maxL-minL+1)
	if c != nil {
		for i := range d {
			d[i] = countAt(*c, minL+i)
		}
	}
	return d
}

// MarshalJSON writes the fields of the arm's kind in the order of API.md,
// with null for undefined values.
func (s ArmStats) MarshalJSON() ([]byte, error) {
	switch s.Kind {
	case KindNet:
		return json.Marshal(struct {
			N          int64 `json:"n"`
			Promoters  Float `json:"promoters"`
			Passives   Float `json:"passives"`
			Detractors Float `json:"detractors"`
			Score      Float `json:"score"`
			SE         Float `json:"se"`
			CILow      Float `json:"ci_low"`
			CIHigh     Float `json:"ci_high"`
			Mean       Float `json:"mean"`
		}{s.N, Float(s.Promoters), Float(s.Passives), Float(s.Detractors), Float(s.Score),
			Float(s.SE), Float(s.CILow), Float(s.CIHigh), Float(s.Mean)})
	case KindBinary:
		return json.Marshal(struct {
			N      int64 `json:"n"`
			Rate   Float `json:"rate"`
			SE     Float `json:"se"`
			CILow  Float `json:"ci_low"`
			CIHigh Float `json:"ci_high"`
		}{s.N, Float(s.Rate), Float(s.SE), Float(s.CILow), Float(s.CIHigh)})
	}
	return json.Marshal(struct {
		N            int64   `json:"n"`
		Mean         Float   `json:"mean"`
		SD           Float   `json:"sd"`
		CILow        Float   `json:"ci_low"`
		CIHigh       Float   `json:"ci_high"`
		Distribution []int64 `json:"distribution,omitempty"`
	}{s.N, Float(s.Mean), Float(s.SD), Float(s.CILow), Float(s.CIHigh), s.Distribution})
}
