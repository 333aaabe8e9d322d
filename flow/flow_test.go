package flow_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/isingflow/isingflow/flow"
)

// Helpers shared by the tests of Flow, the integrators, Gradient and the
// diagnostics.

// newRandomQuadratic returns a Quadratic with S_ij = scale·N(0,1)/√n (not
// symmetric) and, when linear, c_i = scale·N(0, 1).
func newRandomQuadratic(rng *rand.Rand, n int, linear bool, scale float64) *flow.Quadratic {
	s := mat.NewDense(n, n, nil)
	for i := range n {
		for j := range n {
			s.Set(i, j, scale*rng.NormFloat64()/math.Sqrt(float64(n)))
		}
	}
	var c []float64
	if linear {
		c = make([]float64, n)
		for i := range c {
			c[i] = scale * rng.NormFloat64()
		}
	}
	return flow.NewQuadratic(s, c)
}

// newTestShallow returns a Shallow potential whose parameters are redrawn
// as scale·N(0, 1), far enough from the identity flow that the
// discretisation errors are well above rounding.
func newTestShallow(rng *rand.Rand, n, h int, act flow.Activation, bias bool, scale float64) *flow.Shallow {
	p := flow.NewShallow(n, h, act, bias, rng)
	for i, theta := 0, p.Params(); i < len(theta); i++ {
		theta[i] = scale * rng.NormFloat64()
	}
	return p
}

// normalDense returns a B×n matrix of independent standard normals.
func normalDense(rng *rand.Rand, B, n int) *mat.Dense {
	m := mat.NewDense(B, n, nil)
	for i := range B {
		for k := range n {
			m.Set(i, k, rng.NormFloat64())
		}
	}
	return m
}

// mustFlow returns flow.New's flow, failing the test on error.
func mustFlow(t testing.TB, p flow.Potential, steps int, eps float64) *flow.Flow {
	t.Helper()
	f, err := flow.New(p, steps, eps)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// expSym returns e^{t S̄} for the symmetric part S̄ of q's matrix.
func expSym(q *flow.Quadratic, t float64) *mat.Dense {
	var a, e mat.Dense
	a.Scale(t, q.Symmetric())
	e.Exp(&a)
	return &e
}

// exactQuadraticFlow returns the exact end state of the flow of q from the
// rows of start over the signed time t: with S̄ invertible,
// x(t) = e^{tS̄}(x₀ + S̄⁻¹c) − S̄⁻¹c.
func exactQuadraticFlow(q *flow.Quadratic, start *mat.Dense, t float64) *mat.Dense {
	B, n := start.Dims()
	shift := mat.NewVecDense(n, nil)
	if c := q.Linear(); c != nil {
		if err := shift.SolveVec(q.Symmetric(), mat.NewVecDense(n, append([]float64(nil), c...))); err != nil {
			panic(err)
		}
	}
	e := expSym(q, t)
	y := mat.NewDense(B, n, nil)
	for b := range B {
		var v, r mat.VecDense
		v.AddVec(start.RowView(b), shift)
		r.MulVec(e, &v)
		r.SubVec(&r, shift)
		y.SetRow(b, r.RawVector().Data)
	}
	return y
}

func traceQuadratic(q *flow.Quadratic) float64 {
	return mat.Trace(q.Symmetric())
}

func maxAbsDiff(a, b *mat.Dense) float64 {
	var d mat.Dense
	d.Sub(a, b)
	return maxAbs(d.RawMatrix().Data)
}

// maxAbs returns max |v_i|, or +Inf if any v_i is NaN, so that a check
// written d > tol fails on NaN as it does on a large error.
func maxAbs(v []float64) float64 {
	var m float64
	for _, x := range v {
		if math.IsNaN(x) {
			return math.Inf(1)
		}
		m = math.Max(m, math.Abs(x))
	}
	return m
}

// maxAbsDiffSlice returns max |a_i − b_i|, +Inf if any difference is NaN.
func maxAbsDiffSlice(a, b []float64) float64 {
	var m float64
	for i := range a {
		d := math.Abs(a[i] - b[i])
		if math.IsNaN(d) {
			return math.Inf(1)
		}
		m = math.Max(m, d)
	}
	return m
}

// logLogSlope returns the least-squares slope of ln err against ln eps.
func logLogSlope(eps, err []float64) float64 {
	var sx, sy, sxx, sxy float64
	n := float64(len(eps))
	for i := range eps {
		x, y := math.Log(eps[i]), math.Log(err[i])
		sx += x
		sy += y
		sxx += x * x
		sxy += x * y
	}
	s := (n*sxy - sx*sy) / (n*sxx - sx*sx)
	if math.IsNaN(s) {
		return math.Inf(1) // an order check |s − p| > tol fails on it
	}
	return s
}

func TestNewValidate(t *testing.T) {
	q := flow.NewQuadratic(mat.NewDense(2, 2, nil), nil)
	for _, tc := range []struct {
		name  string
		p     flow.Potential
		steps int
		eps   float64
		ok    bool
	}{
		{"ok", q, 10, 0.1, true},
		{"nil potential", nil, 10, 0.1, false},
		{"zero steps", q, 0, 0.1, false},
		{"negative step", q, 10, -0.1, false},
		{"zero step", q, 10, 0, false},
		{"NaN step", q, 10, math.NaN(), false},
		{"Inf step", q, 10, math.Inf(1), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := flow.New(tc.p, tc.steps, tc.eps)
			if (err == nil) != tc.ok {
				t.Fatalf("New: err = %v, want ok = %t", err, tc.ok)
			}
			if tc.ok && f.Duration() != float64(tc.steps)*tc.eps {
				t.Errorf("Duration = %v", f.Duration())
			}
		})
	}
	f := mustFlow(t, q, 2, 0.5)
	f.KineticWeight = math.NaN()
	if f.Validate() == nil {
		t.Error("NaN kinetic weight accepted")
	}
	x := mat.NewDense(1, 2, nil)
	if err := f.Forward(x, nil, mat.NewDense(1, 2, nil)); err == nil {
		t.Error("Forward on an invalid flow returned no error")
	}
	if err := f.Sample(x, nil, rand.New(rand.NewPCG(1, 1))); err == nil {
		t.Error("Sample on an invalid flow returned no error")
	}
	if st := f.LastStats(); st != (flow.Stats{}) {
		t.Errorf("LastStats after an invalid flow = %+v, want zero", st)
	}
}

