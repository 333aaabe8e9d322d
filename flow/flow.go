package flow

import (
	"fmt"
	"math"
	"math/rand/v2"

	"gonum.org/v1/gonum/mat"
)

// Direction is the direction of integration of the flow.
type Direction int

const (
	// Sampling integrates dx/dt = +∇φ from the latent z to the sample x_T.
	Sampling Direction = iota
	// Density integrates dx/dτ = −∇φ from a data point x to its latent z.
	Density
)

// String returns "sampling" or "density".
func (d Direction) String() string {
	switch d {
	case Sampling:
		return "sampling"
	case Density:
		return "density"
	}
	return fmt.Sprintf("Direction(%d)", int(d))
}

// sign returns +1 for Sampling and −1 for Density; it panics otherwise.
func (d Direction) sign() float64 {
	switch d {
	case Sampling:
		return 1
	case Density:
		return -1
	}
	panic(fmt.Sprintf("flow: unknown direction %d", int(d)))
}

// ln2Pi is ln 2π.
var ln2Pi = math.Log(2 * math.Pi)

// BaseLogDensity returns ln p₀(z) = −½|z|² − (N/2) ln 2π, the log-density of
// the standard normal base distribution at z ∈ R^N.
func BaseLogDensity(z []float64) float64 {
	var s float64
	for _, v := range z {
		s += v * v
	}
	return -0.5*s - 0.5*float64(len(z))*ln2Pi
}

// Flow is the Monge-Ampère flow of a potential, integrated with the
// paper's fixed-step RK4 scheme: Steps steps of size StepSize, so the flow
// time is T = Steps·StepSize. Samples are x_T for z ~ N(0, I) with
// ln p(x_T) = ln p₀(z) − ℓ_T; the density of a point x comes from
// integrating back to z (see the package documentation).
//
// The potential may depend on time piecewise constantly (TimeDependent,
// for example a Piecewise): every method below then selects, before each
// RK4 step, the interval that step lies in.
//
// The fixed-step scheme defines the model: it is the discrete map that
// Gradient and PathGradient differentiate and that the diagnostics
// (RoundTripError, LogDetGap, DiscretisationError) examine. Forward,
// Backward, Sample and LogDensity integrate the same ODE over the same time
// T with Integrator when it is set (for evaluation and for measuring the
// discretisation error), and with the fixed-step scheme when it is nil.
// They return an error if the settings are invalid or the integrator fails
// (never for the fixed-step scheme with valid settings); LastStats reports
// the work of the last of them.
//
// A Flow keeps workspaces sized for the last batch and allocates nothing
// in steady state with the fixed-step scheme (see Gradient for the memory
// of its tape). The fields may be changed between calls. A Flow is not
// safe for concurrent use, nor is its Potential or Integrator.
type Flow struct {
	Potential Potential // the potential φ
	Steps     int       // number of RK4 steps, at least one
	StepSize  float64   // RK4 step size ε > 0

	// KineticWeight is the weight w of the transport cost in the objective
	// of Gradient: J = loss + w·(1/B) Σ_b ½∫|∇φ(x_b(t))|² dt. At zero (the
	// default) the transport cost is neither computed nor differentiated.
	KineticWeight float64

	// Integrator, when not nil, integrates Forward, Backward, Sample and
	// LogDensity over the flow time T (for a TimeDependent potential, over
	// each of its K intervals of T/K in turn), for example one chosen by
	// name with NewIntegrator. nil, the default, is the fixed-step scheme
	// of Steps and StepSize. Gradient, PathGradient and the diagnostics
	// always use the fixed-step scheme.
	Integrator Integrator

	rk   rk4Work
	ell  []float64  // integrated Laplacian, one per sample
	tmp  *mat.Dense // B×N copy of the state (LogDensity, diagnostics)
	grad gradWork
	last Stats // of the last Forward, Backward, Sample or LogDensity
}

