package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"slices"

	"github.com/krslab/krslab/experiment"
	"github.com/krslab/krslab/stats"
)

const simulateUsage = "simulate needs aa, power, response-bias or fade: krslab simulate aa --runs 2000 --looks 28"

func runSimulate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return errors.New(simulateUsage)
	}
	switch args[0] {
	case "aa", "power":
		return simulateCalibration(args[0], args[1:], stdout, stderr)
	case "response-bias":
		return simulateResponseBias(args[1:], stdout, stderr)
	case "fade":
		return simulateFade(args[1:], stdout, stderr)
	}
	return errors.New(simulateUsage)
}

// simulateCalibration is aa and power: one fixed-horizon look at a single outcome, or
// (aa with --looks) A/A experiments on the whole survey read every day, or (aa with
// --waves) A/A experiments surveyed in waves, read for persistence.
func simulateCalibration(mode string, args []string, stdout, stderr io.Writer) error {
	sim := experiment.DefaultSimulation()
	peek := experiment.DefaultPeekingSimulation()
	peek.Looks = 0 // one look unless aa asks for more
	waves := experiment.DefaultWaveSimulation()
	waves.Waves = 0 // no waves unless aa asks for them
	fs := newFlagSet("simulate "+mode, stderr)
	fs.IntVar(&sim.Runs, "runs", sim.Runs, "experiments to simulate")
	fs.Float64Var(&sim.Alpha, "alpha", sim.Alpha, "significance level")
	fs.Uint64Var(&sim.Seed, "seed", sim.Seed, "random seed")
	fs.IntVar(&sim.N, "n", sim.N, "answering customers per arm (one look), or customers per arm surveyed in every wave (with --waves)")
	fs.Float64Var(&sim.LatentMean, "mean", sim.LatentMean, "mean of the latent 1..7 answer (one look, --waves)")
	fs.Float64Var(&sim.LatentSD, "sd", sim.LatentSD, "sd of the latent 1..7 answer (one look, --waves)")
	if mode == "power" {
		fs.Float64Var(&sim.Effect, "effect", 0.25, "true shift of the treatment's answers, in answer points")
	}
	// Which flags belong to which check: --looks's alone, --waves's alone, either's.
	peeking, waving, either := map[string]bool{}, map[string]bool{}, map[string]bool{}
	var response float64
	var workers int
	if mode == "aa" {
		fs.IntVar(&peek.Looks, "looks", 0, "read the whole survey every day for this many days (0: one look at one outcome)")
		fs.IntVar(&peek.Arms, "arms", peek.Arms, "arms, control included: 2 or 3 (with --looks)")
		fs.IntVar(&peek.PerDay, "per-day", peek.PerDay, "customers assigned per arm and day (with --looks)")
		fs.IntVar(&peek.Target, "target", peek.Target, "target_responses_per_arm (with --looks)")
		fs.StringVar(&peek.Correction, "correction", peek.Correction, "holm, bh or none (with --looks)")
		fs.Float64Var(&peek.CESMargin, "ces-margin", peek.CESMargin, "margin of the CES guardrail in net-score points, 0 for none (with --looks)")
		fs.IntVar(&waves.Waves, "waves", 0, "survey the same customers in this many waves and test the change between the first and the last (0: one look)")
		fs.Float64Var(&waves.Correlation, "correlation", waves.Correlation, "correlation of a customer's latent answers between waves, 0 to below 1 (with --waves)")
		fs.Float64Var(&response, "response", peek.Response, "share of the assigned customers who answer (with --looks), or who answer each wave (with --waves)")
		fs.IntVar(&workers, "workers", 0, "runs simulated at once, 0 for one per CPU (with --looks or --waves)")
		for _, f := range []string{"arms", "per-day", "target", "correction", "ces-margin"} {
			peeking[f] = true
		}
		waving["correlation"] = true
		either["response"], either["workers"] = true, true
	}
	quiet := fs.Bool("quiet", false, "no progress bar")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var onePeeking, oneWaving, oneEither, oneFixed string
	fs.Visit(func(f *flag.Flag) {
		switch {
		case peeking[f.Name]:
			onePeeking = f.Name
		case waving[f.Name]:
			oneWaving = f.Name
		case either[f.Name]:
			oneEither = f.Name
		case f.Name == "n" || f.Name == "mean" || f.Name == "sd":
			oneFixed = f.Name
		}
	})
	switch {
	case sim.Runs < 1 || sim.Runs > 1_000_000:
		return errors.New("--runs must be from 1 to 1000000")
	case !(sim.Alpha > 0 && sim.Alpha < 0.5):
		return errors.New("--alpha must be > 0 and < 0.5")
	case peek.Looks != 0 && waves.Waves != 0:
		return errors.New("--looks and --waves are two different checks; choose one")
	case peek.Looks > 0 && oneFixed != "":
		return fmt.Errorf("--%s is for the one-look calibration; with --looks the survey's answers are simulated", oneFixed)
	case peek.Looks == 0 && onePeeking != "":
		return fmt.Errorf("--%s needs --looks", onePeeking)
	case waves.Waves == 0 && oneWaving != "":
		return fmt.Errorf("--%s needs --waves", oneWaving)
	case peek.Looks == 0 && waves.Waves == 0 && oneEither != "":
		return fmt.Errorf("--%s needs --looks or --waves", oneEither)
	case peek.Looks < 0 || peek.Looks > 365:
		return errors.New("--looks must be from 1 to 365 (0: the one-look calibration)")
	}
	if peek.Looks > 0 {
		peek.Runs, peek.Alpha, peek.Seed, peek.Response, peek.Workers = sim.Runs, sim.Alpha, sim.Seed, response, workers
		return simulatePeeking(peek, *quiet, stdout, stderr)
	}
	if waves.Waves != 0 {
		waves.Runs, waves.Alpha, waves.Seed, waves.Response, waves.Workers = sim.Runs, sim.Alpha, sim.Seed, response, workers
		waves.N, waves.LatentMean, waves.LatentSD = sim.N, sim.LatentMean, sim.LatentSD
		return simulateWavesAA(waves, *quiet, stdout, stderr)
	}
	switch {
	case sim.N < 2 || sim.N > 1_000_000:
		return errors.New("--n must be from 2 to 1000000")
	case !(sim.LatentSD > 0):
		return errors.New("--sd must be > 0")
	}
	res := sim.Run(runProgress(sim.Runs, *quiet, stderr))
	if mode == "aa" {
		fmt.Fprintf(stdout, "false_positive_rate=%.4f (%d of %d)\n", res.Rate(), res.Significant, res.Runs)
		return nil
	}
	fmt.Fprintf(stdout, "observed_power=%.4f planned_power=%.4f (%d of %d)\n", res.Rate(), res.PlannedPower, res.Significant, res.Runs)
	return nil
}

