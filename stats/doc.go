// Package stats is krslab's numerics: per-arm statistics, treatment versus
// control tests, CUPED, sequential monitoring, multiple-comparison
// corrections, sample ratio mismatch, recommendations and power, exactly as
// defined in shared/STATS.md. It knows nothing about experiments, HTTP or
// SQL; callers hand it sufficient statistics.
//
// # Sufficient statistics
//
// Everything is computed from per-arm summaries that a database can
// aggregate with SUM and GROUP BY, so no function needs the raw answers:
//
//   - Moments {N, Shift, Sum, SumSq, Exact} for mean-based outcomes (MomentsOf),
//   - Counts {Min, N[level]} for scale, net and binary outcomes (CountsOf);
//     ranks, and so Mann-Whitney, are exact from counts,
//   - CovariateSums {NX, ShiftX, ShiftY, SumX, SumXX, SumXY, SumY} for CUPED
//     (CovariateSumsOf),
//   - Distinct {Values, N} for composites: their distinct per-customer values
//     with counts, which trimming (the bounds) needs (DistinctOf, DistinctFrom).
//
// The sums are taken about reference values (Shift: Σ(v-K), Σ(v-K)²), not
// raw, so that values with a large offset and a small spread (1e9 + N(0,1),
// timestamps, balances) keep their spread: with K one of the values, the
// variance, the difference of means and CUPED's cross sums lose nothing to
// the offset, and a mean adds K back only at the end. The exact sum (Exact),
// when a caller knows it, settles what rounded sums cannot: whether a mean of
// values that cancel (1e16, -1e16, 3, -3) is exactly 0. Every formula on the
// sums lives in moments.go, welch.go and cuped.go.
//
// Undefined statistics are NaN; Float marshals them as JSON null. Results
// have one shape per kind: an undefined statistic, every statistic of an
// insufficient_data comparison included, is null, never left out.
//
// # Whole experiment
//
//	Analyze(Design, []Outcome) Analysis
//
// computes per-arm ArmStats, a Comparison of every treatment with control
// per outcome (with the deciding Effect, the sequential test, and STATS.md's
// second part: Bounds, Ordinal and, for guardrails with a margin,
// NonInferiority), the family-wide p adjustment and verdicts (guardrails
// outside the family), the SRM check, the ResponseCheck and the
// Recommendation (Recommend, in English and Dutch). Compare, LeeBounds,
// NonInferiorityTest and NewArmStats are its per-outcome building blocks. ArmStats and Comparison are plain structs with float64 fields (NaN
// when not applicable); their MarshalJSON writes the fields of the outcome's
// kind as API.md names them.
//
// # Building blocks (summary-based core, raw-slice helpers beside them)
//
//	WelchFromMoments(t, c Moments, alpha) Welch        WelchTTest(t, c []float64, alpha)
//	MeanCI(Moments, alpha), PooledSD(t, c Moments)
//	MannWhitneyFromCounts(t, c Counts)                 MannWhitney(t, c []float64)
//	NetScore(Counts, topMin, bottomMax) Net, NetDiff(t, c Net, alpha) ZTest
//	NewProportion(events, n, alpha), TwoProportion(xt, nt, xc, nc, alpha) Proportions
//	CUPED(yt, yc Moments, xt, xc CovariateSums, alpha) (CUPEDResult, bool)
//	SequentialTest(diff, se, tau, alpha) Sequential
//	NewZTest(diff, se, alpha), ChanceToBeat(diff, se, higherIsBetter)
//	HolmAdjust(p), BHAdjust(p), AdjustP(p, correction)
//	SRMTest(observed []int64, weights []float64) SRM
//	ResponseCheckTest(responded, assigned []int64, alpha) ResponseCheck
//	LeeBounds(o Outcome, t, c ArmData, assignedT, assignedC, alpha) *Bounds
//	OrdinalFromCounts(t, c Counts, alpha) *Ordinal
//	NonInferiorityTest(e Effect, margin, alpha, higherIsBetter) NonInferiority
//
// # Drivers (what moves an outcome)
//
//	Drivers(CrossProducts) DriversResult              CrossProductsOf(vars ...[]float64)
//
// OLS of an outcome on its drivers and Johnson's relative weights, from n, the sums and
// the cross-products of [Y, X_1..X_k] about reference values (drivers.go).
//
// # Survey waves (STATS.md, third part)
//
// The results of one wave are Analyze over that wave's counted answers and
// eligible customers; nothing here knows about days. Persistence, per outcome
// and treatment arm, is assembled from the waves' comparisons and the
// per-customer deltas between the first and the last wave with a comparison:
//
//	WaveEffectOf(wave, Comparison) WaveEffect, ChangeWaves([]WaveEffect), Durable([]WaveEffect)
//	WaveChange(from, to string, t, c Moments, alpha, higherIsBetter) *Change
//	LevelPairs.DeltaMoments(Outcome) Moments, NetPoints(v, topMin, bottomMax)
//
// A change whose deltas have no spread (se 0) is nil, as one with fewer than 2
// deltas in an arm is: there is nothing to test.
//
// # Power
//
//	SampleSizeMeans(mde, sd, alpha, power), PowerMeans(d, n, alpha)
//	SampleSizeProportions(baseline, mde, alpha, power)
//	NoncentralTCDF(t, df, nc)
//
// For a Bonferroni-safe plan, pass alpha divided by the number of comparisons.
//
// # Choices where STATS.md leaves room
//
//   - When CUPED applies, the CUPED diff and interval also decide the
//     direction of the verdict and are the effect the recommendation quotes
//     (Comparison.Effect), since its p-value is the one adjusted.
//   - CUPED is computed for mean-based kinds only; a covariate without
//     variance gives no CUPED block and the Welch p enters the family.
//   - Design.Alpha 0 means 0.05; an empty or unknown Correction means holm.
//   - Recommendation.Arm is the rolled-out arm, or the control arm's key for
//     keep_control, and empty (omitted in JSON) otherwise.
//   - The response check has a row per arm with assignments; an arm nobody
//     was assigned to leaves the table (and df) rather than make it 0/0.
//   - Bounds need the assigned counts (q = n/assigned): nil when an arm has
//     nobody assigned. A composite without Distinct has no bounds.
//   - The ordinal fit's separation test is on the iterates: as soon as
//     |beta| passes 30 the fit stops and is nil, as it is when Newton's
//     method does not converge in 200 steps.
//   - A guardrail with a margin whose comparison has too little data has
//     non_inferiority null, and its margin does not hold for the
//     recommendation.
//   - The recommendation's peeking rule reads Sequential.PValue as given: a
//     caller that reports the running minimum over looks recommends again
//     with it (Recommend).
//   - Outcome.HigherIsBetter has no default here: callers set it (the
//     domain's default is true).
package stats
