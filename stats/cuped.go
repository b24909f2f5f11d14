package stats

// CUPEDResult is the Welch test on covariate-adjusted values
// y' = y - theta*(x - x_bar).
type CUPEDResult struct {
	Theta             float64 // cov(x, y)/var(x), pooled over both arms
	Diff              float64
	SE                float64
	DF                float64
	CILow             float64
	CIHigh            float64
	PValue            float64
	VarianceReduction float64 // 1 - se'^2/se^2
}

// CUPED adjusts a treatment-control comparison with a pre-experiment
// covariate. yt and yc are the moments of all responding customers; xt and
// xc the covariate sums of those that have one. A missing covariate is
// replaced by x_bar, the mean of the present ones over both arms, which
// leaves that customer's value unadjusted and adds nothing to cov(x, y) or
// var(x); so theta and the adjusted moments follow from the sums alone.
// ok is false when the covariate has no variance (theta is undefined) or
// either arm has fewer than 2 values.
func CUPED(yt, yc Moments, xt, xc CovariateSums, alpha float64) (r CUPEDResult, ok bool) {
	all := xt.add(xc)
	if all.NX < 2 || yt.N < 2 || yc.N < 2 {
		return r, false
	}
	xbar := all.SumX / float64(all.NX)
	sxx := centredXX(all, xbar)
	if !(sxx > cancellationTol*all.SumXX) {
		return r, false
	}
	theta := centredXY(all, xbar) / sxx
	at := adjustMoments(yt, xt, xbar, theta)
	ac := adjustMoments(yc, xc, xbar, theta)
	raw := WelchFromMoments(yt, yc, alpha)
	w := WelchFromMoments(at, ac, alpha)
	return CUPEDResult{
		Theta:             theta,
		Diff:              w.Diff,
		SE:                w.SE,
		DF:                w.DF,
		CILow:             w.CILow,
		CIHigh:            w.CIHigh,
		PValue:            w.PValue,
		VarianceReduction: 1 - (w.SE*w.SE)/(raw.SE*raw.SE),
	}, true
}

// centredXX is sum over present covariates of (x - xbar)^2.
func centredXX(s CovariateSums, xbar float64) float64 {
	return s.SumXX - 2*xbar*s.SumX + float64(s.NX)*xbar*xbar
}

// centredXY is sum over present covariates of (x - xbar)*y. Centring y as
// well would subtract y_bar*sum(x - xbar), which is 0 over both arms.
func centredXY(s CovariateSums, xbar float64) float64 {
	return s.SumXY - xbar*s.SumY
}

// adjustMoments returns the moments of y - theta*(x - xbar) for one arm.
func adjustMoments(y Moments, x CovariateSums, xbar, theta float64) Moments {
	return Moments{
		N:     y.N,
		Sum:   y.Sum - theta*(x.SumX-float64(x.NX)*xbar),
		SumSq: y.SumSq - 2*theta*centredXY(x, xbar) + theta*theta*centredXX(x, xbar),
	}
}
