package ising

// The tests and benchmarks run on the BLAS the build selects: OpenBLAS with
// -tags openblas, gonum's pure Go otherwise.
import _ "github.com/isingflow/isingflow/internal/blasimpl"