func TestBaseLogDensity(t *testing.T) {
	z := []float64{0.3, -1.2, 2}
	want := 0.0
	for _, v := range z {
		want += -0.5*v*v - 0.5*math.Log(2*math.Pi)
	}
	if got := flow.BaseLogDensity(z); math.Abs(got-want) > 1e-14 {
		t.Errorf("BaseLogDensity = %v, want %v", got, want)
	}
}

// TestForwardQuadraticExact compares the fixed-step flow of a quadratic
// potential with its closed form x_T = e^{TS̄}(z + S̄⁻¹c) − S̄⁻¹c and
// ln p(x_T) = ln p₀(z) − T tr S, in both directions.
func TestForwardQuadraticExact(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, linear := range []bool{false, true} {
		q := newRandomQuadratic(rng, 3, linear, 0.5)
		f := mustFlow(t, q, 200, 0.005)
		T := f.Duration()
		z := normalDense(rng, 6, 3)
		x := mat.NewDense(6, 3, nil)
		logp := make([]float64, 6)
		noErr(t, f.Forward(x, logp, z))
		if d := maxAbsDiff(x, exactQuadraticFlow(q, z, T)); d > 1e-9 {
			t.Errorf("linear=%t: |x_T − exact| = %g", linear, d)
		}
		for b := range 6 {
			want := flow.BaseLogDensity(z.RawRowView(b)) - T*traceQuadratic(q)
			if math.Abs(logp[b]-want) > 1e-12 {
				t.Errorf("linear=%t: ln p[%d] = %v, want %v", linear, b, logp[b], want)
			}
		}
		// Backward from x reaches z and the same log-density.
		zb := mat.NewDense(6, 3, nil)
		logpb := make([]float64, 6)
		noErr(t, f.Backward(zb, logpb, x))
		if d := maxAbsDiff(zb, exactQuadraticFlow(q, x, -T)); d > 1e-9 {
			t.Errorf("linear=%t: |z − exact| = %g", linear, d)
		}
		if d := maxAbsDiffSlice(logp, logpb); d > 1e-8 {
			t.Errorf("linear=%t: |ln p forward − backward| = %g", linear, d)
		}
	}
}

