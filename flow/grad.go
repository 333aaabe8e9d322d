package flow

import (
	"fmt"

	"gonum.org/v1/gonum/mat"

	"github.com/isingflow/isingflow/internal/parallel"
)

// Loss is a batch loss of the end state of the fixed-step flow, for
// Gradient.
//
// Loss receives the end state y (B×N: the sample x_T in the Sampling
// direction, the latent z in the Density direction) and the model
// log-density logp of the data-space point of each sample (ln p(x_T) when
// sampling, ln p(x) of the data x in the density direction; in both cases
// ln p₀(z) − ℓ). It returns the loss and writes its partial derivatives
// ∂L/∂y into dy and ∂L/∂logp_b into dlogp[b]. dy and dlogp are zero on entry,
// so Loss may add into them. It must not modify y or logp, nor keep them
// after returning (they are the flow's workspaces).
//
// Typical losses, with the batch mean:
//
//	variational (sampling):  L = (1/B) Σ_b [logp_b − ln q̃(y_b)],
//	                         dlogp_b = 1/B,  dy_b = −∇ln q̃(y_b)/B;
//	likelihood (density):    L = −(1/B) Σ_b logp_b,
//	                         dlogp_b = −1/B,  dy = 0.
//
// The dependence of logp on z through ln p₀ is handled by Gradient.
type Loss interface {
	Loss(dy *mat.Dense, dlogp []float64, y *mat.Dense, logp []float64) float64
}

// LossFunc adapts a function to the Loss interface.
type LossFunc func(dy *mat.Dense, dlogp []float64, y *mat.Dense, logp []float64) float64

// Loss calls fn.
func (fn LossFunc) Loss(dy *mat.Dense, dlogp []float64, y *mat.Dense, logp []float64) float64 {
	return fn(dy, dlogp, y, logp)
}

// Gradient evaluates the objective
//
//	J(θ) = L(y, logp) + w·(1/B) Σ_b κ_b,   w = KineticWeight,
//
// of the fixed-step flow started from the rows of start in direction dir
// (start is z for Sampling, the data x for Density), and writes its exact
// gradient with respect to the potential's parameters into dparams
// (overwriting it; length len(Params()), or nil to skip) and with respect
// to start into dstart (overwriting it, B×N, or nil to skip; it may be
// start itself). κ_b is the
// transport cost ½∫|∇φ|² dt of sample b integrated with the same RK4
// weights, so it is the exact discrete quantity; TransportCost returns it
// afterwards. It returns J. Gradient panics if the flow is invalid or the
// shapes disagree.
//
// The gradient is that of the discrete computation Forward (or Backward)
// performs with the fixed-step scheme, to rounding:
// discretise-then-optimise; the flow's Integrator is not used. The forward pass stores
// the four stage inputs of every RK4 step on a tape of 4·Steps·B·N float64
// (TapeBytes: 26 MB for the Ising benchmark, 50 steps, B = 64, N = 256;
// 251 MB for MNIST, 100 steps, B = 100, N = 784); the backward pass
// recomputes nothing but the velocities ∇φ at the stage inputs when the
// transport cost is on (one GradLaplacian per stage). Each stage costs one
// GradLaplacian forward and one GradLaplacianVJP backward.
//
// Derivation. One step with signed step ε = ±StepSize, h = |ε|, maps the
// state (x, ℓ, κ) through the stages i = 1…4, with x_1 = x,
// x_{i+1} = x + c_{i+1} ε g_i (c_2 = c_3 = ½, c_4 = 1), g_i = ∇φ(x_i),
// L_i = ∇²φ(x_i) and b = (1, 2, 2, 1)/6, to
//
//	x' = x + ε Σ b_i g_i,   ℓ' = ℓ + h Σ b_i L_i,   κ' = κ + h Σ b_i ½|g_i|².
//
// Given the adjoints (a, m, w') of (x', ℓ', κ'), the adjoints of ℓ and κ
// pass through unchanged (so m and w' are the same at every step:
// m_b = −∂L/∂logp_b because logp = ln p₀(z) − ℓ, and w' = w/B). The
// adjoint λ_i of g_i collects ε b_i a from x', h b_i w' g_i from κ', and
// c_{i+1} ε x̄_{i+1} from the next stage input, where x̄_i is the adjoint of
// the stage input x_i:
//
//	λ_4 = ε b_4 a + h b_4 w' g_4,                 μ_i = h b_i m,
//	λ_3 = ε b_3 a + h b_3 w' g_3 + ε x̄_4,
//	λ_2 = ε b_2 a + h b_2 w' g_2 + ½ε x̄_3,
//	λ_1 = ε b_1 a + h b_1 w' g_1 + ½ε x̄_2,
//
// with x̄_i = λ_i·∂g_i/∂x_i + μ_i ∂L_i/∂x_i and the parameter adjoint
// Σ_i λ_i·∂g_i/∂θ + μ_i ∂L_i/∂θ, both from one GradLaplacianVJP(x_i, λ_i,
// μ_i) per stage (in the order 4, 3, 2, 1). Since x enters x' and every
// stage input with coefficient one, the adjoint of the step's input is
// ā = a + x̄_1 + x̄_2 + x̄_3 + x̄_4. The recursion starts from the loss:
// a = ∂L/∂y, plus −y_b ∂L/∂logp_b in the Density direction (where
// logp = ln p₀(y) − ℓ); in the Sampling direction the derivative of
// ln p₀(z) adds −z_b ∂L/∂logp_b to the adjoint of the start.
//
// For a TimeDependent potential the backward pass selects, for each step,
// the interval its forward pass used, so the stage VJPs differentiate the
// piece that produced the stage; with a Piecewise, each block's part of
// dparams collects the adjoint of its own steps only.
func (f *Flow) Gradient(dparams []float64, dstart, start *mat.Dense, dir Direction, loss Loss) float64 {
	return f.gradient(dparams, dstart, start, dir, loss, false)
}

