package symmetry

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/isingflow/isingflow/flow"
	"github.com/isingflow/isingflow/lattice"
)

func newRandomCase(t *testing.T) (*Random, *refShallow, *Group, *rand.Rand) {
	t.Helper()
	rng := rand.New(rand.NewPCG(31, 32))
	lat := mustLattice(t, []int{4, 4}, lattice.Periodic)
	G, err := IsingGroup(lat)
	if err != nil {
		t.Fatal(err)
	}
	inner := newRefShallow(lat.N(), 3, true, rng)
	r, err := NewRandom(inner, G, 99)
	if err != nil {
		t.Fatal(err)
	}
	return r, inner, G, rng
}

// TestRandomMatchesDrawnElements checks every method against the inner
// potential evaluated at g_b x_b with the recorded draws, and that the VJP
// replays the draws of the GradLaplacian call at the same batch.
func TestRandomMatchesDrawnElements(t *testing.T) {
	r, inner, G, rng := newRandomCase(t)
	const B = 5
	n := r.Dim()
	x := randDense(rng, B, n, 1)
	lambda := randDense(rng, B, n, 1)
	mu := []float64{1, -0.5, 0.3, 2, -1}
	grad := mat.NewDense(B, n, nil)
	lap := make([]float64, B)
	r.GradLaplacian(grad, lap, x)
	d, ok := r.Drawn(x)
	if !ok {
		t.Fatal("draws not recorded")
	}
	// A second batch in between must not disturb the replay.
	other := randDense(rng, B, n, 1)
	r.GradLaplacian(mat.NewDense(B, n, nil), make([]float64, B), other)
	dx := mat.NewDense(B, n, nil)
	dp := make([]float64, len(r.Params()))
	r.GradLaplacianVJP(dx, dp, x, lambda, mu)

	gx := mat.NewDense(B, n, nil)
	gl := mat.NewDense(B, n, nil)
	for b, k := range d {
		G.Element(k).Apply(gx.RawRowView(b), x.RawRowView(b))
		G.Element(k).Apply(gl.RawRowView(b), lambda.RawRowView(b))
	}
	wantG := mat.NewDense(B, n, nil)
	wantL := make([]float64, B)
	inner.GradLaplacian(wantG, wantL, gx)
	wantDx := mat.NewDense(B, n, nil)
	wantDp := make([]float64, len(dp))
	inner.GradLaplacianVJP(wantDx, wantDp, gx, gl, mu)
	row := make([]float64, n)
	for b, k := range d {
		G.Element(k).ApplyTranspose(row, wantG.RawRowView(b))
		copy(wantG.RawRowView(b), row)
		G.Element(k).ApplyTranspose(row, wantDx.RawRowView(b))
		copy(wantDx.RawRowView(b), row)
	}
	for _, c := range []struct {
		name string
		a, b []float64
	}{
		{"∇φ", grad.RawMatrix().Data, wantG.RawMatrix().Data},
		{"∇²φ", lap, wantL},
		{"dx", dx.RawMatrix().Data, wantDx.RawMatrix().Data},
		{"dθ", dp, wantDp},
	} {
		if e := maxAbsDiff(c.a, c.b); e > 1e-14 {
			t.Errorf("%s differs from the inner potential at the drawn elements by %g", c.name, e)
		}
	}
	// Re-evaluating the same batch reuses the draws.
	grad2 := mat.NewDense(B, n, nil)
	lap2 := make([]float64, B)
	r.GradLaplacian(grad2, lap2, x)
	if !mat.Equal(grad, grad2) {
		t.Error("second evaluation at the same batch used different draws")
	}
	// Forgetting makes the VJP fail loudly.
	r.Forget()
	defer func() {
		if recover() == nil {
			t.Error("VJP after Forget did not panic")
		}
	}()
	r.GradLaplacianVJP(dx, dp, x, lambda, mu)
}

