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
	// potential's storage: writing to it changes the potential. Its length
	// and layout never change.
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

// binder is implemented by the package's potentials whose parameters can
// move into storage their container provides, so that a Sum or Piecewise
// shares its terms' parameters instead of copying them into the terms at
// every call (for a Shallow potential at N = 256, H = 512 a megabyte per
// call). bindParams copies the current parameters into p (of length
// len(Params())) and makes Params alias p from then on.
type binder interface {
	bindParams(p []float64)
}

// holder is implemented by the package's potentials that cache quantities
// derived from their parameters (Shallow: the row norms |a_j|²) while their
// caller guarantees that the parameters do not change: from holdParams(true)
// to holdParams(false). Flow holds the parameters for the length of one
// integration or one Gradient, which then computes the norms once instead of
// at every one of its 8·Steps potential calls. A potential used on its own is
// never held and recomputes them at every call.
type holder interface {
	holdParams(hold bool)
}

// holdParams holds (or releases) the parameters of p if it is a holder, or
// of the potential it wraps (see Wrapper).
func holdParams(p Potential, hold bool) {
	switch q := p.(type) {
	case holder:
		q.holdParams(hold)
	case Wrapper:
		holdParams(q.Inner(), hold)
	}
}

// Wrapper is implemented by potentials that evaluate another potential,
// the inner one, on transformed inputs and whose parameters are exactly the
// inner potential's (symmetry.Random, symmetry.Average). Sum and Piecewise
// share a wrapped Shallow's parameter storage through it, and Flow holds its
// parameters for the length of a call, as for an unwrapped one.
type Wrapper interface {
	Potential
	Inner() Potential
}

// unwrap returns the innermost potential of a chain of Wrappers.
func unwrap(p Potential) Potential {
	for {
		w, ok := p.(Wrapper)
		if !ok {
			return p
		}
		p = w.Inner()
	}
}

// bindTerms binds each term that is a binder to its part
// params[offs[k]:offs[k+1]] and reports which ones it bound.
func bindTerms(terms []Potential, params []float64, offs []int) []bool {
	bound := make([]bool, len(terms))
	for k, t := range terms {
		in := unwrap(t)
		if b, ok := in.(binder); ok && len(in.Params()) == len(t.Params()) {
			b.bindParams(params[offs[k]:offs[k+1]:offs[k+1]])
			bound[k] = true
		}
	}
	return bound
}
