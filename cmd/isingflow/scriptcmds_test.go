package main

import (
	"encoding/json"
	"errors"
	"os/exec"
	"strconv"
	"strings"

	"github.com/rogpeppe/go-internal/testscript"
)

// cmdStatus runs a command and checks its exit status, which "! exec" does
// not: status 2 isingflow -L 1. Its stdout and stderr are kept for the
// following stdout and stderr commands.
func cmdStatus(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: status CODE COMMAND [ARG...]")
	}
	want, err := strconv.Atoi(args[0])
	if err != nil {
		ts.Fatalf("status: bad exit code %q", args[0])
	}
	err = ts.Exec(args[1], args[2:]...)
	got := 0
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		got = ee.ExitCode()
	case err != nil:
		ts.Fatalf("status: %v", err)
	}
	if got != want {
		ts.Fatalf("%s exited with status %d, want %d", args[1], got, want)
	}
}

// cmdJSONKeys checks that a JSON file (stdout for the last command's
// output) holds every key listed, each a number. A key may be a dotted path
// into nested objects and arrays (mcmc.acceptance, 1.energy_per_site).
// After the argument -err every key must also have its sibling key_err.
//
//	jsonkeys stdout L T samples -err energy_per_site mcmc.binder
func cmdJSONKeys(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: jsonkeys FILE [-err] KEY...")
	}
	var obj any
	if err := json.Unmarshal([]byte(ts.ReadFile(args[0])), &obj); err != nil {
		ts.Fatalf("%s: %v", args[0], err)
	}
	number := func(path string) {
		var v any = obj
		for _, k := range strings.Split(path, ".") {
			switch x := v.(type) {
			case map[string]any:
				var ok bool
				if v, ok = x[k]; !ok {
					ts.Fatalf("%s: no key %s", args[0], path)
				}
			case []any:
				i, err := strconv.Atoi(k)
				if err != nil || i < 0 || i >= len(x) {
					ts.Fatalf("%s: %s: no element %s in an array of %d", args[0], path, k, len(x))
				}
				v = x[i]
			default:
				ts.Fatalf("%s: %s: %s is not inside an object or array", args[0], path, k)
			}
		}
		if _, ok := v.(float64); !ok {
			ts.Fatalf("%s: %s is %v, not a number", args[0], path, v)
		}
	}
	withErr := false
	for _, k := range args[1:] {
		if k == "-err" {
			withErr = true
			continue
		}
		number(k)
		if withErr {
			number(k + "_err")
		}
	}
}

// cmdLines checks the number of lines of a file: lines run/train.jsonl 20.
func cmdLines(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: lines FILE N")
	}
	want, err := strconv.Atoi(args[1])
	if err != nil {
		ts.Fatalf("lines: bad count %q", args[1])
	}
	got := strings.Count(ts.ReadFile(args[0]), "\n")
	if (got == want) == neg {
		ts.Fatalf("%s has %d lines, want %s%d", args[0], got, map[bool]string{true: "not ", false: ""}[neg], want)
	}
}