// TestFlowAliasingAndIntegrators checks that the destination may alias the
// source, that LogDensity agrees with Backward, that the methods with an
// Integrator set to an RK4 of the same steps reproduce the fixed-step flow
// (to rounding: its step is T/Steps) and go back to it exactly when it is
// reset to nil, that LastStats counts the work, and that rows do not
// influence each other.
func TestFlowAliasingAndIntegrators(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	p := newTestShallow(rng, 4, 6, flow.Softplus, true, 0.5)
	f := mustFlow(t, p, 7, 0.15)
	const B = 5
	z := normalDense(rng, B, 4)

	x := mat.NewDense(B, 4, nil)
	logp := make([]float64, B)
	noErr(t, f.Forward(x, logp, z))
	if st := f.LastStats(); st != (flow.Stats{Steps: 7, Evaluations: 28}) {
		t.Errorf("LastStats of the fixed-step Forward = %+v", st)
	}

	inPlace := mat.DenseCopyOf(z)
	logp2 := make([]float64, B)
	noErr(t, f.Forward(inPlace, logp2, inPlace))
	if !mat.Equal(x, inPlace) || maxAbsDiffSlice(logp, logp2) != 0 {
		t.Error("in-place Forward differs")
	}

	rk4, err := flow.NewIntegrator("RK4", flow.IntegratorOptions{Steps: f.Steps})
	if err != nil {
		t.Fatal(err)
	}
	f.Integrator = rk4
	x3 := mat.NewDense(B, 4, nil)
	logp3 := make([]float64, B)
	noErr(t, f.Forward(x3, logp3, z))
	if st := f.LastStats(); st != (flow.Stats{Steps: 7, Evaluations: 28}) {
		t.Fatalf("LastStats of Forward with RK4: %+v", st)
	}
	if d := maxAbsDiff(x, x3); d > 1e-13 {
		t.Errorf("Forward(RK4) − Forward = %g", d)
	}
	if d := maxAbsDiffSlice(logp, logp3); d > 1e-12 {
		t.Errorf("Forward(RK4) ln p − Forward = %g", d)
	}
	f.Integrator = nil
	noErr(t, f.Forward(x3, logp3, z))
	if !mat.Equal(x, x3) || maxAbsDiffSlice(logp, logp3) != 0 {
		t.Error("Forward with the Integrator reset to nil differs from the fixed-step Forward")
	}

	zb := mat.NewDense(B, 4, nil)
	lb := make([]float64, B)
	noErr(t, f.Backward(zb, lb, x))
	ld := make([]float64, B)
	noErr(t, f.LogDensity(ld, x))
	if maxAbsDiffSlice(lb, ld) != 0 {
		t.Error("LogDensity differs from Backward")
	}
	ld2 := make([]float64, B)
	f.Integrator = rk4
	noErr(t, f.LogDensity(ld2, x))
	f.Integrator = nil
	if d := maxAbsDiffSlice(ld, ld2); d > 1e-12 {
		t.Errorf("LogDensity(RK4) − LogDensity = %g", d)
	}

	// Row independence: each sample alone gives the batch's result.
	for b := range B {
		xb := mat.NewDense(1, 4, nil)
		lpb := make([]float64, 1)
		noErr(t, f.Forward(xb, lpb, mat.NewDense(1, 4, z.RawRowView(b))))
		if d := maxAbsDiffSlice(xb.RawRowView(0), x.RawRowView(b)); d > 1e-13 {
			t.Errorf("row %d alone differs by %g", b, d)
		}
		if math.Abs(lpb[0]-logp[b]) > 1e-12 {
			t.Errorf("row %d ln p alone differs by %g", b, lpb[0]-logp[b])
		}
	}

	// Sample draws z row by row from rng.
	xs := mat.NewDense(B, 4, nil)
	ls := make([]float64, B)
	noErr(t, f.Sample(xs, ls, rand.New(rand.NewPCG(9, 9))))
	zs := normalDense(rand.New(rand.NewPCG(9, 9)), B, 4)
	noErr(t, f.Forward(x, logp, zs))
	if !mat.Equal(xs, x) || maxAbsDiffSlice(ls, logp) != 0 {
		t.Error("Sample differs from Forward of the same normals")
	}
	xs2 := mat.NewDense(B, 4, nil)
	f.Integrator = rk4
	noErr(t, f.Sample(xs2, nil, rand.New(rand.NewPCG(9, 9))))
	f.Integrator = nil
	if d := maxAbsDiff(xs, xs2); d > 1e-13 {
		t.Errorf("Sample(RK4) − Sample = %g", d)
	}
}

