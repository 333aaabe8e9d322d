package flow_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"runtime"
	"sync"
	"testing"
	"time"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/gonum/mat"

	"github.com/isingflow/isingflow/flow"
	"github.com/isingflow/isingflow/internal/blasimpl"
)

// reportTrainStep reports seconds per training step and GFLOP/s with the
// convention FLOP = 12·B·N·H per RK4 stage (two GEMMs of 2·B·N·H forward,
// four backward), four stages per step, and that rate as a fraction of the
// best dgemm rate the same build reaches in the same process (peak-frac).
func reportTrainStep(b *testing.B, B, N, H, steps int) {
	reportStep(b, 12, B, N, H, steps)
}

// reportStep is reportTrainStep with perStage·B·N·H FLOP per RK4 stage.
func reportStep(b *testing.B, perStage, B, N, H, steps int) {
	sec := b.Elapsed().Seconds() / float64(b.N)
	b.ReportMetric(sec, "s/step")
	flops := float64(perStage) * float64(B) * float64(N) * float64(H) * 4 * float64(steps)
	b.ReportMetric(flops/sec/1e9, "GFLOP/s")
	b.ReportMetric(flops/sec/1e9/dgemmPeak(), "peak-frac")
	b.ReportMetric(0, "ns/op")
}

var (
	peakOnce sync.Once
	peak     float64
)

// dgemmPeak returns the best rate in GFLOP/s of five 1024³ dgemm calls with
// every core on one call (OpenBLAS's threads raised to GOMAXPROCS for the
// measurement, or gonum's goroutines): the denominator of peak-frac, the
// same figure as internal/blasimpl's BenchmarkDgemmPeak.
func dgemmPeak() float64 {
	peakOnce.Do(func() {
		defer blasimpl.SetThreads(blasimpl.SetThreads(runtime.GOMAXPROCS(0)))
		const n = 1024
		rng := rand.New(rand.NewPCG(5, 5))
		a := blas64.General{Rows: n, Cols: n, Stride: n, Data: make([]float64, n*n)}
		c := blas64.General{Rows: n, Cols: n, Stride: n, Data: make([]float64, n*n)}
		for i := range a.Data {
			a.Data[i] = rng.NormFloat64()
		}
		for range 5 {
			start := time.Now()
			blas64.Gemm(blas.NoTrans, blas.NoTrans, 1, a, a, 0, c)
			peak = max(peak, 2*n*n*n/time.Since(start).Seconds()/1e9)
		}
	})
	return peak
}

// BenchmarkIsingTrainStep is one training step at the paper's Ising sizes:
// N = 256 (16×16), H = 512, B = 64, 50 RK4 steps of 0.1, a ln cosh Shallow
// potential without bias; draw z, push forward with the tape, evaluate the
// loss (1/B) Σ_b [ln p(x_b) − ln q̃(x_b)] with the stand-in target
// ln q̃(x) = −¼|x|² + Σ_i ln cosh x_i (the same elementwise cost profile as
// the real one, which lives in vmc), and backpropagate to all parameters;
// once with float64 products and once with float32 (sub-benchmarks).
func BenchmarkIsingTrainStep(b *testing.B) {
	for _, prec := range precisions {
		b.Run(prec.String(), func(b *testing.B) { benchIsingTrainStep(b, prec, false) })
	}
}

// BenchmarkIsingPathGradientStep is BenchmarkIsingTrainStep with
// Flow.PathGradient: the score's Hessian-vector products add two GEMMs of
// 2·B·N·H per stage, so its GFLOP/s count 16·B·N·H per stage.
func BenchmarkIsingPathGradientStep(b *testing.B) {
	for _, prec := range precisions {
		b.Run(prec.String(), func(b *testing.B) { benchIsingTrainStep(b, prec, true) })
	}
}

// precisions are the arithmetic of the products in the training benchmarks
// (sub-benchmarks float64 and float32).
var precisions = []flow.Precision{flow.Float64, flow.Float32}