// gradient is Gradient, and with path PathGradient.
func (f *Flow) gradient(dparams []float64, dstart, start *mat.Dense, dir Direction, loss Loss, path bool) float64 {
	f.mustValidate()
	p := f.Potential
	n := p.Dim()
	B, c := start.Dims()
	if c != n {
		panic(fmt.Sprintf("flow: Gradient: start has %d columns, want %d", c, n))
	}
	if dstart != nil {
		if r, c := dstart.Dims(); r != B || c != n {
			panic(fmt.Sprintf("flow: Gradient: dstart is %d×%d, want %d×%d", r, c, B, n))
		}
	}
	if dparams != nil && len(dparams) != len(p.Params()) {
		panic(fmt.Sprintf("flow: Gradient: len(dparams) = %d, want %d", len(dparams), len(p.Params())))
	}
	if loss == nil {
		panic("flow: Gradient: nil loss")
	}
	sign := dir.sign()
	eps, h := sign*f.StepSize, f.StepSize
	kw := f.KineticWeight
	HoldParams(p, true)
	defer HoldParams(p, false)

	g := &f.grad
	memoLen := 0
	if mp, ok := p.(MemoPotential); ok {
		memoLen = mp.MemoLen(B)
	}
	g.ensure(B, n, f.Steps, memoLen)
	f.rk.ensure(B, n)
	g.scoreValid = path
	if path {
		g.ensureScore()
		for b := range B {
			// The score of the base distribution, ∇ln p₀(z) = −z.
			sb, zb := g.score.RawRowView(b), start.RawRowView(b)
			for k, v := range zb {
				sb[k] = -v
			}
		}
	}
	var kin []float64
	g.kinValid = kw != 0
	if kw != 0 {
		kin = g.kin
		clear(kin)
	}

	// Forward pass, recording the stage inputs.
	g.x.Copy(start)
	clear(g.ell)
	for s := range f.Steps {
		f.selectStep(s, dir)
		f.rk.step(p, g.x, g.ell, kin, eps, g.tape[4*s:4*s+4], g.memoAt(s))
		if path {
			g.scoreStep(p, eps, g.tape[4*s:4*s+4], g.memoAt(s))
		}
	}

	// The loss and its adjoints.
	for b := range B {
		if dir == Sampling {
			g.logp[b] = BaseLogDensity(start.RawRowView(b)) - g.ell[b]
		} else {
			g.logp[b] = BaseLogDensity(g.x.RawRowView(b)) - g.ell[b]
		}
	}
	g.dy.Zero()
	clear(g.dlogp)
	J := loss.Loss(g.dy, g.dlogp, g.x, g.logp)
	if kw != 0 {
		var sum float64
		for _, v := range kin {
			sum += v
		}
		J += kw * sum / float64(B)
	}
	g.a.Copy(g.dy)
	for b := range B {
		if path {
			// logp is the stopped function ln p(x) of the end state: only
			// its dependence on θ through x_T = y remains.
			g.m[b] = 0
			ab, sb := g.a.RawRowView(b), g.score.RawRowView(b)
			for k, v := range sb {
				ab[k] += v * g.dlogp[b]
			}
			continue
		}
		g.m[b] = -g.dlogp[b]
		if dir == Density {
			ab, yb := g.a.RawRowView(b), g.x.RawRowView(b)
			for k, v := range yb {
				ab[k] -= v * g.dlogp[b]
			}
		}
	}

	// Backward pass through the steps and stages.
	if dparams != nil {
		clear(dparams)
	}
	c0 := &g.cur
	c0.eps, c0.h, c0.wk = eps, h, kw/float64(B)
	c0.grad = nil
	if kw != 0 {
		c0.grad = f.rk.grad.RawMatrix().Data
	}
	for s := f.Steps - 1; s >= 0; s-- {
		f.selectStep(s, dir)
		for i := 3; i >= 0; i-- {
			xi := g.tape[4*s+i]
			if kw != 0 {
				p.GradLaplacian(f.rk.grad, f.rk.lap, xi)
			}
			c0.i = i
			parallel.For(B, n, g.passFn)
			dx := g.xb
			if s == 0 && i == 0 && dstart == nil {
				dx = nil
			}
			var memo []float64
			if m := g.memoAt(s); m != nil {
				memo = m[i]
			}
			gradLaplacianVJPWith(p, dx, dparams, xi, g.lam, g.mu, memo)
		}
		if s > 0 || dstart != nil {
			parallel.For(B, n, g.finishFn)
		}
	}
	c0.grad = nil
	if dstart != nil {
		if dir == Sampling {
			for b := range B {
				ab, zb := g.a.RawRowView(b), start.RawRowView(b)
				for k, v := range zb {
					ab[k] -= v * g.dlogp[b]
				}
			}
		}
		dstart.Copy(g.a)
	}
	return J
}

