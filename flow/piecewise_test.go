package flow_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/isingflow/isingflow/flow"
	"github.com/isingflow/isingflow/flow/flowtest"
)

// newTestPiecewise returns a Piecewise of three different blocks on R^n:
// a ln cosh network, a softplus network with bias plus a quadratic, and a
// quadratic with a linear term.
func newTestPiecewise(rng *rand.Rand, n int, scale float64) *flow.Piecewise {
	return flow.NewPiecewise(
		newTestShallow(rng, n, 4, flow.LogCosh, false, scale),
		flow.NewSum(newTestShallow(rng, n, 3, flow.Softplus, true, scale), newRandomQuadratic(rng, n, false, scale)),
		newRandomQuadratic(rng, n, true, scale),
	)
}

// TestPiecewiseCheckPotential checks every block, selected in turn, with
// flowtest: the derivatives against finite differences (the parameter
// adjoint over the whole vector, so the other blocks' parts must stay
// zero) and the calling contract.
func TestPiecewiseCheckPotential(t *testing.T) {
	rng := rand.New(rand.NewPCG(61, 62))
	p := newTestPiecewise(rng, 4, 0.6)
	for k := range p.Intervals() {
		t.Run(fmt.Sprint("interval", k), func(t *testing.T) {
			p.SetInterval(k)
			flowtest.CheckPotential(t, p, 3, rng, 1e-7)
			if p.Interval() != k {
				t.Errorf("Interval() = %d after CheckPotential, want %d", p.Interval(), k)
			}
		})
	}
}

// TestPiecewiseParams checks the layout of the parameter vector and that
// parameters written through it reach the selected block.
func TestPiecewiseParams(t *testing.T) {
	rng := rand.New(rand.NewPCG(63, 64))
	const n = 3
	a := newTestShallow(rng, n, 2, flow.LogCosh, false, 1)
	b := newRandomQuadratic(rng, n, true, 1)
	p := flow.NewPiecewise(a, b)
	if got, want := len(p.Params()), len(a.Params())+len(b.Params()); got != want {
		t.Fatalf("len(Params) = %d, want %d", got, want)
	}
	for k, blk := range p.Blocks {
		bp := p.BlockParams(k)
		if maxAbsDiffSlice(bp, blk.Params()) != 0 || len(bp) != len(blk.Params()) {
			t.Errorf("block %d: BlockParams differs from the block's initial parameters", k)
		}
	}
	if &p.BlockParams(1)[0] != &p.Params()[len(a.Params())] {
		t.Error("BlockParams(1) does not alias Params")
	}
	x := normalDense(rng, 2, n)
	v := make([]float64, 2)
	p.BlockParams(1)[0] += 1
	p.SetInterval(1)
	p.Value(v, x)
	if b.Params()[0] != p.BlockParams(1)[0] {
		t.Error("parameter written through Piecewise did not reach block 1")
	}
	want := make([]float64, 2)
	b.Value(want, x)
	if maxAbsDiffSlice(v, want) != 0 {
		t.Errorf("Value of interval 1 = %v, block 1 gives %v", v, want)
	}
}

