package stats

import (
	"fmt"
	"math"
)

// Moments are the sufficient statistics of a mean-based outcome for one arm.
// They merge by addition, so a database can aggregate them with SUM().
type Moments struct {
	N          int64
	Sum, SumSq float64
}

// MomentsOf returns the moments of xs.
func MomentsOf(xs []float64) Moments {
	var m Moments
	for _, x := range xs {
		m.Add(x)
	}
	return m
}

// Add accumulates one value.
func (m *Moments) Add(x float64) {
	m.N++
	m.Sum += x
	m.SumSq += x * x
}

// Mean is NaN when N == 0.
func (m Moments) Mean() float64 {
	if m.N == 0 {
		return math.NaN()
	}
	return m.Sum / float64(m.N)
}

// cancellationTol is the share of SumSq below which the centred sum of squares
// is indistinguishable from rounding error. Without it identical non-integer
// values (a composite answered the same way by everyone) would get a tiny
// positive variance and a meaningless test instead of insufficient_data.
const cancellationTol = 1e-12

// Variance is the sample variance (ddof = 1); NaN when N < 2.
func (m Moments) Variance() float64 {
	if m.N < 2 {
		return math.NaN()
	}
	ss := m.SumSq - m.Sum*m.Sum/float64(m.N)
	if ss <= cancellationTol*m.SumSq {
		return 0
	}
	return ss / float64(m.N-1)
}

// SD is the sample standard deviation (ddof = 1); NaN when N < 2.
func (m Moments) SD() float64 { return math.Sqrt(m.Variance()) }

// Counts are answer counts per integer level Min..Min+len(N)-1, the
// sufficient statistics of scale, net and binary outcomes: every statistic of
// those kinds, ranks included, is a function of them.
type Counts struct {
	Min int
	N   []int64
}

// CountsOf counts xs, integers in [min, max]. A value outside the range or
// not an integer is a caller bug (answers are validated on input), so it panics.
func CountsOf(xs []float64, min, max int) Counts {
	if max < min {
		panic(fmt.Sprintf("stats: CountsOf: max %d < min %d", max, min))
	}
	c := Counts{Min: min, N: make([]int64, max-min+1)}
	for _, x := range xs {
		i := x - float64(min)
		if i != math.Trunc(i) || i < 0 || int(i) >= len(c.N) {
			panic(fmt.Sprintf("stats: CountsOf: value %v is not an integer in [%d, %d]", x, min, max))
		}
		c.N[int(i)]++
	}
	return c
}

// Total is the number of answers.
func (c Counts) Total() int64 {
	var n int64
	for _, k := range c.N {
		n += k
	}
	return n
}

// Level is the answer value counted in c.N[i].
func (c Counts) Level(i int) int { return c.Min + i }

// Moments are exact for realistic counts: all sums are of integers below 2^53.
func (c Counts) Moments() Moments {
	var m Moments
	for i, k := range c.N {
		v := float64(c.Level(i))
		m.N += k
		m.Sum += float64(k) * v
		m.SumSq += float64(k) * v * v
	}
	return m
}

// CovariateSums are one arm's CUPED sums over its responding customers that
// have a covariate: NX of them, with the sums of x, x², x·y and y. Customers
// without a covariate contribute nothing here; CUPED gives them the pooled
// mean of the present covariates, which makes their adjustment zero.
type CovariateSums struct {
	NX                       int64
	SumX, SumXX, SumXY, SumY float64
}

// CovariateSumsOf returns the sums of ys with the aligned covariates xs, in
// which NaN means missing.
func CovariateSumsOf(ys, xs []float64) CovariateSums {
	if len(ys) != len(xs) {
		panic(fmt.Sprintf("stats: CovariateSumsOf: %d values but %d covariates", len(ys), len(xs)))
	}
	var s CovariateSums
	for i, x := range xs {
		if math.IsNaN(x) {
			continue
		}
		y := ys[i]
		s.NX++
		s.SumX += x
		s.SumXX += x * x
		s.SumXY += x * y
		s.SumY += y
	}
	return s
}

// add merges two arms' sums.
func (s CovariateSums) add(o CovariateSums) CovariateSums {
	return CovariateSums{
		NX:    s.NX + o.NX,
		SumX:  s.SumX + o.SumX,
		SumXX: s.SumXX + o.SumXX,
		SumXY: s.SumXY + o.SumXY,
		SumY:  s.SumY + o.SumY,
	}
}
