package blasimpl_test

import (
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"

	"github.com/isingflow/isingflow/internal/blasimpl"
	"github.com/isingflow/isingflow/internal/parallel"
)

// gemmShape is one product C (m×n) ← op(A) (m×k) · op(B) (k×n).
type gemmShape struct {
	name    string
	m, n, k int
	tB      blas.Transpose // op(A) is always A itself
}

func (s gemmShape) flops() float64 { return 2 * float64(s.m) * float64(s.n) * float64(s.k) }

// trainingShapes are the three products of flow.Shallow at the sizes of
// the two training benchmarks (Ising: B = 64, N = 256, H = 512; MNIST:
// B = 100, N = 784, H = 1024), with A the H×N weight matrix:
//
//	XAt: [X; Λ] Aᵀ, 2B×H from 2B×N (the pre-activations and A λ),
//	DA:  D A,       B×N  from B×H  (∇φ and the input adjoint),
//	PtQ: [Cᵀ Dᵀ] [X; Λ], H×N from H×2B (the adjoint of A).
func trainingShapes() []gemmShape {
	var shapes []gemmShape
	for _, p := range []struct {
		name    string
		b, n, h int
	}{{"ising", 64, 256, 512}, {"mnist", 100, 784, 1024}} {
		shapes = append(shapes,
			gemmShape{p.name + "/XAt", 2 * p.b, p.h, p.n, blas.Trans},
			gemmShape{p.name + "/DA", p.b, p.n, p.h, blas.NoTrans},
			gemmShape{p.name + "/PtQ", p.h, p.n, 2 * p.b, blas.NoTrans},
		)
	}
	return shapes
}

// gemmOperands returns random operands for s.
func gemmOperands(s gemmShape) (a, b, c blas64.General) {
	rng := rand.New(rand.NewPCG(8, 3))
	a = blas64.General{Rows: s.m, Cols: s.k, Stride: s.k, Data: randSlice(rng, s.m*s.k)}
	if s.tB == blas.Trans {
		b = blas64.General{Rows: s.n, Cols: s.k, Stride: s.k, Data: randSlice(rng, s.n*s.k)}
	} else {
		b = blas64.General{Rows: s.k, Cols: s.n, Stride: s.n, Data: randSlice(rng, s.k*s.n)}
	}
	c = blas64.General{Rows: s.m, Cols: s.n, Stride: s.n, Data: make([]float64, s.m*s.n)}
	return a, b, c
}

// startTimer resets b's timer and returns the processor time used so far,
// for reportGFLOPS.
func startTimer(b *testing.B) (cpu0 time.Duration) {
	b.ResetTimer()
	return cpuTime()
}

// reportGFLOPS reports the rate of b.N products of s as a GFLOP/s metric
// (per second of wall-clock time), and per second of the processor time
// the process used since startTimer returned cpu0 as GFLOP/cpu-s: on a
// machine shared with other work the wall-clock rate drops with the cores
// taken away, while the rate per processor-second measures the kernels
// (minus the time OpenBLAS's threads spin while they wait).
func reportGFLOPS(b *testing.B, s gemmShape, cpu0 time.Duration) {
	flops := s.flops() * float64(b.N)
	b.ReportMetric(flops/b.Elapsed().Seconds()/1e9, "GFLOP/s")
	if cpu := cpuTime() - cpu0; cpu0 > 0 && cpu > 0 {
		b.ReportMetric(flops/cpu.Seconds()/1e9, "GFLOP/cpu-s")
	}
}

// BenchmarkDgemmPeak measures the dgemm rate this build reaches, in
// GFLOP/s, on large square products and on the training products, all
// threads on one call (OpenBLAS's threads, GOMAXPROCS of them, or gonum's
// goroutines). The
// largest GFLOP/s over its sub-benchmarks is the build's peak, the
// denominator of the training benchmarks' fraction of the peak. It also
// reports GFLOP/cpu-s (see reportGFLOPS) and GFLOP/s-median, the rate of
// the median product, which stalls caused by other work on the machine
// barely move. The 2048³ product is skipped under -short.
func BenchmarkDgemmPeak(b *testing.B) {
	defer blasimpl.SetThreads(blasimpl.SetThreads(runtime.GOMAXPROCS(0)))
	b.Logf("BLAS: %s", blasimpl.Name())
	shapes := []gemmShape{
		{"1024x1024x1024", 1024, 1024, 1024, blas.NoTrans},
		{"2048x2048x2048", 2048, 2048, 2048, blas.NoTrans},
	}
	shapes = append(shapes, trainingShapes()...)
	for _, s := range shapes {
		b.Run(s.name, func(b *testing.B) {
			if testing.Short() && s.m >= 2048 {
				b.Skip("skipped under -short")
			}
			a, bm, c := gemmOperands(s)
			times := make([]time.Duration, 0, max(b.N, 1))
			cpu0 := startTimer(b)
			for range b.N {
				start := time.Now()
				blas64.Gemm(blas.NoTrans, s.tB, 1, a, bm, 0, c)
				times = append(times, time.Since(start))
			}
			b.StopTimer()
			reportGFLOPS(b, s, cpu0)
			b.ReportMetric(s.flops()/median(times).Seconds()/1e9, "GFLOP/s-median")
		})
	}
}

