package flow_test

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/isingflow/isingflow/flow"
	"github.com/isingflow/isingflow/flow/flowtest"
)

// extCore is a potential written outside package flow, as a user would:
//
//	φ(x) = c ln cosh(a·x) + ½ Σ_k d_k x_k²,   c = s²,
//
// with parameters [a (N), d (N), s]. With u = a·x, t = tanh u, r = |a|²:
//
//	∇φ  = c t a + d ⊙ x,   ∇²φ = c (1 − t²) r + Σ_k d_k,
//
// and for adjoints λ, μ, with S = λ·∇φ + μ ∇²φ and σ”' = −2t(1 − t²),
//
//	∂S/∂x   = c (1 − t²)(λ·a) a + d ⊙ λ + μ c σ''' r a,
//	∂S/∂a   = c t λ + c (1 − t²)(λ·a) x + μ c σ''' r x + 2 μ c (1 − t²) a,
//	∂S/∂d_k = λ_k x_k + μ,
//	∂S/∂s   = 2s [t (λ·a) + μ (1 − t²) r].
//
// It implements flow.ParamHolder: from HoldParams(true) to HoldParams(false)
// it uses c, r and Σd computed at HoldParams(true) (eagerly, so a container
// that had not handed it its parameters by then would make it wrong), and
// it counts the holds and every call during a hold that finds its
// parameters changed since the hold began (a breach of the contract by its
// caller).
type extCore struct {
	n     int
	theta []float64

	held       bool
	c, r, trD  float64
	snapshot   []float64
	holds      int // calls of HoldParams(true)
	violations int // calls during a hold with changed parameters
}

var _ flow.ParamHolder = (*extCore)(nil)

func newExtCore(rng *rand.Rand, n int) *extCore {
	p := &extCore{n: n, theta: make([]float64, 2*n+1)}
	for k := range n {
		p.theta[k] = 0.6 * rng.NormFloat64()
		p.theta[n+k] = 0.3 * rng.NormFloat64()
	}
	p.theta[2*n] = 0.6 + 0.2*rng.Float64()
	return p
}

func (p *extCore) Dim() int          { return p.n }
func (p *extCore) Params() []float64 { return p.theta }

func (p *extCore) parts() (a, d []float64, s float64) {
	n := p.n
	return p.theta[:n], p.theta[n : 2*n], p.theta[2*n]
}

// compute returns c, r and Σd of the current parameters.
func (p *extCore) compute() (c, r, trD float64) {
	a, d, s := p.parts()
	for k := range p.n {
		r += a[k] * a[k]
		trD += d[k]
	}
	return s * s, r, trD
}

// derived returns c, r and Σd: cached during a hold, fresh otherwise.
func (p *extCore) derived() (c, r, trD float64) {
	if !p.held {
		return p.compute()
	}
	if !slices.Equal(p.theta, p.snapshot) {
		p.violations++
	}
	return p.c, p.r, p.trD
}

func (p *extCore) HoldParams(hold bool) {
	if hold {
		p.holds++
		p.c, p.r, p.trD = p.compute()
		p.snapshot = append(p.snapshot[:0], p.theta...)
	}
	p.held = hold
}

func (p *extCore) Value(dst []float64, x *mat.Dense) {
	a, d, _ := p.parts()
	c, _, _ := p.derived()
	B, _ := x.Dims()
	for b := range B {
		xb := x.RawRowView(b)
		var u, q float64
		for k, v := range xb {
			u += a[k] * v
			q += d[k] * v * v
		}
		dst[b] = c*flow.LogCosh.Eval(u) + 0.5*q
	}
}

func (p *extCore) GradLaplacian(grad *mat.Dense, lap []float64, x *mat.Dense) {
	a, d, _ := p.parts()
	c, r, trD := p.derived()
	B, _ := x.Dims()
	for b := range B {
		xb, gb := x.RawRowView(b), grad.RawRowView(b)
		var u float64
		for k, v := range xb {
			u += a[k] * v
		}
		t := math.Tanh(u)
		for k, v := range xb {
			gb[k] = c*t*a[k] + d[k]*v
		}
		lap[b] = c*(1-t*t)*r + trD
	}
}

func (p *extCore) GradLaplacianVJP(dx *mat.Dense, dparams []float64, x, lambda *mat.Dense, mu []float64) {
	a, d, s := p.parts()
	c, r, _ := p.derived()
	n := p.n
	B, _ := x.Dims()
	for b := range B {
		xb, lb := x.RawRowView(b), lambda.RawRowView(b)
		var u, la float64
		for k, v := range xb {
			u += a[k] * v
			la += lb[k] * a[k]
		}
		t := math.Tanh(u)
		s2 := 1 - t*t
		s3 := -2 * t * s2
		m := mu[b]
		if dx != nil {
			db := dx.RawRowView(b)
			for k := range n {
				db[k] += c*s2*la*a[k] + d[k]*lb[k] + m*c*s3*r*a[k]
			}
		}
		if dparams != nil {
			for k := range n {
				dparams[k] += c*t*lb[k] + c*s2*la*xb[k] + m*c*s3*r*xb[k] + 2*m*c*s2*a[k]
				dparams[n+k] += lb[k]*xb[k] + m
			}
			dparams[2*n] += 2 * s * (t*la + m*s2*r)
		}
	}
}

