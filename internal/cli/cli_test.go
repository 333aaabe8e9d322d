package cli

import (
	"bytes"
	"errors"
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