// The training benchmarks take one untimed step before the timed ones. Its
// first touch of the tape's pages, which the kernel zeroes (about 1 GB at
// the MNIST sizes: a quarter of a float32 step under perf), is paid once per
// run, not once per step, since the flow keeps its workspaces from one step
// to the next.
func benchIsingTrainStep(b *testing.B, prec flow.Precision, path bool) {
	const N, H, B, steps, eps = 256, 512, 64, 50, 0.1
	rng := rand.New(rand.NewPCG(1, 1))
	p := flow.NewShallow(N, H, flow.LogCosh, false, rng)
	p.SetPrecision(prec)
	f, err := flow.New(p, steps, eps)
	if err != nil {
		b.Fatal(err)
	}
	z := mat.NewDense(B, N, nil)
	dparams := make([]float64, len(p.Params()))
	loss := flow.LossFunc(func(dy *mat.Dense, dlogp []float64, y *mat.Dense, logp []float64) float64 {
		var L float64
		inv := 1 / float64(B)
		for r := range B {
			yr, dr := y.RawRowView(r), dy.RawRowView(r)
			lq := 0.0
			for k, v := range yr {
				lq += -0.25*v*v + flow.LogCosh.Eval(v)
				dr[k] = -(-0.5*v + math.Tanh(v)) * inv
			}
			L += (logp[r] - lq) * inv
			dlogp[r] = inv
		}
		return L
	})
	step := func() {
		for i := range z.RawMatrix().Data {
			z.RawMatrix().Data[i] = rng.NormFloat64()
		}
		if path {
			f.PathGradient(dparams, z, loss)
		} else {
			f.Gradient(dparams, nil, z, flow.Sampling, loss)
		}
	}
	step() // untimed warm-up, see benchIsingTrainStep
	for b.Loop() {
		step()
	}
	if path {
		reportStep(b, 16, B, N, H, steps)
	} else {
		reportTrainStep(b, B, N, H, steps)
	}
	b.ReportMetric(float64(f.TapeBytes(B))/1e6, "MB-tape")
}

// BenchmarkMNISTTrainStep is one training step at the paper's MNIST sizes:
// N = 784, H = 1024, B = 100, 100 RK4 steps, a softplus Shallow potential
// with bias; integrate a batch of data back to z with the tape, take the
// mean negative log-likelihood, and backpropagate to all parameters. It
// also reports the process's memory from runtime.MemStats after the run
// (Sys: all memory obtained from the OS; HeapSys: the heap's part).
func BenchmarkMNISTTrainStep(b *testing.B) {
	for _, prec := range precisions {
		b.Run(prec.String(), func(b *testing.B) { benchMNISTTrainStep(b, prec) })
	}
}

func benchMNISTTrainStep(b *testing.B, prec flow.Precision) {
	const N, H, B, steps, eps = 784, 1024, 100, 100, 0.01
	rng := rand.New(rand.NewPCG(2, 2))
	p := flow.NewShallow(N, H, flow.Softplus, true, rng)
	p.SetPrecision(prec)
	f := benchNLLGradient(b, p, B, steps, eps, rng)
	reportTrainStep(b, B, N, H, steps)
	b.ReportMetric(float64(f.TapeBytes(B))/1e6, "MB-tape")
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	b.ReportMetric(float64(ms.Sys)/1e6, "MB-sys")
	b.ReportMetric(float64(ms.HeapSys)/1e6, "MB-heapsys")
}

// benchNLLGradient times the gradient of the mean negative log-likelihood
// of a flow of p (steps RK4 steps of eps) at a batch of B normal draws from
// rng, after one untimed step (see benchIsingTrainStep), and returns the
// flow.
func benchNLLGradient(b *testing.B, p flow.Potential, B, steps int, eps float64, rng *rand.Rand) *flow.Flow {
	f, err := flow.New(p, steps, eps)
	if err != nil {
		b.Fatal(err)
	}
	x := mat.NewDense(B, p.Dim(), nil)
	for i := range x.RawMatrix().Data {
		x.RawMatrix().Data[i] = rng.NormFloat64()
	}
	dparams := make([]float64, len(p.Params()))
	loss := flow.LossFunc(nllLoss)
	f.Gradient(dparams, nil, x, flow.Density, loss)
	for b.Loop() {
		f.Gradient(dparams, nil, x, flow.Density, loss)
	}
	return f
}

