package symmetry_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"syscall"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/isingflow/isingflow/flow"
	"github.com/isingflow/isingflow/ising"
	"github.com/isingflow/isingflow/lattice"
	"github.com/isingflow/isingflow/symmetry"
)

// The paper's Ising benchmark: L = 16 periodic, batch 64, 50 RK4 steps,
// dense potential with H = 512 hidden units.
const (
	benchL     = 16
	benchB     = 64
	benchSteps = 50
	benchEps   = 0.1
	benchH     = 512
)

func benchLattice(b *testing.B) *lattice.Lattice {
	lat, err := lattice.NewHypercubic(2, benchL, lattice.Periodic)
	if err != nil {
		b.Fatal(err)
	}
	return lat
}

// cpuSeconds returns the CPU time (user + system) used by the process so
// far: on a shared machine it is a steadier measure of work than the wall
// clock.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) * 1e-9
}

func normalBatch(rng *rand.Rand, r, c int) *mat.Dense {
	m := mat.NewDense(r, c, nil)
	for i := range m.RawMatrix().Data {
		m.RawMatrix().Data[i] = rng.NormFloat64()
	}
	return m
}

// benchStage runs one RK4 stage's worth of potential work, GradLaplacian
// followed by GradLaplacianVJP with both destinations, on a B×N batch.
func benchStage(b *testing.B, p flow.Potential, B int) {
	rng := rand.New(rand.NewPCG(1, 2))
	n := p.Dim()
	x := normalBatch(rng, B, n)
	lambda := normalBatch(rng, B, n)
	mu := make([]float64, B)
	for i := range mu {
		mu[i] = rng.NormFloat64()
	}
	grad := mat.NewDense(B, n, nil)
	lap := make([]float64, B)
	dx := mat.NewDense(B, n, nil)
	dp := make([]float64, len(p.Params()))
	cpu := cpuSeconds()
	for b.Loop() {
		p.GradLaplacian(grad, lap, x)
		p.GradLaplacianVJP(dx, dp, x, lambda, mu)
	}
	b.ReportMetric((cpuSeconds()-cpu)/float64(b.N)*1e3, "cpu-ms/op")
}

// BenchmarkConvMethods compares, on the 16×16 torus with B = 64, one stage
// (GradLaplacian + GradLaplacianVJP) of the dense H = 512 potential with the
// symmetric Conv forms: full-lattice kernels by FFT and by direct sums, and
// k×k kernels by both methods, all with C·|P|·N ≥ 512 effective hidden
// units (2048 per channel).
func BenchmarkConvMethods(b *testing.B) {
	lat := benchLattice(b)
	b.Run("dense/H512", func(b *testing.B) {
		benchStage(b, flow.NewShallow(lat.N(), benchH, flow.LogCosh, false, rand.New(rand.NewPCG(1, 1))), benchB)
	})
	for _, tc := range []struct {
		C, k int
		m    symmetry.ConvMethod
	}{
		{1, 0, symmetry.ConvFFT}, {2, 0, symmetry.ConvFFT}, {1, 0, symmetry.ConvDirect},
		{1, 3, symmetry.ConvDirect}, {1, 3, symmetry.ConvFFT}, {1, 5, symmetry.ConvDirect}, {1, 5, symmetry.ConvFFT},
	} {
		c, err := symmetry.NewConv(lat, tc.C, symmetry.ConvOptions{Support: tc.k, Method: tc.m}, rand.New(rand.NewPCG(1, 1)))
		if err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("conv/C%d/k%d/%v", tc.C, tc.k, tc.m), func(b *testing.B) {
			benchStage(b, c, benchB)
		})
	}
}

// trainStep benchmarks one training step of the variational free energy at
// T_c (δ = 0.1): Flow.Gradient of (1/B) Σ_b [ln p(x_b) − ln q̃(x_b)] through
// 50 RK4 steps from a fresh batch z ~ N(0, I), and reports seconds per step.
func trainStep(b *testing.B, p flow.Potential) {
	lat := benchLattice(b)
	tc := 2 / math.Log(1+math.Sqrt2)
	target, err := ising.NewRelaxation(lat, tc, 0.1)
	if err != nil {
		b.Fatal(err)
	}
	f, err := flow.New(p, benchSteps, benchEps)
	if err != nil {
		b.Fatal(err)
	}
	lnq := make([]float64, benchB)
	loss := flow.LossFunc(func(dy *mat.Dense, dlogp []float64, y *mat.Dense, logp []float64) float64 {
		target.LogDensityGrad(lnq, dy, y)
		dy.Scale(-1/float64(benchB), dy)
		l := 0.0
		for i := range logp {
			dlogp[i] = 1 / float64(benchB)
			l += (logp[i] - lnq[i]) / float64(benchB)
		}
		return l
	})
	rng := rand.New(rand.NewPCG(5, 6))
	z := mat.NewDense(benchB, lat.N(), nil)
	dparams := make([]float64, len(p.Params()))
	cpu := cpuSeconds()
	for b.Loop() {
		for i := range z.RawMatrix().Data {
			z.RawMatrix().Data[i] = rng.NormFloat64()
		}
		f.Gradient(dparams, nil, z, flow.Sampling, loss)
	}
	b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/step")
	b.ReportMetric((cpuSeconds()-cpu)/float64(b.N), "cpu-s/step")
}

// BenchmarkIsingTrainStep is the unsymmetrised training step: the paper's
// dense potential with H = 512 hidden units, and the same wrapped in the
// paper's cheap alternative (one random element of T ⋊ P × {±1} per sample
// per evaluation).
func BenchmarkIsingTrainStep(b *testing.B) {
	lat := benchLattice(b)
	b.Run("dense/H512", func(b *testing.B) {
		trainStep(b, flow.NewShallow(lat.N(), benchH, flow.LogCosh, false, rand.New(rand.NewPCG(1, 1))))
	})
	b.Run("random/H512", func(b *testing.B) {
		G, err := symmetry.IsingGroup(lat)
		if err != nil {
			b.Fatal(err)
		}
		r, err := symmetry.NewRandom(flow.NewShallow(lat.N(), benchH, flow.LogCosh, false, rand.New(rand.NewPCG(1, 1))), G, 1)
		if err != nil {
			b.Fatal(err)
		}
		trainStep(b, r)
	})
}

// BenchmarkSymmetricIsingTrainStep is the exactly symmetric training step:
// Conv with C channels of full-lattice kernels tied over D4, by FFT, with
// C·8·256 = 2048·C effective hidden units (≥ 512 already at C = 1).
func BenchmarkSymmetricIsingTrainStep(b *testing.B) {
	lat := benchLattice(b)
	for _, C := range []int{1, 2} {
		c, err := symmetry.NewConv(lat, C, symmetry.ConvOptions{}, rand.New(rand.NewPCG(1, 1)))
		if err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("conv/C%d/units%d", C, c.EffectiveHiddenUnits()), func(b *testing.B) {
			trainStep(b, c)
		})
	}
}
