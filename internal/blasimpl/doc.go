// Package blasimpl selects the BLAS implementation behind gonum's blas64
// for the whole program: importing it for its side effect,
//
//	import _ "github.com/isingflow/isingflow/internal/blasimpl"
//
// routes every blas64 (and so every gonum/mat) call to OpenBLAS when the
// program is built with the tag openblas, and leaves gonum's pure-Go BLAS
// in place otherwise. Name reports which one a program runs.
//
// The training step of a Monge-Ampère flow is a handful of matrix products
// C ← α op(A) op(B) + β C per RK4 stage, 2·M·N·K flops each, so its speed
// is the speed of dgemm. gonum's pure-Go Dgemm splits a product over
// GOMAXPROCS goroutines; OpenBLAS can run its own pthreads. For one product
// alone OpenBLAS's threads are faster than splitting the rows over
// goroutines (BenchmarkThreadsVsGoroutines: by 10–80%, each goroutine packs
// the right-hand matrix again; splitting the columns instead, so that each
// goroutine packs only its share of the larger operand, closes most of the
// gap: BenchmarkDgemmThreads, goroutines-cols), but a training step is not
// one product: it is GEMM, elementwise pass, GEMM, thousands of times, and
// with OpenBLAS threaded the elementwise passes either run on one core or
// fight OpenBLAS's spinning threads for the cores. Splitting each call over
// the cores with goroutines, GEMM, pass and GEMM of a part back to back on
// one core, wins for the whole step (flow's BenchmarkIsingTrainStep: 0.37 s
// against 0.56–0.73 s with OpenBLAS's threads), so the openblas build sets
// OpenBLAS to one thread when it loads, and the flow package splits every
// product itself (GOMAXPROCS sets the number of cores used).
// BenchmarkDgemmPeak raises the thread count again for its own products,
// to measure the best a single dgemm call reaches.
//
// # OpenBLAS kernels
//
// Debian's OpenBLAS (0.3.21, built with DYNAMIC_ARCH) picks its kernels
// when the library is loaded, before any Go code runs. It may fail to
// recognise a recent processor and fall back to generic "Prescott" kernels,
// several times slower; OPENBLAS_VERBOSE=2 prints the choice and
// OPENBLAS_CORETYPE overrides it. In the openblas build an init function
// checks the kernels the library chose against the processor's flags in
// /proc/cpuinfo (AVX-512 F, DQ, BW and VL: SkylakeX; AVX2 and FMA:
// Haswell) and, when the library chose weaker ones and OPENBLAS_CORETYPE
// is unset, re-executes the program once with OPENBLAS_CORETYPE set
// (ISINGFLOW_BLAS_REEXEC guards against a loop). A value that the
// environment already sets is always respected: some machines set one on
// purpose because other kernels give wrong results there. The package's
// tests compare Dgemm against a naive triple loop in either build, so a
// wrong kernel fails them.
//
// Building with OpenBLAS needs Debian's libopenblas-dev (scripts/setup.sh
// installs it) and cgo; `go build -tags openblas ./...` then links
// -lopenblas with no further flags. Without cgo (CGO_ENABLED=0) the tag is
// ignored and the build is pure Go.
//
// References: OpenBLAS, https://www.openblas.net (runtime variables in its
// README); gonum's netlib bindings, gonum.org/v1/netlib/blas/netlib.
package blasimpl