// TestPiecewiseIdenticalBlocks checks that a Piecewise of K identical
// blocks (separate instances) gives the flow of one of them: bitwise for
// the fixed-step maps, the log-densities, the objective and the start
// adjoint of Gradient, and the log-det gap; the parameter gradient summed
// over the blocks to rounding (the summation order differs).
func TestPiecewiseIdenticalBlocks(t *testing.T) {
	const n, B, K, steps, eps = 4, 5, 3, 6, 0.2
	newBlock := func() flow.Potential {
		rng := rand.New(rand.NewPCG(65, 66)) // the same parameters every time
		return flow.NewSum(newTestShallow(rng, n, 6, flow.LogCosh, false, 0.6), newRandomQuadratic(rng, n, true, 0.4))
	}
	single := newBlock()
	blocks := make([]flow.Potential, K)
	for k := range blocks {
		blocks[k] = newBlock()
	}
	pw := flow.NewPiecewise(blocks...)
	f1 := mustFlow(t, single, steps, eps)
	fK := mustFlow(t, pw, steps, eps)
	rng := rand.New(rand.NewPCG(67, 68))
	start := normalDense(rng, B, n)
	for _, dir := range []flow.Direction{flow.Sampling, flow.Density} {
		y1, yK := mat.NewDense(B, n, nil), mat.NewDense(B, n, nil)
		l1, lK := make([]float64, B), make([]float64, B)
		if dir == flow.Sampling {
			noErr(t, f1.Forward(y1, l1, start))
			noErr(t, fK.Forward(yK, lK, start))
		} else {
			noErr(t, f1.Backward(y1, l1, start))
			noErr(t, fK.Backward(yK, lK, start))
		}
		if !mat.Equal(y1, yK) || maxAbsDiffSlice(l1, lK) != 0 {
			t.Errorf("%v: end states differ by %g, log-densities by %g", dir, maxAbsDiff(y1, yK), maxAbsDiffSlice(l1, lK))
		}

		for _, kw := range []float64{0, 0.7} {
			f1.KineticWeight, fK.KineticWeight = kw, kw
			d1 := make([]float64, len(single.Params()))
			dK := make([]float64, len(pw.Params()))
			s1, sK := mat.NewDense(B, n, nil), mat.NewDense(B, n, nil)
			J1 := f1.Gradient(d1, s1, start, dir, flow.LossFunc(mixedLoss))
			JK := fK.Gradient(dK, sK, start, dir, flow.LossFunc(mixedLoss))
			if J1 != JK || !mat.Equal(s1, sK) {
				t.Errorf("%v kinetic %v: objectives %v, %v; dstart differs by %g", dir, kw, J1, JK, maxAbsDiff(s1, sK))
			}
			sum := make([]float64, len(d1))
			for k := range K {
				for i := range d1 {
					sum[i] += dK[len(d1)*k+i]
				}
			}
			if d := maxAbsDiffSlice(sum, d1); d > 1e-14*math.Max(1, maxAbs(d1)) {
				t.Errorf("%v kinetic %v: block-summed parameter gradient differs by %g", dir, kw, d)
			}
		}
		f1.KineticWeight, fK.KineticWeight = 0, 0

		g1, gK := make([]float64, B), make([]float64, B)
		f1.LogDetGap(g1, start, dir)
		fK.LogDetGap(gK, start, dir)
		if maxAbsDiffSlice(g1, gK) != 0 {
			t.Errorf("%v: LogDetGap differs by %g", dir, maxAbsDiffSlice(g1, gK))
		}
		r1, rK := f1.RoundTripError(start, dir), fK.RoundTripError(start, dir)
		if r1 != rK {
			t.Errorf("%v: RoundTripError %+v, %+v", dir, r1, rK)
		}
	}
}

// chainObjective evaluates the objective of Gradient for a Piecewise flow
// independently, as the composition of its K blocks' flows: each block in
// turn (in reverse order in the density direction) integrated with its own
// RK4 over its span of m = Steps/K steps, accumulating ℓ and the transport
// cost, then ln p = ln p₀(z) − ℓ and the loss.
func chainObjective(p *flow.Piecewise, steps int, eps, kw float64, start *mat.Dense, dir flow.Direction, loss flow.LossFunc) float64 {
	B, n := start.Dims()
	K := p.Intervals()
	m := steps / K
	x := mat.DenseCopyOf(start)
	ell := make([]float64, B)
	kin := make([]float64, B)
	span := float64(m) * eps
	if dir == flow.Density {
		span = -span
	}
	for j := range K {
		k := j
		if dir == flow.Density {
			k = K - 1 - j
		}
		blk := p.Blocks[k]
		copy(blk.Params(), p.BlockParams(k))
		if _, err := (&flow.RK4{Steps: m}).Integrate(blk, x, ell, kin, span); err != nil {
			panic(err)
		}
	}
	logp := make([]float64, B)
	for b := range B {
		z := start.RawRowView(b)
		if dir == flow.Density {
			z = x.RawRowView(b)
		}
		logp[b] = flow.BaseLogDensity(z) - ell[b]
	}
	J := loss(mat.NewDense(B, n, nil), make([]float64, B), x, logp)
	for _, v := range kin {
		J += kw * v / float64(B)
	}
	return J
}

