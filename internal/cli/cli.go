// Package cli is the command-line plumbing isingflow and mnistflow share:
// subcommand dispatch, pflag flag sets that report one clear line instead
// of exiting, and the exit statuses of the project — 0 on success, 1 on a
// failed run, 2 on bad usage (a flag, a value, a file that is not what it
// should be), 3 on a request that could not run on this machine (its
// memory estimate exceeds the limit, see CheckMemory: refused before
// anything is allocated or written).
package cli

import (
	"encoding/json"
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
	// ExitIncomplete is the status of a run that stopped before its end,
	// on a signal or a scheduler's time limit, with its state saved:
	// running it again continues it (sysexits.h's EX_TEMPFAIL).
	ExitIncomplete = 75
	// ExitResources is the status of a request that is valid but needs
	// more than the machine has (a ResourceError).
	ExitResources = 3
)

// StatusError is an error that ends the program with its own exit status
// (such as ExitIncomplete) instead of ExitFailure.
type StatusError struct {
	Err  error
	Code int
}

// Error returns the message of the error.
func (e *StatusError) Error() string { return e.Err.Error() }

// Unwrap returns the error.
func (e *StatusError) Unwrap() error { return e.Err }

// UsageError is an error in the command line or its inputs: exit status 2.
type UsageError struct{ Msg string }

func (e UsageError) Error() string { return e.Msg }

// Usagef returns a UsageError with a formatted message.
func Usagef(format string, args ...any) error {
	return UsageError{fmt.Sprintf(format, args...)}
}

// ResourceError is a valid request that could not run on this machine:
// more memory than the limit (see CheckMemory). Exit status 3.
type ResourceError struct{ Msg string }

// Error returns the message: what needs how much, and the limit.
func (e ResourceError) Error() string { return e.Msg }

// Resourcef returns a ResourceError with a formatted message.
func Resourcef(format string, args ...any) error {
	return ResourceError{fmt.Sprintf(format, args...)}
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
	// Version, when not nil, returns what "NAME --version" prints.
	Version func() string
}

// Run executes the command line and returns the exit status. Errors are
// printed as one line "NAME SUBCOMMAND: message" on stderr.
func (p *Program) Run(args []string, stdout, stderr io.Writer) int {
	cmd, rest := p.Default, args
	if len(args) > 0 {
		// "help", -h and --help list the subcommands; "SUBCOMMAND --help"
		// gives a subcommand's flags.
		switch a := args[0]; {
		case a == "help" || a == "-h" || a == "--help":
			p.PrintUsage(stdout)
			return ExitOK
		case p.Version != nil && (a == "version" || a == "--version"):
			fmt.Fprintln(stdout, p.Version())
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
		var help helpRequest
		switch {
		case err == nil:
			return ExitOK
		case errors.As(err, &help):
			help.print(stdout)
			return ExitOK
		case errors.Is(err, pflag.ErrHelp):
			return ExitOK
		}
		fmt.Fprintf(stderr, "%s %s: %v\n", p.Name, cmd, err)
		var ue UsageError
		var re ResourceError
		switch {
		case errors.As(err, &ue):
			return ExitUsage
		case errors.As(err, &re):
			return ExitResources
		}
		var se *StatusError
		if errors.As(err, &se) && se.Code != ExitOK {
			return se.Code
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
	fmt.Fprintf(w, "\nRun \"%s SUBCOMMAND --help\" for its flags", p.Name)
	if p.Version != nil {
		fmt.Fprintf(w, ", \"%s --version\" for the version", p.Name)
	}
	fmt.Fprintln(w, ".")
}

// groupAnnotation is the pflag annotation that names a flag's group.
const groupAnnotation = "cli_group"

// Group puts every flag of fs that is not yet in a group into the group
// name: a subcommand's --help lists its flags by group, in the order the
// groups were made.
func Group(fs *pflag.FlagSet, name string) {
	fs.VisitAll(func(f *pflag.Flag) {
		if _, ok := f.Annotations[groupAnnotation]; !ok {
			_ = fs.SetAnnotation(f.Name, groupAnnotation, []string{name})
		}
	})
}

// helpRequest is the error ParseFlags returns for --help: the program
// prints the flag set's usage on stdout and exits with status 0.
type helpRequest struct{ fs *pflag.FlagSet }

func (h helpRequest) Error() string { return "help requested" }
func (h helpRequest) Unwrap() error { return pflag.ErrHelp }

// print writes the usage: the flags by group, ungrouped flags last.
func (h helpRequest) print(w io.Writer) {
	fmt.Fprintf(w, "usage of %s:\n", h.fs.Name())
	var order []string
	groups := map[string]*pflag.FlagSet{}
	h.fs.VisitAll(func(f *pflag.Flag) {
		name := "options"
		if g, ok := f.Annotations[groupAnnotation]; ok && len(g) > 0 {
			name = g[0]
		}
		if groups[name] == nil {
			groups[name] = pflag.NewFlagSet(name, pflag.ContinueOnError)
			groups[name].SortFlags = false
			order = append(order, name)
		}
		groups[name].AddFlag(f)
	})
	for _, name := range order {
		if len(order) > 1 {
			fmt.Fprintf(w, "\n%s:\n", name)
		}
		fmt.Fprint(w, groups[name].FlagUsages())
	}
}

// NewFlagSet returns the flag set of a subcommand: it reports errors
// instead of exiting (its writer is unused: Program.Run prints --help on
// stdout).
func NewFlagSet(program, name string, stderr io.Writer) *pflag.FlagSet {
	fs := pflag.NewFlagSet(program+" "+name, pflag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.SortFlags = false
	return fs
}

// ParseFlags parses args, turning every flag error into a UsageError and
// rejecting stray positional arguments. --help returns an error that wraps
// pflag.ErrHelp, on which Program.Run prints the flags on stdout (exit
// status 0).
func ParseFlags(fs *pflag.FlagSet, args []string) error {
	return parseFlags(fs, args, false)
}

// ParseFlagsAndArgs is ParseFlags for a subcommand that also takes
// positional arguments (fs.Args()).
func ParseFlagsAndArgs(fs *pflag.FlagSet, args []string) error {
	return parseFlags(fs, args, true)
}

func parseFlags(fs *pflag.FlagSet, args []string, positional bool) error {
	fs.Usage = func() {}
	// pflag prints the error and the usage itself; silence it and report one line.
	out := fs.Output()
	fs.SetOutput(io.Discard)
	err := fs.Parse(args)
	fs.SetOutput(out)
	if errors.Is(err, pflag.ErrHelp) {
		return helpRequest{fs}
	}
	if err != nil {
		return UsageError{err.Error()}
	}
	if fs.NArg() > 0 && !positional {
		return Usagef("unexpected argument %q", fs.Arg(0))
	}
	return nil
}

// WriteJSON writes v to w as indented JSON, the --json output of the
// commands.
func WriteJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
