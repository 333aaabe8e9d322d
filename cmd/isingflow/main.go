// Command isingflow learns the 2D Ising model with a Monge-Ampère flow and
// compares what it learned with the exact solution.
//
// Usage:
//
//	isingflow [train] -L 16 -T 2.269     train, evaluate, print the table
//	isingflow eval --run DIR             estimates from a saved run (more samples, --mcmc)
//	isingflow sample --run DIR -n 16     spin configurations as PNG and .npz
//	isingflow scan -L 16 -T 2.0:3.0:0.1  temperature scan, warm-started, with exact curves
//	isingflow scan plan|run|collect|...  size × temperature × seed grids on Slurm or GNU parallel
//	isingflow exact -L 16 -T Tc          exact references (Kaufman, Onsager, enumeration)
//	isingflow mc -L 16 -T Tc --sweeps N  Wolff cluster Monte Carlo with error bars
//	isingflow compare --out DIR RUN...   runs side by side: CSV summary, KL-vs-time plot
//
// Run "isingflow help" or "isingflow SUBCOMMAND --help" for the flags.
// Results go to stdout, progress and diagnostics to stderr. Exit status: 0 on
// success, 1 on a failed run, 2 on bad usage, 3 on a request that needs more
// memory than the limit (the machine's MemTotal, or ISINGFLOW_MEMORY_LIMIT,
// e.g. 8GiB, or off), refused before anything is allocated, and 75 for a
// "scan run" task that a signal or a time limit stopped with its state saved
// (run it again).
package main

import (
	"io"
	"os"

	"github.com/spf13/pflag"

	"github.com/isingflow/isingflow/internal/cli"
	"github.com/isingflow/isingflow/internal/provenance"
)

const programName = "isingflow"

// program is a function, not a variable: the subcommands refer back to it.
func program() *cli.Program {
	return &cli.Program{
		Name:    programName,
		Version: func() string { return programName + " " + provenance.Collect(nil).String() },
		Default: "train",
		Subcommands: []cli.Subcommand{
			{Name: "train", Summary: "train a flow at one temperature, evaluate it, print the table (the default)", Run: runTrain},
			{Name: "eval", Summary: "estimates from a saved run, with more samples or flow-MCMC", Run: runEval},
			{Name: "sample", Summary: "spin configurations of a saved run: PNG grid and NumPy .npz", Run: runSample},
			{Name: "scan", Summary: "a temperature scan, warm-starting each T from the previous one (scan plan|run|collect|…: grids on a cluster)", Run: runScan},
			{Name: "exact", Summary: "exact references: Kaufman (finite torus), Onsager (infinite), enumeration", Run: runExact},
			{Name: "mc", Summary: "Wolff cluster Monte Carlo reference with error bars", Run: runMC},
			{Name: "compare", Summary: "runs side by side: summary CSV, KL/site-vs-time curves and plot", Run: runCompare},
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

// usageError is an error in the command line: exit status 2.
type usageError = cli.UsageError

func usagef(format string, args ...any) error { return cli.Usagef(format, args...) }

func newFlagSet(name string, stderr io.Writer) *pflag.FlagSet {
	return cli.NewFlagSet(programName, name, stderr)
}

func parseFlags(fs *pflag.FlagSet, args []string) error { return cli.ParseFlags(fs, args) }