// TestPiecewiseGradientFiniteDifferences checks the parameter and start
// gradients of Gradient through a Piecewise flow against fourth-order
// finite differences of the whole discrete objective evaluated as the
// composition of the blocks' flows (chainObjective), for every parameter
// and start coordinate, in both directions, with and without the
// transport cost.
func TestPiecewiseGradientFiniteDifferences(t *testing.T) {
	const (
		n, B  = 3, 3
		steps = 6
		eps   = 0.2
		tol   = 1e-7
		h     = 1e-3
	)
	losses := []struct {
		name string
		fn   flow.LossFunc
		dir  flow.Direction
	}{
		{"variational", variationalLoss, flow.Sampling},
		{"nll", nllLoss, flow.Density},
		{"mixed", mixedLoss, flow.Sampling},
		{"mixed", mixedLoss, flow.Density},
	}
	seed := uint64(200)
	for _, lc := range losses {
		for _, kw := range []float64{0, 0.7} {
			seed++
			t.Run(fmt.Sprintf("%s/%v/kinetic=%v", lc.name, lc.dir, kw), func(t *testing.T) {
				rng := rand.New(rand.NewPCG(seed, 7))
				p := newTestPiecewise(rng, n, 0.6)
				f := mustFlow(t, p, steps, eps)
				f.KineticWeight = kw
				start := normalDense(rng, B, n)
				theta := p.Params()
				dparams := make([]float64, len(theta))
				dstart := mat.NewDense(B, n, nil)
				J := f.Gradient(dparams, dstart, start, lc.dir, lc.fn)
				obj := func() float64 { return chainObjective(p, steps, eps, kw, start, lc.dir, lc.fn) }
				if want := obj(); math.Abs(J-want) > 1e-12*(1+math.Abs(want)) {
					t.Errorf("objective %v, composition of the blocks %v", J, want)
				}
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
			})
		}
	}
}

// TestPiecewiseConsistency checks, for a Piecewise of three different
// blocks at a small step, that Sample and LogDensity agree, that the round
// trip and the log-det gap are small, that the log-det gap is the sum of
// the blocks' gaps along the chain, that an Integrator RK4 of Steps/K
// steps per interval reproduces the fixed-step flow, and that
// Dopri5 (which must restart at every interval boundary) agrees with the
// fixed-step flow to the RK4 discretisation error.
func TestPiecewiseConsistency(t *testing.T) {
	const n, B, K, steps, eps = 4, 8, 3, 30, 1.0 / 30
	rng := rand.New(rand.NewPCG(69, 70))
	p := newTestPiecewise(rng, n, 0.6)
	f := mustFlow(t, p, steps, eps)

	x := mat.NewDense(B, n, nil)
	logp := make([]float64, B)
	noErr(t, f.Sample(x, logp, rand.New(rand.NewPCG(71, 72))))
	ld := make([]float64, B)
	noErr(t, f.LogDensity(ld, x))
	if d := maxAbsDiffSlice(logp, ld); d > 1e-7 {
		t.Errorf("max |ln p(Sample) − LogDensity| = %g", d)
	} else {
		t.Logf("max |ln p(Sample) − LogDensity| = %.3g", d)
	}

	z := normalDense(rng, B, n)
	for _, dir := range []flow.Direction{flow.Sampling, flow.Density} {
		rt := f.RoundTripError(z, dir)
		if rt.MaxAbs > 1e-7 || rt.MaxLogDensity > 1e-7 {
			t.Errorf("%v: round trip %+v", dir, rt)
		}
		gap := make([]float64, B)
		f.LogDetGap(gap, z, dir)
		if g := maxAbs(gap); g > 1e-6 || g == 0 {
			t.Errorf("%v: max |log-det gap| = %g", dir, g)
		}

		// The gap of the composition is the sum of the blocks' gaps.
		sum := make([]float64, B)
		cur := mat.DenseCopyOf(z)
		next := mat.NewDense(B, n, nil)
		gk := make([]float64, B)
		for j := range K {
			k := j
			if dir == flow.Density {
				k = K - 1 - j
			}
			fk := mustFlow(t, p.Blocks[k], steps/K, eps)
			copy(p.Blocks[k].Params(), p.BlockParams(k))
			fk.LogDetGap(gk, cur, dir)
			for b := range B {
				sum[b] += gk[b]
			}
			if dir == flow.Sampling {
				noErr(t, fk.Forward(next, nil, cur))
			} else {
				noErr(t, fk.Backward(next, nil, cur))
			}
			cur, next = next, cur
		}
		if d := maxAbsDiffSlice(gap, sum); d > 1e-12 {
			t.Errorf("%v: log-det gap %v, sum over the blocks %v", dir, gap, sum)
		}

		y := mat.NewDense(B, n, nil)
		ly := make([]float64, B)
		yw := mat.NewDense(B, n, nil)
		lw := make([]float64, B)
		if dir == flow.Sampling {
			noErr(t, f.Forward(y, ly, z))
			f.Integrator = &flow.RK4{Steps: steps / K}
			noErr(t, f.Forward(yw, lw, z))
		} else {
			noErr(t, f.Backward(y, ly, z))
			f.Integrator = &flow.RK4{Steps: steps / K}
			noErr(t, f.Backward(yw, lw, z))
		}
		st := f.LastStats()
		f.Integrator = nil
		if d := math.Max(maxAbsDiff(y, yw), maxAbsDiffSlice(ly, lw)); d > 1e-14 || st.Steps != steps {
			t.Errorf("%v: RK4 integrator per interval differs by %g (%d steps)", dir, d, st.Steps)
		}

		d, st, err := f.DiscretisationError(z, dir, &flow.Dopri5{RTol: 1e-12, ATol: 1e-12})
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%v: vs Dopri5 %+v (%d steps)", dir, d, st.Steps)
		if d.MaxAbs > 1e-6 || d.MaxLogDensity > 1e-6 {
			t.Errorf("%v: discretisation error %+v", dir, d)
		}
	}
}

