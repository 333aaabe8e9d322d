package flow_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/isingflow/isingflow/flow"
)

// variationalLoss is L = (1/B) Σ_b [logp_b − f(y_b)] with the smooth
// f(y) = Σ_k (ln cosh y_k − 0.15 y_k²) + 0.2 y_0 y_{N−1}: the shape of the
// variational free energy with an unnormalised target ln q̃ = f.
func variationalLoss(dy *mat.Dense, dlogp []float64, y *mat.Dense, logp []float64) float64 {
	B, n := y.Dims()
	var L float64
	for b := range B {
		yb, db := y.RawRowView(b), dy.RawRowView(b)
		f := 0.2 * yb[0] * yb[n-1]
		for k, v := range yb {
			f += flow.LogCosh.Eval(v) - 0.15*v*v
			db[k] -= (math.Tanh(v) - 0.3*v) / float64(B)
		}
		db[0] -= 0.2 * yb[n-1] / float64(B)
		db[n-1] -= 0.2 * yb[0] / float64(B)
		L += (logp[b] - f) / float64(B)
		dlogp[b] = 1 / float64(B)
	}
	return L
}

// nllLoss is the mean negative log-likelihood −(1/B) Σ_b logp_b.
func nllLoss(dy *mat.Dense, dlogp []float64, y *mat.Dense, logp []float64) float64 {
	var L float64
	for b, v := range logp {
		L -= v / float64(len(logp))
		dlogp[b] = -1 / float64(len(logp))
	}
	return L
}

// mixedLoss weights every sample's log-density differently and depends on
// the end state: L = Σ_b [(b+1)/B·logp_b + 0.1·sin(y_b0)·|y_b|²].
func mixedLoss(dy *mat.Dense, dlogp []float64, y *mat.Dense, logp []float64) float64 {
	B, _ := y.Dims()
	var L float64
	for b := range B {
		yb, db := y.RawRowView(b), dy.RawRowView(b)
		var r2 float64
		for _, v := range yb {
			r2 += v * v
		}
		s, c := math.Sincos(yb[0])
		L += float64(b+1)/float64(B)*logp[b] + 0.1*s*r2
		dlogp[b] = float64(b+1) / float64(B)
		for k, v := range yb {
			db[k] += 0.2 * s * v
		}
		db[0] += 0.1 * c * r2
	}
	return L
}

// objective evaluates the objective of Gradient independently: the
// fixed-step Forward or Backward, the loss, and the transport cost from an
// RK4 integrator with the same steps.
func objective(f *flow.Flow, start *mat.Dense, dir flow.Direction, loss flow.LossFunc) float64 {
	B, n := start.Dims()
	y := mat.NewDense(B, n, nil)
	logp := make([]float64, B)
	var err error
	if dir == flow.Sampling {
		err = f.Forward(y, logp, start)
	} else {
		err = f.Backward(y, logp, start)
	}
	if err != nil {
		panic(err)
	}
	J := loss(mat.NewDense(B, n, nil), make([]float64, B), y, logp)
	if f.KineticWeight != 0 {
		x := mat.DenseCopyOf(start)
		ell := make([]float64, B)
		kin := make([]float64, B)
		t := f.Duration()
		if dir == flow.Density {
			t = -t
		}
		if _, err := (&flow.RK4{Steps: f.Steps}).Integrate(f.Potential, x, ell, kin, t); err != nil {
			panic(err)
		}
		for _, k := range kin {
			J += f.KineticWeight * k / float64(B)
		}
	}
	return J
}

// fivePoint returns the fourth-order central difference of g at v[i].
func fivePoint(v []float64, i int, h float64, g func() float64) float64 {
	v0 := v[i]
	eval := func(d float64) float64 {
		v[i] = v0 + d
		return g()
	}
	d := (eval(-2*h) - 8*eval(-h) + 8*eval(h) - eval(2*h)) / (12 * h)
	v[i] = v0
	return d
}

