package cli

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
)

func testProgram(def string) *Program {
	return &Program{
		Name:    "prog",
		Default: def,
		Subcommands: []Subcommand{
			{Name: "ok", Summary: "succeeds", Run: func(args []string, _, _ io.Writer) error {
				fs := NewFlagSet("prog", "ok", io.Discard)
				fs.IntP("n", "n", 1, "a number")
				return ParseFlags(fs, args)
			}},
			{Name: "fail", Summary: "fails", Run: func([]string, io.Writer, io.Writer) error { return errors.New("boom") }},
			{Name: "stopped", Summary: "stops early", Run: func([]string, io.Writer, io.Writer) error {
				return &StatusError{errors.New("interrupted"), ExitIncomplete}
			}},
			{Name: "big", Summary: "too big", Run: func([]string, io.Writer, io.Writer) error {
				return fmt.Errorf("wrapped: %w", Resourcef("the run needs %d bytes", 1<<60))
			}},
		},
	}
}

func TestExitStatuses(t *testing.T) {
	for _, tc := range []struct {
		def    string
		args   []string
		status int
		stderr string
	}{
		{"", []string{"ok"}, ExitOK, ""},
		{"ok", nil, ExitOK, ""},
		{"ok", []string{"-n", "3"}, ExitOK, ""},
		{"ok", []string{"--help"}, ExitOK, ""},
		{"", []string{"help"}, ExitOK, ""},
		{"", nil, ExitUsage, "usage: prog SUBCOMMAND"},
		{"", []string{"fail"}, ExitFailure, "prog fail: boom\n"},
		{"", []string{"stopped"}, ExitIncomplete, "prog stopped: interrupted\n"},
		{"", []string{"big"}, ExitResources, "prog big: wrapped: the run needs 1152921504606846976 bytes\n"},
		{"", []string{"nope"}, ExitUsage, `unknown subcommand "nope"`},
		{"", []string{"ok", "-n", "x"}, ExitUsage, `prog ok: invalid argument "x"`},
		{"", []string{"ok", "--bad"}, ExitUsage, "prog ok: unknown flag: --bad\n"},
		{"", []string{"ok", "stray"}, ExitUsage, `prog ok: unexpected argument "stray"`},
	} {
		var out, errb bytes.Buffer
		if got := testProgram(tc.def).Run(tc.args, &out, &errb); got != tc.status {
			t.Errorf("%q: status %d, want %d (stderr %q)", tc.args, got, tc.status, errb.String())
		}
		if !strings.Contains(errb.String(), tc.stderr) {
			t.Errorf("%q: stderr %q, want it to contain %q", tc.args, errb.String(), tc.stderr)
		}
	}
}

// TestHelpOnStdout checks that every way of asking for help prints on
// stdout with status 0: the subcommands for the program (even with a
// default subcommand), the grouped flags for a subcommand.
func TestHelpOnStdout(t *testing.T) {
	p := testProgram("ok")
	p.Subcommands = append(p.Subcommands, Subcommand{Name: "grouped", Summary: "grouped flags", Run: func(args []string, _, _ io.Writer) error {
		fs := NewFlagSet("prog", "grouped", io.Discard)
		fs.Int("size", 1, "the size")
		Group(fs, "lattice")
		fs.Int("steps", 2, "the steps")
		Group(fs, "training")
		return ParseFlags(fs, args)
	}})
	p.Version = func() string { return "prog v1.2.3" }
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"--help"}, []string{"usage: prog [SUBCOMMAND]", "grouped flags", `"prog SUBCOMMAND --help"`, `"prog --version"`}},
		{[]string{"-h"}, []string{"subcommands:"}},
		{[]string{"help"}, []string{"subcommands:"}},
		{[]string{"ok", "--help"}, []string{"usage of prog ok:", "-n, --n int"}},
		{[]string{"grouped", "--help"}, []string{"lattice:\n      --size int", "training:\n      --steps int"}},
		{[]string{"--version"}, []string{"prog v1.2.3\n"}},
		{[]string{"version"}, []string{"prog v1.2.3\n"}},
	} {
		var out, errb bytes.Buffer
		if got := p.Run(tc.args, &out, &errb); got != ExitOK || errb.Len() > 0 {
			t.Errorf("%q: status %d, stderr %q", tc.args, got, errb.String())
		}
		for _, w := range tc.want {
			if !strings.Contains(out.String(), w) {
				t.Errorf("%q: stdout %q lacks %q", tc.args, out.String(), w)
			}
		}
	}
}
