package stats

import (
	"fmt"
	"math"
	"math/big"
	"strconv"
)

// Moments are the sufficient statistics of a mean-based outcome for one arm,
// taken about a reference value Shift (K): Sum = Σ(v - K) and SumSq = Σ(v - K)².
//
// Sums of raw values lose the spread of values with a large offset and a small
// spread (1e9 + N(0,1), a timestamp, a balance): Σv² - (Σv)²/n cancels every
// digit the spread had. About a K taken from the values themselves the sums
// are of the spread alone, so every statistic keeps its precision; means add K
// back only at the end. Moments with the same Shift merge by addition, so a
// database can aggregate them with SUM(v - K); Merge aligns different shifts.
// Shift 0 means raw sums.
type Moments struct {
	N          int64
	Shift      float64
	Sum, SumSq float64

	// Exact, when not nil, is the exact sum of the values (not shifted), each
	// value taken as its shortest decimal form, the number as the API reads and
	// writes it. It decides whether the mean is exactly 0 (relative lift) and
	// gives the mean and the difference of means to the last bit. nil means
	// unknown; the floating-point sums serve then. It is never changed in
	// place, so copies of Moments may share it.
	Exact *big.Rat
}

// MomentsOf returns the moments of xs, about the first value, with the exact sum.
func MomentsOf(xs []float64) Moments {
	var m Moments
	for _, x := range xs {
		m.Add(x)
	}
	return m
}

// Add accumulates one value. The first value becomes the Shift; the exact sum
// is kept when it was known (it is from the first value on).
func (m *Moments) Add(x float64) {
	if m.N == 0 {
		*m = Moments{Shift: x, Exact: new(big.Rat)}
	}
	d := x - m.Shift
	m.N++
	m.Sum += d
	m.SumSq += d * d
	if m.Exact != nil {
		m.Exact = new(big.Rat).Add(m.Exact, DecimalRat(x))
	}
}

// DecimalRat is x's shortest decimal form (the digits strconv and PostgreSQL
// print for a float8) as an exact rational. The exact sums of Moments are sums
// of these: the numbers clients sent, not the binary fractions that store them
// (0.1 + 0.2 - 0.3 is 0).
func DecimalRat(x float64) *big.Rat {
	r, ok := new(big.Rat).SetString(strconv.FormatFloat(x, 'g', -1, 64))
	if !ok {
		panic(fmt.Sprintf("stats: DecimalRat: %v is not finite", x))
	}
	return r
}

// Merge returns the moments of both sets of values, about m's shift (o's when
// m is empty). The exact sum is kept when both know theirs.
func (m Moments) Merge(o Moments) Moments {
	switch {
	case o.N == 0:
		return m
	case m.N == 0:
		return o
	}
	o = o.ShiftedTo(m.Shift)
	r := Moments{N: m.N + o.N, Shift: m.Shift, Sum: m.Sum + o.Sum, SumSq: m.SumSq + o.SumSq}
	if m.Exact != nil && o.Exact != nil {
		r.Exact = new(big.Rat).Add(m.Exact, o.Exact)
	}
	return r
}

// ShiftedTo returns the same moments about k: with d = Shift - k,
// Σ(v-k) = Sum + N d and Σ(v-k)² = SumSq + 2d Sum + N d². It keeps the
// precision of the old sums as long as k, too, lies near the values.
func (m Moments) ShiftedTo(k float64) Moments {
	if k == m.Shift {
		return m
	}
	d := m.Shift - k
	n := float64(m.N)
	m.SumSq = m.SumSq + 2*d*m.Sum + n*d*d
	m.Sum = m.Sum + n*d
	m.Shift = k
	return m
}

// Mean is NaN when N == 0. It is K + Sum/N, or the exact mean rounded once
// when the exact sum is known and the rounded sums cannot give the mean to
// exactTol (values that cancel: 1e16, -1e16, 3, -3).
func (m Moments) Mean() float64 {
	switch {
	case m.N == 0:
		return math.NaN()
	case m.Exact != nil && m.imprecise():
		f, _ := new(big.Rat).Quo(m.Exact, new(big.Rat).SetInt64(m.N)).Float64()
		return f
	}
	return m.floatMean()
}

// Total is the sum of the values, N·K + Σ(v - K) (exact when known).
func (m Moments) Total() float64 {
	if m.Exact != nil {
		f, _ := m.Exact.Float64()
		return f
	}
	return float64(m.N)*m.Shift + m.Sum
}

