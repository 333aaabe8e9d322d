package symmetry

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/isingflow/isingflow/flow"
	"github.com/isingflow/isingflow/flow/flowtest"
	"github.com/isingflow/isingflow/lattice"
)

func randDense(rng *rand.Rand, r, c int, scale float64) *mat.Dense {
	m := mat.NewDense(r, c, nil)
	for i := range r {
		for j := range c {
			m.Set(i, j, scale*rng.NormFloat64())
		}
	}
	return m
}

// maxAbsDiff returns max |a_i − b_i|, or +Inf if any difference is NaN, so
// that a check written d > tol fails on NaN.
func maxAbsDiff(a, b []float64) float64 {
	d := 0.0
	for i := range a {
		e := math.Abs(a[i] - b[i])
		if math.IsNaN(e) {
			return math.Inf(1)
		}
		d = math.Max(d, e)
	}
	return d
}

func TestAverageFiniteDifferences(t *testing.T) {
	for _, shape := range [][]int{{3, 3}, {2, 3}, {5}} {
		t.Run(fmt.Sprint(shape), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(7, uint64(len(shape))))
			lat := mustLattice(t, shape, lattice.Periodic)
			G, err := IsingGroup(lat)
			if err != nil {
				t.Fatal(err)
			}
			inner := newRefShallow(lat.N(), 3, true, rng)
			avg, err := NewAverage(inner, G)
			if err != nil {
				t.Fatal(err)
			}
			flowtest.CheckPotential(t, avg, 3, rng, 1e-6)
		})
	}
}

// checkInvariance verifies φ(gx) = φ(x), ∇φ(gx) = g∇φ(x), ∇²φ(gx) = ∇²φ(x)
// and the equivariance of the VJP, dx(gx; gλ, μ) = g dx(x; λ, μ) with the
// same parameter adjoint, for every element of G, to tol.
func checkInvariance(t *testing.T, p flow.Potential, G *Group, B int, rng *rand.Rand, tol float64) {
	t.Helper()
	n := p.Dim()
	x := randDense(rng, B, n, 1)
	lambda := randDense(rng, B, n, 1)
	mu := make([]float64, B)
	for b := range mu {
		mu[b] = rng.NormFloat64()
	}
	np := len(p.Params())
	v0 := make([]float64, B)
	p.Value(v0, x)
	g0 := mat.NewDense(B, n, nil)
	l0 := make([]float64, B)
	p.GradLaplacian(g0, l0, x)
	dx0 := mat.NewDense(B, n, nil)
	dp0 := make([]float64, np)
	p.GradLaplacianVJP(dx0, dp0, x, lambda, mu)

	gx := mat.NewDense(B, n, nil)
	gl := mat.NewDense(B, n, nil)
	v := make([]float64, B)
	grad := mat.NewDense(B, n, nil)
	want := mat.NewDense(B, n, nil)
	lap := make([]float64, B)
	dx := mat.NewDense(B, n, nil)
	dp := make([]float64, np)
	scale := func(s []float64) float64 {
		m := 1.0
		for _, v := range s {
			m = math.Max(m, math.Abs(v))
		}
		return m
	}
	worst := [5]float64{}
	for k, g := range G.Elements() {
		g.ApplyRows(gx, x)
		g.ApplyRows(gl, lambda)
		p.Value(v, gx)
		p.GradLaplacian(grad, lap, gx)
		dx.Zero()
		clear(dp)
		p.GradLaplacianVJP(dx, dp, gx, gl, mu)
		errs := [5]float64{
			maxAbsDiff(v, v0) / scale(v0),
			0,
			maxAbsDiff(lap, l0) / scale(l0),
			0,
			maxAbsDiff(dp, dp0) / scale(dp0),
		}
		g.ApplyRows(want, g0)
		errs[1] = maxAbsDiff(grad.RawMatrix().Data, want.RawMatrix().Data) / scale(want.RawMatrix().Data)
		g.ApplyRows(want, dx0)
		errs[3] = maxAbsDiff(dx.RawMatrix().Data, want.RawMatrix().Data) / scale(want.RawMatrix().Data)
		for i, e := range errs {
			worst[i] = math.Max(worst[i], e)
			if e > tol {
				t.Fatalf("element %d: %s not invariant: relative error %.3g",
					k, [5]string{"φ", "∇φ", "∇²φ", "VJP dx", "VJP dθ"}[i], e)
			}
		}
	}
	t.Logf("|G| = %d, worst relative errors φ %.2g ∇φ %.2g ∇²φ %.2g dx %.2g dθ %.2g",
		G.Order(), worst[0], worst[1], worst[2], worst[3], worst[4])
}

