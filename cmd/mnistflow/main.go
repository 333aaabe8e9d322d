// Command mnistflow trains the Monge-Ampère flow (Zhang, E and Wang,
// arXiv:1809.10188) as a density estimator on MNIST with the paper's
// protocol: uniform dequantisation, the logit transform with α = 10⁻⁶,
// 50,000/10,000/10,000 train/validation/test images, maximum likelihood with
// Adam, and the test negative log-likelihood reported in nats in logit space
// (the paper's Table 1) and in bits per dimension of the 8-bit images.
//
// Usage:
//
//	mnistflow train [--hidden 1024 --steps 100 --step-size 0.1 …] --out DIR
//	mnistflow train --resume --out DIR          continue a run bit for bit
//	mnistflow train --time-limit 2h --fit-to-time-limit --final-lr 0.02 [--blocks K] …
//	                                            as many batches as fit in 2 h, the rate decaying over them
//	mnistflow eval --run DIR [--limit N] [--json] [--adaptive]
//	mnistflow sample --run DIR [-n 64] [--out samples.png]
//	mnistflow plot --run DIR [--out curve.png]
//	mnistflow fetch [--data DIR]                download MNIST (scripts/fetch-mnist.sh)
//
// Run "mnistflow help" or "mnistflow SUBCOMMAND --help" for the flags.
// Results go to stdout, progress and diagnostics to stderr. Exit status: 0
// on success, 1 on a failed run, 2 on bad usage (nothing is overwritten), 3
// on a model that needs more memory than the limit (the machine's MemTotal,
// or ISINGFLOW_MEMORY_LIMIT, e.g. 8GiB, or off).
package main

import (
	"io"
	"os"
	"strings"

	"github.com/spf13/pflag"

	"github.com/isingflow/isingflow/internal/cli"
)

const programName = "mnistflow"

// Exit statuses.
const (
	exitOK        = cli.ExitOK
	exitFailure   = cli.ExitFailure
	exitUsage     = cli.ExitUsage
	exitResources = cli.ExitResources
)

func program() *cli.Program {
	return &cli.Program{
		Name: programName,
		Subcommands: []cli.Subcommand{
			{Name: "train", Summary: "train a flow by maximum likelihood, with checkpoints and a JSONL log", Run: runTrain},
			{Name: "eval", Summary: "test NLL ± standard error in nats (logit space) and bits/dim", Run: runEval},
			{Name: "sample", Summary: "a PNG grid of samples of a trained flow (and its training curve)", Run: runSample},
			{Name: "plot", Summary: "a PNG of the training curve: train and validation NLL against batch", Run: runPlot},
			{Name: "compare", Summary: "runs side by side: summary CSV, NLL-against-time curves and plot", Run: runCompare},
			{Name: "fetch", Summary: "download the four MNIST files with scripts/fetch-mnist.sh", Run: runFetch},
		},
	}
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run executes the command line and returns the exit status.
func run(args []string, stdout, stderr io.Writer) int {
	return program().Run(args, stdout, stderr)
}

// usageError is an error in the command line or its inputs: exit status 2.
type usageError = cli.UsageError

func usagef(format string, args ...any) error { return cli.Usagef(format, args...) }

func newFlagSet(name string, stderr io.Writer) *pflag.FlagSet {
	return cli.NewFlagSet(programName, name, stderr)
}

func parseFlags(fs *pflag.FlagSet, args []string) error { return cli.ParseFlags(fs, args) }

// oneLine collapses an error message onto one line.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
