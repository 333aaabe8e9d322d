package flow_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/floats"
	"gonum.org/v1/gonum/mat"

	"github.com/isingflow/isingflow/flow"
	"github.com/isingflow/isingflow/flow/flowtest"
	"github.com/isingflow/isingflow/internal/blasimpl"
)

// TestCirculantQuadraticCheckPotential checks the derivatives and adjoints
// of both parametrisations, the kernel and the spectrum, on tori of one to
// three dimensions.
func TestCirculantQuadraticCheckPotential(t *testing.T) {
	for _, c := range []struct {
		name string
		make func([]int) *flow.CirculantQuadratic
	}{
		{"kernel", flow.NewCirculantQuadratic},
		{"spectral", func(shape []int) *flow.CirculantQuadratic { return flow.NewSpectralQuadratic(shape, 1) }},
		{"spectral γ = 7", func(shape []int) *flow.CirculantQuadratic { return flow.NewSpectralQuadratic(shape, 7) }},
	} {
		for _, path := range []string{"dense", "fft"} {
			for _, shape := range [][]int{{5}, {3, 4}, {4, 4}, {2, 3, 3}, {6, 5}, {1, 7}} {
				q := c.make(shape)
				flow.SetCirculantPath(q, path)
				rng := rand.New(rand.NewPCG(1, 2))
				for i := range q.Params() {
					q.Params()[i] = rng.NormFloat64()
				}
				flowtest.CheckPotential(t, q, 3, rng, 1e-6)
			}
		}
	}
}

// TestCirculantQuadraticFFTMatchesDense checks that the FFT path gives the
// dense path's value, gradient, Laplacian and both adjoints to 1e-12, for
// both parametrisations, on tori of one to three dimensions with even and
// odd sides (radix-2 and gonum's transforms), with and without each
// destination of the adjoint, and that the path follows N.
func TestCirculantQuadraticFFTMatchesDense(t *testing.T) {
	for _, spectral := range []bool{false, true} {
		for _, shape := range [][]int{{8}, {9}, {4, 4}, {6, 5}, {8, 8}, {3, 4, 5}, {2, 8, 4}, {16, 16}} {
			mk := func() *flow.CirculantQuadratic {
				if spectral {
					return flow.NewSpectralQuadratic(shape, 3)
				}
				return flow.NewCirculantQuadratic(shape)
			}
			dense, fast := mk(), mk()
			least := flow.CirculantFFTMinSites
			for _, l := range shape {
				if l&(l-1) != 0 {
					least = flow.CirculantFFTMinSitesOther
				}
			}
			if blasimpl.OpenBLAS {
				least *= 2
			}
			if got, want := fast.FFT(), fast.Dim() >= least; got != want {
				t.Errorf("%v: FFT() = %v with N = %d", shape, got, fast.Dim())
			}
			flow.SetCirculantPath(dense, "dense")
			flow.SetCirculantPath(fast, "fft")
			rng := rand.New(rand.NewPCG(uint64(len(shape)), 9))
			for i := range dense.Params() {
				v := rng.NormFloat64()
				dense.Params()[i], fast.Params()[i] = v, v
			}
			n := dense.Dim()
			const B = 5
			x, lambda := mat.NewDense(B, n, nil), mat.NewDense(B, n, nil)
			mu := make([]float64, B)
			for b := range B {
				for k := range n {
					x.Set(b, k, rng.NormFloat64())
					lambda.Set(b, k, rng.NormFloat64())
				}
				mu[b] = rng.NormFloat64()
			}
			type out struct{ v, g, lap, dx, dp, dxOnly, dpOnly []float64 }
			eval := func(q *flow.CirculantQuadratic) out {
				var o out
				o.v = make([]float64, B)
				q.Value(o.v, x)
				g := mat.NewDense(B, n, nil)
				o.lap = make([]float64, B)
				q.GradLaplacian(g, o.lap, x)
				o.g = g.RawMatrix().Data
				dx, dp := mat.NewDense(B, n, nil), make([]float64, n)
				for i := range dp {
					dp[i] = 0.25 // GradLaplacianVJP adds
				}
				q.GradLaplacianVJP(dx, dp, x, lambda, mu)
				o.dx, o.dp = dx.RawMatrix().Data, dp
				dx2, dp2 := mat.NewDense(B, n, nil), make([]float64, n)
				q.GradLaplacianVJP(dx2, nil, x, lambda, mu)
				q.GradLaplacianVJP(nil, dp2, x, lambda, mu)
				o.dxOnly, o.dpOnly = dx2.RawMatrix().Data, dp2
				return o
			}
			a, b := eval(dense), eval(fast)
			for _, c := range []struct {
				what      string
				got, want []float64
			}{{"value", b.v, a.v}, {"gradient", b.g, a.g}, {"Laplacian", b.lap, a.lap},
				{"VJP dx", b.dx, a.dx}, {"VJP dparams", b.dp, a.dp},
				{"VJP dx alone", b.dxOnly, a.dx}, {"VJP dparams alone", b.dpOnly, a.dpOnly}} {
				if d := relDiff(c.got, c.want); !(d < 1e-12) {
					t.Errorf("spectral %v, %v: %s: relative difference %.3g between the paths", spectral, shape, c.what, d)
				}
			}
			S1, S2 := mat.NewDense(n, n, nil), mat.NewDense(n, n, nil)
			dense.Matrix(S1)
			fast.Matrix(S2)
			if !mat.EqualApprox(S1, S2, 1e-13) {
				t.Errorf("spectral %v, %v: Matrix differs between the paths", spectral, shape)
			}
		}
	}
}

