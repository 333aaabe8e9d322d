// Package flow implements the Monge-Ampère flow (Zhang, E and Wang,
// "Monge-Ampère Flow for Generative Modeling", arXiv:1809.10188): a
// normalising flow whose velocity is the gradient of a learnable scalar
// potential φ, integrated with Runge-Kutta methods on batches.
//
// # Dynamics
//
// A sample z ~ N(0, I) in R^N is transported by
//
//	dx/dt = ∇φ(x),   dℓ/dt = ∇²φ(x),   t ∈ [0, T],
//
// and, by the continuity equation, the log-density of x_T is
//
//	ln p(x_T) = ln p₀(z) − ℓ_T,   ln p₀(z) = −½|z|² − (N/2) ln 2π,
//
// with ℓ_T = ∫₀ᵀ ∇²φ(x_t) dt. The density of a given point x (the negative
// log-likelihood of data) follows by integrating dx/dτ = −∇φ(x) from x for
// the same time T, which reaches z, while accumulating the same integral
// ℓ = ∫₀ᵀ ∇²φ dτ with a positive sign; then again ln p(x) = ln p₀(z) − ℓ.
// Both directions therefore integrate the state (x, ℓ) with
// dx/dτ = s∇φ(x), dℓ/dτ = +∇²φ(x), s = ±1 (Sampling and Density).
// An optional third component κ accumulates the transport cost
// ½∫|∇φ(x_τ)|² dτ, the kinetic energy of the flow.
//
// # Time dependence
//
// The paper's potential is time independent. A potential may also depend on
// time piecewise constantly, φ(x, t) = φ_k(x) on the k-th of K equal
// intervals of [0, T] (the TimeDependent interface; Piecewise holds K
// independent blocks). The fixed-step flow selects the piece before every
// RK4 step, K dividing Steps, so each step is an ordinary step of an
// autonomous field and the map is the composition of K time-independent
// flows; the same integrator, adjoint and diagnostics serve both kinds.
//
// # Integrators
//
// Flow integrates with the paper's fixed-step classical Runge-Kutta scheme
// (Steps steps of size StepSize, T = Steps·StepSize). Any Integrator can be
// used for evaluation through the *With methods: RK4 (a fixed number of
// steps) and Dopri5 (the adaptive embedded Dormand-Prince 5(4) pair, for
// measuring the discretisation error of the fixed-step flow). NewIntegrator
// picks one by name, "rk4" or "dopri5", as torchdiffeq's odeint does.
//
// # Gradients
//
// Flow.Gradient differentiates a batch loss of the end state and the model
// log-density exactly through the fixed-step RK4 map (discretise, then
// optimise): the stage inputs of every step are stored on a tape of
// 4·Steps·B·N float64 and the discrete adjoint runs backwards through
// each stage with Potential.GradLaplacianVJP. The result is the exact
// gradient of the discrete objective that Forward evaluates, not an
// approximation of the continuous one.
//
// Flow.PathGradient is the path-gradient ("sticking the landing") estimator
// of a variational objective E_p[ln p − ln q̃]: it integrates the score
// s = ∇ln p(x) along each trajectory, ds/dt = −∇²φ s − ∇(∇²φ), and
// backpropagates s − ∇ln q̃ through the sample alone, dropping the term
// ∂ln p_θ(x)/∂θ at fixed x, whose mean is zero. Its expectation is
// Gradient's and its variance vanishes as p approaches the target.
//
// # Speed
//
// A training step is a handful of dense matrix products per RK4 stage.
// Shallow splits every call over the cores in two phases: first the hidden
// units, one part per core (the products with Aᵀ, the elementwise pass and
// the matrix adjoint of its units, back to back on that core), then the
// coordinates (the products with A), so that each core packs only its share
// of the weight matrix A, the largest operand;
// MemoPotential keeps σ' and σ” of the forward pass on the tape for the
// adjoint; Flow holds the parameters for the length of a call so that
// quantities derived from them are computed once. With SetPrecision(p,
// Float32) the products run in float32 (sgemm) and everything else stays
// float64: about twice the speed of the products, for training steps; the
// evaluation should stay in Float64.
//
// # Diagnostics
//
// The RK4 map is inverted only approximately by running it backwards, and
// its integrated ℓ equals ln|det ∂x_T/∂z| of the discrete map only up to
// O(ε⁴). RoundTripError, LogDetGap and DiscretisationError measure these
// errors, so that an estimator claiming to be unbiased can compare them with
// its own error bar.
//
// The package also provides the paper's single-hidden-layer potential
// (Shallow) and a quadratic potential with closed-form flow (Quadratic),
// whose pushforward of N(0, I) is Gaussian and which the tests use as an
// exact solution. On a periodic lattice its translation-invariant form
// CirculantQuadratic has N parameters instead of N², either the kernel
// (NewCirculantQuadratic) or the eigenvalues times a scale γ
// (NewSpectralQuadratic); the two describe the same potentials, but an
// optimiser that scales each parameter separately (Adam) moves one Fourier
// mode's eigenvalue by up to 2N/π times its learning rate per step through
// the kernel, and by about γ times it through the spectrum.
package flow