// simulateWavesAA runs A/A experiments surveyed in waves and prints how often their
// effect was called fading or growing: a false alarm every time, to be at most alpha.
func simulateWavesAA(sim experiment.WaveSimulation, quiet bool, stdout, stderr io.Writer) error {
	if err := checkWaveSimulation(sim); err != nil {
		return err
	}
	res := sim.Run(runProgress(sim.Runs, quiet, stderr))
	fmt.Fprintf(stdout, "A/A with survey waves: %d runs, %d customers per arm surveyed in %d waves, %g%% answering each wave, within-customer correlation %g, alpha %g\n",
		res.Runs, sim.N, sim.Waves, 100*sim.Response, sim.Correlation, sim.Alpha)
	lo, hi := stats.BinomialInterval(int64(res.Fading+res.Growing), int64(res.Runs), 0.05)
	fmt.Fprintf(stdout, "trend_false_positive_rate=%.4f (%d of %d runs called fading or growing; 95%% interval %.4f to %.4f): %d fading, %d growing, %d without a change to test\n",
		res.TrendRate(), res.Fading+res.Growing, res.Runs, lo, hi, res.Fading, res.Growing, res.NoChange)
	fmt.Fprintf(stdout, "durable (the last wave better) in %d of %d runs; %.0f customers per arm answered both the first and the last wave, on average\n",
		res.Durable, res.Runs, res.Pairs)
	return nil
}