// TestGradientFiniteDifferences checks the parameter and start gradients of
// Gradient against fourth-order finite differences of the whole discrete
// objective (loss plus weighted transport cost), for every parameter and
// every input coordinate, in both directions and for several potentials and
// losses. The tolerance is 1e-7 relative to the largest gradient entry.
func TestGradientFiniteDifferences(t *testing.T) {
	const (
		n, B  = 3, 3
		steps = 4
		eps   = 0.25
		tol   = 1e-7
		h     = 1e-3
	)
	potentials := []struct {
		name string
		make func(rng *rand.Rand) flow.Potential
	}{
		{"quadratic", func(rng *rand.Rand) flow.Potential { return newRandomQuadratic(rng, n, true, 0.6) }},
		{"lncosh", func(rng *rand.Rand) flow.Potential { return newTestShallow(rng, n, 4, flow.LogCosh, false, 0.6) }},
		{"softplus+bias", func(rng *rand.Rand) flow.Potential { return newTestShallow(rng, n, 4, flow.Softplus, true, 0.6) }},
		// A Shallow behind a Wrapper in a Sum: its parameters are bound to
		// the Sum's storage and held by Flow through the wrapper (a stale
		// |a_j|² or a copy that is not kept in step fails here).
		{"sum(quadratic,wrapped lncosh)", func(rng *rand.Rand) flow.Potential {
			return flow.NewSum(newRandomQuadratic(rng, n, true, 0.5), reversed{newTestShallow(rng, n, 4, flow.LogCosh, false, 0.5)})
		}},
	}
	losses := []struct {
		name string
		fn   flow.LossFunc
		dirs []flow.Direction
	}{
		{"variational", variationalLoss, []flow.Direction{flow.Sampling}},
		{"nll", nllLoss, []flow.Direction{flow.Density}},
		{"mixed", mixedLoss, []flow.Direction{flow.Sampling, flow.Density}},
	}
	seed := uint64(100)
	for _, pc := range potentials {
		for _, lc := range losses {
			for _, dir := range lc.dirs {
				for _, kw := range []float64{0, 0.7} {
					seed++
					name := fmt.Sprintf("%s/%s/%v/kinetic=%v", pc.name, lc.name, dir, kw)
					t.Run(name, func(t *testing.T) {
						rng := rand.New(rand.NewPCG(seed, 5))
						p := pc.make(rng)
						f := mustFlow(t, p, steps, eps)
						f.KineticWeight = kw
						start := normalDense(rng, B, n)
						theta := p.Params()
						dparams := make([]float64, len(theta))
						for i := range dparams {
							dparams[i] = math.NaN() // Gradient overwrites
						}
						dstart := normalDense(rng, B, n)
						J := f.Gradient(dparams, dstart, start, dir, lc.fn)
						if want := objective(f, start, dir, lc.fn); math.Abs(J-want) > 1e-12*(1+math.Abs(want)) {
							t.Errorf("objective %v, independent evaluation %v", J, want)
						}
						if kc := f.TransportCost(); (kc == nil) != (kw == 0) {
							t.Errorf("TransportCost = %v with weight %v", kc, kw)
						}
						obj := func() float64 { return objective(f, start, dir, lc.fn) }
						want := make([]float64, len(theta))
						for i := range theta {
							want[i] = fivePoint(theta, i, h, obj)
						}
						compareGradient(t, "dparams", dparams, want, tol)
						sdata := start.RawMatrix().Data
						wantS := make([]float64, len(sdata))
						for i := range sdata {
							wantS[i] = fivePoint(sdata, i, h, obj)
						}
						compareGradient(t, "dstart", dstart.RawMatrix().Data, wantS, tol)

						// dstart may be start itself.
						alias := mat.DenseCopyOf(start)
						f.Gradient(nil, alias, alias, dir, lc.fn)
						if !mat.Equal(alias, dstart) {
							t.Error("dstart aliasing start differs")
						}

						// Without dstart the parameter gradient is the same.
						d2 := make([]float64, len(theta))
						f.Gradient(d2, nil, start, dir, lc.fn)
						if d := maxAbsDiffSlice(d2, dparams); d != 0 {
							t.Errorf("dparams without dstart differs by %g", d)
						}
					})
				}
			}
		}
	}
}