// TapeBytes returns the memory in bytes of the tape Gradient stores for a
// batch of the given size: 4·Steps·batch·N float64 of stage inputs, and,
// for a MemoPotential, 4·Steps memos (for a Shallow potential batch·H
// float64 each). The other workspaces of the flow add about 12·batch·N
// float64, and the potential its own.
func (f *Flow) TapeBytes(batch int) int64 {
	per := int64(batch) * int64(f.Potential.Dim())
	if mp, ok := f.Potential.(MemoPotential); ok {
		per += int64(mp.MemoLen(batch))
	}
	return 8 * 4 * int64(f.Steps) * per
}

// TransportCost returns the per-sample transport costs κ_b = ½∫|∇φ|² dt of
// the last call of Gradient, or nil if it ran with KineticWeight zero. The
// slice aliases a workspace and is overwritten by the next call.
func (f *Flow) TransportCost() []float64 {
	if !f.grad.kinValid {
		return nil
	}
	return f.grad.kin
}

// gradWork holds the tape and the adjoint workspaces of Gradient.
type gradWork struct {
	b, n, steps int
	tapeBuf     []float64
	tape        []*mat.Dense // stage inputs, 4 per step, B×N each
	memoLen     int
	memoBuf     []float64
	memo        [][]float64 // memos of the stages, 4 per step, when the potential keeps them

	x, dy   *mat.Dense // state and loss adjoint of the end state
	a, abar *mat.Dense // adjoint of the step output; running adjoint of its input
	lam, xb *mat.Dense // λ_i; x̄_i (VJP destination)

	ell, kin, logp, dlogp []float64
	m, mu                 []float64 // adjoint of ℓ; μ_i
	kinValid              bool

	// The score s = ∇ln p(x) of PathGradient, its RK4 accumulator, stage
	// input and stage rate, and μ = 1 for the rate's VJP.
	score, sacc, sstage, srate *mat.Dense
	ones                       []float64
	scoreValid                 bool

	cur struct {
		i          int
		eps, h, wk float64
		grad       []float64 // g_i when the transport cost is on
	}
	passFn, finishFn, scoreFn func(lo, hi int)
}