// New returns a Flow of the potential p with the given number of RK4 steps
// and step size, or an error if they are invalid (see Validate).
func New(p Potential, steps int, stepSize float64) (*Flow, error) {
	f := &Flow{Potential: p, Steps: steps, StepSize: stepSize}
	if err := f.Validate(); err != nil {
		return nil, err
	}
	return f, nil
}

// Validate reports whether the flow's settings are usable: a potential,
// at least one step, a positive finite step size and a finite kinetic
// weight; for a TimeDependent potential, a number of steps that its K time
// intervals divide.
func (f *Flow) Validate() error {
	switch {
	case f.Potential == nil:
		return fmt.Errorf("flow: nil potential")
	case f.Potential.Dim() < 1:
		return fmt.Errorf("flow: potential dimension %d", f.Potential.Dim())
	case f.Steps < 1:
		return fmt.Errorf("flow: %d steps, want at least one", f.Steps)
	case !(f.StepSize > 0) || math.IsInf(f.StepSize, 0):
		return fmt.Errorf("flow: step size %v, want positive and finite", f.StepSize)
	case math.IsNaN(f.KineticWeight) || math.IsInf(f.KineticWeight, 0):
		return fmt.Errorf("flow: kinetic weight %v, want finite", f.KineticWeight)
	}
	if td, ok := f.Potential.(TimeDependent); ok {
		if K := td.Intervals(); K < 1 || f.Steps%K != 0 {
			return fmt.Errorf("flow: %d steps do not split evenly into the potential's %d time intervals", f.Steps, K)
		}
	}
	return nil
}

// selectStep selects, for a TimeDependent potential, the time interval of
// the s-th step taken in direction dir: the sampling direction takes the
// steps of the flow time in order, the density direction in reverse. For a
// time-independent potential it does nothing.
func (f *Flow) selectStep(s int, dir Direction) {
	td, ok := f.Potential.(TimeDependent)
	if !ok {
		return
	}
	if dir == Density {
		s = f.Steps - 1 - s
	}
	td.SetInterval(s / (f.Steps / td.Intervals()))
}

func (f *Flow) mustValidate() {
	if err := f.Validate(); err != nil {
		panic(err)
	}
}

// Duration returns the flow time T = Steps·StepSize.
func (f *Flow) Duration() float64 { return float64(f.Steps) * f.StepSize }

// Dim returns the dimension N of the samples.
func (f *Flow) Dim() int { return f.Potential.Dim() }

// Forward pushes each row z_b of z through the flow, writing x_T into row
// b of x and ln p(x_T) = ln p₀(z_b) − ℓ_T into logp[b] (logp may be nil).
// x and z may be the same matrix. It integrates with the flow's Integrator,
// or the fixed-step scheme when that is nil, and returns an error if the
// flow is invalid or the integrator fails, leaving x and logp unspecified.
// It panics if the shapes disagree.
func (f *Flow) Forward(x *mat.Dense, logp []float64, z *mat.Dense) error {
	return f.run(x, logp, z, Sampling)
}

// Backward pulls each row x_b of x back through the flow, writing its
// latent z into row b of z and the model log-density
// ln p(x_b) = ln p₀(z) − ℓ into logp[b] (logp may be nil). z and x may be
// the same matrix. Integrator and errors are as for Forward.
func (f *Flow) Backward(z *mat.Dense, logp []float64, x *mat.Dense) error {
	return f.run(z, logp, x, Density)
}

// Sample draws x.Rows() independent samples of the model: z ~ N(0, I) from
// rng, row by row, pushed forward into x (as Forward), with their
// log-densities in logp (which may be nil).
func (f *Flow) Sample(x *mat.Dense, logp []float64, rng *rand.Rand) error {
	f.last = Stats{}
	if err := f.Validate(); err != nil {
		return err // before drawing from rng
	}
	fillNormal(x, rng)
	return f.run(x, logp, x, Sampling)
}