// TestSamplingConsistency measures, for a small nonlinear flow, how far ln p
// of samples from Sample is from LogDensity of the same points (the
// round trip of the fixed-step scheme), and from the log-density by DOPRI5
// at tight tolerance (the discretisation error), as functions of ε. Both
// must be small. The discretisation error falls as ε⁴. The round trip falls
// as ε⁵: RK4 has even order, so its adjoint method has the same leading
// local error, and one step forward followed by one step back is the
// identity up to O(ε⁶) per step.
func TestSamplingConsistency(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	p := newTestShallow(rng, 4, 8, flow.LogCosh, false, 0.5)
	const B, T = 16, 1.0
	z := normalDense(rng, B, 4)
	steps := []int{10, 20, 40, 80}
	var eps, roundTrip, discret []float64
	for _, n := range steps {
		f := mustFlow(t, p, n, T/float64(n))
		x := mat.NewDense(B, 4, nil)
		logp := make([]float64, B)
		noErr(t, f.Forward(x, logp, z))
		ld := make([]float64, B)
		noErr(t, f.LogDensity(ld, x))
		ref := make([]float64, B)
		f.Integrator = &flow.Dopri5{RTol: 1e-12, ATol: 1e-12}
		noErr(t, f.LogDensity(ref, x))
		st := f.LastStats()
		eps = append(eps, T/float64(n))
		roundTrip = append(roundTrip, maxAbsDiffSlice(logp, ld))
		discret = append(discret, maxAbsDiffSlice(logp, ref))
		t.Logf("ε = %.4f: max|ln p(Sample) − LogDensity| = %.3g, max|ln p(Sample) − DOPRI5| = %.3g (%d steps)",
			T/float64(n), roundTrip[len(roundTrip)-1], discret[len(discret)-1], st.Steps)
	}
	if roundTrip[len(roundTrip)-1] > 1e-7 || discret[len(discret)-1] > 1e-7 {
		t.Errorf("errors at the smallest ε too large: %g %g", roundTrip[len(roundTrip)-1], discret[len(discret)-1])
	}
	for _, c := range []struct {
		name  string
		err   []float64
		order float64
	}{{"round trip", roundTrip, 5}, {"vs DOPRI5", discret, 4}} {
		if s := logLogSlope(eps, c.err); math.Abs(s-c.order) > 0.3 {
			t.Errorf("%s: ln p error slope %.2f, want %v", c.name, s, c.order)
		} else {
			t.Logf("%s: ln p error slope %.2f", c.name, s)
		}
	}
}

// TestFlowIntegratorFailure checks that a failing Integrator (a Dopri5 out
// of its step budget) makes Forward, Backward, Sample and LogDensity return
// its error, with LastStats counting the work up to the failure, and that
// the flow integrates again once the Integrator is reset to nil.
func TestFlowIntegratorFailure(t *testing.T) {
	rng := rand.New(rand.NewPCG(15, 16))
	p := newTestShallow(rng, 3, 5, flow.LogCosh, false, 0.5)
	f := mustFlow(t, p, 10, 0.1)
	f.Integrator = &flow.Dopri5{RTol: 1e-12, ATol: 1e-12, MaxSteps: 2}
	const B = 4
	x := normalDense(rng, B, 3)
	y := mat.NewDense(B, 3, nil)
	logp := make([]float64, B)
	for _, c := range []struct {
		name string
		call func() error
	}{
		{"Forward", func() error { return f.Forward(y, logp, x) }},
		{"Backward", func() error { return f.Backward(y, logp, x) }},
		{"Sample", func() error { return f.Sample(y, logp, rng) }},
		{"LogDensity", func() error { return f.LogDensity(logp, x) }},
	} {
		if err := c.call(); err == nil {
			t.Errorf("%s: no error from a Dopri5 with 2 steps", c.name)
		} else if st := f.LastStats(); st.Steps+st.Rejected != 2 || st.Evaluations < 13 {
			t.Errorf("%s: %v, LastStats %+v", c.name, err, st)
		}
	}
	f.Integrator = nil
	noErr(t, f.Forward(y, logp, x))
	if st := f.LastStats(); st != (flow.Stats{Steps: 10, Evaluations: 40}) {
		t.Errorf("LastStats of the fixed-step Forward = %+v", st)
	}
}

