//go:build openblas && cgo

package blasimpl

/*
#cgo LDFLAGS: -lopenblas
char *openblas_get_corename(void);
int openblas_get_num_threads(void);
void openblas_set_num_threads(int num_threads);
*/
import "C"

import (
	"fmt"
	"os"
	"syscall"

	"gonum.org/v1/gonum/blas/blas32"
	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/netlib/blas/netlib"
)

// OpenBLAS reports whether this build routes blas64 to OpenBLAS (the build
// tag openblas).
const OpenBLAS = true

func init() {
	checkCoreType()
	blas64.Use(netlib.Implementation{})
	blas32.Use(netlib.Implementation{})
	// The flow splits every product over the cores itself, one goroutine
	// per core (see the package documentation), so each OpenBLAS call runs
	// on the calling thread.
	SetThreads(1)
}

// checkCoreType re-executes the program with OPENBLAS_CORETYPE set when
// the library loaded weaker kernels than the processor supports and the
// environment leaves the choice open (see reexecCoreType). It returns,
// and the program goes on with the loaded kernels, when no re-execution is
// needed or when it fails.
func checkCoreType() {
	core, ok := reexecCoreType(os.LookupEnv, cpuFlags(), coreName())
	if !ok {
		return
	}
	err := reexec(core)
	fmt.Fprintf(os.Stderr, "blasimpl: re-executing with %s=%s: %v; going on with OpenBLAS's %s kernels\n",
		coreTypeVar, core, err, coreName())
}

// reexec replaces the running program by a fresh copy of itself, with the
// same arguments and environment plus OPENBLAS_CORETYPE=core and the
// re-exec guard. It returns only on failure.
func reexec(core string) error {
	env := append(os.Environ(), coreTypeVar+"="+core, reexecGuardVar+"=1")
	return syscall.Exec("/proc/self/exe", os.Args, env)
}

// coreName returns the name of the kernels OpenBLAS loaded ("Haswell",
// "SkylakeX", "Prescott", …).
func coreName() string { return C.GoString(C.openblas_get_corename()) }

// Name returns a one-line description of the BLAS in use, for a command to
// print, such as "openblas (coretype SkylakeX, 2 threads)".
func Name() string {
	return fmt.Sprintf("openblas (coretype %s, %d threads)", coreName(), Threads())
}

// Threads returns the number of threads one BLAS call may use: OpenBLAS's
// own thread count, which this package sets to 1 when it loads.
func Threads() int { return int(C.openblas_get_num_threads()) }

// SetThreads sets the number of threads OpenBLAS uses for one call and
// returns the previous number. Set 1 before calling BLAS from several
// goroutines at once, so that the goroutines do not each start OpenBLAS
// threads on the same cores.
func SetThreads(n int) (prev int) {
	prev = Threads()
	if n < 1 {
		n = 1
	}
	C.openblas_set_num_threads(C.int(n))
	return prev
}
