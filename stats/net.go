package stats

import "math"

// Net is one arm's net score (NPS, net CES): the share of answers >= topMin
// minus the share <= bottomMax, in points from -100 to 100.
type Net struct {
	N          int64
	Promoters  float64
	Passives   float64
	Detractors float64
	Score      float64 // 100*(promoters - detractors)
	SE         float64 // 100*sqrt((P + D - (P - D)^2)/n), the multinomial se
	Mean       float64 // of the raw answers
}

// NetScore computes the net score from counts; every field but N is NaN when
// there are no answers.
func NetScore(c Counts, topMin, bottomMax float64) Net {
	n := c.Total()
	if n == 0 {
		nan := math.NaN()
		return Net{Promoters: nan, Passives: nan, Detractors: nan, Score: nan, SE: nan, Mean: nan}
	}
	var top, bottom int64
	for i, k := range c.N {
		v := float64(c.Level(i))
		if v >= topMin {
			top += k
		}
		if v <= bottomMax {
			bottom += k
		}
	}
	p := float64(top) / float64(n)
	d := float64(bottom) / float64(n)
	return Net{
		N:          n,
		Promoters:  p,
		Passives:   1 - p - d,
		Detractors: d,
		Score:      100 * (p - d),
		SE:         100 * math.Sqrt((p+d-(p-d)*(p-d))/float64(n)),
		Mean:       c.Moments().Mean(),
	}
}

// SD is the per-customer sd of the net score, 100*sqrt(P + D - (P - D)^2):
// the sd of the answers counted +100 (promoter), 0 or -100 (detractor).
func (s Net) SD() float64 {
	return netSD(s.Promoters, s.Detractors)
}

func netSD(p, d float64) float64 { return 100 * math.Sqrt(p+d-(p-d)*(p-d)) }

// CI is score -+ z(1-alpha/2)*se.
func (s Net) CI(alpha float64) (lo, hi float64) {
	h := zCrit(alpha) * s.SE
	return s.Score - h, s.Score + h
}

// NetDiff compares two independent net scores with a z-test on
// se = sqrt(se_t^2 + se_c^2).
func NetDiff(t, c Net, alpha float64) ZTest {
	return NewZTest(t.Score-c.Score, math.Hypot(t.SE, c.SE), alpha)
}