// TestImportanceWeightsGaussian samples the fixed-step flow of a quadratic
// potential, whose exact pushforward is N(0, Σ) with Σ = e^{2TS̄}, and
// reweights to the normalised Gaussian target q = N(m, 0.8Σ) (a different
// Gaussian, so that the weights fluctuate; their variance is finite since
// 2/0.8 > 1). The importance weights q/p must have mean 1 within four
// standard errors: a bias from the integrator (O(ε⁴) here) would show.
func TestImportanceWeightsGaussian(t *testing.T) {
	if testing.Short() {
		t.Skip("statistical test")
	}
	rng := rand.New(rand.NewPCG(7, 8))
	const n, B, batches, shrink = 3, 1000, 20, 0.8
	q := newRandomQuadratic(rng, n, false, 0.4)
	f := mustFlow(t, q, 10, 0.1)
	T := f.Duration()
	// ln q(x) = −½ (x−m)ᵀ e^{−2TS̄} (x−m)/0.8 − ½(N ln 0.8 + 2T tr S) − (N/2) ln 2π.
	prec := expSym(q, -2*T)
	prec.Scale(1/shrink, prec)
	m := mat.NewVecDense(n, []float64{0.1, -0.1, 0.2})
	logNorm := -0.5*(n*math.Log(shrink)+2*T*traceQuadratic(q)) - 0.5*n*math.Log(2*math.Pi)
	x := mat.NewDense(B, n, nil)
	logp := make([]float64, B)
	w := make([]float64, 0, B*batches)
	for range batches {
		noErr(t, f.Sample(x, logp, rng))
		for b := range B {
			var d mat.VecDense
			d.SubVec(x.RowView(b), m)
			lq := -0.5*mat.Inner(&d, prec, &d) + logNorm
			w = append(w, math.Exp(lq-logp[b]))
		}
	}
	M := float64(len(w))
	var mean, v float64
	for _, wi := range w {
		mean += wi
	}
	mean /= M
	for _, wi := range w {
		v += (wi - mean) * (wi - mean)
	}
	se := math.Sqrt(v / (M - 1) / M)
	t.Logf("mean importance weight %.5f ± %.5f (%d samples)", mean, se, len(w))
	if !(math.Abs(mean-1) < 4*se) {
		t.Errorf("mean weight %v ± %v, want 1", mean, se)
	}
}

func TestDirectionString(t *testing.T) {
	for d, want := range map[flow.Direction]string{flow.Sampling: "sampling", flow.Density: "density", 7: "Direction(7)"} {
		if got := fmt.Sprint(d); got != want {
			t.Errorf("%d: %q, want %q", int(d), got, want)
		}
	}
}

// TestFlowNoAllocs checks that the fixed-step flow allocates nothing in
// steady state.
func TestFlowNoAllocs(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	p := flow.NewShallow(4, 8, flow.LogCosh, false, rng)
	f := mustFlow(t, p, 5, 0.1)
	z := normalDense(rng, 8, 4)
	x := mat.NewDense(8, 4, nil)
	logp := make([]float64, 8)
	noErr(t, f.Forward(x, logp, z))
	noErr(t, f.LogDensity(logp, x))
	if a := testing.AllocsPerRun(10, func() { _ = f.Forward(x, logp, z) }); a != 0 {
		t.Errorf("Forward: %v allocations", a)
	}
	if a := testing.AllocsPerRun(10, func() { _ = f.LogDensity(logp, x) }); a != 0 {
		t.Errorf("LogDensity: %v allocations", a)
	}
}

// noErr fails the test at once if err is not nil: the fixed-step flow with
// valid settings never fails.
func noErr(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
