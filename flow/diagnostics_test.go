package flow_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/isingflow/isingflow/flow"
)

// TestRoundTripError checks that integrating forward and back returns to
// the start, with an error that falls as ε⁵ (RK4 has even order, so one
// step forward followed by one step back is the identity up to O(ε⁶); see
// TestSamplingConsistency), in both directions.
func TestRoundTripError(t *testing.T) {
	rng := rand.New(rand.NewPCG(41, 42))
	p := newTestShallow(rng, 4, 8, flow.Softplus, true, 0.6)
	const B, T = 8, 1.0
	start := normalDense(rng, B, 4)
	for _, dir := range []flow.Direction{flow.Sampling, flow.Density} {
		var eps, ex, el []float64
		for _, n := range []int{10, 20, 40, 80} {
			f := mustFlow(t, p, n, T/float64(n))
			d := f.RoundTripError(start, dir)
			if d.RMS > d.MaxAbs || d.RMSLogDensity > d.MaxLogDensity || d.MaxAbs == 0 {
				t.Errorf("inconsistent %+v", d)
			}
			t.Logf("%v ε = %.4f: %+v", dir, T/float64(n), d)
			eps = append(eps, T/float64(n))
			ex = append(ex, d.MaxAbs)
			el = append(el, d.MaxLogDensity)
		}
		if ex[len(ex)-1] > 1e-8 || el[len(el)-1] > 1e-8 {
			t.Errorf("%v: round trip at the smallest ε: %g, %g", dir, ex[len(ex)-1], el[len(el)-1])
		}
		for _, c := range []struct {
			name string
			errs []float64
		}{{"x", ex}, {"ln p", el}} {
			if s := logLogSlope(eps, c.errs); math.Abs(s-5) > 0.4 {
				t.Errorf("%v %s: round-trip slope %.2f, want 5", dir, c.name, s)
			}
		}
	}
}

// quadraticLogDetGap is the closed form of LogDetGap for a quadratic
// potential: one RK4 step is x' = P(εS̄)x with P(a) = 1 + a + a²/2 + a³/6 +
// a⁴/24, so ln|det ∂Ψ/∂z| = Steps Σ_k ln|P(ελ_k)| over the eigenvalues λ_k
// of S̄, while ℓ = T tr S.
func quadraticLogDetGap(q *flow.Quadratic, steps int, eps float64, dir flow.Direction) float64 {
	var es mat.EigenSym
	if !es.Factorize(q.Symmetric(), false) {
		panic("eigendecomposition failed")
	}
	if dir == flow.Density {
		eps = -eps
	}
	var logDet float64
	for _, l := range es.Values(nil) {
		a := eps * l
		logDet += float64(steps) * math.Log(math.Abs(1+a+a*a/2+a*a*a/6+a*a*a*a/24))
	}
	ell := float64(steps) * math.Abs(eps) * traceQuadratic(q)
	if dir == flow.Sampling {
		return logDet - ell
	}
	return -ell - logDet
}

func TestLogDetGapQuadratic(t *testing.T) {
	rng := rand.New(rand.NewPCG(43, 44))
	for _, tc := range []struct {
		n, B, steps int
		dirs        []flow.Direction
		short       bool
	}{
		{3, 4, 3, []flow.Direction{flow.Sampling, flow.Density}, true},
		// N = 150: the samples are processed in two blocks (46 + 4).
		{150, 50, 1, []flow.Direction{flow.Sampling}, false},
	} {
		if testing.Short() && !tc.short {
			continue
		}
		q := newRandomQuadratic(rng, tc.n, true, 1)
		for _, dir := range tc.dirs {
			f := mustFlow(t, q, tc.steps, 0.4)
			start := normalDense(rng, tc.B, tc.n)
			gap := make([]float64, tc.B)
			f.LogDetGap(gap, start, dir)
			want := quadraticLogDetGap(q, f.Steps, f.StepSize, dir)
			t.Logf("N=%d %v: gap %.6g, closed form %.6g", tc.n, dir, gap[0], want)
			for b, g := range gap {
				if math.Abs(g-want) > 1e-10*(1+float64(tc.n)) {
					t.Errorf("N=%d %v: gap[%d] = %.12g, want %.12g", tc.n, dir, b, g, want)
				}
			}
		}
	}
}

