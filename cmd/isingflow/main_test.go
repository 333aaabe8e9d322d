package main

import (
	"encoding/json"
	"fmt"
	"os"
	"reflect"
	"runtime/debug"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
)

// exitPanic is the status the scripts' isingflow exits with after a panic,
// which Go's runtime would report as 2, the status of a usage error.
const exitPanic = 70

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"isingflow": func() {
			defer func() {
				if r := recover(); r != nil {
					fmt.Fprintf(os.Stderr, "panic: %v\n%s", r, debug.Stack())
					os.Exit(exitPanic)
				}
			}()
			os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
		},
	})
}

// TestScripts runs the command-line scripts in testdata/script: every
// subcommand's output, its --json keys, and every bad-input path.
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir: "testdata/script",
		Setup: func(env *testscript.Env) error {
			if testing.Short() {
				env.Setenv("SHORT", "1")
			}
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"cmpjson":  cmpJSON,
			"status":   cmdStatus,
			"jsonkeys": cmdJSONKeys,
			"lines":    cmdLines,
		},
		Condition: func(cond string) (bool, error) {
			if cond == "short" {
				return testing.Short(), nil
			}
			return false, nil
		},
	})
}

// cmpJSON compares two JSON files as objects, ignoring the keys listed after
// them: cmpjson a.json b.json seconds.
func cmpJSON(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) < 2 {
		ts.Fatalf("usage: cmpjson FILE FILE [IGNORED_KEY...]")
	}
	var objs [2]map[string]any
	for i := range objs {
		if err := json.Unmarshal([]byte(ts.ReadFile(args[i])), &objs[i]); err != nil {
			ts.Fatalf("%s: %v", args[i], err)
		}
		for _, k := range args[2:] {
			delete(objs[i], k)
		}
	}
	if eq := reflect.DeepEqual(objs[0], objs[1]); eq == neg {
		ts.Fatalf("%s and %s: equal = %v", args[0], args[1], eq)
	}
}
