package stats

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"
)

// Drivers: which building blocks move an outcome (STATS.md, second part, "Drivers"). An
// ordinary least-squares regression of the outcome Y on the drivers X_1..X_k with an
// intercept, over the customers who have a value of each, plus Johnson's (2000) relative
// weights, which split R² among correlated drivers where the coefficients cannot. All of
// it is a function of n, the sums and the cross-products of [Y, X_1..X_k], which a
// database aggregates in one pass (CrossProducts), so no customer's values are needed.

// CrossProducts are the sufficient statistics of a linear regression: over N rows of m
// variables (variable 0 is Y, then the drivers), taken about reference values Shift
// (K_i), the sums Sum[i] = Σ(v_i - K_i) and the cross-products Σ(v_i - K_i)(v_j - K_j)
// for i <= j, packed row by row in Cross (see CrossIndex).
//
// The shift serves as it does for Moments: about a K that lies among the values, the
// centred cross-products Σ(v_i - K_i)(v_j - K_j) - Sum_i Sum_j / N lose only the digits
// that (mean - K)²/variance has, never those of an offset (1e9 + N(0,1), a balance).
type CrossProducts struct {
	N     int64
	Shift []float64
	Sum   []float64
	Cross []float64
}

// CrossIndex is the position of Σ(v_i - K_i)(v_j - K_j) in CrossProducts.Cross for m
// variables: the upper triangle row by row, (0,0), (0,1), ..., (0,m-1), (1,1), ...
// Either order of i and j gives the same position.
func CrossIndex(i, j, m int) int {
	if i > j {
		i, j = j, i
	}
	return i*m - i*(i-1)/2 + (j - i)
}

// NewCrossProducts returns empty sums of m variables about the given shifts (nil: 0).
func NewCrossProducts(m int, shift []float64) CrossProducts {
	if shift == nil {
		shift = make([]float64, m)
	}
	if len(shift) != m {
		panic(fmt.Sprintf("stats: NewCrossProducts: %d shifts for %d variables", len(shift), m))
	}
	return CrossProducts{Shift: append([]float64(nil), shift...), Sum: make([]float64, m), Cross: make([]float64, m*(m+1)/2)}
}

// CrossProductsOf returns the sums of aligned value lists, Y first: position r of every
// list is the same customer, and NaN is a missing value. A customer counts only with a
// value of every variable. The shifts are the first counted customer's values.
func CrossProductsOf(vars ...[]float64) CrossProducts {
	m := len(vars)
	for _, v := range vars[1:] {
		if len(v) != len(vars[0]) {
			panic(fmt.Sprintf("stats: CrossProductsOf: lists of %d and %d values", len(vars[0]), len(v)))
		}
	}
	var s CrossProducts
	row := make([]float64, m)
	for r := range vars[0] {
		for i := range vars {
			row[i] = vars[i][r]
		}
		if s.Sum == nil {
			if !completeRow(row) {
				continue
			}
			s = NewCrossProducts(m, row)
		}
		s.Add(row)
	}
	if s.Sum == nil {
		s = NewCrossProducts(m, nil)
	}
	return s
}

// Add accumulates one customer's values (Y first); a row with a NaN (a missing value)
// is skipped, as the customer does not count.
func (s *CrossProducts) Add(row []float64) {
	m := len(s.Sum)
	if len(row) != m {
		panic(fmt.Sprintf("stats: CrossProducts.Add: %d values for %d variables", len(row), m))
	}
	if !completeRow(row) {
		return
	}
	s.N++
	k := 0
	for i := range m {
		di := row[i] - s.Shift[i]
		s.Sum[i] += di
		for j := i; j < m; j++ {
			s.Cross[k] += di * (row[j] - s.Shift[j])
			k++
		}
	}
}

// Vars is the number of variables, Y included.
func (s CrossProducts) Vars() int { return len(s.Sum) }

// Moments are variable i's own sums, for its mean and variance.
func (s CrossProducts) Moments(i int) Moments {
	return Moments{N: s.N, Shift: s.Shift[i], Sum: s.Sum[i], SumSq: s.Cross[CrossIndex(i, i, s.Vars())]}
}

// centred is Σ(v_i - mean_i)(v_j - mean_j).
func (s CrossProducts) centred(i, j int) float64 {
	return s.Cross[CrossIndex(i, j, s.Vars())] - s.Sum[i]*s.Sum[j]/float64(s.N)
}

func completeRow(row []float64) bool {
	for _, v := range row {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return false
		}
	}
	return true
}

// DriversResult is the regression of Y on its drivers. Every statistic is NaN when it
// cannot be computed: n < k + 2, Y or a driver without variance, or drivers so nearly
// collinear that the coefficients are not determined (STATS.md names the first two; the
// third has no answer either). A driver's Mean is kept whenever there are values.
type DriversResult struct {
	N           int64
	RSquared    float64
	AdjRSquared float64
	Intercept   float64
	Drivers     []DriverStats // in the order of the variables 1..k
}

// DriverStats is one driver's part of the regression.
type DriverStats struct {
	Coef   float64 // the OLS coefficient, in Y's units per unit of the driver
	SE     float64 // classical: residual variance RSS/(n-k-1)
	T      float64 // Coef/SE, with n-k-1 degrees of freedom; ±Inf for a perfect fit
	PValue float64 // two-sided
	Beta   float64 // standardized: Coef * sd_x / sd_y (ddof = 1)
	// Importance is Johnson's relative weight: the driver's part of R², so that the
	// drivers' importances sum to R², also when they are correlated.
	Importance float64
	Share      float64 // Importance / R²
	Mean       float64
}

// Computable reports whether the regression has numbers.
func (r DriversResult) Computable() bool { return !math.IsNaN(r.RSquared) }

