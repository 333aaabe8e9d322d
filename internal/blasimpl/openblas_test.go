//go:build openblas && cgo

package blasimpl

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"

	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/netlib/blas/netlib"
)

func TestImplementationOpenBLAS(t *testing.T) {
	if _, ok := blas64.Implementation().(netlib.Implementation); !ok {
		t.Errorf("blas64 uses %T, want netlib.Implementation", blas64.Implementation())
	}
	if name := Name(); !strings.HasPrefix(name, "openblas (coretype ") {
		t.Errorf("Name() = %q, want openblas (coretype …)", name)
	}
	if got := Threads(); got != 1 {
		t.Errorf("after init, Threads() = %d, want 1 (the flow splits products itself)", got)
	}
	prev := SetThreads(2)
	if got := Threads(); got != 2 {
		t.Errorf("after SetThreads(2), Threads() = %d", got)
	}
	if got := SetThreads(prev); got != 2 {
		t.Errorf("SetThreads returned %d, want 2", got)
	}
	if got := Threads(); got != prev {
		t.Errorf("Threads() = %d after restoring %d", got, prev)
	}
}

// helperVar makes the test binary, run as a child process, act as a
// program of its own in TestHelperProcess.
const helperVar = "BLASIMPL_TEST_HELPER"

// TestHelperProcess is not a test: in a child process started by the
// tests below it prints what the package's init made of the environment.
func TestHelperProcess(t *testing.T) {
	mode := os.Getenv(helperVar)
	if mode == "" {
		t.Skip("helper process only")
	}
	if mode == "reexec" && os.Getenv(reexecGuardVar) == "" {
		if core := coreTypeFor(cpuFlags()); core != "" {
			err := reexec(core)
			fmt.Printf("reexec failed: %v\n", err)
			os.Exit(1)
		}
	}
	fmt.Printf("core=%s guard=%s\n", coreName(), os.Getenv(reexecGuardVar))
	os.Exit(0)
}

// child runs TestHelperProcess in a child process with the environment
// env and returns the core name and guard value it printed.
func child(t *testing.T, mode string, env []string) (core, guard string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$")
	cmd.Env = append(env, helperVar+"="+mode)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("helper process: %v\n%s", err, out)
	}
	f := strings.Fields(string(out))
	if len(f) != 2 || !strings.HasPrefix(f[0], "core=") || !strings.HasPrefix(f[1], "guard=") {
		t.Fatalf("helper process printed %q", out)
	}
	return strings.TrimPrefix(f[0], "core="), strings.TrimPrefix(f[1], "guard=")
}

// environWithout returns the environment without the variable key.
func environWithout(key string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, key+"=") {
			env = append(env, kv)
		}
	}
	return env
}

// TestCoreTypeAtStart checks the init's kernel check in a fresh process
// with this machine's environment, changing neither OPENBLAS_CORETYPE nor
// OPENBLAS_L2_SIZE: a value the environment sets is kept (no
// re-execution), and without one the program ends up with kernels at
// least as wide as the processor supports, by OpenBLAS's own detection or
// by one re-execution.
func TestCoreTypeAtStart(t *testing.T) {
	core, guard := child(t, "print", environWithout(reexecGuardVar))
	t.Logf("child runs OpenBLAS core %q (re-executed: %t)", core, guard != "")
	if v, set := os.LookupEnv(coreTypeVar); set {
		if guard != "" {
			t.Errorf("%s=%q is set, but the program re-executed itself (core %s)", coreTypeVar, v, core)
		}
		return
	}
	if want := coreTypeFor(cpuFlags()); coreLevel(core) < coreLevel(want) {
		t.Errorf("child runs core %s, weaker than %s which the processor supports", core, want)
	}
}

// TestReexec checks the re-execution itself: a child re-executes with the
// core type the processor's flags call for and then runs it. It runs only
// where the environment leaves OPENBLAS_CORETYPE unset, since a value set
// on purpose must not be overridden, even in a test.
func TestReexec(t *testing.T) {
	if _, set := os.LookupEnv(coreTypeVar); set {
		t.Skipf("%s is set in the environment", coreTypeVar)
	}
	want := coreTypeFor(cpuFlags())
	if want == "" {
		t.Skip("no core type to choose for this processor")
	}
	core, guard := child(t, "reexec", environWithout(reexecGuardVar))
	t.Logf("re-executed child runs OpenBLAS core %q", core)
	if guard != "1" {
		t.Errorf("guard = %q after re-executing, want 1", guard)
	}
	if coreLevel(core) != coreLevel(want) {
		t.Errorf("re-executed child runs core %s, want %s", core, want)
	}
}