// BenchmarkDgemmThreads answers "BLAS threads or our goroutines?" at the
// training shapes:
//
//	threads:    one call, the BLAS's own threads (OpenBLAS's pthreads with
//	            SetThreads(GOMAXPROCS), or gonum's goroutines);
//	goroutines: the rows of C split over GOMAXPROCS goroutines with
//	            parallel.For, one single-threaded BLAS call each (in the
//	            pure-Go build gonum still parallelises inside each call);
//	goroutines-cols: the columns of C split the same way (each goroutine
//	            packs all of op(A) but only its share of op(B), the larger
//	            operand of the XAt and DA shapes);
//	single:     one single-threaded call (OpenBLAS only), the baseline.
func BenchmarkDgemmThreads(b *testing.B) {
	b.Logf("BLAS: %s, GOMAXPROCS %d", blasimpl.Name(), runtime.GOMAXPROCS(0))
	procs := runtime.GOMAXPROCS(0)
	for _, s := range trainingShapes() {
		a, bm, c := gemmOperands(s)
		b.Run(s.name+"/threads", func(b *testing.B) {
			defer blasimpl.SetThreads(blasimpl.SetThreads(procs))
			cpu0 := startTimer(b)
			for range b.N {
				blas64.Gemm(blas.NoTrans, s.tB, 1, a, bm, 0, c)
			}
			reportGFLOPS(b, s, cpu0)
		})
		b.Run(s.name+"/goroutines", func(b *testing.B) {
			defer blasimpl.SetThreads(blasimpl.SetThreads(1))
			rows := func(lo, hi int) {
				blas64.Gemm(blas.NoTrans, s.tB, 1,
					blas64.General{Rows: hi - lo, Cols: a.Cols, Stride: a.Stride, Data: a.Data[lo*a.Stride:]},
					bm, 0,
					blas64.General{Rows: hi - lo, Cols: c.Cols, Stride: c.Stride, Data: c.Data[lo*c.Stride:]})
			}
			cpu0 := startTimer(b)
			for range b.N {
				parallel.For(s.m, s.n*s.k, rows)
			}
			reportGFLOPS(b, s, cpu0)
		})
		b.Run(s.name+"/goroutines-cols", func(b *testing.B) {
			defer blasimpl.SetThreads(blasimpl.SetThreads(1))
			cols := func(lo, hi int) {
				sub := blas64.General{Rows: bm.Rows, Cols: hi - lo, Stride: bm.Stride, Data: bm.Data[lo:]}
				if s.tB == blas.Trans {
					sub = blas64.General{Rows: hi - lo, Cols: bm.Cols, Stride: bm.Stride, Data: bm.Data[lo*bm.Stride:]}
				}
				blas64.Gemm(blas.NoTrans, s.tB, 1, a, sub, 0,
					blas64.General{Rows: c.Rows, Cols: hi - lo, Stride: c.Stride, Data: c.Data[lo:]})
			}
			cpu0 := startTimer(b)
			for range b.N {
				parallel.For(s.n, s.m*s.k, cols)
			}
			reportGFLOPS(b, s, cpu0)
		})
		if blasimpl.OpenBLAS {
			b.Run(s.name+"/single", func(b *testing.B) {
				defer blasimpl.SetThreads(blasimpl.SetThreads(1))
				cpu0 := startTimer(b)
				for range b.N {
					blas64.Gemm(blas.NoTrans, s.tB, 1, a, bm, 0, c)
				}
				reportGFLOPS(b, s, cpu0)
			})
		}
	}
}

// BenchmarkGemmTanh is BenchmarkDgemmThreads's question with the
// elementwise work of a training step between the products: U = [X; Λ] Aᵀ
// and then tanh over U with parallel.For, as the flow does. Idle OpenBLAS
// threads spin for a while after a call before they sleep, and may take
// the cores from the goroutines of the elementwise pass.
func BenchmarkGemmTanh(b *testing.B) {
	procs := runtime.GOMAXPROCS(0)
	for _, s := range trainingShapes() {
		if !strings.HasSuffix(s.name, "/XAt") {
			continue
		}
		a, bm, c := gemmOperands(s)
		tanh := func(lo, hi int) {
			for i, v := range c.Data[lo*c.Stride : hi*c.Stride] {
				c.Data[lo*c.Stride+i] = math.Tanh(v)
			}
		}
		rows := func(lo, hi int) {
			blas64.Gemm(blas.NoTrans, s.tB, 1,
				blas64.General{Rows: hi - lo, Cols: a.Cols, Stride: a.Stride, Data: a.Data[lo*a.Stride:]},
				bm, 0,
				blas64.General{Rows: hi - lo, Cols: c.Cols, Stride: c.Stride, Data: c.Data[lo*c.Stride:]})
		}
		b.Run(s.name+"+tanh/threads", func(b *testing.B) {
			defer blasimpl.SetThreads(blasimpl.SetThreads(procs))
			cpu0 := startTimer(b)
			for range b.N {
				blas64.Gemm(blas.NoTrans, s.tB, 1, a, bm, 0, c)
				parallel.For(s.m, s.n, tanh)
			}
			reportGFLOPS(b, s, cpu0)
		})
		b.Run(s.name+"+tanh/goroutines", func(b *testing.B) {
			defer blasimpl.SetThreads(blasimpl.SetThreads(1))
			cpu0 := startTimer(b)
			for range b.N {
				parallel.For(s.m, s.n*s.k, rows)
				parallel.For(s.m, s.n, tanh)
			}
			reportGFLOPS(b, s, cpu0)
		})
	}
}