// simulateFade runs experiments whose effect falls away between the first and the last
// wave and prints how often persistence calls it fading: the power of the change's test.
func simulateFade(args []string, stdout, stderr io.Writer) error {
	sim := experiment.DefaultFadeSimulation()
	fs := newFlagSet("simulate fade", stderr)
	fs.IntVar(&sim.Runs, "runs", sim.Runs, "experiments to simulate")
	fs.IntVar(&sim.N, "n", sim.N, "customers per arm, surveyed in every wave")
	fs.IntVar(&sim.Waves, "waves", sim.Waves, "survey waves")
	fs.Float64Var(&sim.Response, "response", sim.Response, "share of the customers who answer each wave")
	fs.Float64Var(&sim.Correlation, "correlation", sim.Correlation, "correlation of a customer's latent answers between waves, 0 to below 1")
	fs.Float64Var(&sim.Effect, "effect", sim.Effect, "true shift of the treatment's latent 1..7 answer in the first wave, in answer points")
	fs.Float64Var(&sim.Remaining, "remaining", sim.Remaining, "share of the first wave's effect left in the last wave (0.5: it halves; the waves between lie on the line)")
	fs.Float64Var(&sim.Alpha, "alpha", sim.Alpha, "significance level")
	fs.Float64Var(&sim.LatentMean, "mean", sim.LatentMean, "mean of the latent 1..7 answer")
	fs.Float64Var(&sim.LatentSD, "sd", sim.LatentSD, "sd of the latent 1..7 answer")
	fs.Uint64Var(&sim.Seed, "seed", sim.Seed, "random seed")
	fs.IntVar(&sim.Workers, "workers", 0, "runs simulated at once, 0 for one per CPU")
	quiet := fs.Bool("quiet", false, "no progress bar")
	if err := fs.Parse(args); err != nil {
		return err
	}
	switch {
	case sim.Runs < 1 || sim.Runs > 1_000_000:
		return errors.New("--runs must be from 1 to 1000000")
	case !(sim.Alpha > 0 && sim.Alpha < 0.5):
		return errors.New("--alpha must be > 0 and < 0.5")
	case !(math.Abs(sim.Effect) <= 6):
		return errors.New("--effect must be from -6 to 6 answer points")
	case !(sim.Remaining >= -10 && sim.Remaining <= 10):
		return errors.New("--remaining must be from -10 to 10 (a share of the first wave's effect)")
	}
	if err := checkWaveSimulation(sim); err != nil {
		return err
	}
	res := sim.Run(runProgress(sim.Runs, *quiet, stderr))
	fmt.Fprintf(stdout, "fade: %d runs, %d customers per arm surveyed in %d waves, %g%% answering each wave, within-customer correlation %g; the treatment shifts the latent answer by %g points in the first wave and %g in the last, alpha %g\n",
		res.Runs, sim.N, sim.Waves, 100*sim.Response, sim.Correlation, sim.Effect, sim.Effect*sim.Remaining, sim.Alpha)
	lo, hi := stats.BinomialInterval(int64(res.Fading), int64(res.Runs), 0.05)
	fmt.Fprintf(stdout, "fading_rate=%.4f (%d of %d runs; 95%% interval %.4f to %.4f) planned_power=%.4f: %d growing, %d stable, %d without a change to test\n",
		res.FadingRate(), res.Fading, res.Runs, lo, hi, res.PlannedPower, res.Growing, res.Stable, res.NoChange)
	fmt.Fprintf(stdout, "change of the effect on the answers: true %+.3f points, estimated %+.3f on average, from %.0f customers per arm who answered both the first and the last wave\n",
		res.TrueChange, res.MeanChange, res.Pairs)
	lo, hi = stats.BinomialInterval(int64(res.Durable), int64(res.Runs), 0.05)
	fmt.Fprintf(stdout, "durable_rate=%.4f (%d of %d runs still better in the last wave; 95%% interval %.4f to %.4f); better in the first wave in %d\n",
		res.DurableRate(), res.Durable, res.Runs, lo, hi, res.FirstBetter)
	return nil
}

