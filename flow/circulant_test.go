package flow_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/floats"
	"gonum.org/v1/gonum/mat"

	"github.com/isingflow/isingflow/flow"
	"github.com/isingflow/isingflow/flow/flowtest"
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
		for _, shape := range [][]int{{5}, {3, 4}, {4, 4}, {2, 3, 3}} {
			q := c.make(shape)
			rng := rand.New(rand.NewPCG(1, 2))
			for i := range q.Params() {
				q.Params()[i] = rng.NormFloat64()
			}
			flowtest.CheckPotential(t, q, 3, rng, 1e-6)
		}
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