// extBound is extCore that also implements flow.ParamBinder, as the
// contract asks: it copies its parameters into the storage and uses it
// from then on.
type extBound struct{ *extCore }

var _ interface {
	flow.ParamBinder
	flow.ParamHolder
} = extBound{}

func (p extBound) BindParams(q []float64) {
	copy(q, p.theta)
	p.theta = q
}

// badBinder breaks the binding contract: BindParams leaves Params on the
// old storage. BindParams must detect it and the containers copy instead.
type badBinder struct{ *extCore }

func (p badBinder) BindParams(q []float64) { copy(q, p.theta) }

// plain hides every optional interface of the potential it holds: a
// container can only copy its parameters in, and Flow cannot hold them.
type plain struct{ flow.Potential }

// externalSetup is a Piecewise of two blocks made of external potentials
// of every kind: bindable (extBound, also behind a Wrapper), hold-only
// (extCore), contract-breaking (badBinder) and plain, beside a Quadratic
// of this package.
type externalSetup struct {
	p                        *flow.Piecewise
	bound, wrapped           extBound
	holdOnly, plainCore, bad *extCore
}

func newExternalSetup(rng *rand.Rand, n int) externalSetup {
	var s externalSetup
	s.bound = extBound{newExtCore(rng, n)}
	s.holdOnly = newExtCore(rng, n)
	s.wrapped = extBound{newExtCore(rng, n)}
	s.plainCore = newExtCore(rng, n)
	s.bad = newExtCore(rng, n)
	s.p = flow.NewPiecewise(
		flow.NewSum(s.bound, s.holdOnly, newRandomQuadratic(rng, n, true, 0.3)),
		flow.NewSum(reversed{s.wrapped}, plain{s.plainCore}, badBinder{s.bad}),
	)
	return s
}

// TestExternalPotential checks an external potential against finite
// differences on its own and inside a Sum and a Piecewise (flowtest), its
// binding by the containers (BindParams) and their fallbacks, and the
// gradient of a Flow of them against finite differences of the objective
// evaluated as the composition of the blocks' flows; while the Flow holds
// the parameters, no potential sees them change.
func TestExternalPotential(t *testing.T) {
	const (
		n, B  = 3, 3
		steps = 4
		eps   = 0.25
		tol   = 1e-7
		h     = 1e-3
	)
	rng := rand.New(rand.NewPCG(301, 302))
	flowtest.CheckPotential(t, newExtCore(rng, n), 3, rng, 1e-7)

	s := newExternalSetup(rng, n)
	p := s.p
	all := p.Params()
	// Bound parts alias the Piecewise's storage; the others keep their own.
	aliased := func(q []float64) bool {
		for i := range all {
			if &all[i] == &q[0] {
				return true
			}
		}
		return false
	}
	for _, c := range []struct {
		name string
		core *extCore
		want bool
	}{
		{"ParamBinder", s.bound.extCore, true},
		{"wrapped ParamBinder", s.wrapped.extCore, true},
		{"ParamHolder only", s.holdOnly, false},
		{"plain", s.plainCore, false},
		{"broken ParamBinder", s.bad, false},
	} {
		if got := aliased(c.core.Params()); got != c.want {
			t.Errorf("%s: parameters alias the Piecewise's: %t, want %t", c.name, got, c.want)
		}
	}
	if !flow.BindParams(s.bound, make([]float64, len(s.bound.Params()))) {
		t.Error("BindParams of a ParamBinder reported false")
	}
	if flow.BindParams(badBinder{newExtCore(rng, n)}, make([]float64, 2*n+1)) {
		t.Error("BindParams of a binder that does not alias reported true")
	}
	if flow.BindParams(plain{newExtCore(rng, n)}, make([]float64, 2*n+1)) {
		t.Error("BindParams of a plain potential reported true")
	}
	// Rebuild: the test above moved s.bound out of the Piecewise.
	s = newExternalSetup(rand.New(rand.NewPCG(303, 304)), n)
	p = s.p

	for k := range p.Intervals() {
		p.SetInterval(k)
		flowtest.CheckPotential(t, p, B, rng, 1e-7)
		flowtest.CheckPotential(t, p.Blocks[k], B, rng, 1e-7)
	}

	cores := []*extCore{s.bound.extCore, s.holdOnly, s.wrapped.extCore, s.plainCore, s.bad}
	f := mustFlow(t, p, steps, eps)
	f.KineticWeight = 0.7
	for _, lc := range []struct {
		fn  flow.LossFunc
		dir flow.Direction
	}{{variationalLoss, flow.Sampling}, {mixedLoss, flow.Density}} {
		start := normalDense(rng, B, n)
		theta := p.Params()
		dparams := make([]float64, len(theta))
		dstart := mat.NewDense(B, n, nil)
		J := f.Gradient(dparams, dstart, start, lc.dir, lc.fn)
		obj := func() float64 { return chainObjective(p, steps, eps, f.KineticWeight, start, lc.dir, lc.fn) }
		if want := obj(); math.Abs(J-want) > 1e-12*(1+math.Abs(want)) {
			t.Errorf("%v: objective %v, composition of the blocks %v", lc.dir, J, want)
		}
		// Finite differences of the Flow's own Forward or Backward, which
		// hold the parameters, after every write through Params (without
		// the transport cost, which objective takes from an RK4 of the
		// selected block only).
		fobj := func() float64 { return objective(f, start, lc.dir, lc.fn) }
		want := make([]float64, len(theta))
		for i := range theta {
			want[i] = fivePoint(theta, i, h, obj)
		}
		compareGradient(t, lc.dir.String()+" dparams", dparams, want, tol)
		sdata := start.RawMatrix().Data
		wantS := make([]float64, len(sdata))
		for i := range sdata {
			wantS[i] = fivePoint(sdata, i, h, obj)
		}
		compareGradient(t, lc.dir.String()+" dstart", dstart.RawMatrix().Data, wantS, tol)

		f.KineticWeight = 0
		f.Gradient(dparams, nil, start, lc.dir, lc.fn)
		for i := range theta {
			want[i] = fivePoint(theta, i, h, fobj)
		}
		compareGradient(t, lc.dir.String()+" dparams against Forward", dparams, want, tol)
		f.KineticWeight = 0.7
	}
	for i, c := range cores {
		if c.violations != 0 {
			t.Errorf("potential %d saw its parameters change %d times while held", i, c.violations)
		}
		if c.held {
			t.Errorf("potential %d is still held", i)
		}
		// Flow holds everything it can reach: all but the plain one.
		if held := c.holds > 0; held != (c != s.plainCore) {
			t.Errorf("potential %d held %d times", i, c.holds)
		}
	}
}

