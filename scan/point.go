package scan

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"gonum.org/v1/gonum/mat"

	"github.com/isingflow/isingflow/flow"
	"github.com/isingflow/isingflow/internal/provenance"
	"github.com/isingflow/isingflow/model"
	"github.com/isingflow/isingflow/observables"
	"github.com/isingflow/isingflow/stats"
	"github.com/isingflow/isingflow/train"
	"github.com/isingflow/isingflow/vmc"
)

// Evaluation are the settings of the evaluation of a trained flow (in a
// Plan's JSON, the object "evaluation").
type Evaluation struct {
	Samples int    `json:"samples"`         // independent samples for the importance-weighted estimates
	MCMC    int    `json:"mcmc"`            // proposals of flow-MCMC; 0 runs no chain
	Seed    uint64 `json:"seed"`            // seed of the samples
	Batch   int    `json:"batch,omitempty"` // samples drawn per batch (0: observables.DefaultBatch)
	// LogDetCheck, when positive, compares on this many samples the
	// log-density of the integrated Laplacian with the exact log-density of
	// the discrete RK4 map (flow.Flow.LogDetGap; costly: about N training
	// steps per sample).
	LogDetCheck int `json:"logdet_check,omitempty"`
	// Discretisation, when positive, estimates on this many samples of
	// their own the RK4 error of ln p per site (flow.Flow.LogDensityError:
	// four integrations of each sample, with ε and ε/2), records it in the
	// estimates and folds it into the error of f where it is not
	// negligible, with a warning where it biases f
	// (observables.IsingEstimates.SetLogDensityDiscretisation). It is
	// skipped for the random potential, whose integrations back draw anew.
	// (A plan written before it existed reads 0: no estimate.)
	Discretisation int `json:"discretisation_samples,omitempty"`
	// Progress, when not nil, is told how many samples are done.
	Progress func(done, total int) `json:"-"`
}

// DefaultEvaluation is the evaluation of isingflow train: 10 000 samples
// of seed 2 in batches of 512, no chain, no log-determinant check, the
// integrator's error of ln p estimated on DefaultDiscretisationSamples.
func DefaultEvaluation() Evaluation {
	return Evaluation{Samples: 10000, Seed: 2, Batch: 512, Discretisation: DefaultDiscretisationSamples}
}

// DefaultDiscretisationSamples is the default number of samples of the
// estimate of the integrator's error of ln p (Evaluation.Discretisation):
// four integrations each, about a tenth of the cost of the default
// evaluation, and an error of about 10⁻⁵ per site at L = 16.
const DefaultDiscretisationSamples = 256

// Validate checks the settings; its errors name the command-line flags.
func (e *Evaluation) Validate() error {
	switch {
	case e.Samples < 2:
		return fmt.Errorf("--samples %d: need at least 2", e.Samples)
	case e.MCMC < 0 || e.MCMC == 1:
		return fmt.Errorf("--mcmc %d: need 0 (no chain) or at least 2 proposals", e.MCMC)
	case e.Batch < 0:
		return fmt.Errorf("--eval-batch %d: must be positive", e.Batch)
	case e.LogDetCheck < 0 || e.LogDetCheck == 1:
		return fmt.Errorf("--logdet-check %d: need 0 (no check) or at least 2 samples", e.LogDetCheck)
	case e.Discretisation < 0 || e.Discretisation == 1:
		return fmt.Errorf("--discretisation-samples %d: need 0 (no estimate) or at least 2 samples", e.Discretisation)
	}
	return nil
}

// Evaluate draws the evaluation samples of the model's flow and returns
// the estimates of the Ising observables, and the log-determinant gap per
// site when e.LogDetCheck asks for it (nil otherwise). Every draw has its
// own stream, so an evaluation does not depend on what came before.
func Evaluate(m *model.Model, e Evaluation) (*observables.IsingEstimates, *stats.Estimate, error) {
	if err := e.Validate(); err != nil {
		return nil, nil, err
	}
	m.Reseed(model.StreamEvaluation)
	est, err := observables.SampleIsing(m.Flow, m.Target, observables.SampleOptions{
		Samples: e.Samples, Batch: e.Batch, MCMC: e.MCMC, Seed: e.Seed, Progress: e.Progress,
	})
	if err != nil {
		return nil, nil, err
	}
	if e.Discretisation > 0 && m.Config.Potential != model.PotentialRandom {
		d, err := LogDensityDiscretisation(m.Flow, e.Discretisation, e.Seed)
		if err != nil {
			return nil, nil, err
		}
		est.SetLogDensityDiscretisation(d, m.Config.T)
	}
	if e.LogDetCheck == 0 {
		return &est, nil, nil
	}
	m.Reseed(model.StreamLogDetGap)
	n := m.Lattice.N()
	z := mat.NewDense(e.LogDetCheck, n, nil)
	rng := rand.New(rand.NewPCG(e.Seed, 0x109de7))
	for i := range e.LogDetCheck {
		for j := range n {
			z.Set(i, j, rng.NormFloat64())
		}
	}
	gap := make([]float64, e.LogDetCheck)
	m.Flow.LogDetGap(gap, z, flow.Sampling)
	for i := range gap {
		gap[i] /= float64(n)
	}
	g := stats.MeanErr(gap)
	return &est, &g, nil
}