func compareGradient(t *testing.T, what string, got, want []float64, tol float64) {
	t.Helper()
	scale := math.Max(1, maxAbs(want))
	var worst float64
	for i := range got {
		d := math.Abs(got[i] - want[i])
		if !(d <= tol*scale) {
			t.Errorf("%s[%d] = %.12g, finite difference %.12g (|Δ| = %.3g)", what, i, got[i], want[i], d)
		}
		worst = math.Max(worst, d/scale)
	}
	t.Logf("%s: max relative deviation %.2g (scale %.3g)", what, worst, scale)
}

// TestGradientTransportCost checks the per-sample transport costs reported
// after Gradient against the RK4 integrator.
func TestGradientTransportCost(t *testing.T) {
	rng := rand.New(rand.NewPCG(31, 32))
	p := newTestShallow(rng, 3, 5, flow.LogCosh, false, 0.5)
	f := mustFlow(t, p, 6, 0.2)
	f.KineticWeight = 1
	z := normalDense(rng, 4, 3)
	f.Gradient(nil, nil, z, flow.Sampling, flow.LossFunc(variationalLoss))
	got := append([]float64(nil), f.TransportCost()...)
	x := mat.DenseCopyOf(z)
	ell := make([]float64, 4)
	kin := make([]float64, 4)
	if _, err := (&flow.RK4{Steps: 6}).Integrate(p, x, ell, kin, f.Duration()); err != nil {
		t.Fatal(err)
	}
	if d := maxAbsDiffSlice(got, kin); d > 1e-14 {
		t.Errorf("TransportCost differs from RK4 by %g", d)
	}
	f.KineticWeight = 0
	f.Gradient(nil, nil, z, flow.Sampling, flow.LossFunc(variationalLoss))
	if f.TransportCost() != nil {
		t.Error("TransportCost not nil with weight 0")
	}
	// Stage inputs (B·N) and the Shallow potential's memo (B·H) for each
	// of the 4·6 stages.
	if want := int64(8 * 4 * 6 * (10*3 + 10*5)); f.TapeBytes(10) != want {
		t.Errorf("TapeBytes(10) = %d, want %d", f.TapeBytes(10), want)
	}
}

// TestGradientNoAllocs checks that Gradient allocates nothing in steady
// state, with and without the transport cost.
func TestGradientNoAllocs(t *testing.T) {
	rng := rand.New(rand.NewPCG(33, 34))
	p := flow.NewShallow(4, 8, flow.Softplus, true, rng)
	f := mustFlow(t, p, 5, 0.1)
	x := normalDense(rng, 8, 4)
	dx := mat.NewDense(8, 4, nil)
	dp := make([]float64, len(p.Params()))
	loss := flow.LossFunc(nllLoss)
	for _, kw := range []float64{0, 0.5} {
		f.KineticWeight = kw
		f.Gradient(dp, dx, x, flow.Density, loss)
		if a := testing.AllocsPerRun(10, func() { f.Gradient(dp, dx, x, flow.Density, loss) }); a != 0 {
			t.Errorf("kinetic weight %v: %v allocations", kw, a)
		}
	}
}

func TestGradientPanics(t *testing.T) {
	q := flow.NewQuadratic(mat.NewDense(2, 2, nil), nil)
	f := mustFlow(t, q, 2, 0.1)
	x := mat.NewDense(3, 2, nil)
	for name, fn := range map[string]func(){
		"dparams": func() { f.Gradient(make([]float64, 3), nil, x, flow.Sampling, flow.LossFunc(nllLoss)) },
		"dstart":  func() { f.Gradient(nil, mat.NewDense(2, 2, nil), x, flow.Sampling, flow.LossFunc(nllLoss)) },
		"columns": func() { f.Gradient(nil, nil, mat.NewDense(3, 3, nil), flow.Sampling, flow.LossFunc(nllLoss)) },
		"loss":    func() { f.Gradient(nil, nil, x, flow.Sampling, nil) },
		"dir":     func() { f.Gradient(nil, nil, x, flow.Direction(5), flow.LossFunc(nllLoss)) },
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Error("no panic")
				}
			}()
			fn()
		})
	}
}