// BenchmarkSaturatedUnits is one training step built like
// BenchmarkMNISTTrainStep at the MNIST budget's sizes (N = 784, H = 256,
// B = 100, 40 RK4 steps of 0.25, softplus with bias), with the parameters of a fresh potential
// ("fresh") and with half its units saturated ("saturated": biases of
// ±96, so σ”(u) ≈ e^−96 ≈ 2e−42 lies below the least normal float32, as
// for the saturated units of a trained potential). The float32 step of
// the saturated potential takes as long as the fresh one's only because
// toFloat32 flushes operands below 2⁻⁶³ to zero; without that, its
// subnormal operands cost microcode assists on x86 CPUs.
func BenchmarkSaturatedUnits(b *testing.B) {
	for _, units := range []string{"fresh", "saturated"} {
		for _, prec := range precisions {
			b.Run(units+"/"+prec.String(), func(b *testing.B) {
				const N, H, B, steps, eps = 784, 256, 100, 40, 0.25
				rng := rand.New(rand.NewPCG(3, 3))
				p := flow.NewShallow(N, H, flow.Softplus, true, rng)
				p.SetPrecision(prec)
				if units == "saturated" {
					flow.SaturateHalf(p)
				}
				benchNLLGradient(b, p, B, steps, eps, rng)
				reportTrainStep(b, B, N, H, steps)
			})
		}
	}
}

// BenchmarkCirculantQuadratic is one RK4 stage of the quadratic part in a
// training step, B = 64: GradLaplacian, then GradLaplacianVJP into both
// destinations, of the spectral circulant potential on the L×L torus, by
// the dense S̄ in float64 and float32 and by the FFT (float64 always). The
// dense path at L = 128 needs 6 GB (S̄, its correlation and the index
// table) and runs only with ISINGFLOW_DENSE_L128=1.
func BenchmarkCirculantQuadratic(b *testing.B) {
	for _, L := range []int{4, 8, 12, 16, 20, 32, 48, 64, 128} {
		for _, path := range []string{"dense/float64", "dense/float32", "fft"} {
			b.Run(fmt.Sprintf("L=%d/%s", L, path), func(b *testing.B) {
				if L == 128 && path != "fft" && os.Getenv("ISINGFLOW_DENSE_L128") == "" {
					b.Skip("6 GB: set ISINGFLOW_DENSE_L128=1")
				}
				const B = 64
				q := flow.NewSpectralQuadratic([]int{L, L}, 10)
				if path == "fft" {
					flow.SetCirculantPath(q, "fft")
				} else {
					flow.SetCirculantPath(q, "dense")
				}
				if path == "dense/float32" {
					flow.SetPrecision(q, flow.Float32)
				}
				n := q.Dim()
				rng := rand.New(rand.NewPCG(1, uint64(L)))
				for i := range q.Params() {
					q.Params()[i] = 0.1 * rng.NormFloat64()
				}
				x, lambda, g, dx := mat.NewDense(B, n, nil), mat.NewDense(B, n, nil), mat.NewDense(B, n, nil), mat.NewDense(B, n, nil)
				for i := range x.RawMatrix().Data {
					x.RawMatrix().Data[i] = rng.NormFloat64()
					lambda.RawMatrix().Data[i] = rng.NormFloat64()
				}
				lap, mu, dp := make([]float64, B), make([]float64, B), make([]float64, n)
				q.GradLaplacian(g, lap, x) // build outside the timing
				b.ResetTimer()
				for range b.N {
					q.GradLaplacian(g, lap, x)
					q.GradLaplacianVJP(dx, dp, x, lambda, mu)
				}
			})
		}
	}
}
