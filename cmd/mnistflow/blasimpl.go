package main

// The BLAS behind gonum: OpenBLAS in the build with -tags openblas (what
// scripts/mnistflow builds), gonum's pure Go otherwise.
import _ "github.com/isingflow/isingflow/internal/blasimpl"
