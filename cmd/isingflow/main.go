// Command isingflow learns the 2D Ising model with a Monge-Ampère flow and
// compares what it learned with the exact solution.
//
// Usage:
//
//	isingflow [train] -L 16 -T 2.269     train, evaluate, print the table
//	isingflow eval --run DIR             estimates from a saved run (more samples, --mcmc)
//	isingflow sample --run DIR -n 16     spin configurations as PNG and .npz
//	isingflow scan -L 16 -T 2.0:3.0:0.1  temperature scan, warm-started, with exact curves
//	isingflow exact -L 16 -T Tc          exact references (Kaufman, Onsager, enumeration)
//	isingflow mc -L 16 -T Tc --sweeps N  Wolff cluster Monte Carlo with error bars
//
// Run "isingflow help" or "isingflow SUBCOMMAND --help" for the flags.
// Results go to stdout, progress and diagnostics to stderr. Exit status: 0 on
// success, 1 on a failed run, 2 on bad usage.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/pflag"
)

// Exit statuses.
const (
	exitOK      = 0
	exitFailure = 1
	exitUsage   = 2
)

// usageError is an error in the command line: exit status 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return usageError{fmt.Sprintf(format, args...)}
}

type subcommand struct {
	name    string
	summary string
	run     func(args []string, stdout, stderr io.Writer) error
}

func subcommands() []subcommand {
	return []subcommand{
		{"train", "train a flow at one temperature, evaluate it, print the table (the default)", runTrain},
		{"eval", "estimates from a saved run, with more samples or flow-MCMC", runEval},
		{"sample", "spin configurations of a saved run: PNG grid and NumPy .npz", runSample},
		{"scan", "a temperature scan, warm-starting each T from the previous one", runScan},
		{"exact", "exact references: Kaufman (finite torus), Onsager (infinite), enumeration", runExact},
		{"mc", "Wolff cluster Monte Carlo reference with error bars", runMC},
	}
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run executes the command line and returns the exit status.
func run(args []string, stdout, stderr io.Writer) int {
	cmd, rest := "train", args
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cmd, rest = args[0], args[1:]
	}
	if cmd == "help" {
		printUsage(stdout)
		return exitOK
	}
	for _, sc := range subcommands() {
		if sc.name != cmd {
			continue
		}
		err := sc.run(rest, stdout, stderr)
		switch {
		case err == nil:
			return exitOK
		case errors.Is(err, pflag.ErrHelp):
			return exitOK
		}
		fmt.Fprintf(stderr, "isingflow %s: %v\n", cmd, err)
		var ue usageError
		if errors.As(err, &ue) {
			return exitUsage
		}
		return exitFailure
	}
	fmt.Fprintf(stderr, "isingflow: unknown subcommand %q (run \"isingflow help\")\n", cmd)
	return exitUsage
}

func printUsage(w io.Writer) {
	fmt.Fprintln(w, "usage: isingflow [SUBCOMMAND] [FLAGS]")
	fmt.Fprintln(w, "\nsubcommands:")
	for _, sc := range subcommands() {
		fmt.Fprintf(w, "  %-7s %s\n", sc.name, sc.summary)
	}
	fmt.Fprintln(w, "\nRun \"isingflow SUBCOMMAND --help\" for its flags.")
}

// newFlagSet returns a flag set that reports errors instead of exiting and
// prints its usage to stderr.
func newFlagSet(name string, stderr io.Writer) *pflag.FlagSet {
	fs := pflag.NewFlagSet("isingflow "+name, pflag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.SortFlags = false
	return fs
}

// parseFlags parses args, turning every flag error into a usage error and
// rejecting stray positional arguments.
func parseFlags(fs *pflag.FlagSet, args []string) error {
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage of %s:\n", fs.Name())
		fs.PrintDefaults()
	}
	// pflag prints the error and the usage itself; silence it and report one line.
	out := fs.Output()
	fs.SetOutput(io.Discard)
	err := fs.Parse(args)
	fs.SetOutput(out)
	if errors.Is(err, pflag.ErrHelp) {
		fs.Usage()
		return err
	}
	if err != nil {
		return usageError{err.Error()}
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	return nil
}