func TestAverageInvariance(t *testing.T) {
	cases := []struct {
		shape []int
		b     lattice.Boundary
	}{
		{[]int{4, 4}, lattice.Periodic},
		{[]int{3, 4}, lattice.Periodic},
		{[]int{6}, lattice.Periodic},
		{[]int{2, 2, 3}, lattice.Periodic},
		{[]int{4, 4}, lattice.Open},
	}
	for _, tc := range cases {
		t.Run(fmt.Sprint(tc.shape, tc.b), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(11, 12))
			lat := mustLattice(t, tc.shape, tc.b)
			G, err := IsingGroup(lat)
			if err != nil {
				t.Fatal(err)
			}
			avg, err := NewAverage(newRefShallow(lat.N(), 4, true, rng), G)
			if err != nil {
				t.Fatal(err)
			}
			checkInvariance(t, avg, G, 3, rng, 1e-12)
		})
	}
}

// TestAverageChunks checks that splitting the images into several inner
// calls gives the same result as one stacked call.
func TestAverageChunks(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	lat := mustLattice(t, []int{3, 3}, lattice.Periodic)
	G, _ := IsingGroup(lat)
	inner := newRefShallow(lat.N(), 3, true, rng)
	x := randDense(rng, 2, lat.N(), 1)
	lambda := randDense(rng, 2, lat.N(), 1)
	mu := []float64{0.3, -1.2}
	eval := func() ([]float64, []float64, []float64, []float64) {
		avg, _ := NewAverage(inner, G)
		v := make([]float64, 2)
		avg.Value(v, x)
		g := mat.NewDense(2, lat.N(), nil)
		l := make([]float64, 2)
		avg.GradLaplacian(g, l, x)
		dx := mat.NewDense(2, lat.N(), nil)
		dp := make([]float64, len(avg.Params()))
		avg.GradLaplacianVJP(dx, dp, x, lambda, mu)
		return v, append(g.RawMatrix().Data, l...), dx.RawMatrix().Data, dp
	}
	a1, a2, a3, a4 := eval()
	old := maxAverageFloats
	maxAverageFloats = 2 * 9 * 7 // chunks of a few elements
	defer func() { maxAverageFloats = old }()
	b1, b2, b3, b4 := eval()
	for i, d := range []float64{maxAbsDiff(a1, b1), maxAbsDiff(a2, b2), maxAbsDiff(a3, b3), maxAbsDiff(a4, b4)} {
		if d > 1e-12 {
			t.Errorf("quantity %d differs by %g when chunked", i, d)
		}
	}
}

// TestAverageTrivialGroup checks that averaging over {e} changes nothing.
func TestAverageTrivialGroup(t *testing.T) {
	rng := rand.New(rand.NewPCG(15, 16))
	inner := newRefShallow(5, 3, true, rng)
	avg, err := NewAverage(inner, Trivial(5))
	if err != nil {
		t.Fatal(err)
	}
	x := randDense(rng, 4, 5, 1)
	lambda := randDense(rng, 4, 5, 1)
	mu := []float64{1, 2, -1, 0.5}
	g1, g2 := mat.NewDense(4, 5, nil), mat.NewDense(4, 5, nil)
	l1, l2 := make([]float64, 4), make([]float64, 4)
	avg.GradLaplacian(g1, l1, x)
	inner.GradLaplacian(g2, l2, x)
	d1, d2 := mat.NewDense(4, 5, nil), mat.NewDense(4, 5, nil)
	p1, p2 := make([]float64, len(inner.Params())), make([]float64, len(inner.Params()))
	avg.GradLaplacianVJP(d1, p1, x, lambda, mu)
	inner.GradLaplacianVJP(d2, p2, x, lambda, mu)
	if !mat.Equal(g1, g2) || maxAbsDiff(l1, l2) != 0 || !mat.Equal(d1, d2) || maxAbsDiff(p1, p2) != 0 {
		t.Error("average over the trivial group differs from the potential")
	}
	if _, err := NewAverage(inner, Trivial(6)); err == nil {
		t.Error("no error for a group on the wrong number of sites")
	}
}