// LogDensityDiscretisation estimates the RK4 error of the log-density per
// site that the flow reports, (ln p_ε − ln p)/N, on samples latent samples
// of their own stream of seed (flow.Flow.LogDensityError, Richardson's
// extrapolation of ε against ε/2), as a mean with its standard error.
func LogDensityDiscretisation(f *flow.Flow, samples int, seed uint64) (stats.Estimate, error) {
	n := f.Dim()
	rng := rand.New(rand.NewPCG(seed, 0xd15c7e7e))
	d := make([]float64, 0, samples)
	const batch = 128
	for done := 0; done < samples; done += batch {
		b := min(batch, samples-done)
		z := mat.NewDense(b, n, nil)
		for i := range b {
			for j := range n {
				z.Set(i, j, rng.NormFloat64())
			}
		}
		part := make([]float64, b)
		if err := f.LogDensityError(part, z); err != nil {
			return stats.Estimate{}, err
		}
		for _, v := range part {
			d = append(d, v/float64(n))
		}
	}
	return stats.MeanErr(d), nil
}

// NewResult returns the result of the model's flow with the estimates est
// of an evaluation of seed evalSeed: the exact values beside them, the KL
// per site where the exact free energy is known, and the provenance.
func NewResult(m *model.Model, t model.Training, est *observables.IsingEstimates, evalSeed uint64) (*Result, error) {
	x, err := NewExact(m.Lattice, m.Config.T, m.Config.Delta)
	if err != nil {
		return nil, err
	}
	if x.LnZPerSite != nil {
		est.SetExactLnZPerSite(*x.LnZPerSite)
	}
	return &Result{
		Config: m.Config, Training: t, Exact: x, Estimates: est, EvalSeed: evalSeed,
		PlannedSteps: t.Iterations, Provenance: provenance.Collect(nil),
	}, nil
}

// Options are the settings of Point besides the run's configuration.
type Options struct {
	Dir    string // the run directory
	Resume bool   // continue the run in Dir from its checkpoint
	// CheckpointEvery and Duration are those of model.TrainOptions.
	CheckpointEvery int
	Duration        time.Duration
	Evaluation      Evaluation
	// Init, when not nil, replaces the initial parameters of a new run (a
	// warm start from a trained flow of the same model), that of the
	// temperature WarmStartT.
	Init       []float64
	WarmStartT *float64
	// InitFrom, when not empty and Init is nil, is a run directory whose
	// trained flow starts a new run (Model.TransferFrom: another
	// temperature, or another lattice size with the multiscale potential).
	InitFrom string
	// CommandLine is recorded in the provenance of result.json and
	// config.json.
	CommandLine []string

	// Hooks for progress reports, each optional: Started sees the run
	// before training, Record every step, Trained the end of training
	// (before the evaluation).
	Started func(*model.Run)
	Record  func(vmc.Record) error
	Trained func(*train.Result)
}

// initialise sets the initial parameters of a new run's model from Init
// or InitFrom, if either is set.
func (opt *Options) initialise(m *model.Model) error {
	switch {
	case opt.Init != nil:
		p := m.Flow.Potential.Params()
		if len(opt.Init) != len(p) {
			return fmt.Errorf("scan: %d initial parameters for a model of %d", len(opt.Init), len(p))
		}
		copy(p, opt.Init)
	case opt.InitFrom != "":
		src, err := model.Load(opt.InitFrom)
		if err != nil {
			return fmt.Errorf("--init-from: %w", err)
		}
		if err := m.TransferFrom(src.Model); err != nil {
			return fmt.Errorf("--init-from %s: %w", opt.InitFrom, err)
		}
	}
	return nil
}

// ConfigError is an error of Point that comes from the configuration or
// the run directory rather than from the computation.
type ConfigError struct{ Err error }

func (e *ConfigError) Error() string { return e.Err.Error() }
func (e *ConfigError) Unwrap() error { return e.Err }

// Point makes one run: it creates the run directory (or resumes it),
// trains the model to its iterations, the time limit or the end of ctx
// (a signal: the run stops with a checkpoint and is evaluated all the
// same), evaluates the trained flow, and writes result.json.
func Point(ctx context.Context, rc model.RunConfig, opt Options) (*Result, error) {
	var r *model.Run
	var err error
	prov := provenance.Collect(opt.CommandLine)
	rc.Provenance = &prov
	if opt.Init == nil && !opt.Resume {
		rc.InitFrom = opt.InitFrom
	}
	if opt.Resume {
		r, err = model.Resume(opt.Dir, rc)
	} else {
		r, err = model.CreateWith(opt.Dir, rc, opt.initialise)
	}
	if err != nil {
		return nil, &ConfigError{err}
	}
	defer r.Close()
	if opt.Started != nil {
		opt.Started(r)
	}
	tres, err := r.Train(ctx, model.TrainOptions{CheckpointEvery: opt.CheckpointEvery, Duration: opt.Duration, Record: opt.Record})
	if err != nil {
		return nil, err
	}
	if opt.Trained != nil {
		opt.Trained(tres)
	}
	est, gap, err := Evaluate(r.Model, opt.Evaluation)
	if err != nil {
		return nil, err
	}
	res, err := NewResult(r.Model, r.Config.Training, est, opt.Evaluation.Seed)
	if err != nil {
		return nil, err
	}
	res.Steps, res.FirstStep, res.Seconds = tres.Steps, tres.FirstStep, tres.Seconds
	res.PlannedSteps, res.Fit, res.Refit = tres.Planned, tres.Fit, tres.Refit
	res.Stop = tres.Status.String()
	res.LogDetGap = gap
	res.WarmStartT = opt.WarmStartT
	res.InitFrom = r.Config.InitFrom
	res.Provenance.CommandLine = opt.CommandLine
	res.Params = slices.Clone(r.Model.Flow.Potential.Params())
	if err := WriteResult(opt.Dir, res); err != nil {
		return nil, err
	}
	return res, nil
}
