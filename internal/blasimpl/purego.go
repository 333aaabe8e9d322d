//go:build !openblas || !cgo

package blasimpl

import "runtime"

// OpenBLAS reports whether this build routes blas64 to OpenBLAS (the build
// tag openblas).
const OpenBLAS = false

// Name returns a one-line description of the BLAS in use, for a command to
// print: "gonum (pure Go)" in this build.
func Name() string { return "gonum (pure Go)" }

// Threads returns the number of threads one BLAS call may use. In the
// pure-Go build that is GOMAXPROCS: gonum's Dgemm splits large products
// over that many goroutines.
func Threads() int { return runtime.GOMAXPROCS(0) }

// SetThreads sets the number of threads OpenBLAS uses for one call and
// returns the previous number. In the pure-Go build it does nothing and
// returns Threads(); gonum's Dgemm follows GOMAXPROCS.
func SetThreads(n int) (prev int) { return Threads() }
