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
// Every sum is brought to one pair of shifts (Kx of the covariates, the
// treatment's K of y) and stays about them, so that a large offset of x or y
// costs no precision. ok is false when the covariate has no variance (theta
// is undefined) or either arm has fewer than 2 values.
func CUPED(yt, yc Moments, xt, xc CovariateSums, alpha float64) (r CUPEDResult, ok bool) {
	ky := yt.Shift
	kx := xt.ShiftX
	if xt.NX == 0 {
		kx = xc.ShiftX
	}
	yc = yc.ShiftedTo(ky)
	xt, xc = xt.ShiftedTo(kx, ky), xc.ShiftedTo(kx, ky)
	all := xt.Merge(xc)
	if all.NX < 2 || yt.N < 2 || yc.N < 2 {
		return r, false
	}
	// m = x_bar - Kx, the pooled mean of the shifted covariates.
	m := all.SumX / float64(all.NX)
	sxx := centredXX(all, m)
	if !(sxx > cancellationTol*all.SumXX) {
		return r, false
	}
	theta := centredXY(all, m) / sxx
	at := adjustMoments(yt, xt, m, theta)
	ac := adjustMoments(yc, xc, m, theta)
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
		VarianceReduction: 1 - (w.SE/raw.SE)*(w.SE/raw.SE),
	}, true
}

// centredXX is the sum over present covariates of (x - x_bar)^2, with m =
// x_bar - Kx: Σ((x-Kx) - m)² = SumXX - 2m SumX + NX m².
func centredXX(s CovariateSums, m float64) float64 {
	return s.SumXX - 2*m*s.SumX + float64(s.NX)*m*m
}

// centredXY is the sum over present covariates of (x - x_bar)*(y - Ky).
// Centring y at its mean instead would subtract (y_bar - Ky)*Σ(x - x_bar),
// which is 0 over both arms.
func centredXY(s CovariateSums, m float64) float64 {
	return s.SumXY - m*s.SumY
}

// adjustMoments returns the moments of y' = y - theta*(x - x_bar) for one arm,
// about y's shift K: y' - K = (y - K) - theta*(x - x_bar). Its exact sum is
// unknown.
func adjustMoments(y Moments, x CovariateSums, m, theta float64) Moments {
	return Moments{
		N:     y.N,
		Shift: y.Shift,
		Sum:   y.Sum - theta*(x.SumX-float64(x.NX)*m),
		SumSq: y.SumSq - 2*theta*centredXY(x, m) + theta*theta*centredXX(x, m),
	}
}
