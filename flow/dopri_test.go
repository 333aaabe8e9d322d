package flow_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/isingflow/isingflow/flow"
)

// TestDopri5Tolerance integrates the quadratic flow, whose solution is known,
// at tolerances from 1e-4 to 1e-11 in both directions. The global error is
// not bounded by the local tolerance, but for this smooth problem it must
// stay below 10·tol·(1 + |x|) over the span T = 2, and the work must grow
// as the tolerance tightens.
func TestDopri5Tolerance(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	q := newRandomQuadratic(rng, 4, true, 0.8)
	const B, T = 5, 2.0
	z := normalDense(rng, B, 4)
	for _, dir := range []float64{1, -1} {
		exact := exactQuadraticFlow(q, z, dir*T)
		scale := 1 + maxAbs(exact.RawMatrix().Data)
		prevSteps := 0
		for _, tol := range []float64{1e-4, 1e-6, 1e-8, 1e-10, 1e-11} {
			x := mat.DenseCopyOf(z)
			ell := make([]float64, B)
			d := &flow.Dopri5{RTol: tol, ATol: tol}
			st, err := d.Integrate(q, x, ell, nil, dir*T)
			if err != nil {
				t.Fatal(err)
			}
			e := maxAbsDiff(x, exact)
			el := math.Abs(ell[0] - T*traceQuadratic(q))
			t.Logf("dir %+g tol %.0e: |x − exact| = %.3g, |ℓ − T tr S| = %.3g, %+v", dir, tol, e, el, st)
			if e > 10*tol*scale {
				t.Errorf("dir %+g tol %g: error %g exceeds 10·tol·(1+|x|) = %g", dir, tol, e, 10*tol*scale)
			}
			if el > 1e-12*T*(1+math.Abs(traceQuadratic(q))) {
				t.Errorf("dir %+g tol %g: ℓ error %g", dir, tol, el)
			}
			if st.Steps < prevSteps {
				t.Errorf("tol %g: %d steps, fewer than at a looser tolerance (%d)", tol, st.Steps, prevSteps)
			}
			if st.Evaluations != 6*(st.Steps+st.Rejected)+2 {
				t.Errorf("Evaluations = %d, want 6·(steps+rejected)+2", st.Evaluations)
			}
			prevSteps = st.Steps
		}
	}
}

// TestDopri5Order checks that the error of Dopri5 on a nonlinear flow falls
// with the tolerance roughly in proportion (slope of ln error against ln
// tolerance near one) against an RK4 reference with tiny steps.
func TestDopri5Order(t *testing.T) {
	rng := rand.New(rand.NewPCG(23, 24))
	p := newTestShallow(rng, 3, 6, flow.LogCosh, false, 0.6)
	const B, T = 4, 1.0
	z := normalDense(rng, B, 3)
	ref := mat.DenseCopyOf(z)
	refEll := make([]float64, B)
	refKin := make([]float64, B)
	if _, err := (&flow.RK4{Steps: 2000}).Integrate(p, ref, refEll, refKin, T); err != nil {
		t.Fatal(err)
	}
	var tols, errs []float64
	for _, tol := range []float64{1e-5, 1e-6, 1e-7, 1e-8, 1e-9} {
		x := mat.DenseCopyOf(z)
		ell := make([]float64, B)
		kin := make([]float64, B)
		st, err := (&flow.Dopri5{RTol: tol, ATol: tol}).Integrate(p, x, ell, kin, T)
		if err != nil {
			t.Fatal(err)
		}
		e := math.Max(maxAbsDiff(x, ref), maxAbsDiffSlice(ell, refEll))
		ek := maxAbsDiffSlice(kin, refKin)
		t.Logf("tol %.0e: error %.3g, transport cost error %.3g, %+v", tol, e, ek, st)
		if e > 10*tol*(1+maxAbs(ref.RawMatrix().Data)) {
			t.Errorf("tol %g: error %g", tol, e)
		}
		if ek > 100*tol {
			t.Errorf("tol %g: transport cost error %g", tol, ek)
		}
		tols = append(tols, tol)
		errs = append(errs, e)
	}
	if s := logLogSlope(tols, errs); s < 0.7 || s > 1.3 {
		t.Errorf("slope of error against tolerance %.2f, want about 1", s)
	}
}

func TestDopri5Errors(t *testing.T) {
	rng := rand.New(rand.NewPCG(25, 26))
	q := newRandomQuadratic(rng, 2, false, 1)
	x := normalDense(rng, 2, 2)
	ell := make([]float64, 2)
	for name, d := range map[string]*flow.Dopri5{
		"negative rtol": {RTol: -1},
		"NaN atol":      {ATol: math.NaN()},
		"negative max":  {MaxSteps: -1},
		"negative h0":   {InitialStep: -1},
	} {
		if _, err := d.Integrate(q, x, ell, nil, 1); err == nil {
			t.Errorf("%s accepted", name)
		}
	}
	if _, err := (&flow.Dopri5{RTol: 1e-12, ATol: 1e-12, MaxSteps: 3}).Integrate(q, x, ell, nil, 1); err == nil {
		t.Error("step budget not enforced")
	}
	if st, err := (&flow.Dopri5{}).Integrate(q, x, ell, nil, 0); err != nil || st.Steps != 0 {
		t.Errorf("zero span: %+v %v", st, err)
	}
	// A fixed first step is honoured: a huge one is rejected and shrunk.
	x = normalDense(rng, 2, 2)
	st, err := (&flow.Dopri5{InitialStep: 1, RTol: 1e-9, ATol: 1e-9}).Integrate(q, x, ell, nil, 1)
	if err != nil || st.Rejected == 0 {
		t.Errorf("InitialStep 1: %+v %v, want rejections", st, err)
	}
}