// TestLogDetGapFiniteDifferences checks the exact Jacobian of LogDetGap
// against a finite-difference Jacobian of the discrete map (the test
// oracle) for a nonlinear potential.
func TestLogDetGapFiniteDifferences(t *testing.T) {
	rng := rand.New(rand.NewPCG(45, 46))
	const n, B = 4, 3
	p := newTestShallow(rng, n, 6, flow.LogCosh, false, 0.7)
	f := mustFlow(t, p, 5, 0.2)
	for _, dir := range []flow.Direction{flow.Sampling, flow.Density} {
		start := normalDense(rng, B, n)
		gap := make([]float64, B)
		f.LogDetGap(gap, start, dir)
		for b := range B {
			z := mat.NewDense(1, n, append([]float64(nil), start.RawRowView(b)...))
			out := mat.NewDense(1, n, nil)
			logp := make([]float64, 1)
			apply := func() {
				if dir == flow.Sampling {
					noErr(t, f.Forward(out, logp, z))
				} else {
					noErr(t, f.Backward(out, logp, z))
				}
			}
			apply()
			// ℓ from the log-density of the flow.
			var ell float64
			if dir == flow.Sampling {
				ell = flow.BaseLogDensity(z.RawRowView(0)) - logp[0]
			} else {
				ell = flow.BaseLogDensity(out.RawRowView(0)) - logp[0]
			}
			jac := mat.NewDense(n, n, nil)
			zd := z.RawRowView(0)
			for k := range n {
				for i := range n {
					jac.Set(i, k, fivePoint(zd, k, 1e-3, func() float64 { apply(); return out.At(0, i) }))
				}
			}
			var lu mat.LU
			lu.Factorize(jac)
			logDet, _ := lu.LogDet()
			want := logDet - ell
			if dir == flow.Density {
				want = -ell - logDet
			}
			if math.Abs(gap[b]-want) > 1e-9 {
				t.Errorf("%v sample %d: gap %.12g, finite-difference Jacobian %.12g", dir, b, gap[b], want)
			}
		}
		t.Logf("%v: gaps %.3g", dir, gap)
	}
}

// TestLogDetGapOrder checks that the gap between the integrated Laplacian
// and the log-determinant of the discrete map falls as ε⁴.
func TestLogDetGapOrder(t *testing.T) {
	rng := rand.New(rand.NewPCG(47, 48))
	const n, B, T = 4, 4, 1.0
	p := newTestShallow(rng, n, 8, flow.Softplus, true, 0.7)
	z := normalDense(rng, B, n)
	for _, dir := range []flow.Direction{flow.Sampling, flow.Density} {
		var eps, errs []float64
		for _, steps := range []int{10, 20, 40, 80} {
			f := mustFlow(t, p, steps, T/float64(steps))
			gap := make([]float64, B)
			f.LogDetGap(gap, z, dir)
			eps = append(eps, T/float64(steps))
			errs = append(errs, maxAbs(gap))
		}
		s := logLogSlope(eps, errs)
		t.Logf("%v: max |gap| %.3g, slope %.2f", dir, errs, s)
		if math.Abs(s-4) > 0.3 {
			t.Errorf("%v: slope %.2f, want 4", dir, s)
		}
	}
}

