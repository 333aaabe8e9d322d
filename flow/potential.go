package flow

import "gonum.org/v1/gonum/mat"

// Potential is a learnable scalar potential φ: R^N → R evaluated on batches.
// A batch is a B×N *mat.Dense with one sample per row. The velocity of the
// Monge-Ampère flow is ∇φ and the log-density changes at the rate −∇²φ, so
// a Potential provides the gradient and the Laplacian together, and the
// vector-Jacobian product of that pair with respect to both the input and
// the parameters, which is all that exact backpropagation through an ODE
// integrator needs.
//
// A Potential keeps workspaces between calls and is not safe for concurrent
// use; it parallelises each call internally.
type Potential interface {
	// Dim returns the dimension N of the input.
	Dim() int

	// Params returns all parameters as one flat vector. The slice aliases the
	// potential's storage: writing to it between two calls changes the
	// potential from the next call on (a potential that caches quantities
	// derived from its parameters recomputes them, except while they are
	// held; see ParamHolder). Its length and layout never change; its
	// storage changes only when the potential is bound (see ParamBinder).
	Params() []float64

	// Value writes φ(x_b) into dst[b] for every row x_b of x.
	Value(dst []float64, x *mat.Dense)

	// GradLaplacian writes ∇φ(x_b) into row b of grad (B×N) and ∇²φ(x_b)
	// into lap[b].
	GradLaplacian(grad *mat.Dense, lap []float64, x *mat.Dense)

	// GradLaplacianVJP back-propagates through GradLaplacian at x: given the
	// adjoints lambda (B×N) of ∇φ and mu (length B) of ∇²φ, it ADDS
	//
	//	Σ_b [ λ_b · ∂∇φ(x_b)/∂θ + μ_b ∂∇²φ(x_b)/∂θ ]   to dparams (length len(Params())),
	//	λ_b · ∂∇φ(x_b)/∂x_b + μ_b ∂∇²φ(x_b)/∂x_b       to row b of dx (B×N).
	//
	// Either destination may be nil, and then it is not computed.
	GradLaplacianVJP(dx *mat.Dense, dparams []float64, x, lambda *mat.Dense, mu []float64)
}

// MemoPotential is a Potential that can keep, while Flow.Gradient
// integrates forward, the intermediate values its vector-Jacobian product
// needs, so that the backward pass reads them instead of recomputing them:
// for a Shallow potential the exponential behind σ' and σ” of every hidden
// unit, which saves one GEMM of five and every exponential of the adjoint. Flow.Gradient uses the
// memo whenever its potential provides one; the results agree with the
// plain methods to rounding.
type MemoPotential interface {
	Potential
	// MemoLen returns the length of the memo of a batch of B rows (0 when
	// the potential keeps nothing).
	MemoLen(B int) int
	// GradLaplacianMemo is GradLaplacian that also writes the memo of x
	// into memo (length MemoLen(B)).
	GradLaplacianMemo(grad *mat.Dense, lap []float64, x *mat.Dense, memo []float64)
	// GradLaplacianVJPMemo is GradLaplacianVJP at an x whose memo
	// GradLaplacianMemo wrote, the parameters unchanged since.
	GradLaplacianVJPMemo(dx *mat.Dense, dparams []float64, x, lambda *mat.Dense, mu []float64, memo []float64)
}

// gradLaplacianWith evaluates p at x, through GradLaplacianMemo with the
// first MemoLen(B) entries of memo when p is a MemoPotential and memo is
// not nil, through GradLaplacian otherwise. It returns the rest of memo, for
// containers that lay their parts' memos one after the other.
func gradLaplacianWith(p Potential, grad *mat.Dense, lap []float64, x *mat.Dense, memo []float64) (rest []float64) {
	if mp, ok := p.(MemoPotential); ok && memo != nil {
		B, _ := x.Dims()
		m := mp.MemoLen(B)
		mp.GradLaplacianMemo(grad, lap, x, memo[:m])
		return memo[m:]
	}
	p.GradLaplacian(grad, lap, x)
	return memo
}

// gradLaplacianVJPWith is gradLaplacianWith for the vector-Jacobian
// product, reading the memo gradLaplacianWith wrote.
func gradLaplacianVJPWith(p Potential, dx *mat.Dense, dparams []float64, x, lambda *mat.Dense, mu []float64, memo []float64) (rest []float64) {
	if mp, ok := p.(MemoPotential); ok && memo != nil {
		B, _ := x.Dims()
		m := mp.MemoLen(B)
		mp.GradLaplacianVJPMemo(dx, dparams, x, lambda, mu, memo[:m])
		return memo[m:]
	}
	p.GradLaplacianVJP(dx, dparams, x, lambda, mu)
	return memo
}
