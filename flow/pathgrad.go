package flow

import (
	"gonum.org/v1/gonum/mat"

	"github.com/isingflow/isingflow/internal/parallel"
)

// PathGradient is Gradient in the Sampling direction with the path-gradient
// estimator of a loss that is an expectation under the flow's own density:
// the log-density logp that the loss receives is treated as the fixed
// function ln p_θ(x) evaluated at the sample x_T, so that only its
// dependence on the parameters through x_T is differentiated, and not its
// explicit one ∂ln p_θ(x)/∂θ at fixed x (the "sticking the landing"
// estimator of Roeder, Wu and Duvenaud, 2017; for continuous flows, Vaitl,
// Nicoli, Nakajima and Kessel, 2022).
//
// For the variational objective, where ∂L/∂logp_b = 1/B for every sample,
// the dropped term is (1/B) Σ_b ∂ln p_θ(x_b)/∂θ, whose expectation under the
// flow is zero: the estimate has the expectation of Gradient's, and a
// variance that vanishes as the flow approaches the target, where
// ∇ln p = ∇ln q̃ at every sample. Gradient's estimate keeps the dropped
// term's variance at the optimum. For a loss whose ∂L/∂logp_b differs
// between samples, PathGradient does not estimate the loss's gradient.
//
// The estimate needs the score s = ∇_x ln p(x_T) of every sample. The
// forward pass integrates it with the same RK4 steps as x, along the
// trajectory:
//
//	ds/dt = −∇²φ(x) s − ∇(∇²φ)(x),   s(0) = ∇ln p₀(z) = −z,
//
// where ∇²φ(x) s is the Hessian of φ applied to s; both terms come from one
// GradLaplacianVJP(x_i, λ = s_i, μ = 1) per stage (the Hessian is
// symmetric), three products for a Shallow potential with its memo. The
// backward pass is Gradient's with the adjoint ∂L/∂y_b + (∂L/∂logp_b)·s_b
// of the end state and none of ℓ. The integrated score is the gradient of
// the integrated log-density to O(ε⁴), as ℓ is the log-determinant of the
// discrete map. PathGradient returns the loss; Score returns s afterwards.
func (f *Flow) PathGradient(dparams []float64, z *mat.Dense, loss Loss) float64 {
	return f.gradient(dparams, nil, z, Sampling, loss, true)
}

// Score returns the scores ∇_x ln p(x_T) of the samples of the last call of
// PathGradient, one row per sample, or nil if the last call was Gradient's.
// The matrix aliases a workspace and is overwritten by the next call.
func (f *Flow) Score() *mat.Dense {
	if !f.grad.scoreValid {
		return nil
	}
	return f.grad.score
}

// ensureScore sizes the workspaces of the score for the batch of ensure.
func (g *gradWork) ensureScore() {
	B, n := g.b, g.n
	g.score = reuseDense(g.score, B, n)
	g.sacc = reuseDense(g.sacc, B, n)
	g.sstage = reuseDense(g.sstage, B, n)
	g.srate = reuseDense(g.srate, B, n)
	g.ones = reuse(g.ones, B)
	for b := range g.ones {
		g.ones[b] = 1
	}
}

// scoreStep advances the score through one RK4 step of signed size eps
// whose four stage inputs x_i are tape[i] (and their memos memo[i], if any):
// the stage rates are k_i = −(∇²φ(x_i) s_i + ∇(∇²φ)(x_i)) at the stage
// inputs s_1 = s, s_{i+1} = s + c_{i+1} ε k_i, and s' = s + ε Σ b_i k_i.
func (g *gradWork) scoreStep(p Potential, eps float64, tape []*mat.Dense, memo [][]float64) {
	g.cur.eps = eps
	for i := range 4 {
		in := g.sstage
		if i == 0 {
			in = g.score
		}
		var m []float64
		if memo != nil {
			m = memo[i]
		}
		g.srate.Zero()
		gradLaplacianVJPWith(p, g.srate, nil, tape[i], in, g.ones, m)
		g.cur.i = i
		parallel.For(g.b, g.n, g.scoreFn)
	}
}

// scorePass is the elementwise part of stage cur.i of scoreStep on rows
// [lo, hi); srate holds −k_i.
func (g *gradWork) scorePass(lo, hi int) {
	n, i, eps := g.n, g.cur.i, g.cur.eps
	bi := rk4B[i]
	var cn float64
	if i < 3 {
		cn = rk4C[i+1] * eps
	}
	s, acc := g.score.RawMatrix().Data, g.sacc.RawMatrix().Data
	next, rate := g.sstage.RawMatrix().Data, g.srate.RawMatrix().Data
	for j := lo * n; j < hi*n; j++ {
		k := -rate[j]
		switch i {
		case 0:
			acc[j] = bi * k
			next[j] = s[j] + cn*k
		case 1, 2:
			acc[j] += bi * k
			next[j] = s[j] + cn*k
		case 3:
			s[j] += eps * (acc[j] + bi*k)
		}
	}
}
