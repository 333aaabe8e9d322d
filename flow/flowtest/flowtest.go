// Package flowtest checks implementations of flow.Potential against central
// finite differences in float64.
//
// CheckPotential verifies, at random inputs x, adjoints λ and μ:
//
//	∇φ          against the finite-difference gradient of Value;
//	∇²φ         against the trace of the finite-difference Hessian (FD of ∇φ);
//	H·λ         (GradLaplacianVJP with μ = 0) against the FD Hessian times λ;
//	∇(∇²φ)      (GradLaplacianVJP with λ = 0, μ = 1) against FD of ∇²φ;
//	∂S/∂θ       (the parameter adjoint) against FD of
//	            S(θ) = Σ_b λ_b·∇φ(x_b) + μ_b ∇²φ(x_b) over the parameters;
//
// For a flow.MemoPotential it checks that the memo methods agree with the
// plain ones. It also checks the contract of the interface:
// GradLaplacianVJP adds into its destinations and skips nil ones, no method
// modifies its inputs, rows of a batch are independent of each other and of
// the batch size, and Params aliases the potential's storage with a fixed
// length.
//
// The derivatives use the fourth-order five-point stencil
// f'(y) ≈ (f(y−2h) − 8f(y−h) + 8f(y+h) − f(y+2h))/(12h) with h = 1e-3,
// whose truncation error O(h⁴) and rounding error O(ε/h) are both near
// 1e-12 for smooth potentials of order one; tol = 1e-6 is a safe default.
//
// The package has no test-only build constraint so that tests in several
// packages (flow, symmetry, …) can share it; it imports testing.
package flowtest

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/isingflow/isingflow/flow"
)

const (
	// step is the finite-difference step h.
	step = 1e-3
	// maxParams bounds the number of parameter coordinates checked by
	// finite differences; beyond it a random subset is checked.
	maxParams = 160
	// maxReports bounds the mismatches reported per check.
	maxReports = 4
)

// CheckPotential checks every derivative p provides against central finite
// differences at a random batch of the given size drawn from rng (standard
// normal inputs and adjoints), and checks the calling contract of
// flow.Potential. A mismatch is reported through t.Errorf when
//
//	|got − want| > tol · max(1, max|want|),
//
// the maximum taken over the whole quantity being checked (for example all
// B×N gradient entries), so tol is a relative tolerance for quantities of
// order one or larger and an absolute one below.
//
// The cost is O(N) evaluations of the whole batch for the input
// derivatives (the Laplacian needs the full finite-difference Hessian) and
// four evaluations per checked parameter (all of them when there are at most
// 160, else a random subset of 160), so use small N, hidden sizes and
// batches. The potential's parameters are restored exactly afterwards.
func CheckPotential(t testing.TB, p flow.Potential, batch int, rng *rand.Rand, tol float64) {
	t.Helper()
	if batch < 1 {
		t.Fatalf("flowtest: batch size %d < 1", batch)
	}
	c := &checker{t: t, p: p, B: batch, N: p.Dim(), tol: tol}
	if c.N < 1 {
		t.Fatalf("flowtest: Dim() = %d < 1", c.N)
	}
	c.run(rng)
}

type checker struct {
	t   testing.TB
	p   flow.Potential
	B   int
	N   int
	tol float64
}