// TestDiscretisationError compares the fixed-step flow with DOPRI5 at tight
// tolerance: the error must fall as ε⁴.
func TestDiscretisationError(t *testing.T) {
	rng := rand.New(rand.NewPCG(49, 50))
	p := newTestShallow(rng, 3, 6, flow.LogCosh, false, 0.7)
	const B, T = 5, 1.0
	start := normalDense(rng, B, 3)
	for _, dir := range []flow.Direction{flow.Sampling, flow.Density} {
		var eps, ex, el []float64
		for _, steps := range []int{10, 20, 40, 80} {
			f := mustFlow(t, p, steps, T/float64(steps))
			d, st, err := f.DiscretisationError(start, dir, &flow.Dopri5{RTol: 1e-13, ATol: 1e-13})
			if err != nil {
				t.Fatal(err)
			}
			if st.Steps == 0 {
				t.Error("no reference steps")
			}
			eps = append(eps, T/float64(steps))
			ex = append(ex, d.MaxAbs)
			el = append(el, d.MaxLogDensity)
		}
		for _, c := range []struct {
			name string
			errs []float64
		}{{"x", ex}, {"ln p", el}} {
			s := logLogSlope(eps, c.errs)
			t.Logf("%v %s: errors %.3g, slope %.2f", dir, c.name, c.errs, s)
			if math.Abs(s-4) > 0.3 {
				t.Errorf("%v %s: slope %.2f, want 4", dir, c.name, s)
			}
		}
	}
	f := mustFlow(t, p, 10, 0.1)
	if _, _, err := f.DiscretisationError(start, flow.Sampling, &flow.Dopri5{MaxSteps: 1, RTol: 1e-12}); err == nil {
		t.Error("failing reference not reported")
	}
}

func ExampleFlow_RoundTripError() {
	rng := rand.New(rand.NewPCG(1, 2))
	p := flow.NewShallow(4, 8, flow.LogCosh, false, rng)
	z := mat.NewDense(16, 4, nil)
	for i := range 16 {
		for k := range 4 {
			z.Set(i, k, rng.NormFloat64())
		}
	}
	for _, steps := range []int{5, 10, 20} {
		f, _ := flow.New(p, steps, 1/float64(steps))
		d := f.RoundTripError(z, flow.Sampling)
		fmt.Printf("ε = %.2f: round trip below 1e-9: %t\n", f.StepSize, d.MaxAbs < 1e-9)
	}
	// Output:
	// ε = 0.20: round trip below 1e-9: true
	// ε = 0.10: round trip below 1e-9: true
	// ε = 0.05: round trip below 1e-9: true
}

// TestLogDensityError checks the Richardson estimate of the error of ln p
// against the exact gap of the discrete map (LogDetGap): their means over
// samples agree, to within their errors, for a quadratic potential (whose
// integrated Laplacian is exact while the RK4 map's determinant is not)
// and for a shallow one, at a coarse step and a fine one.
func TestLogDensityError(t *testing.T) {
	rng := rand.New(rand.NewPCG(51, 52))
	const n, B = 4, 2000
	S := mat.NewDense(n, n, nil)
	for i := range n {
		for j := range n {
			S.Set(i, j, 0.4*rng.NormFloat64())
		}
	}
	for _, c := range []struct {
		name string
		p    flow.Potential
	}{
		{"quadratic", flow.NewQuadratic(S, nil)},
		{"shallow", newTestShallow(rng, n, 8, flow.LogCosh, true, 0.8)},
	} {
		z := normalDense(rng, B, n)
		for _, steps := range []int{8, 16} {
			f := mustFlow(t, c.p, steps, 2/float64(steps))
			est, gap := make([]float64, B), make([]float64, B)
			if err := f.LogDensityError(est, z); err != nil {
				t.Fatal(err)
			}
			f.LogDetGap(gap, z, flow.Sampling)
			me, se := meanErr(est)
			mg, sg := meanErr(gap)
			t.Logf("%s, ε = %.3f: estimate %.4g ± %.2g, LogDetGap %.4g ± %.2g", c.name, f.StepSize, me, se, mg, sg)
			if d := math.Abs(me - mg); d > 4*math.Hypot(se, sg)+0.05*math.Abs(mg) {
				t.Errorf("%s, ε = %.3f: estimate %.4g ± %.2g, LogDetGap %.4g ± %.2g", c.name, f.StepSize, me, se, mg, sg)
			}
		}
	}
}

// meanErr returns the mean of v and its standard error.
func meanErr(v []float64) (float64, float64) {
	var m, s float64
	for _, x := range v {
		m += x
	}
	m /= float64(len(v))
	for _, x := range v {
		s += (x - m) * (x - m)
	}
	return m, math.Sqrt(s / float64(len(v)-1) / float64(len(v)))
}