// LogDensity writes the model log-density ln p(x_b) of every row x_b of x
// into logp, integrating backwards as Backward does; x is not modified. It
// panics if logp is nil.
func (f *Flow) LogDensity(logp []float64, x *mat.Dense) error {
	if logp == nil {
		panic("flow: LogDensity: nil logp")
	}
	f.ensureTmp(x.Dims())
	return f.run(f.tmp, logp, x, Density)
}

// LastStats returns the work of the last call of Forward, Backward, Sample
// or LogDensity: the steps taken, rejected and the batched potential
// evaluations, summed over the intervals of a TimeDependent potential, up
// to the failure when it failed (zero when the settings were invalid). For
// the fixed-step scheme they are Steps steps and 4·Steps evaluations.
func (f *Flow) LastStats() Stats { return f.last }

// run validates the flow and integrates src into dst in direction dir with
// the flow's Integrator, recording the statistics.
func (f *Flow) run(dst *mat.Dense, logp []float64, src *mat.Dense, dir Direction) error {
	f.last = Stats{}
	if err := f.Validate(); err != nil {
		return err
	}
	var err error
	f.last, err = f.integrate(f.Integrator, dst, logp, src, dir)
	return err
}

func fillNormal(x *mat.Dense, rng *rand.Rand) {
	raw := x.RawMatrix()
	for r := range raw.Rows {
		for k := range raw.Cols {
			raw.Data[r*raw.Stride+k] = rng.NormFloat64()
		}
	}
}

func (f *Flow) ensureTmp(B, n int) {
	f.tmp = reuseDense(f.tmp, B, n)
}

func (f *Flow) ensureEll(B int) []float64 {
	if cap(f.ell) < B {
		f.ell = make([]float64, B)
	}
	f.ell = f.ell[:B]
	clear(f.ell)
	return f.ell
}

// integrate copies src into dst and integrates it in direction dir with ig,
// or with the fixed-step RK4 scheme when ig is nil, and writes ln p of the
// data-space point into logp.
func (f *Flow) integrate(ig Integrator, dst *mat.Dense, logp []float64, src *mat.Dense, dir Direction) (Stats, error) {
	n := f.Potential.Dim()
	B, c := src.Dims()
	if c != n {
		panic(fmt.Sprintf("flow: %s: input has %d columns, want %d", dir, c, n))
	}
	if r, c := dst.Dims(); r != B || c != n {
		panic(fmt.Sprintf("flow: %s: destination is %d×%d, want %d×%d", dir, r, c, B, n))
	}
	if logp != nil && len(logp) != B {
		panic(fmt.Sprintf("flow: %s: len(logp) = %d, want %d", dir, len(logp), B))
	}
	if logp != nil && dir == Sampling {
		for b := range B {
			logp[b] = BaseLogDensity(src.RawRowView(b))
		}
	}
	if dst != src {
		dst.Copy(src)
	}
	HoldParams(f.Potential, true)
	defer HoldParams(f.Potential, false)
	ell := f.ensureEll(B)
	var st Stats
	if ig == nil {
		f.rk.ensure(B, n)
		eps := dir.sign() * f.StepSize
		for s := range f.Steps {
			f.selectStep(s, dir)
			f.rk.step(f.Potential, dst, ell, nil, eps, nil, nil)
		}
		st = Stats{Steps: f.Steps, Evaluations: 4 * f.Steps}
	} else {
		// A time-dependent potential is integrated interval by interval,
		// in the order of the direction, each over its own span.
		td, _ := f.Potential.(TimeDependent)
		K := 1
		if td != nil {
			K = td.Intervals()
		}
		span := dir.sign() * float64(f.Steps/K) * f.StepSize
		for j := range K {
			if td != nil {
				k := j
				if dir == Density {
					k = K - 1 - j
				}
				td.SetInterval(k)
			}
			sj, err := ig.Integrate(f.Potential, dst, ell, nil, span)
			st.Add(sj)
			if err != nil {
				return st, err
			}
		}
	}
	if logp != nil {
		for b := range B {
			if dir == Density {
				logp[b] = BaseLogDensity(dst.RawRowView(b))
			}
			logp[b] -= ell[b]
		}
	}
	return st, nil
}