// BenchmarkThreadsVsGoroutines runs the two modes of BenchmarkDgemmThreads
// alternately, product by product (with the tanh pass of BenchmarkGemmTanh
// after each when the name says +tanh), and reports the median time of
// each mode and their ratio goroutines/threads (> 1: the BLAS's threads
// win). Alternating exposes both modes to the same load, so on a machine
// shared with other work the ratio means more than two separate runs.
func BenchmarkThreadsVsGoroutines(b *testing.B) {
	procs := runtime.GOMAXPROCS(0)
	for _, s := range trainingShapes() {
		for _, withTanh := range []bool{false, true} {
			if withTanh && !strings.HasSuffix(s.name, "/XAt") {
				continue
			}
			name := s.name
			if withTanh {
				name += "+tanh"
			}
			b.Run(name, func(b *testing.B) {
				a, bm, c := gemmOperands(s)
				tanh := func(lo, hi int) {
					for i, v := range c.Data[lo*c.Stride : hi*c.Stride] {
						c.Data[lo*c.Stride+i] = math.Tanh(v)
					}
				}
				rows := func(lo, hi int) {
					blas64.Gemm(blas.NoTrans, s.tB, 1,
						blas64.General{Rows: hi - lo, Cols: a.Cols, Stride: a.Stride, Data: a.Data[lo*a.Stride:]},
						bm, 0,
						blas64.General{Rows: hi - lo, Cols: c.Cols, Stride: c.Stride, Data: c.Data[lo*c.Stride:]})
				}
				defer blasimpl.SetThreads(blasimpl.SetThreads(procs))
				var threads, goroutines []time.Duration
				b.ResetTimer()
				for i := range b.N {
					start := time.Now()
					if i%2 == 0 {
						blasimpl.SetThreads(procs)
						blas64.Gemm(blas.NoTrans, s.tB, 1, a, bm, 0, c)
					} else {
						blasimpl.SetThreads(1)
						parallel.For(s.m, s.n*s.k, rows)
					}
					if withTanh {
						parallel.For(s.m, s.n, tanh)
					}
					if d := time.Since(start); i%2 == 0 {
						threads = append(threads, d)
					} else {
						goroutines = append(goroutines, d)
					}
				}
				if len(goroutines) == 0 {
					return
				}
				mt, mg := median(threads), median(goroutines)
				b.ReportMetric(float64(mt.Nanoseconds()), "ns/threads")
				b.ReportMetric(float64(mg.Nanoseconds()), "ns/goroutines")
				b.ReportMetric(float64(mg)/float64(mt), "goroutines/threads")
			})
		}
	}
}

// median returns the median of d, reordering it.
func median(d []time.Duration) time.Duration {
	slices.Sort(d)
	return d[len(d)/2]
}

// TestGoroutineSplitMatches checks that the row split of
// BenchmarkDgemmThreads computes the same product as one call, up to
// rounding: OpenBLAS's kernels may sum in another order on a block of
// rows than on the whole matrix.
func TestGoroutineSplitMatches(t *testing.T) {
	s := gemmShape{"odd", 131, 67, 45, blas.Trans}
	a, bm, c := gemmOperands(s)
	blas64.Gemm(blas.NoTrans, s.tB, 1, a, bm, 0, c)
	want := append([]float64(nil), c.Data...)
	defer blasimpl.SetThreads(blasimpl.SetThreads(1))
	// Three workers, whatever the machine: with one, parallel.For would
	// make one call and the test would compare it with itself.
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(3))
	var calls atomic.Int32
	parallel.For(s.m, 1<<14, func(lo, hi int) {
		calls.Add(1)
		blas64.Gemm(blas.NoTrans, s.tB, 1,
			blas64.General{Rows: hi - lo, Cols: a.Cols, Stride: a.Stride, Data: a.Data[lo*a.Stride:]},
			bm, 0,
			blas64.General{Rows: hi - lo, Cols: c.Cols, Stride: c.Stride, Data: c.Data[lo*c.Stride:]})
	})
	if n := calls.Load(); n < 2 {
		t.Fatalf("parallel.For made %d call(s), want a split", n)
	}
	for i := range want {
		if !(math.Abs(c.Data[i]-want[i]) <= 1e-13*float64(s.k)) {
			t.Fatalf("entry %d: split %v, one call %v", i, c.Data[i], want[i])
		}
	}
}
