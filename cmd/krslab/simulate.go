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
)

const simulateUsage = "simulate needs aa, power or response-bias: krslab simulate aa --runs 2000 --looks 28"

func runSimulate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return errors.New(simulateUsage)
	}
	switch args[0] {
	case "aa", "power":
		return simulateCalibration(args[0], args[1:], stdout, stderr)
	case "response-bias":
		return simulateResponseBias(args[1:], stdout, stderr)
	}
	return errors.New(simulateUsage)
}

// simulateCalibration is aa and power: one fixed-horizon look at a single outcome, or
// (aa with --looks) A/A experiments on the whole survey read every day.
func simulateCalibration(mode string, args []string, stdout, stderr io.Writer) error {
	sim := experiment.DefaultSimulation()
	peek := experiment.DefaultPeekingSimulation()
	peek.Looks = 0 // one look unless aa asks for more
	fs := newFlagSet("simulate "+mode, stderr)
	fs.IntVar(&sim.Runs, "runs", sim.Runs, "experiments to simulate")
	fs.Float64Var(&sim.Alpha, "alpha", sim.Alpha, "significance level")
	fs.Uint64Var(&sim.Seed, "seed", sim.Seed, "random seed")
	fs.IntVar(&sim.N, "n", sim.N, "answering customers per arm (one look)")
	fs.Float64Var(&sim.LatentMean, "mean", sim.LatentMean, "mean of the latent 1..7 answer (one look)")
	fs.Float64Var(&sim.LatentSD, "sd", sim.LatentSD, "sd of the latent 1..7 answer (one look)")
	if mode == "power" {
		fs.Float64Var(&sim.Effect, "effect", 0.25, "true shift of the treatment's answers, in answer points")
	}
	peeking := map[string]bool{}
	if mode == "aa" {
		fs.IntVar(&peek.Looks, "looks", 0, "read the whole survey every day for this many days (0: one look at one outcome)")
		fs.IntVar(&peek.Arms, "arms", peek.Arms, "arms, control included: 2 or 3 (with --looks)")
		fs.IntVar(&peek.PerDay, "per-day", peek.PerDay, "customers assigned per arm and day (with --looks)")
		fs.Float64Var(&peek.Response, "response", peek.Response, "share of the assigned customers who answer (with --looks)")
		fs.IntVar(&peek.Target, "target", peek.Target, "target_responses_per_arm (with --looks)")
		fs.StringVar(&peek.Correction, "correction", peek.Correction, "holm, bh or none (with --looks)")
		fs.Float64Var(&peek.CESMargin, "ces-margin", peek.CESMargin, "margin of the CES guardrail in net-score points, 0 for none (with --looks)")
		fs.IntVar(&peek.Workers, "workers", 0, "runs simulated at once, 0 for one per CPU (with --looks)")
		for _, f := range []string{"looks", "arms", "per-day", "response", "target", "correction", "ces-margin", "workers"} {
			peeking[f] = true
		}
	}
	quiet := fs.Bool("quiet", false, "no progress bar")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var onePeeking, oneFixed string
	fs.Visit(func(f *flag.Flag) {
		switch {
		case peeking[f.Name] && f.Name != "looks":
			onePeeking = f.Name
		case f.Name == "n" || f.Name == "mean" || f.Name == "sd":
			oneFixed = f.Name
		}
	})
	switch {
	case sim.Runs < 1 || sim.Runs > 1_000_000:
		return errors.New("--runs must be from 1 to 1000000")
	case !(sim.Alpha > 0 && sim.Alpha < 0.5):
		return errors.New("--alpha must be > 0 and < 0.5")
	case peek.Looks > 0 && oneFixed != "":
		return fmt.Errorf("--%s is for the one-look calibration; with --looks the survey's answers are simulated", oneFixed)
	case peek.Looks == 0 && onePeeking != "":
		return fmt.Errorf("--%s needs --looks", onePeeking)
	case peek.Looks < 0 || peek.Looks > 365:
		return errors.New("--looks must be from 1 to 365 (0: the one-look calibration)")
	}
	if peek.Looks > 0 {
		peek.Runs, peek.Alpha, peek.Seed = sim.Runs, sim.Alpha, sim.Seed
		return simulatePeeking(peek, *quiet, stdout, stderr)
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
