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
// The model is the fixed-step map: Steps steps of the paper's classical
// Runge-Kutta scheme of size StepSize, T = Steps·StepSize. Gradient and
// PathGradient differentiate exactly that map, and the diagnostics below
// measure its errors. Forward, Backward, Sample and LogDensity integrate
// the same ODE over the same time T, with the fixed-step map when the
// flow's Integrator field is nil (the default) and with that Integrator
// otherwise: an RK4 with another number of steps, or Dopri5, the adaptive
// embedded Dormand-Prince 5(4) pair, for measuring the discretisation error
// of the fixed-step map or evaluating a trained flow more accurately.
// NewIntegrator picks one by name, "rk4" or "dopri5", with its options, as
// torchdiffeq's odeint(f, y0, t, method, options) does:
//
//	f.Integrator, err = flow.NewIntegrator("dopri5", flow.IntegratorOptions{RTol: 1e-8})
//	err = f.LogDensity(logp, x) // adaptive; f.LastStats() counts its steps
//	f.Integrator = nil          // back to the fixed-step map
//
// There is one method per operation, whatever the integrator, and one way
// to choose the integrator.
//
// Errors and statistics. Whether an integration can fail depends on the
// value of the Integrator field, not on the method called, so Forward,
// Backward, Sample and LogDensity all return an error: that of Validate for
// invalid settings, or that of the Integrator (Dopri5 exhausting its step
// budget or meeting a non-finite state). With the fixed-step map and valid
// settings they never fail. The work of the last of them (steps, rejected
// steps, potential evaluations) is LastStats rather than a second result:
// most callers do not need it, and a single error result lets *Flow
// satisfy sampler interfaces such as Sample(x, logp, rng) error. Shape
// mismatches are programming errors and panic. Gradient and PathGradient,
// the training step, are the fixed-step map always: they cannot fail for
// valid settings, return the objective, allocate nothing in steady state,
// and panic on invalid settings as on wrong shapes.
//
// An Integrator can also be called directly (Integrator.Integrate) on a
// state (x, ℓ, κ) and a time span, outside any Flow.
//
// # Gradients
//
// Flow.Gradient differentiates a batch loss of the end state and the model
// log-density exactly through the fixed-step RK4 map (discretise, then
// optimise): the stage inputs of every step are stored on a tape of
// 4·Steps·B·N float64 and the discrete adjoint runs backwards through
// each stage with Potential.GradLaplacianVJP. The result is the exact
// gradient of the discrete objective that Forward evaluates with the
// fixed-step map, not an approximation of the continuous one.
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
// its own error bar; LogDensityError estimates the error of the reported
// ln p cheaply (four integrations of a batch, ε against ε/2), with the
// same mean as LogDetGap to leading order.
//
// # Potentials
//
// The package provides the paper's single-hidden-layer potential
// (Shallow) and a quadratic potential with closed-form flow (Quadratic),
// whose pushforward of N(0, I) is Gaussian and which the tests use as an
// exact solution. On a periodic lattice its translation-invariant form
// CirculantQuadratic has N parameters instead of N², either the kernel
// (NewCirculantQuadratic) or the eigenvalues times a scale γ
// (NewSpectralQuadratic); the two describe the same potentials, but an
// optimiser that scales each parameter separately (Adam) moves one Fourier
// mode's eigenvalue by up to 2N/π times its learning rate per step through
// the kernel, and by about γ times it through the spectrum. From
// CirculantFFTMinSites sites on it applies S̄ and its adjoints through a
// real d-dimensional FFT (O(N log N) a sample, and O(N) memory) instead of
// the dense N×N matrix, so that it serves lattices of any size. Sum adds
// potentials and Piecewise makes one depend on time.
//
// Any type that implements Potential works everywhere a potential of this
// package does: in a Flow, in Gradient's adjoint, in Sum and Piecewise,
// behind a Wrapper. Two optional interfaces, with their contracts in their
// documentation, let such a potential do what the package's own do:
// ParamBinder moves its parameters into a container's storage, so that a
// Sum or Piecewise shares them instead of copying its part in before every
// call, and ParamHolder lets it compute quantities derived from its
// parameters once while a Flow holds them fixed for a call. A potential
// implementing neither is still correct, only copied into and recomputed.
// BindParams and HoldParams apply them (through Wrappers), for containers
// written outside the package. MemoPotential, also optional, keeps
// intermediate values of the forward pass for the adjoint.
//
// A potential's parameters are one flat vector (Params); ParamLayouter,
// optional too, names the arrays in it with their shapes ("shallow/A" of
// shape [H, N], "block3/quadratic/spectrum"), so that checkpoints (package
// train) store each array under its name for NumPy and other readers.
// Layout returns any potential's layout, and ValidateLayout checks one.
//
// # Files
//
// The package keeps integrators, the flow and its adjoint, and the
// potentials apart by file:
//
//	integrator.go  Integrator, Stats, NewIntegrator
//	rk4.go         RK4, the fixed-step stage kernel the flow and its adjoint share
//	dopri.go       Dopri5
//	flow.go        Flow: Forward, Backward, Sample, LogDensity
//	grad.go        Gradient, the discrete adjoint of the fixed-step map
//	pathgrad.go    PathGradient
//	diagnostics.go RoundTripError, LogDetGap, DiscretisationError,
//	               LogDensityError
//	potential.go   Potential, MemoPotential
//	params.go      ParamBinder, ParamHolder, Wrapper, BindParams, HoldParams
//	layout.go      ParamBlock, ParamLayouter, Layout: the parameters' names
//	shallow.go, activation.go, quadratic.go, circulant.go, circulant_fft.go,
//	sum.go, piecewise.go
//	               the potentials
//	precision.go, gemm.go, vec_*.go, exp.go, workspace.go
//	               float32 products, matrix and vector kernels, workspaces
//
// They stay one package because the parts are not independent: the adjoint
// is the exact transpose of the RK4 step, reads the stage inputs the step
// writes on its tape and the memos the potentials write through the step,
// and LogDetGap propagates Jacobians through the same tableau; the
// containers share the potentials' parameter storage. Separate packages
// would have to export these internals (the stage kernel, the tape, the
// memo layout) or duplicate them, for no gain to a user, who sees one
// vocabulary (flow.New, flow.NewShallow, flow.Sum).
package flow