// TestExternalPotentialFallback checks that binding and holding change no
// number: the Piecewise of external potentials gives bit for bit the flow,
// log-densities and gradients of the same potentials all hidden behind
// plain (copied into at every call, never held).
func TestExternalPotentialFallback(t *testing.T) {
	const n, B = 3, 4
	s := newExternalSetup(rand.New(rand.NewPCG(305, 306)), n)
	s2 := newExternalSetup(rand.New(rand.NewPCG(305, 306)), n)
	hide := func(ps []flow.Potential) {
		for i, q := range ps {
			ps[i] = plain{q}
		}
	}
	// Rebuild the second one's containers from the hidden parts.
	blocks := make([]flow.Potential, len(s2.p.Blocks))
	for k, b := range s2.p.Blocks {
		terms := slices.Clone(b.(*flow.Sum).Terms)
		hide(terms)
		blocks[k] = plain{flow.NewSum(terms...)}
	}
	p2 := flow.NewPiecewise(blocks...)
	if !slices.Equal(s.p.Params(), p2.Params()) {
		t.Fatal("parameters differ")
	}
	f1, f2 := mustFlow(t, s.p, 4, 0.25), mustFlow(t, p2, 4, 0.25)
	rng := rand.New(rand.NewPCG(307, 308))
	z := normalDense(rng, B, n)
	for _, f := range []*flow.Flow{f1, f2} {
		// New parameters written through the container reach every part.
		for i := range f.Potential.Params() {
			f.Potential.Params()[i] *= 1.01
		}
	}
	x1, x2 := mat.NewDense(B, n, nil), mat.NewDense(B, n, nil)
	l1, l2 := make([]float64, B), make([]float64, B)
	noErr(t, f1.Forward(x1, l1, z))
	noErr(t, f2.Forward(x2, l2, z))
	if !mat.Equal(x1, x2) || !slices.Equal(l1, l2) {
		t.Errorf("Forward differs: %g, %g", maxAbsDiff(x1, x2), maxAbsDiffSlice(l1, l2))
	}
	d1, d2 := make([]float64, len(s.p.Params())), make([]float64, len(p2.Params()))
	J1 := f1.Gradient(d1, nil, z, flow.Sampling, flow.LossFunc(variationalLoss))
	J2 := f2.Gradient(d2, nil, z, flow.Sampling, flow.LossFunc(variationalLoss))
	if J1 != J2 || !slices.Equal(d1, d2) {
		t.Errorf("Gradient differs: %g, %g", J1-J2, maxAbsDiffSlice(d1, d2))
	}
}
