package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/krslab/krslab/experiment"
)

func runSimulate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || (args[0] != "aa" && args[0] != "power") {
		return errors.New("simulate needs aa or power: krslab simulate aa --runs 2000 --n 400")
	}
	mode := args[0]
	sim := experiment.DefaultSimulation()
	fs := newFlagSet("simulate "+mode, stderr)
	fs.IntVar(&sim.Runs, "runs", sim.Runs, "experiments to simulate")
	fs.IntVar(&sim.N, "n", sim.N, "answering customers per arm")
	fs.Float64Var(&sim.Alpha, "alpha", sim.Alpha, "significance level")
	fs.Uint64Var(&sim.Seed, "seed", sim.Seed, "random seed")
	fs.Float64Var(&sim.LatentMean, "mean", sim.LatentMean, "mean of the latent 1..7 answer")
	fs.Float64Var(&sim.LatentSD, "sd", sim.LatentSD, "sd of the latent 1..7 answer")
	if mode == "power" {
		fs.Float64Var(&sim.Effect, "effect", 0.25, "true shift of the treatment's answers, in answer points")
	}
	quiet := fs.Bool("quiet", false, "no progress bar")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	switch {
	case sim.Runs < 1 || sim.Runs > 1_000_000:
		return errors.New("--runs must be from 1 to 1000000")
	case sim.N < 2 || sim.N > 1_000_000:
		return errors.New("--n must be from 2 to 1000000")
	case !(sim.Alpha > 0 && sim.Alpha < 0.5):
		return errors.New("--alpha must be > 0 and < 0.5")
	case !(sim.LatentSD > 0):
		return errors.New("--sd must be > 0")
	}
	var progress func(int)
	if !*quiet && isTerminal(stderr) {
		step := max(1, sim.Runs/100)
		progress = func(done int) {
			if done%step == 0 || done == sim.Runs {
				fmt.Fprintf(stderr, "\r%s %3d%% (%d of %d runs)", bar(done, sim.Runs, 30), 100*done/sim.Runs, done, sim.Runs)
			}
			if done == sim.Runs {
				fmt.Fprintln(stderr)
			}
		}
	}
	res := sim.Run(progress)
	if mode == "aa" {
		fmt.Fprintf(stdout, "false_positive_rate=%.4f (%d of %d)\n", res.Rate(), res.Significant, res.Runs)
		return nil
	}
	fmt.Fprintf(stdout, "observed_power=%.4f planned_power=%.4f (%d of %d)\n", res.Rate(), res.PlannedPower, res.Significant, res.Runs)
	return nil
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
