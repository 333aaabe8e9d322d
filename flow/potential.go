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