func (c *checker) run(rng *rand.Rand) {
	t, p, B, N := c.t, c.p, c.B, c.N
	t.Helper()

	theta := p.Params()
	nparams := len(theta)
	theta0 := append([]float64(nil), theta...)
	if q := p.Params(); len(q) != nparams || (nparams > 0 && &q[0] != &theta[0]) {
		t.Errorf("flowtest: Params does not return the same storage on every call")
	}

	x := randDense(rng, B, N)
	lambda := randDense(rng, B, N)
	mu := make([]float64, B)
	for b := range mu {
		mu[b] = rng.NormFloat64()
	}
	x0 := mat.DenseCopyOf(x)
	lambda0 := mat.DenseCopyOf(lambda)
	mu0 := append([]float64(nil), mu...)
	checkInputs := func(after string) {
		t.Helper()
		if !mat.Equal(x, x0) {
			t.Errorf("flowtest: %s modified x", after)
			x.Copy(x0)
		}
		if !mat.Equal(lambda, lambda0) {
			t.Errorf("flowtest: %s modified lambda", after)
			lambda.Copy(lambda0)
		}
		if !equalSlices(mu, mu0) {
			t.Errorf("flowtest: %s modified mu", after)
			copy(mu, mu0)
		}
		if !equalSlices(theta, theta0) {
			t.Errorf("flowtest: %s modified the parameters", after)
			copy(theta, theta0)
		}
	}

	// Reference evaluation.
	val := make([]float64, B)
	p.Value(val, x)
	checkInputs("Value")
	grad := mat.NewDense(B, N, nil)
	lap := make([]float64, B)
	p.GradLaplacian(grad, lap, x)
	checkInputs("GradLaplacian")
	c.finite("Value", val)
	c.finite("gradient", grad.RawMatrix().Data)
	c.finite("Laplacian", lap)

	// Finite differences in the inputs: coordinate i is moved in every row
	// at once (rows are independent, which is checked below).
	fdGrad := mat.NewDense(B, N, nil)    // ∂φ/∂x_i
	fdHess := make([]float64, B*N*N)     // [b][k][i] = ∂(∇φ)_k/∂x_i
	fdGradLap := mat.NewDense(B, N, nil) // ∂(∇²φ)/∂x_i
	xs := mat.DenseCopyOf(x)
	vs := make([]float64, B)
	gs := mat.NewDense(B, N, nil)
	ls := make([]float64, B)
	for i := range N {
		for _, s := range stencil {
			for b := range B {
				xs.Set(b, i, x.At(b, i)+s.off*step)
			}
			p.Value(vs, xs)
			p.GradLaplacian(gs, ls, xs)
			for b := range B {
				fdGrad.Set(b, i, fdGrad.At(b, i)+s.w*vs[b]/step)
				fdGradLap.Set(b, i, fdGradLap.At(b, i)+s.w*ls[b]/step)
				row := gs.RawRowView(b)
				hb := fdHess[b*N*N:]
				for k, g := range row {
					hb[k*N+i] += s.w * g / step
				}
			}
		}
		for b := range B {
			xs.Set(b, i, x.At(b, i))
		}
	}
	checkInputs("finite differences in x")
	c.compare("∇φ against FD of Value", grad.RawMatrix().Data, fdGrad.RawMatrix().Data)

	fdLap := make([]float64, B)
	for b := range B {
		for i := range N {
			fdLap[b] += fdHess[(b*N+i)*N+i]
		}
	}
	c.compare("∇²φ against the trace of the FD Hessian", lap, fdLap)

	// Hessian-vector product through the VJP with μ = 0.
	zeroMu := make([]float64, B)
	hl := mat.NewDense(B, N, nil)
	p.GradLaplacianVJP(hl, nil, x, lambda, zeroMu)
	checkInputs("GradLaplacianVJP")
	fdHL := hessTimes(fdHess, lambda, B, N)
	c.compare("H·λ (VJP with μ=0) against FD Hessian·λ", hl.RawMatrix().Data, fdHL.RawMatrix().Data)

	// ∇(∇²φ) through the VJP with λ = 0, μ = 1.
	zeroLambda := mat.NewDense(B, N, nil)
	ones := make([]float64, B)
	for b := range ones {
		ones[b] = 1
	}
	gl := mat.NewDense(B, N, nil)
	p.GradLaplacianVJP(gl, nil, x, zeroLambda, ones)
	checkInputs("GradLaplacianVJP")
	c.compare("∇(∇²φ) (VJP with λ=0, μ=1) against FD of ∇²φ", gl.RawMatrix().Data, fdGradLap.RawMatrix().Data)

	// Full input adjoint with general λ, μ.
	vx := mat.NewDense(B, N, nil)
	p.GradLaplacianVJP(vx, nil, x, lambda, mu)
	checkInputs("GradLaplacianVJP")
	want := mat.NewDense(B, N, nil)
	for b := range B {
		for i := range N {
			want.Set(b, i, fdHL.At(b, i)+mu[b]*fdGradLap.At(b, i))
		}
	}
	c.compare("x adjoint (VJP with λ, μ) against FD", vx.RawMatrix().Data, want.RawMatrix().Data)

	// Parameter adjoint against FD of S(θ) = Σ_b λ_b·∇φ_b + μ_b ∇²φ_b.
	vp := make([]float64, nparams)
	p.GradLaplacianVJP(nil, vp, x, lambda, mu)
	checkInputs("GradLaplacianVJP")
	c.finite("parameter adjoint", vp)
	coords := pick(rng, nparams, maxParams)
	gotP := make([]float64, len(coords))
	fdP := make([]float64, len(coords))
	for ci, k := range coords {
		gotP[ci] = vp[k]
		for _, s := range stencil {
			theta[k] = theta0[k] + s.off*step
			p.GradLaplacian(gs, ls, x)
			fdP[ci] += s.w * objective(gs, ls, lambda, mu) / step
		}
		theta[k] = theta0[k]
	}
	checkInputs("finite differences in θ")
	c.compareAt("parameter adjoint against FD of Σ λ·∇φ + μ∇²φ", gotP, fdP, coords)

	// The VJP adds into its destinations, and nil ones are skipped.
	rx := randDense(rng, B, N)
	rp := make([]float64, nparams)
	for k := range rp {
		rp[k] = rng.NormFloat64()
	}
	dx := mat.DenseCopyOf(rx)
	dp := append([]float64(nil), rp...)
	p.GradLaplacianVJP(dx, dp, x, lambda, mu)
	p.GradLaplacianVJP(dx, dp, x, lambda, mu)
	checkInputs("GradLaplacianVJP")
	wantX := make([]float64, B*N)
	for b := range B {
		for i := range N {
			wantX[b*N+i] = rx.At(b, i) + 2*vx.At(b, i)
		}
	}
	wantP := make([]float64, nparams)
	for k := range wantP {
		wantP[k] = rp[k] + 2*vp[k]
	}
	c.compareExact("x adjoint accumulated twice onto random values", dx.RawMatrix().Data, wantX)
	c.compareExact("parameter adjoint accumulated twice onto random values", dp, wantP)

	dx.Zero()
	p.GradLaplacianVJP(dx, nil, x, lambda, mu)
	c.compareExact("x adjoint with nil dparams", dx.RawMatrix().Data, vx.RawMatrix().Data)
	for k := range dp {
		dp[k] = 0
	}
	p.GradLaplacianVJP(nil, dp, x, lambda, mu)
	c.compareExact("parameter adjoint with nil dx", dp, vp)
	p.GradLaplacianVJP(nil, nil, x, lambda, mu)
	checkInputs("GradLaplacianVJP")

	// Rows are independent of each other and of the batch size: evaluate
	// every row alone, then a larger batch, then the original one again.
	x1 := mat.NewDense(1, N, nil)
	l1 := mat.NewDense(1, N, nil)
	g1 := mat.NewDense(1, N, nil)
	v1 := make([]float64, 1)
	lp1 := make([]float64, 1)
	d1 := mat.NewDense(1, N, nil)
	singleVal, singleLap := make([]float64, B), make([]float64, B)
	singleGrad := mat.NewDense(B, N, nil)
	singleDx := mat.NewDense(B, N, nil)
	singleDp := make([]float64, nparams)
	for b := range B {
		x1.Copy(x.Slice(b, b+1, 0, N))
		l1.Copy(lambda.Slice(b, b+1, 0, N))
		p.Value(v1, x1)
		p.GradLaplacian(g1, lp1, x1)
		d1.Zero()
		p.GradLaplacianVJP(d1, singleDp, x1, l1, mu[b:b+1])
		singleVal[b], singleLap[b] = v1[0], lp1[0]
		singleGrad.Slice(b, b+1, 0, N).(*mat.Dense).Copy(g1)
		singleDx.Slice(b, b+1, 0, N).(*mat.Dense).Copy(d1)
	}
	c.compare("Value of single rows against the batch", singleVal, val)
	c.compare("∇φ of single rows against the batch", singleGrad.RawMatrix().Data, grad.RawMatrix().Data)
	c.compare("∇²φ of single rows against the batch", singleLap, lap)
	c.compare("x adjoint of single rows against the batch", singleDx.RawMatrix().Data, vx.RawMatrix().Data)
	c.compare("parameter adjoint summed over single rows against the batch", singleDp, vp)

	big := B + 3
	xb := randDense(rng, big, N)
	xb.Slice(0, B, 0, N).(*mat.Dense).Copy(x)
	gb := mat.NewDense(big, N, nil)
	lb := make([]float64, big)
	p.GradLaplacian(gb, lb, xb)
	gbTop := mat.DenseCopyOf(gb.Slice(0, B, 0, N))
	c.compare("∇φ of the same rows in a larger batch", gbTop.RawMatrix().Data, grad.RawMatrix().Data)
	c.compare("∇²φ of the same rows in a larger batch", lb[:B], lap)

	g2 := mat.NewDense(B, N, nil)
	l2 := make([]float64, B)
	p.GradLaplacian(g2, l2, x)
	c.compareExact("∇φ recomputed after other batch sizes", g2.RawMatrix().Data, grad.RawMatrix().Data)
	c.compareExact("∇²φ recomputed after other batch sizes", l2, lap)
	checkInputs("evaluation at other batch sizes")

	if mp, ok := p.(flow.MemoPotential); ok {
		c.checkMemo(mp, x, lambda, mu, grad, lap, vx, vp)
		checkInputs("the memo methods")
	}

	if q := p.Params(); len(q) != nparams {
		t.Errorf("flowtest: len(Params()) changed from %d to %d", nparams, len(q))
	}
}

