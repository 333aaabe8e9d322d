package testenv_test

import (
	"os"
	"testing"

	"github.com/isingflow/isingflow/internal/testenv"
)

func TestLong(t *testing.T) {
	tests := []struct {
		value string
		set   bool
		runs  bool
	}{
		{set: false, runs: false},
		{value: "", set: true, runs: false},
		{value: "0", set: true, runs: false},
		{value: "true", set: true, runs: false},
		{value: "1", set: true, runs: !testing.Short()},
	}
	for _, tc := range tests {
		// t.Setenv restores the variable at the end of the test, also
		// after the Unsetenv.
		t.Setenv(testenv.LongVar, tc.value)
		name := testenv.LongVar + "=" + tc.value
		if !tc.set {
			os.Unsetenv(testenv.LongVar)
			name = "unset"
		}
		ran, skipped := false, false
		t.Run(name, func(t *testing.T) {
			defer func() { skipped = t.Skipped() }()
			testenv.Long(t)
			ran = true
		})
		if ran != tc.runs || skipped == tc.runs {
			t.Errorf("%s=%q (set %v): ran %v, skipped %v; want ran %v", testenv.LongVar, tc.value, tc.set, ran, skipped, tc.runs)
		}
	}
}
