// Package testenv holds the switch of the project's long tests: the
// statistical tests that take well over ten seconds on two cores (those
// that train a flow to a measured quality) run only when the environment
// variable ISINGFLOW_LONG_TESTS is 1, as the CI script .ci/run sets it, so
// that a plain "go test ./..." stays within a few minutes.
package testenv

import (
	"os"
	"testing"
)

// LongVar is the environment variable that switches the long tests on.
const LongVar = "ISINGFLOW_LONG_TESTS"

// Long skips the calling test unless LongVar is set to 1, with a message
// naming the switch; it skips it in -short mode too, whatever the switch.
// Call it first in every test that takes more than about ten seconds.
func Long(t testing.TB) {
	t.Helper()
	if testing.Short() {
		t.Skip("long test: skipped in -short mode")
	}
	if os.Getenv(LongVar) != "1" {
		t.Skipf("long test: set %s=1 to run it (.ci/run does)", LongVar)
	}
}
