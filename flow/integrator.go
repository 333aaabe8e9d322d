package flow

import (
	"fmt"
	"slices"
	"strings"

	"gonum.org/v1/gonum/mat"
)

// Integrator integrates the Monge-Ampère flow of a potential on a batch.
// A Flow integrates with the one in its Integrator field, or with its own
// fixed-step RK4 scheme when that is nil; an Integrator can also be called
// directly.
//
// Integrate advances every row x_b of x, in place, through the time span
// |t| of
//
//	dx/dτ = sign(t) ∇φ(x),   dℓ/dτ = ∇²φ(x),   dκ/dτ = ½|∇φ(x)|²,
//
// ADDING ∫∇²φ dτ to ell[b] and, when kin is not nil, the transport cost
// ½∫|∇φ|² dτ to kin[b]. Both integrals are taken over τ ∈ [0, |t|] with a
// positive measure, whatever the sign of t: t > 0 is the sampling direction
// z → x, t < 0 the density direction x → z. x may be any *mat.Dense
// (views included). Integrate panics if the shapes disagree with
// p.Dim() and x.Rows(); it returns an error if its settings are invalid or
// it fails (an adaptive method exceeding its step budget), leaving x, ell and
// kin in an unspecified state.
//
// A TimeDependent potential is integrated as the time-independent piece it
// has selected; Flow splits the flow time at its interval boundaries.
//
// Implementations keep workspaces between calls and are not safe for
// concurrent use.
type Integrator interface {
	Integrate(p Potential, x *mat.Dense, ell, kin []float64, t float64) (Stats, error)
}

// Stats reports the work of one integration.
type Stats struct {
	Steps       int // accepted steps
	Rejected    int // rejected steps (adaptive methods only)
	Evaluations int // batched GradLaplacian calls
}

// Add adds the counts of t to s, for totals over several integrations.
func (s *Stats) Add(t Stats) {
	s.Steps += t.Steps
	s.Rejected += t.Rejected
	s.Evaluations += t.Evaluations
}

// IntegratorOptions are the settings of an integrator chosen by name with
// NewIntegrator, as the options of torchdiffeq's odeint. Each method reads
// the ones it uses and ignores the others; zero selects a method's
// default.
type IntegratorOptions struct {
	// Steps is the number of RK4 steps over each integration span ("rk4";
	// required, at least one): a Flow with this integrator takes Steps
	// steps over its flow time T, or over each of the K intervals of a
	// TimeDependent potential. Even with the flow's own number of steps
	// their size differs from StepSize by rounding; the fixed-step scheme
	// itself is a Flow's nil Integrator.
	Steps int

	RTol        float64 // relative tolerance ("dopri5"); 0 means DefaultRTol
	ATol        float64 // absolute tolerance ("dopri5"); 0 means DefaultATol
	MaxSteps    int     // bound on accepted plus rejected steps ("dopri5"); 0 means DefaultMaxSteps
	InitialStep float64 // first step size ("dopri5"); 0 chooses it automatically
}

// integratorMethods are the names NewIntegrator accepts, in the order of
// IntegratorMethods.
var integratorMethods = []string{"rk4", "dopri5"}

// IntegratorMethods returns the names of the integrators NewIntegrator
// provides: "rk4" (RK4) and "dopri5" (Dopri5).
func IntegratorMethods() []string { return slices.Clone(integratorMethods) }

// NewIntegrator returns the integrator named method (case-insensitive), as
// torchdiffeq's odeint(f, y0, t, method=…, options=…) names them: "rk4",
// an RK4 with opt.Steps steps over each span, or "dopri5", a Dopri5 with
// opt's tolerances, step budget and first step. It returns an error for an
// unknown name or invalid settings.
func NewIntegrator(method string, opt IntegratorOptions) (Integrator, error) {
	switch strings.ToLower(method) {
	case "rk4":
		r := &RK4{Steps: opt.Steps}
		if err := r.check(); err != nil {
			return nil, err
		}
		return r, nil
	case "dopri5":
		d := &Dopri5{RTol: opt.RTol, ATol: opt.ATol, MaxSteps: opt.MaxSteps, InitialStep: opt.InitialStep}
		if err := d.check(); err != nil {
			return nil, err
		}
		return d, nil
	}
	return nil, fmt.Errorf("flow: unknown integrator %q (want one of %s)", method, strings.Join(integratorMethods, ", "))
}

// checkState panics if x, ell and kin do not form a state of p's flow and
// returns the batch size.
func checkState(method string, p Potential, x *mat.Dense, ell, kin []float64) int {
	if p == nil {
		panic("flow: " + method + ": nil potential")
	}
	B, n := x.Dims()
	if n != p.Dim() {
		panic(fmt.Sprintf("flow: %s: x has %d columns, want %d", method, n, p.Dim()))
	}
	if len(ell) != B {
		panic(fmt.Sprintf("flow: %s: len(ell) = %d, want %d", method, len(ell), B))
	}
	if kin != nil && len(kin) != B {
		panic(fmt.Sprintf("flow: %s: len(kin) = %d, want %d", method, len(kin), B))
	}
	return B
}
