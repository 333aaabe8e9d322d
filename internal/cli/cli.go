// Package cli is the command-line plumbing isingflow and mnistflow share:
// subcommand dispatch, pflag flag sets that report one clear line instead
// of exiting, and the exit statuses of the project — 0 on success, 1 on a
// failed run, 2 on bad usage (a flag, a value, a file that is not what it
// should be).
package cli

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/pflag"
)

// Exit statuses.
const (
	ExitOK      = 0
	ExitFailure = 1
	ExitUsage   = 2
)

// UsageError is an error in the command line or its inputs: exit status 2.
type UsageError struct{ Msg string }

func (e UsageError) Error() string { return e.Msg }

// Usagef returns a UsageError with a formatted message.
func Usagef(format string, args ...any) error {
	return UsageError{fmt.Sprintf(format, args...)}
}

// Subcommand is one verb of a program.
type Subcommand struct {
	Name    string
	Summary string
	Run     func(args []string, stdout, stderr io.Writer) error
}

// Program is a command with subcommands.
type Program struct {
	Name string
	// Default is the subcommand run when the first argument is a flag or
	// missing; empty means a subcommand is required.
	Default     string
	Subcommands []Subcommand
}

// Run executes the command line and returns the exit status. Errors are
// printed as one line "NAME SUBCOMMAND: message" on stderr.
func (p *Program) Run(args []string, stdout, stderr io.Writer) int {
	cmd, rest := p.Default, args
	if len(args) > 0 {
		// "help" lists the subcommands; so do -h and --help when there is
		// no default subcommand to take them.
		if a := args[0]; a == "help" || (p.Default == "" && (a == "-h" || a == "--help")) {
			p.PrintUsage(stdout)
			return ExitOK
		}
		if !strings.HasPrefix(args[0], "-") {
			cmd, rest = args[0], args[1:]
		}
	}
	if cmd == "" {
		p.PrintUsage(stderr)
		return ExitUsage
	}
	for _, sc := range p.Subcommands {
		if sc.Name != cmd {
			continue
		}
		err := sc.Run(rest, stdout, stderr)
		switch {
		case err == nil, errors.Is(err, pflag.ErrHelp):
			return ExitOK
		}
		fmt.Fprintf(stderr, "%s %s: %v\n", p.Name, cmd, err)
		var ue UsageError
		if errors.As(err, &ue) {
			return ExitUsage
		}
		return ExitFailure
	}
	fmt.Fprintf(stderr, "%s: unknown subcommand %q (run \"%s help\")\n", p.Name, cmd, p.Name)
	return ExitUsage
}

// PrintUsage lists the subcommands.
func (p *Program) PrintUsage(w io.Writer) {
	if p.Default != "" {
		fmt.Fprintf(w, "usage: %s [SUBCOMMAND] [FLAGS]   (default: %s)\n", p.Name, p.Default)
	} else {
		fmt.Fprintf(w, "usage: %s SUBCOMMAND [FLAGS]\n", p.Name)
	}
	fmt.Fprintln(w, "\nsubcommands:")
	for _, sc := range p.Subcommands {
		fmt.Fprintf(w, "  %-7s %s\n", sc.Name, sc.Summary)
	}
	fmt.Fprintf(w, "\nRun \"%s SUBCOMMAND --help\" for its flags.\n", p.Name)
}

// NewFlagSet returns the flag set of a subcommand: it reports errors
// instead of exiting and prints its usage to stderr.
func NewFlagSet(program, name string, stderr io.Writer) *pflag.FlagSet {
	fs := pflag.NewFlagSet(program+" "+name, pflag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.SortFlags = false
	return fs
}

// ParseFlags parses args, turning every flag error into a UsageError and
// rejecting stray positional arguments. --help prints the flags and returns
// pflag.ErrHelp (exit status 0).
func ParseFlags(fs *pflag.FlagSet, args []string) error {
	return parseFlags(fs, args, false)
}

// ParseFlagsAndArgs is ParseFlags for a subcommand that also takes
// positional arguments (fs.Args()).
func ParseFlagsAndArgs(fs *pflag.FlagSet, args []string) error {
	return parseFlags(fs, args, true)
}

func parseFlags(fs *pflag.FlagSet, args []string, positional bool) error {
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
		return UsageError{err.Error()}
	}
	if fs.NArg() > 0 && !positional {
		return Usagef("unexpected argument %q", fs.Arg(0))
	}
	return nil
}
