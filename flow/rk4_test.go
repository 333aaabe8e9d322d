package flow_test

import (
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/isingflow/isingflow/flow"
)

// TestRK4OrderQuadratic checks that the global error of RK4 on the exact
// solution x(t) = e^{tS̄}z falls as ε⁴ (least-squares slope 4 ± 0.3 over
// four step sizes), in both directions, and that ℓ = T tr S exactly.
func TestRK4OrderQuadratic(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	q := newRandomQuadratic(rng, 4, true, 0.8)
	const B, T = 5, 2.0
	z := normalDense(rng, B, 4)
	for _, dir := range []float64{1, -1} {
		exact := exactQuadraticFlow(q, z, dir*T)
		var eps, errs []float64
		for _, n := range []int{10, 20, 40, 80} {
			x := mat.DenseCopyOf(z)
			ell := make([]float64, B)
			rk := &flow.RK4{Steps: n}
			st, err := rk.Integrate(q, x, ell, nil, dir*T)
			if err != nil {
				t.Fatal(err)
			}
			if st.Steps != n || st.Evaluations != 4*n || st.Rejected != 0 {
				t.Errorf("Stats = %+v", st)
			}
			for b := range B {
				if want := T * traceQuadratic(q); math.Abs(ell[b]-want) > 1e-12 {
					t.Errorf("ℓ[%d] = %v, want T tr S = %v", b, ell[b], want)
				}
			}
			eps = append(eps, T/float64(n))
			errs = append(errs, maxAbsDiff(x, exact))
		}
		s := logLogSlope(eps, errs)
		t.Logf("direction %+g: errors %.3g, slope %.3f", dir, errs, s)
		if math.Abs(s-4) > 0.3 {
			t.Errorf("direction %+g: slope %.3f, want 4", dir, s)
		}
	}
}

// TestRK4OrderShallow checks the ε⁴ convergence of x and ℓ for a nonlinear
// potential against DOPRI5 at tight tolerance.
func TestRK4OrderShallow(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	p := newTestShallow(rng, 3, 7, flow.Softplus, true, 0.6)
	const B, T = 6, 1.5
	z := normalDense(rng, B, 3)
	ref := mat.DenseCopyOf(z)
	refEll := make([]float64, B)
	refKin := make([]float64, B)
	if _, err := (&flow.Dopri5{RTol: 1e-13, ATol: 1e-13}).Integrate(p, ref, refEll, refKin, T); err != nil {
		t.Fatal(err)
	}
	var eps, ex, el, ek []float64
	for _, n := range []int{10, 20, 40, 80} {
		x := mat.DenseCopyOf(z)
		ell := make([]float64, B)
		kin := make([]float64, B)
		if _, err := (&flow.RK4{Steps: n}).Integrate(p, x, ell, kin, T); err != nil {
			t.Fatal(err)
		}
		eps = append(eps, T/float64(n))
		ex = append(ex, maxAbsDiff(x, ref))
		el = append(el, maxAbsDiffSlice(ell, refEll))
		ek = append(ek, maxAbsDiffSlice(kin, refKin))
	}
	for _, c := range []struct {
		name string
		errs []float64
	}{{"x", ex}, {"ℓ", el}, {"κ", ek}} {
		s := logLogSlope(eps, c.errs)
		t.Logf("%s: errors %.3g, slope %.3f", c.name, c.errs, s)
		if math.Abs(s-4) > 0.3 {
			t.Errorf("%s: slope %.3f, want 4", c.name, s)
		}
	}
}

// TestRK4Kinetic compares the transport cost of the quadratic flow (c = 0)
// with its closed form: ∇φ = S̄x, so ½∫₀ᵀ|S̄e^{tS̄}z|² dt = ¼ zᵀ S̄(e^{2TS̄} − I) z.
func TestRK4Kinetic(t *testing.T) {
	rng := rand.New(rand.NewPCG(15, 16))
	q := newRandomQuadratic(rng, 3, false, 0.7)
	const B, T = 4, 1.0
	z := normalDense(rng, B, 3)
	var m, k mat.Dense
	m.Sub(expSym(q, 2*T), mat.NewDiagDense(3, []float64{1, 1, 1}))
	k.Mul(q.Symmetric(), &m)
	k.Scale(0.25, &k)
	x := mat.DenseCopyOf(z)
	ell := make([]float64, B)
	kin := make([]float64, B)
	for b := range B {
		kin[b] = 1 // Integrate adds
	}
	if _, err := (&flow.RK4{Steps: 400}).Integrate(q, x, ell, kin, T); err != nil {
		t.Fatal(err)
	}
	for b := range B {
		zb := z.RowView(b)
		want := 1 + mat.Inner(zb, &k, zb)
		if math.Abs(kin[b]-want) > 1e-9 {
			t.Errorf("κ[%d] = %.12f, want %.12f", b, kin[b], want)
		}
	}
}

