package stats

import (
	"encoding/json"
	"math"

	"gonum.org/v1/gonum/mat"
)

// Ordinal is the proportional-odds (cumulative logit) effect of the
// treatment on an ordered outcome, a robustness check beside Mann-Whitney
// that uses the answers' order but not their spacing:
//
//	logit P(Y <= l_j) = theta_j - beta*T,  j = 1..J-1, T = 1 for treatment,
//
// over the levels l_1 < ... < l_J present in either arm. OddsRatio = exp(beta)
// > 1: treated customers tend to answer higher.
type Ordinal struct {
	LogOddsRatio float64 // beta, the maximum-likelihood estimate
	SE           float64 // from the inverse observed information (all J parameters)
	OddsRatio    float64
	CILow        float64 // of the odds ratio: exp(beta -+ z(1-alpha/2)*se)
	CIHigh       float64
	PValue       float64 // Wald, two-sided
}

// MarshalJSON writes log_odds_ratio, se, odds_ratio, ci_low, ci_high and p_value.
func (o Ordinal) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		LogOddsRatio Float `json:"log_odds_ratio"`
		SE           Float `json:"se"`
		OddsRatio    Float `json:"odds_ratio"`
		CILow        Float `json:"ci_low"`
		CIHigh       Float `json:"ci_high"`
		PValue       Float `json:"p_value"`
	}{Float(o.LogOddsRatio), Float(o.SE), Float(o.OddsRatio), Float(o.CILow), Float(o.CIHigh), Float(o.PValue)})
}

// Limits of the ordinal fit.
const (
	// maxLogOddsRatio: an estimate beyond it means separation (every treated answer
	// above, or below, every control answer, or nearly so): the likelihood keeps
	// growing as |beta| does, and there is no finite MLE to report.
	maxLogOddsRatio = 30
	ordinalMaxIter  = 200
	// ordinalStepTol is the Newton step, relative to the parameters, below which the
	// fit has converged: the step after it is below rounding.
	ordinalStepTol = 1e-11
)

// OrdinalFromCounts fits the proportional-odds model of treatment t against
// control c by maximum likelihood on the counts per level, by Newton-Raphson
// (gonum's Cholesky of the observed information, the negated Hessian, for the
// steps and for the variance), halving steps that would lower the likelihood. It is nil when
// fewer than 2 levels are present, either arm has fewer than 2 answers, or no
// finite estimate exists (|beta| > 30: separation).
func OrdinalFromCounts(t, c Counts, alpha float64) *Ordinal {
	f, ok := newOrdinalFit(t, c)
	if !ok {
		return nil
	}
	j := f.params()
	x := f.start()
	grad := make([]float64, j)
	info := mat.NewSymDense(j, nil)
	ll, ok := f.eval(x, grad, info)
	if !ok {
		return nil
	}
	var chol mat.Cholesky
	step := mat.NewVecDense(j, nil)
	next := make([]float64, j)
	nextGrad := make([]float64, j)
	nextInfo := mat.NewSymDense(j, nil)
	converged := false
	for range ordinalMaxIter {
		if !chol.Factorize(info) {
			return nil
		}
		if err := chol.SolveVecTo(step, mat.NewVecDense(j, grad)); err != nil {
			return nil
		}
		size, scale := 0.0, 1.0
		for i := range j {
			size = math.Max(size, math.Abs(step.AtVec(i)))
			scale = math.Max(scale, math.Abs(x[i]))
		}
		// Halve the step until the likelihood does not fall (beyond rounding).
		h := 1.0
		accepted := false
		for range 40 {
			for i := range j {
				next[i] = x[i] + h*step.AtVec(i)
			}
			nll, ok := f.eval(next, nextGrad, nextInfo)
			if ok && nll >= ll-1e-12*math.Abs(ll) {
				ll = nll
				accepted = true
				break
			}
			h /= 2
		}
		if !accepted {
			// No step keeps the likelihood: converged if the step was rounding already.
			converged = size <= 1e3*ordinalStepTol*scale
			break
		}
		x, next = next, x
		grad, nextGrad = nextGrad, grad
		info, nextInfo = nextInfo, info
		if math.Abs(x[j-1]) > maxLogOddsRatio {
			return nil
		}
		if h*size <= ordinalStepTol*scale {
			converged = true
			break
		}
	}
	if !converged || !chol.Factorize(info) {
		return nil
	}
	// se^2 is the (beta, beta) element of the inverse of the observed information.
	unit := mat.NewVecDense(j, nil)
	unit.SetVec(j-1, 1)
	if err := chol.SolveVecTo(step, unit); err != nil {
		return nil
	}
	beta, se := x[j-1], math.Sqrt(step.AtVec(j-1))
	h := zCrit(alpha) * se
	return &Ordinal{
		LogOddsRatio: beta,
		SE:           se,
		OddsRatio:    math.Exp(beta),
		CILow:        math.Exp(beta - h),
		CIHigh:       math.Exp(beta + h),
		PValue:       zTwoSidedP(beta / se),
	}
}