// memoAt returns the four stage memos of step s, or nil without memos.
func (g *gradWork) memoAt(s int) [][]float64 {
	if g.memoLen == 0 {
		return nil
	}
	return g.memo[4*s : 4*s+4]
}

func (g *gradWork) ensure(B, n, steps, memoLen int) {
	if g.b == B && g.n == n && g.steps == steps && g.memoLen == memoLen {
		return
	}
	g.b, g.n, g.steps, g.memoLen = B, n, steps, memoLen
	g.memoBuf = reuse(g.memoBuf, 4*steps*memoLen)
	g.memo = g.memo[:0]
	if memoLen > 0 {
		for i := range 4 * steps {
			g.memo = append(g.memo, g.memoBuf[i*memoLen:(i+1)*memoLen:(i+1)*memoLen])
		}
	}
	g.tapeBuf = reuse(g.tapeBuf, 4*steps*B*n)
	g.tape = make([]*mat.Dense, 4*steps)
	for i := range g.tape {
		g.tape[i] = mat.NewDense(B, n, g.tapeBuf[i*B*n:(i+1)*B*n:(i+1)*B*n])
	}
	g.x = reuseDense(g.x, B, n)
	g.dy = reuseDense(g.dy, B, n)
	g.a = reuseDense(g.a, B, n)
	g.abar = reuseDense(g.abar, B, n)
	g.lam = reuseDense(g.lam, B, n)
	g.xb = reuseDense(g.xb, B, n)
	g.ell = reuse(g.ell, B)
	g.kin = reuse(g.kin, B)
	g.logp = reuse(g.logp, B)
	g.dlogp = reuse(g.dlogp, B)
	g.m = reuse(g.m, B)
	g.mu = reuse(g.mu, B)
	if g.passFn == nil {
		g.passFn = g.pass
		g.finishFn = g.finish
		g.scoreFn = g.scorePass
	}
}

// pass prepares the VJP of stage cur.i on rows [lo, hi): it folds x̄_{i+1}
// (in xb) into the running input adjoint abar (which it initialises to a at
// the last stage), forms λ_i and μ_i, and zeroes xb for the VJP to add
// into.
func (g *gradWork) pass(lo, hi int) {
	n, i := g.n, g.cur.i
	bi := rk4B[i]
	ea := g.cur.eps * bi
	hk := g.cur.h * bi * g.cur.wk
	var cn float64
	if i < 3 {
		cn = rk4C[i+1] * g.cur.eps
	}
	a, abar := g.a.RawMatrix().Data, g.abar.RawMatrix().Data
	lam, xb := g.lam.RawMatrix().Data, g.xb.RawMatrix().Data
	grad := g.cur.grad
	for r := lo; r < hi; r++ {
		ar, abr := a[r*n:(r+1)*n], abar[r*n:(r+1)*n]
		lr, xr := lam[r*n:(r+1)*n], xb[r*n:(r+1)*n]
		if i == 3 {
			for k, v := range ar {
				abr[k] = v
				lr[k] = ea * v
				xr[k] = 0
			}
		} else {
			for k, v := range ar {
				abr[k] += xr[k]
				lr[k] = ea*v + cn*xr[k]
				xr[k] = 0
			}
		}
		if grad != nil {
			for k, v := range grad[r*n : (r+1)*n] {
				lr[k] += hk * v
			}
		}
		g.mu[r] = g.cur.h * bi * g.m[r]
	}
}

// finish sets a = abar + x̄_1 on rows [lo, hi): the adjoint of the step's
// input, which is the adjoint of the previous step's output.
func (g *gradWork) finish(lo, hi int) {
	n := g.n
	a, abar, xb := g.a.RawMatrix().Data, g.abar.RawMatrix().Data, g.xb.RawMatrix().Data
	for j := lo * n; j < hi*n; j++ {
		a[j] = abar[j] + xb[j]
	}
}