// collinearTol is the ratio of the smallest to the largest eigenvalue of the drivers'
// correlation matrix below which the coefficients are not determined: their relative
// error grows as the inverse ratio times the unit roundoff, which at 1e10 is the
// contract's 1e-6.
const collinearTol = 1e-10

// Drivers regresses variable 0 (Y) on variables 1..k of s by ordinary least squares with
// an intercept, and splits R² by Johnson's relative weights.
//
// It works on the correlation matrix R of the centred cross-products: the standardized
// coefficients solve R_xx β = r_xy, R² = r_xy'β, and with the eigendecomposition
// R_xx = Q Λ Q', Λ^(1/2) gives Johnson's Λh = Q Λ^(1/2) Q', b* = Λh⁻¹ r_xy and
// importance_j = Σ_k Λh_jk² b*_k², which sum to r_xy' R_xx⁻¹ r_xy = R². The coefficients
// in Y's units are β_j sd_y / sd_j, their classical standard errors
// sqrt(RSS/(n-k-1) · (R_xx⁻¹)_jj / Sxx_jj) with RSS = Syy (1 - R²), a residual sum of
// squares within rounding of 0 (a perfect fit) being 0.
func Drivers(s CrossProducts) DriversResult {
	m := s.Vars()
	if m < 2 {
		panic("stats: Drivers: no drivers")
	}
	k := m - 1
	nan := math.NaN()
	res := DriversResult{N: s.N, RSquared: nan, AdjRSquared: nan, Intercept: nan, Drivers: make([]DriverStats, k)}
	for j := range res.Drivers {
		mean := nan
		if s.N > 0 {
			mean = s.Moments(j + 1).Mean()
		}
		res.Drivers[j] = DriverStats{Coef: nan, SE: nan, T: nan, PValue: nan, Beta: nan, Importance: nan, Share: nan, Mean: mean}
	}
	if s.N < int64(k)+2 {
		return res
	}
	// Every variable needs variance, by the rule of Moments (a spread that is rounding
	// is none).
	for i := range m {
		if !(s.Moments(i).Variance() > 0) {
			return res
		}
	}
	ss := make([]float64, m) // centred sums of squares
	for i := range m {
		ss[i] = s.centred(i, i)
	}
	// The correlation of variables a and b; the root of each sum of squares on its own, as
	// their product leaves float64 for variables on a scale of 1e±77 or beyond.
	corr := func(a, b int) float64 { return s.centred(a, b) / (math.Sqrt(ss[a]) * math.Sqrt(ss[b])) }
	rxx := mat.NewSymDense(k, nil)
	rxy := mat.NewVecDense(k, nil)
	for i := range k {
		rxy.SetVec(i, corr(0, i+1))
		rxx.SetSym(i, i, 1)
		for j := i + 1; j < k; j++ {
			rxx.SetSym(i, j, corr(i+1, j+1))
		}
	}
	var eig mat.EigenSym
	if !eig.Factorize(rxx, true) {
		return res
	}
	lambda := eig.Values(nil) // ascending
	if !(lambda[0] > collinearTol*lambda[k-1]) {
		return res
	}
	var q mat.Dense
	eig.VectorsTo(&q)

	// With z = Q' r_xy: β = Q Λ⁻¹ z, b* = Q Λ^(-1/2) z, Λh = Q Λ^(1/2) Q',
	// (R_xx⁻¹)_jj = Σ_l Q_jl² / λ_l.
	z := mat.NewVecDense(k, nil)
	z.MulVec(q.T(), rxy)
	beta := make([]float64, k)
	bstar := make([]float64, k)
	for j := range k {
		for l := range k {
			beta[j] += q.At(j, l) * z.AtVec(l) / lambda[l]
			bstar[j] += q.At(j, l) * z.AtVec(l) / math.Sqrt(lambda[l])
		}
	}
	r2 := 0.0
	for j := range k {
		r2 += rxy.AtVec(j) * beta[j]
	}
	r2 = clampR2(r2)
	n := float64(s.N)
	df := n - float64(k) - 1
	rss := ss[0] * (1 - r2)
	if rss <= cancellationTol*ss[0] {
		rss, r2 = 0, 1
	}
	sigma2 := rss / df
	res.RSquared = r2
	res.AdjRSquared = 1 - (1-r2)*(n-1)/df
	sdY := math.Sqrt(ss[0] / (n - 1))
	intercept := s.Moments(0).Mean()
	for j := range k {
		d := &res.Drivers[j]
		sdX := math.Sqrt(ss[j+1] / (n - 1))
		d.Beta = beta[j]
		d.Coef = beta[j] * sdY / sdX
		inv := 0.0
		for l := range k {
			inv += q.At(j, l) * q.At(j, l) / lambda[l]
		}
		d.SE = math.Sqrt(sigma2) / math.Sqrt(ss[j+1]) * math.Sqrt(inv) // (Y and X on scales of their own)
		switch {
		case d.SE > 0:
			d.T = d.Coef / d.SE
			d.PValue = tTwoSidedP(d.T, df)
		case d.Coef == 0:
			// A perfect fit without this driver: its t is 0/0.
		default:
			d.T = math.Copysign(math.Inf(1), d.Coef)
			d.PValue = 0
		}
		imp := 0.0
		for l := range k {
			h := 0.0 // Λh_jl
			for p := range k {
				h += q.At(j, p) * math.Sqrt(lambda[p]) * q.At(l, p)
			}
			imp += h * h * bstar[l] * bstar[l]
		}
		d.Importance = imp
		if r2 > 0 {
			d.Share = imp / r2
		}
		intercept -= d.Coef * d.Mean
	}
	res.Intercept = intercept
	return res
}

func clampR2(x float64) float64 { return math.Max(0, math.Min(1, x)) }