// TestCirculantQuadraticLarge checks at L = 128 (N = 16384, where the
// dense S̄ would take 2 GB) that the FFT path's gradient is S̄x: a plane
// wave is an eigenvector with the eigenvalue the spectral parameters give.
func TestCirculantQuadraticLarge(t *testing.T) {
	const L = 128
	q := flow.NewSpectralQuadratic([]int{L, L}, 2)
	if !q.FFT() {
		t.Fatal("no FFT at L = 128")
	}
	n := q.Dim()
	c := q.Params()
	for k := range c {
		c[k] = math.Sin(float64(k)) // any spectrum
	}
	k0, k1 := 3, 5 // the wave vector (3, 5)·2π/L, site 3L+5
	kk := k0*L + k1
	neg := ((L-k0)%L)*L + (L-k1)%L
	want := 0.5 * 2 * (c[kk] + c[neg])
	x := mat.NewDense(1, n, nil)
	for i := range L {
		for j := range L {
			x.Set(0, i*L+j, math.Cos(2*math.Pi*float64(k0*i+k1*j)/L))
		}
	}
	g := mat.NewDense(1, n, nil)
	lap := make([]float64, 1)
	q.GradLaplacian(g, lap, x)
	var e float64
	for i := range n {
		e = math.Max(e, math.Abs(g.At(0, i)-want*x.At(0, i)))
	}
	if e > 1e-12 {
		t.Errorf("|S̄v − ŝ(k)v|∞ = %.3g, ŝ(k) = %.6g", e, want)
	}
	var sum float64
	for _, v := range c {
		sum += v
	}
	if d := math.Abs(lap[0] - 2*sum); d > 1e-9*math.Abs(2*sum)+1e-9 {
		t.Errorf("Laplacian %v, want N s(0) = γ Σ c = %v", lap[0], 2*sum)
	}
}