// checkWaveSimulation checks the settings both wave simulations share.
func checkWaveSimulation(sim experiment.WaveSimulation) error {
	switch {
	case sim.Waves < 2 || sim.Waves > experiment.MaxWaves:
		return fmt.Errorf("--waves must be from 2 to %d", experiment.MaxWaves)
	case sim.N < 2 || sim.N > 1_000_000:
		return errors.New("--n must be from 2 to 1000000")
	case !(sim.Response > 0 && sim.Response <= 1):
		return errors.New("--response must be > 0 and <= 1")
	case !(sim.Correlation >= 0 && sim.Correlation < 1):
		return errors.New("--correlation must be from 0 to below 1")
	case !(sim.LatentSD > 0 && sim.LatentSD <= 100) || !(math.Abs(sim.LatentMean) <= 100):
		return errors.New("--mean must be from -100 to 100 and --sd above 0 and at most 100")
	case sim.Workers < 0:
		return errors.New("--workers must be 0 or more")
	}
	return nil
}

// simulatePeeking runs A/A experiments read every day and prints how often they were told
// to roll out, by the recommendation and by the first part's rule.
func simulatePeeking(sim experiment.PeekingSimulation, quiet bool, stdout, stderr io.Writer) error {
	switch {
	case sim.Arms < 2 || sim.Arms > 3:
		return errors.New("--arms must be 2 or 3")
	case sim.PerDay < 1 || sim.PerDay > 100_000:
		return errors.New("--per-day must be from 1 to 100000")
	case !(sim.Response > 0 && sim.Response <= 1):
		return errors.New("--response must be > 0 and <= 1")
	case sim.Target < 1 || sim.Target > 10_000_000:
		return errors.New("--target must be from 1 to 10000000")
	case !slices.Contains([]string{"holm", "bh", "none"}, sim.Correction):
		return errors.New("--correction must be holm, bh or none")
	case !(sim.CESMargin >= 0 && !math.IsInf(sim.CESMargin, 0)):
		return errors.New("--ces-margin must be 0 or more")
	case sim.Workers < 0:
		return errors.New("--workers must be 0 or more")
	}
	res := sim.Run(runProgress(sim.Runs, quiet, stderr))
	margin := "no margin"
	if sim.CESMargin > 0 {
		margin = fmt.Sprintf("margin %g", sim.CESMargin)
	}
	fmt.Fprintf(stdout, "A/A: %d runs, %d arms, %d daily looks, %d assigned per arm and day, %g%% answer, target %d responses per arm (reached by the last look in %d runs), alpha %g, %s, CES guardrail with %s\n",
		res.Runs, sim.Arms, sim.Looks, sim.PerDay, 100*sim.Response, sim.Target, res.TargetReached, sim.Alpha, sim.Correction, margin)
	fmt.Fprintf(stdout, "second_part_roll_out_rate=%.4f (%d of %d runs at some look: %d while short of the target, %d once it was reached; %d for a team that stops at the target)\n",
		res.SecondPartRate(), res.SecondPart, res.Runs, res.SecondPart-res.AfterTarget, res.AfterTarget, res.UntilTarget)
	fmt.Fprintf(stdout, "first_part_roll_out_rate=%.4f (%d of %d runs at some look; %d at the last look alone)\n",
		res.FirstPartRate(), res.FirstPart, res.Runs, res.FirstPartLast)
	return nil
}