// TestRandomIsUnbiased checks that the mean of φ(g x) over independent
// draws is the group average φ_G(x) within four standard errors, and that
// the draws cover the group uniformly (chi-squared).
func TestRandomIsUnbiased(t *testing.T) {
	r, inner, G, rng := newRandomCase(t)
	const M = 4096
	n := r.Dim()
	x0 := randDense(rng, 1, n, 1)
	x := mat.NewDense(M, n, nil)
	for b := range M {
		copy(x.RawRowView(b), x0.RawRowView(0))
	}
	// The memo path draws afresh for every row, copies or not.
	v := make([]float64, M)
	memo := make([]float64, r.MemoLen(M))
	r.GradLaplacianMemo(mat.NewDense(M, n, nil), v, x, memo)
	mean, sq := 0.0, 0.0
	for _, vi := range v {
		mean += vi
	}
	mean /= M
	for _, vi := range v {
		sq += (vi - mean) * (vi - mean)
	}
	se := math.Sqrt(sq / (M - 1) / M)
	avg, _ := NewAverage(inner, G)
	want := make([]float64, 1)
	avg.GradLaplacian(mat.NewDense(1, n, nil), want, x0)
	if math.Abs(mean-want[0]) > 4*se {
		t.Errorf("mean of random Laplacians %g ± %g, group average %g", mean, se, want[0])
	}
	d := make([]int, M)
	for b := range d {
		d[b] = int(memo[b])
	}
	// The plain methods give copies of one sample one draw.
	r.Value(make([]float64, M), x)
	if dp, ok := r.Drawn(x); !ok || slices.ContainsFunc(dp, func(k int) bool { return k != dp[0] }) {
		t.Errorf("copies of one sample got different draws from the plain methods: %v", ok)
	}
	counts := make([]float64, G.Order())
	for _, k := range d {
		counts[k]++
	}
	e := float64(M) / float64(G.Order())
	chi2 := 0.0
	for _, c := range counts {
		chi2 += (c - e) * (c - e) / e
	}
	// χ² with 255 degrees of freedom: mean 255, sd √510 ≈ 22.6.
	if dof := float64(G.Order() - 1); math.Abs(chi2-dof) > 5*math.Sqrt(2*dof) {
		t.Errorf("χ² = %.1f for %v degrees of freedom: draws not uniform", chi2, dof)
	}
}

func TestRandomMemory(t *testing.T) {
	r, _, _, rng := newRandomCase(t)
	r.SetMemory(4) // samples: the last two batches of two
	n := r.Dim()
	xs := []*mat.Dense{randDense(rng, 2, n, 1), randDense(rng, 2, n, 1), randDense(rng, 2, n, 1)}
	for _, x := range xs {
		r.Value(make([]float64, 2), x)
	}
	if _, ok := r.Drawn(xs[0]); ok {
		t.Error("oldest batch still remembered beyond the memory")
	}
	for _, x := range xs[1:] {
		if _, ok := r.Drawn(x); !ok {
			t.Error("recent batch forgotten")
		}
	}
}

// plainOnly hides every method but those of flow.Potential.
type plainOnly struct{ flow.Potential }

// TestRandomMemoReplaysDraws trains-step-compares the two ways a flow
// replays the draws in its backward pass: the memo (Random is a
// MemoPotential) and, hiding the memo methods, the plain methods' memory
// keyed by sample. Both draw the same elements in the same order from the
// same seed, so the losses and gradients agree to rounding.
func TestRandomMemoReplaysDraws(t *testing.T) {
	lat := mustLattice(t, []int{4, 4}, lattice.Periodic)
	G, err := IsingGroup(lat)
	if err != nil {
		t.Fatal(err)
	}
	const B = 6
	n := lat.N()
	z := randDense(rand.New(rand.NewPCG(7, 7)), B, n, 1)
	loss := flow.LossFunc(func(dy *mat.Dense, dlogp []float64, y *mat.Dense, logp []float64) float64 {
		var L float64
		for b := range B {
			for k, v := range y.RawRowView(b) {
				L += 0.5 * v * v / B
				dy.Set(b, k, v/B)
			}
			L += logp[b] / B
			dlogp[b] = 1.0 / B
		}
		return L
	})
	grad := func(memo bool) (float64, []float64) {
		inner := newRefShallow(n, 5, true, rand.New(rand.NewPCG(3, 3)))
		r, err := NewRandom(inner, G, 11)
		if err != nil {
			t.Fatal(err)
		}
		var p flow.Potential = r
		if !memo {
			p = plainOnly{r}
		}
		f, err := flow.New(p, 3, 0.2)
		if err != nil {
			t.Fatal(err)
		}
		g := make([]float64, len(p.Params()))
		return f.Gradient(g, nil, z, flow.Sampling, loss), g
	}
	l1, g1 := grad(true)
	l2, g2 := grad(false)
	if math.Abs(l1-l2) > 1e-12*math.Abs(l2) {
		t.Errorf("loss %v with the memo, %v with the plain methods", l1, l2)
	}
	if e := maxAbsDiff(g1, g2); e > 1e-12 {
		t.Errorf("gradients differ by %g", e)
	}
	// A third seed draws other elements: a different loss.
	inner := newRefShallow(n, 5, true, rand.New(rand.NewPCG(3, 3)))
	r, _ := NewRandom(inner, G, 12)
	f, _ := flow.New(r, 3, 0.2)
	if l3 := f.Gradient(make([]float64, len(r.Params())), nil, z, flow.Sampling, loss); l3 == l1 {
		t.Error("another seed gave the same loss: the draws do not enter")
	}
}