// checkMemo checks that the memo methods of a MemoPotential agree with the
// plain ones (grad, lap at x; vx, vp the adjoints of λ, μ): same values to
// rounding, adding into the destinations and skipping nil ones likewise.
func (c *checker) checkMemo(p flow.MemoPotential, x, lambda *mat.Dense, mu []float64, grad *mat.Dense, lap []float64, vx *mat.Dense, vp []float64) {
	c.t.Helper()
	B, N := x.Dims()
	memo := make([]float64, p.MemoLen(B))
	g := mat.NewDense(B, N, nil)
	l := make([]float64, B)
	p.GradLaplacianMemo(g, l, x, memo)
	c.compareExact("∇φ of GradLaplacianMemo", g.RawMatrix().Data, grad.RawMatrix().Data)
	c.compareExact("∇²φ of GradLaplacianMemo", l, lap)

	dx := mat.NewDense(B, N, nil)
	dp := make([]float64, len(vp))
	p.GradLaplacianVJPMemo(dx, dp, x, lambda, mu, memo)
	c.compareExact("x adjoint of GradLaplacianVJPMemo", dx.RawMatrix().Data, vx.RawMatrix().Data)
	c.compareExact("parameter adjoint of GradLaplacianVJPMemo", dp, vp)
	p.GradLaplacianVJPMemo(dx, nil, x, lambda, mu, memo)
	p.GradLaplacianVJPMemo(nil, dp, x, lambda, mu, memo)
	p.GradLaplacianVJPMemo(nil, nil, x, lambda, mu, memo)
	twice := func(v []float64) []float64 {
		w := make([]float64, len(v))
		for i := range v {
			w[i] = 2 * v[i]
		}
		return w
	}
	c.compareExact("x adjoint of GradLaplacianVJPMemo accumulated twice", dx.RawMatrix().Data, twice(vx.RawMatrix().Data))
	c.compareExact("parameter adjoint of GradLaplacianVJPMemo accumulated twice", dp, twice(vp))
}