// ordinalFit holds the counts of the levels present in either arm: n[0] of
// control (T = 0), n[1] of treatment (T = 1). The parameters are
// theta_1..theta_{J-1}, then beta.
type ordinalFit struct {
	n [2][]float64
	h []float64 // scratch for the Hessian, J x J
}

func newOrdinalFit(t, c Counts) (ordinalFit, bool) {
	var f ordinalFit
	lo := min(t.Min, c.Min)
	hi := max(t.Min+len(t.N), c.Min+len(c.N))
	var nt, nc int64
	for v := lo; v < hi; v++ {
		kt, kc := countAt(t, v), countAt(c, v)
		if kt+kc == 0 {
			continue
		}
		f.n[0] = append(f.n[0], float64(kc))
		f.n[1] = append(f.n[1], float64(kt))
		nt += kt
		nc += kc
	}
	j := len(f.n[0])
	f.h = make([]float64, j*j)
	return f, j >= 2 && nt >= 2 && nc >= 2
}

// params is J: J-1 thresholds and beta.
func (f ordinalFit) params() int { return len(f.n[0]) }

// start is the thresholds of the pooled cumulative shares, beta 0: the fit
// without a treatment effect, where the likelihood is concave and near.
func (f ordinalFit) start() []float64 {
	j := f.params()
	x := make([]float64, j)
	var all, cum float64
	for l := range j {
		all += f.n[0][l] + f.n[1][l]
	}
	for l := range j - 1 {
		cum += f.n[0][l] + f.n[1][l]
		p := cum / all
		x[l] = math.Log(p / (1 - p))
	}
	return x
}

// eval is the log-likelihood at x with its gradient and the observed
// information, the negated Hessian (written into grad and info); ok is false
// where a level's probability underflows to 0.
//
// A customer at level j of group T contributes log(F(a) - F(b)), a = theta_j
// - beta*T (+Inf for the top level), b = theta_{j-1} - beta*T (-Inf for the
// bottom one), F the logistic function and f = F(1-F) its density. With
// pi = F(a) - F(b), the derivatives in (a, b) are f(a)/pi and -f(b)/pi, the
// second ones f'(a)/pi - (f(a)/pi)^2, -f'(b)/pi - (f(b)/pi)^2 and
// f(a)f(b)/pi^2 with f' = f(1-2F); a and b move with their theta by +1 and
// with beta by -T.
func (f ordinalFit) eval(x, grad []float64, info *mat.SymDense) (ll float64, ok bool) {
	j := f.params()
	b := j - 1 // index of beta
	clear(grad)
	h := f.h
	clear(h)
	add := func(r, c int, v float64) { h[r*j+c] += v }
	for g, counts := range f.n {
		tr := float64(g)
		for l, n := range counts {
			if n == 0 {
				continue
			}
			top, bottom := l == j-1, l == 0
			var ea, eb float64 // the two linear predictors
			fa, sa, fb, sb := 1.0, 0.0, 0.0, 1.0
			if !top {
				ea = x[l] - x[b]*tr
				fa, sa = logistic(ea), logistic(-ea)
			}
			if !bottom {
				eb = x[l-1] - x[b]*tr
				fb, sb = logistic(eb), logistic(-eb)
			}
			// pi from the side where it keeps its digits.
			pi := fa - fb
			if !bottom && eb > 0 {
				pi = sb - sa
			}
			if !(pi > 0) {
				return 0, false
			}
			ll += n * math.Log(pi)
			da, db := fa*sa/pi, fb*sb/pi // f(a)/pi, f(b)/pi
			haa := da*(sa-fa) - da*da
			hbb := -db*(sb-fb) - db*db
			hab := da * db
			// d a = e_l - T e_beta; d b = e_{l-1} - T e_beta.
			if !top {
				grad[l] += n * da
				grad[b] -= n * da * tr
				add(l, l, n*haa)
				add(l, b, -n*haa*tr)
				add(b, l, -n*haa*tr)
				add(b, b, n*haa*tr*tr)
			}
			if !bottom {
				grad[l-1] -= n * db
				grad[b] += n * db * tr
				add(l-1, l-1, n*hbb)
				add(l-1, b, -n*hbb*tr)
				add(b, l-1, -n*hbb*tr)
				add(b, b, n*hbb*tr*tr)
			}
			if !top && !bottom {
				// hab (d a d b' + d b d a')
				add(l, l-1, n*hab)
				add(l-1, l, n*hab)
				add(l, b, -n*hab*tr)
				add(b, l, -n*hab*tr)
				add(l-1, b, -n*hab*tr)
				add(b, l-1, -n*hab*tr)
				add(b, b, 2*n*hab*tr*tr)
			}
		}
	}
	for r := range j {
		for c := r; c < j; c++ {
			info.SetSym(r, c, -h[r*j+c])
		}
	}
	return ll, true
}

// logistic is 1/(1+e^-x), without overflow for large |x|.
func logistic(x float64) float64 {
	if x >= 0 {
		return 1 / (1 + math.Exp(-x))
	}
	e := math.Exp(x)
	return e / (1 + e)
}