// TestRK4StepIsPolynomial checks one RK4 step on the linear flow against
// its exact form x' = (I + A + A²/2 + A³/6 + A⁴/24) x, A = εS̄, on a strided
// view of a larger matrix.
func TestRK4StepIsPolynomial(t *testing.T) {
	rng := rand.New(rand.NewPCG(17, 18))
	q := newRandomQuadratic(rng, 3, false, 1)
	const eps = 0.3
	var a mat.Dense
	a.Scale(eps, q.Symmetric())
	poly := mat.NewDense(3, 3, nil)
	term := mat.NewDense(3, 3, nil)
	term.Copy(mat.NewDiagDense(3, []float64{1, 1, 1}))
	poly.Copy(term)
	for k := 1; k <= 4; k++ {
		var next mat.Dense
		next.Mul(term, &a)
		next.Scale(1/float64(k), &next)
		term.Copy(&next)
		poly.Add(poly, term)
	}
	big := normalDense(rng, 4, 5)
	view := big.Slice(0, 4, 1, 4).(*mat.Dense)
	z := mat.DenseCopyOf(view)
	ell := make([]float64, 4)
	if _, err := (&flow.RK4{Steps: 1}).Integrate(q, view, ell, nil, eps); err != nil {
		t.Fatal(err)
	}
	var want mat.Dense
	want.Mul(z, poly) // rows: zᵀ Pᵀ = (P z)ᵀ with P symmetric
	if d := maxAbsDiff(view, &want); d > 1e-14 {
		t.Errorf("one step differs from the polynomial by %g", d)
	}
}

func TestRK4Errors(t *testing.T) {
	q := flow.NewQuadratic(mat.NewDense(2, 2, nil), nil)
	x := mat.NewDense(1, 2, nil)
	if _, err := (&flow.RK4{}).Integrate(q, x, []float64{0}, nil, 1); err == nil {
		t.Error("zero steps accepted")
	}
	if _, err := (&flow.RK4{Steps: 2}).Integrate(q, x, []float64{0}, nil, math.NaN()); err == nil {
		t.Error("NaN span accepted")
	}
	defer func() {
		if recover() == nil {
			t.Error("wrong len(ell) did not panic")
		}
	}()
	_, _ = (&flow.RK4{Steps: 2}).Integrate(q, x, []float64{0, 0}, nil, 1)
}

func TestNewIntegrator(t *testing.T) {
	for _, tc := range []struct {
		method string
		opt    flow.IntegratorOptions
		ok     bool
	}{
		{"rk4", flow.IntegratorOptions{Steps: 10}, true},
		{"RK4", flow.IntegratorOptions{Steps: 10, RTol: -1}, true}, // RTol is not an RK4 option
		{"rk4", flow.IntegratorOptions{}, false},
		{"dopri5", flow.IntegratorOptions{RTol: 1e-6}, true},
		{"dopri5", flow.IntegratorOptions{}, true},
		{"Dopri5", flow.IntegratorOptions{RTol: -1}, false},
		{"dopri5", flow.IntegratorOptions{MaxSteps: -1}, false},
		{"dopri5", flow.IntegratorOptions{InitialStep: math.Inf(1)}, false},
		{"euler", flow.IntegratorOptions{Steps: 1}, false},
		{"", flow.IntegratorOptions{Steps: 1}, false},
	} {
		ig, err := flow.NewIntegrator(tc.method, tc.opt)
		if (err == nil) != tc.ok {
			t.Errorf("%q %+v: err = %v", tc.method, tc.opt, err)
			continue
		}
		if err == nil {
			if _, isRK4 := ig.(*flow.RK4); isRK4 != (strings.ToLower(tc.method) == "rk4") {
				t.Errorf("%q: got %T", tc.method, ig)
			}
		}
	}
	// The options reach the integrator.
	opt := flow.IntegratorOptions{Steps: 3, RTol: 1e-5, ATol: 1e-6, MaxSteps: 7, InitialStep: 0.01}
	ig, err := flow.NewIntegrator("dopri5", opt)
	if err != nil {
		t.Fatal(err)
	}
	if d := ig.(*flow.Dopri5); d.RTol != 1e-5 || d.ATol != 1e-6 || d.MaxSteps != 7 || d.InitialStep != 0.01 {
		t.Errorf("dopri5 from %+v: %+v", opt, d)
	}
	if ig, err = flow.NewIntegrator("rk4", opt); err != nil || ig.(*flow.RK4).Steps != 3 {
		t.Errorf("rk4 from %+v: %+v, %v", opt, ig, err)
	}
	if got := flow.IntegratorMethods(); !slices.Equal(got, []string{"rk4", "dopri5"}) {
		t.Errorf("IntegratorMethods() = %q", got)
	}
}