// stencil is the five-point first-derivative stencil: f'(y)·h ≈ Σ w f(y + off·h).
var stencil = [4]struct{ off, w float64 }{
	{-2, 1.0 / 12}, {-1, -8.0 / 12}, {1, 8.0 / 12}, {2, -1.0 / 12},
}

// objective returns Σ_b λ_b·g_b + μ_b l_b.
func objective(g *mat.Dense, l []float64, lambda *mat.Dense, mu []float64) float64 {
	var s float64
	r, n := g.Dims()
	for b := range r {
		for i := range n {
			s += lambda.At(b, i) * g.At(b, i)
		}
		s += mu[b] * l[b]
	}
	return s
}

// hessTimes returns the rows H_b λ_b for the B Hessians stored as [b][k][i].
func hessTimes(h []float64, lambda *mat.Dense, B, N int) *mat.Dense {
	out := mat.NewDense(B, N, nil)
	for b := range B {
		for k := range N {
			var s float64
			for i := range N {
				s += h[(b*N+k)*N+i] * lambda.At(b, i)
			}
			out.Set(b, k, s)
		}
	}
	return out
}

// compare reports entries with |got−want| > tol·max(1, max|want|).
func (c *checker) compare(what string, got, want []float64) {
	c.t.Helper()
	c.compareAt(what, got, want, nil)
}