// NeedsExactSum reports whether the rounded sums cannot give the mean to
// exactTol relative (nor tell whether it is exactly 0) and the exact sum is
// not known: then a store adds it (Exact). It is never so for values with an
// offset, only for values that (nearly) cancel.
func (m Moments) NeedsExactSum() bool { return m.N > 0 && m.Exact == nil && m.imprecise() }

// exactTol is the relative precision below which the exact sum, when known,
// replaces the rounded sums, and below which a store fetches it: ten times
// finer than the contract's 1e-6, by bounds that are worst cases (the
// typical rounding error is some sqrt(N) times smaller). An exact sum of
// decimals differs from that of the binary values by up to half an ulp of
// each, so it serves only where the rounded sums may be worse. Only means
// within some N·4e-9 standard deviations of 0 come near it (4e-4 with 10^5
// answers): values that cancel.
const exactTol = 1e-7

// u is the unit roundoff of float64.
const u = 0x1p-53

func (m Moments) floatMean() float64 { return m.Shift + m.Sum/float64(m.N) }

// sumError bounds the rounding error of Sum/N: N rounded differences v - K
// summed one by one (as SUM() and Merge do) are off by at most
// (2N+1)u Σ|v - K| <= (2N+1)u sqrt(N SumSq); plus the division; twice that,
// to spare.
func (m Moments) sumError() float64 {
	n := float64(m.N)
	return 2 * ((2*n+2)*u*math.Sqrt(math.Abs(m.SumSq)/n) + u*math.Abs(m.Sum)/n)
}

// meanError bounds the rounding error of K + Sum/N.
func (m Moments) meanError() float64 { return m.sumError() + 2*u*math.Abs(m.floatMean()) }

// imprecise is whether the rounded sums may miss the mean by more than exactTol.
func (m Moments) imprecise() bool {
	return !(m.meanError() <= exactTol*math.Abs(m.floatMean()))
}

// meanDiff is mean(t) - mean(c) without adding the shifts to the sums first:
// (K_t - K_c) + (Sum_t/N_t - Sum_c/N_c), whose terms are of the size of the
// difference and the spread, not of the offset (the shifts cancel: one
// outcome's arms share K). When the rounded sums cannot give it to exactTol
// and both exact sums are known, it is the exact difference rounded once.
func meanDiff(t, c Moments) float64 {
	if t.N == 0 || c.N == 0 {
		return math.NaN()
	}
	d := (t.Shift - c.Shift) + (t.Sum/float64(t.N) - c.Sum/float64(c.N))
	if t.Exact != nil && c.Exact != nil {
		e := t.sumError() + c.sumError() + 2*u*(math.Abs(t.Shift-c.Shift)+math.Abs(d))
		if !(e <= exactTol*math.Abs(d)) {
			mt := new(big.Rat).Quo(t.Exact, new(big.Rat).SetInt64(t.N))
			mc := new(big.Rat).Quo(c.Exact, new(big.Rat).SetInt64(c.N))
			d, _ = mt.Sub(mt, mc).Float64()
		}
	}
	return d
}

// zeroMean is whether the mean of the values is exactly 0 (STATS.md: the
// relative lift is null then): by the exact sum when known, else when the
// rounded mean is 0 or within its rounding error of 0 (a lift against a mean
// that cannot be told from 0 is no number to report).
func (m Moments) zeroMean() bool {
	if m.Exact != nil {
		return m.Exact.Sign() == 0
	}
	return !(math.Abs(m.floatMean()) > m.meanError())
}

// cancellationTol is the share of the (shifted) sum of squares below which the
// centred sum of squares is rounding error. Identical values about a shift
// that is one of them sum to exactly 0; about another shift (a value computed
// another way, or merged moments) they leave a residue of this order, which
// must read as no variance (insufficient_data), not as a tiny one.
const cancellationTol = 1e-12

// resolutionUlps is the spread, in units of the last place of the mean, that
// is rounding rather than data: one value computed two ways (a composite
// summed in another order) differs in its last bit or two. Values with an
// offset keep far more spread than that (1e9 + N(0,1): 10^7 such units).
const resolutionUlps = 4