// TestSpectralQuadraticEigenvalues checks that the parameters are the
// spectrum: S̄ applied to the plane waves cos(k·r) and sin(k·r) gives
// ½γ(c(k) + c(−k)) times each, on tori with even and odd sides, for the
// scale γ = 1 and another.
func TestSpectralQuadraticEigenvalues(t *testing.T) {
	for i, shape := range [][]int{{6}, {4, 5}, {3, 4, 2}, {4, 5}} {
		scale := 1.0
		if i == 3 {
			scale = 2.5
		}
		q := flow.NewSpectralQuadratic(shape, scale)
		n := q.Dim()
		rng := rand.New(rand.NewPCG(5, 6))
		c := q.Params()
		for i := range c {
			c[i] = rng.NormFloat64()
		}
		S := mat.NewDense(n, n, nil)
		q.Matrix(S)
		coords := func(i int) []int {
			x := make([]int, len(shape))
			for a := len(shape) - 1; a >= 0; a-- {
				x[a] = i % shape[a]
				i /= shape[a]
			}
			return x
		}
		neg := func(k int) int {
			x, i := coords(k), 0
			for a, l := range shape {
				i = i*l + (l-x[a])%l
			}
			return i
		}
		for k := range n {
			want := 0.5 * scale * (c[k] + c[neg(k)])
			kc := coords(k)
			for _, wave := range []func(float64) float64{math.Cos, math.Sin} {
				v := mat.NewVecDense(n, nil)
				for r := range n {
					var phase float64
					for a, ra := range coords(r) {
						phase += 2 * math.Pi * float64(kc[a]*ra) / float64(shape[a])
					}
					v.SetVec(r, wave(phase))
				}
				if mat.Norm(v, 2) < 1e-9 {
					continue // sin of a self-conjugate wave vector
				}
				var sv mat.VecDense
				sv.MulVec(S, v)
				sv.AddScaledVec(&sv, -want, v)
				if d := mat.Norm(&sv, 2) / mat.Norm(v, 2); d > 1e-12 {
					t.Errorf("%v, γ = %g: k = %v: |S̄v − ŝ(k)v|/|v| = %.3g, ŝ(k) = %.6g", shape, scale, kc, d, want)
				}
			}
		}
	}
}

// TestSpectralQuadraticIsCirculant checks that the spectral potential with
// parameters c and scale γ is the kernel potential with the kernel
// (γ/N) Σ_k c(k) cos(k·r): the same gradient and Laplacian, and parameter
// gradients related by the change of basis, ∂/∂c = Cᵀ ∂/∂s.
func TestSpectralQuadraticIsCirculant(t *testing.T) {
	shape := []int{4, 6}
	const scale = 3
	sp, ker := flow.NewSpectralQuadratic(shape, scale), flow.NewCirculantQuadratic(shape)
	n := sp.Dim()
	rng := rand.New(rand.NewPCG(7, 8))
	for i := range sp.Params() {
		sp.Params()[i] = rng.NormFloat64()
	}
	// The kernel from the spectrum, by the definition.
	C := mat.NewDense(n, n, nil)
	for r := range n {
		for k := range n {
			var phase float64
			ri, ki := []int{r / 6, r % 6}, []int{k / 6, k % 6}
			for a := range shape {
				phase += 2 * math.Pi * float64(ri[a]*ki[a]) / float64(shape[a])
			}
			C.Set(r, k, scale*math.Cos(phase)/float64(n))
		}
	}
	kv := mat.NewVecDense(n, ker.Params())
	kv.MulVec(C, mat.NewVecDense(n, sp.Params()))
	const B = 3
	x, lambda := mat.NewDense(B, n, nil), mat.NewDense(B, n, nil)
	for i := range x.RawMatrix().Data {
		x.RawMatrix().Data[i] = rng.NormFloat64()
		lambda.RawMatrix().Data[i] = rng.NormFloat64()
	}
	mu := []float64{0.3, -1.2, 0.7}
	eval := func(q *flow.CirculantQuadratic) (*mat.Dense, []float64, *mat.Dense, []float64) {
		g, lap := mat.NewDense(B, n, nil), make([]float64, B)
		q.GradLaplacian(g, lap, x)
		dx, dp := mat.NewDense(B, n, nil), make([]float64, n)
		q.GradLaplacianVJP(dx, dp, x, lambda, mu)
		return g, lap, dx, dp
	}
	g1, lap1, dx1, dpSpec := eval(sp)
	g2, lap2, dx2, dpKer := eval(ker)
	if !mat.EqualApprox(g1, g2, 1e-12) || !floats.EqualApprox(lap1, lap2, 1e-12) || !mat.EqualApprox(dx1, dx2, 1e-12) {
		t.Errorf("the spectral potential differs from the circulant one with its kernel")
	}
	var want mat.VecDense
	want.MulVec(C.T(), mat.NewVecDense(n, dpKer))
	if !floats.EqualApprox(dpSpec, want.RawVector().Data, 1e-12) {
		t.Errorf("∂/∂c = %v, want Cᵀ ∂/∂s = %v", dpSpec, want.RawVector().Data)
	}
	if !sp.Spectral() || ker.Spectral() {
		t.Errorf("Spectral() = %v, %v, want true, false", sp.Spectral(), ker.Spectral())
	}
}