// simulateResponseBias runs experiments whose treatment only makes happy customers answer
// more often and prints how often each rule rolls it out.
func simulateResponseBias(args []string, stdout, stderr io.Writer) error {
	sim := experiment.DefaultResponseBiasSimulation()
	fs := newFlagSet("simulate response-bias", stderr)
	fs.IntVar(&sim.Runs, "runs", sim.Runs, "experiments to simulate")
	fs.IntVar(&sim.N, "n", sim.N, "customers assigned per arm")
	fs.Float64Var(&sim.Response, "response", sim.Response, "response rate of control, and of the treated customers who are not happy")
	fs.Float64Var(&sim.HappyResponse, "happy-response", sim.HappyResponse, "response rate of the happy treated customers")
	fs.Float64Var(&sim.HappyQuantile, "happy-quantile", sim.HappyQuantile, "share of customers, by latent satisfaction, who are not happy")
	fs.Float64Var(&sim.Alpha, "alpha", sim.Alpha, "significance level")
	fs.StringVar(&sim.Correction, "correction", sim.Correction, "holm, bh or none")
	fs.Float64Var(&sim.CESMargin, "ces-margin", sim.CESMargin, "margin of the CES guardrail in net-score points, 0 for none")
	fs.Uint64Var(&sim.Seed, "seed", sim.Seed, "random seed")
	fs.IntVar(&sim.Workers, "workers", 0, "runs simulated at once, 0 for one per CPU")
	quiet := fs.Bool("quiet", false, "no progress bar")
	if err := fs.Parse(args); err != nil {
		return err
	}
	rate := func(x float64) bool { return x > 0 && x <= 1 }
	switch {
	case sim.Runs < 1 || sim.Runs > 1_000_000:
		return errors.New("--runs must be from 1 to 1000000")
	case sim.N < 2 || sim.N > 1_000_000:
		return errors.New("--n must be from 2 to 1000000")
	case !rate(sim.Response) || !rate(sim.HappyResponse):
		return errors.New("--response and --happy-response must be > 0 and <= 1")
	case !(sim.HappyQuantile > 0 && sim.HappyQuantile < 1):
		return errors.New("--happy-quantile must be > 0 and < 1")
	case !(sim.Alpha > 0 && sim.Alpha < 0.5):
		return errors.New("--alpha must be > 0 and < 0.5")
	case !slices.Contains([]string{"holm", "bh", "none"}, sim.Correction):
		return errors.New("--correction must be holm, bh or none")
	case !(sim.CESMargin >= 0 && !math.IsInf(sim.CESMargin, 0)):
		return errors.New("--ces-margin must be 0 or more")
	case sim.Workers < 0:
		return errors.New("--workers must be 0 or more")
	}
	res := sim.Run(runProgress(sim.Runs, *quiet, stderr))
	fmt.Fprintf(stdout, "response bias: %d runs, %d assigned per arm, %g%% answer (treated customers above the %g%% quantile of satisfaction: %g%%), true effect 0, alpha %g, %s\n",
		res.Runs, sim.N, 100*sim.Response, 100*sim.HappyQuantile, 100*sim.HappyResponse, sim.Alpha, sim.Correction)
	fmt.Fprintf(stdout, "respondents' KRS difference %+.2f points on average; differential response flagged in %d of %d runs\n",
		res.KRSDiff, res.Differential, res.Runs)
	fmt.Fprintf(stdout, "first_part_roll_out_rate=%.4f (%d of %d)\n", res.FirstPartRate(), res.FirstPart, res.Runs)
	fmt.Fprintf(stdout, "second_part_roll_out_rate=%.4f (%d of %d, %d of them where the response check did not flag the difference; investigate in %d)\n",
		res.SecondPartRate(), res.SecondPart, res.Runs, res.Unflagged, res.Investigate)
	return nil
}

// runProgress reports progress on stderr when it is a terminal and not quiet; else nil.
func runProgress(runs int, quiet bool, stderr io.Writer) func(int) {
	if quiet || !isTerminal(stderr) {
		return nil
	}
	step := max(1, runs/100)
	return func(done int) {
		if done%step == 0 || done == runs {
			fmt.Fprintf(stderr, "\r%s %3d%% (%d of %d runs)", bar(done, runs, 30), 100*done/runs, done, runs)
		}
		if done == runs {
			fmt.Fprintln(stderr)
		}
	}
}

func bar(done, total, width int) string {
	filled := width * done / total
	b := make([]byte, width)
	for i := range b {
		b[i] = '.'
		if i < filled {
			b[i] = '#'
		}
	}
	return "[" + string(b) + "]"
}

// isTerminal reports whether w is a character device (a terminal), where a progress bar
// helps; in logs and pipes it would only add noise.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