// Variance is the sample variance (ddof = 1); NaN when N < 2. It is taken
// from the shifted sums, SumSq - Sum²/N, which lose only as many digits as
// (mean - K)²/variance has, nothing of the values' offset. A spread within
// resolutionUlps units in the last place of the mean is 0.
func (m Moments) Variance() float64 {
	if m.N < 2 {
		return math.NaN()
	}
	n := float64(m.N)
	ss := m.SumSq - m.Sum*m.Sum/n
	floor := resolutionUlps * u * math.Abs(m.floatMean())
	if ss <= cancellationTol*m.SumSq || ss <= n*floor*floor {
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

// Merge returns the counts of both sets of answers.
func (c Counts) Merge(o Counts) Counts {
	switch {
	case len(o.N) == 0:
		return c
	case len(c.N) == 0:
		return o
	}
	lo := min(c.Min, o.Min)
	hi := max(c.Min+len(c.N), o.Min+len(o.N))
	m := Counts{Min: lo, N: make([]int64, hi-lo)}
	for i := range m.N {
		m.N[i] = countAt(c, lo+i) + countAt(o, lo+i)
	}
	return m
}

// Level is the answer value counted in c.N[i].
func (c Counts) Level(i int) int { return c.Min + i }

// Moments are raw sums (Shift 0), exact for realistic counts: all sums are of
// integers below 2^53, so the exact sum is known too.
func (c Counts) Moments() Moments {
	var m Moments
	var sum int64
	for i, k := range c.N {
		v := float64(c.Level(i))
		m.N += k
		sum += k * int64(c.Level(i))
		m.SumSq += float64(k) * v * v
	}
	m.Sum = float64(sum)
	m.Exact = new(big.Rat).SetInt64(sum)
	return m
}

// CovariateSums are one arm's CUPED sums over its responding customers that
// have a covariate: NX of them, with the sums of x, x², x·y and y, taken about
// the reference values ShiftX and ShiftY (Kx, Ky): SumX = Σ(x - Kx),
// SumXX = Σ(x - Kx)², SumXY = Σ(x - Kx)(y - Ky), SumY = Σ(y - Ky), for the
// reason Moments have a Shift. Customers without a covariate contribute
// nothing here; CUPED gives them the pooled mean of the present covariates,
// which makes their adjustment zero.
type CovariateSums struct {
	NX                       int64
	ShiftX, ShiftY           float64
	SumX, SumXX, SumXY, SumY float64
}

// CovariateSumsOf returns the sums of ys with the aligned covariates xs, in
// which NaN means missing, about the first present covariate and ys[0] (the
// shift MomentsOf(ys) takes).
func CovariateSumsOf(ys, xs []float64) CovariateSums {
	if len(ys) != len(xs) {
		panic(fmt.Sprintf("stats: CovariateSumsOf: %d values but %d covariates", len(ys), len(xs)))
	}
	var s CovariateSums
	if len(ys) > 0 {
		s.ShiftY = ys[0]
	}
	for i, x := range xs {
		if math.IsNaN(x) {
			continue
		}
		if s.NX == 0 {
			s.ShiftX = x
		}
		dx, dy := x-s.ShiftX, ys[i]-s.ShiftY
		s.NX++
		s.SumX += dx
		s.SumXX += dx * dx
		s.SumXY += dx * dy
		s.SumY += dy
	}
	return s
}

// ShiftedTo returns the same sums about kx and ky: with dx = ShiftX - kx and
// dy = ShiftY - ky, Σ(x-kx)(y-ky) = SumXY + dy SumX + dx SumY + NX dx dy, and
// so on.
func (s CovariateSums) ShiftedTo(kx, ky float64) CovariateSums {
	if kx == s.ShiftX && ky == s.ShiftY {
		return s
	}
	dx, dy := s.ShiftX-kx, s.ShiftY-ky
	n := float64(s.NX)
	return CovariateSums{
		NX:     s.NX,
		ShiftX: kx,
		ShiftY: ky,
		SumX:   s.SumX + n*dx,
		SumXX:  s.SumXX + 2*dx*s.SumX + n*dx*dx,
		SumXY:  s.SumXY + dy*s.SumX + dx*s.SumY + n*dx*dy,
		SumY:   s.SumY + n*dy,
	}
}

// Merge returns the sums of both arms about s's shifts (o's when s has no covariate).
func (s CovariateSums) Merge(o CovariateSums) CovariateSums {
	switch {
	case o.NX == 0:
		return s
	case s.NX == 0:
		return o
	}
	o = o.ShiftedTo(s.ShiftX, s.ShiftY)
	return CovariateSums{
		NX:     s.NX + o.NX,
		ShiftX: s.ShiftX,
		ShiftY: s.ShiftY,
		SumX:   s.SumX + o.SumX,
		SumXX:  s.SumXX + o.SumXX,
		SumXY:  s.SumXY + o.SumXY,
		SumY:   s.SumY + o.SumY,
	}
}