// compareAt is compare with the reported indices taken from idx when it is
// not nil.
func (c *checker) compareAt(what string, got, want []float64, idx []int) {
	c.t.Helper()
	if len(got) != len(want) {
		c.t.Errorf("flowtest: %s: length %d, want %d", what, len(got), len(want))
		return
	}
	scale := 1.0
	for _, v := range want {
		scale = math.Max(scale, math.Abs(v))
	}
	bound := c.tol * scale
	bad := 0
	worst := 0.0
	for i := range got {
		d := math.Abs(got[i] - want[i])
		if d <= bound {
			continue
		}
		if math.IsNaN(d) {
			worst = math.NaN()
		} else if !math.IsNaN(worst) {
			worst = math.Max(worst, d)
		}
		bad++
		if bad <= maxReports {
			j := i
			if idx != nil {
				j = idx[i]
			}
			c.t.Errorf("flowtest: %s: [%s] got %.15g, want %.15g (diff %.3g, bound %.3g)",
				what, c.index(j, len(want), idx != nil), got[i], want[i], d, bound)
		}
	}
	if bad > maxReports {
		c.t.Errorf("flowtest: %s: %d of %d entries out of tolerance, largest difference %.3g", what, bad, len(got), worst)
	}
}

// compareExact reports entries that differ beyond a few ulps of the larger
// magnitude; it checks identities that hold up to rounding.
func (c *checker) compareExact(what string, got, want []float64) {
	c.t.Helper()
	if len(got) != len(want) {
		c.t.Errorf("flowtest: %s: length %d, want %d", what, len(got), len(want))
		return
	}
	scale := 0.0
	for _, v := range want {
		scale = math.Max(scale, math.Abs(v))
	}
	bound := 1e-12 * math.Max(scale, 1)
	bad := 0
	for i := range got {
		if d := math.Abs(got[i] - want[i]); !(d <= bound) {
			bad++
			if bad <= maxReports {
				c.t.Errorf("flowtest: %s: [%d] got %.17g, want %.17g", what, i, got[i], want[i])
			}
		}
	}
	if bad > maxReports {
		c.t.Errorf("flowtest: %s: %d of %d entries differ", what, bad, len(got))
	}
}

// finite reports NaN or infinite entries.
func (c *checker) finite(what string, v []float64) {
	c.t.Helper()
	for i, f := range v {
		if math.IsNaN(f) || math.IsInf(f, 0) {
			c.t.Errorf("flowtest: %s: entry %d is %v", what, i, f)
			return
		}
	}
}

// index formats a flat index as (b, i) for B×N data, or as a parameter
// index.
func (c *checker) index(j, n int, param bool) string {
	if param || n != c.B*c.N {
		return fmt.Sprint(j)
	}
	return fmt.Sprintf("b=%d i=%d", j/c.N, j%c.N)
}

func randDense(rng *rand.Rand, r, c int) *mat.Dense {
	d := make([]float64, r*c)
	for i := range d {
		d[i] = rng.NormFloat64()
	}
	return mat.NewDense(r, c, d)
}

// pick returns all of 0..n-1 when n ≤ limit, else limit distinct indices in
// increasing order.
func pick(rng *rand.Rand, n, limit int) []int {
	if n <= limit {
		idx := make([]int, n)
		for i := range idx {
			idx[i] = i
		}
		return idx
	}
	idx := rng.Perm(n)[:limit]
	// Insertion sort keeps the report readable.
	for i := 1; i < len(idx); i++ {
		for j := i; j > 0 && idx[j] < idx[j-1]; j-- {
			idx[j], idx[j-1] = idx[j-1], idx[j]
		}
	}
	return idx
}

func equalSlices(a, b []float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] && !(math.IsNaN(a[i]) && math.IsNaN(b[i])) {
			return false
		}
	}
	return true
}