// TestPiecewiseInvalid checks the errors and panics of the time-dependent
// API.
func TestPiecewiseInvalid(t *testing.T) {
	rng := rand.New(rand.NewPCG(73, 74))
	a := newTestShallow(rng, 3, 2, flow.LogCosh, false, 1)
	b := newTestShallow(rng, 3, 2, flow.LogCosh, false, 1)
	p := flow.NewPiecewise(a, b)
	if _, err := flow.New(p, 5, 0.1); err == nil {
		t.Error("5 steps in 2 intervals: no error")
	} else {
		t.Log(err)
	}
	if _, err := flow.New(p, 4, 0.1); err != nil {
		t.Errorf("4 steps in 2 intervals: %v", err)
	}
	for name, fn := range map[string]func(){
		"no blocks":    func() { flow.NewPiecewise() },
		"nil block":    func() { flow.NewPiecewise(a, nil) },
		"dimensions":   func() { flow.NewPiecewise(a, newTestShallow(rng, 4, 2, flow.LogCosh, false, 1)) },
		"nested":       func() { flow.NewPiecewise(a, p) },
		"sum":          func() { flow.NewSum(a, p) },
		"interval -1":  func() { p.SetInterval(-1) },
		"interval K":   func() { p.SetInterval(2) },
		"block params": func() { p.BlockParams(2) },
		"dparams short": func() {
			p.GradLaplacianVJP(nil, make([]float64, 1), normalDense(rng, 1, 3), normalDense(rng, 1, 3), []float64{1})
		},
	} {
		func() {
			defer func() {
				if r := recover(); r == nil {
					t.Errorf("%s: no panic", name)
				} else {
					t.Logf("%s: %v", name, r)
				}
			}()
			fn()
		}()
	}
}

// TestPiecewiseNoAllocs checks that the fixed-step flow and Gradient of a
// Piecewise allocate nothing in steady state.
func TestPiecewiseNoAllocs(t *testing.T) {
	rng := rand.New(rand.NewPCG(75, 76))
	p := flow.NewPiecewise(flow.NewShallow(4, 8, flow.LogCosh, false, rng), flow.NewShallow(4, 8, flow.LogCosh, false, rng))
	f := mustFlow(t, p, 4, 0.1)
	z := normalDense(rng, 8, 4)
	x := mat.NewDense(8, 4, nil)
	logp := make([]float64, 8)
	dp := make([]float64, len(p.Params()))
	loss := flow.LossFunc(variationalLoss)
	run := func() {
		if err := f.Forward(x, logp, z); err != nil {
			t.Fatal(err)
		}
		if err := f.LogDensity(logp, x); err != nil {
			t.Fatal(err)
		}
		f.Gradient(dp, nil, z, flow.Sampling, loss)
	}
	run()
	if a := testing.AllocsPerRun(10, run); a != 0 {
		t.Errorf("%v allocations", a)
	}
}
