package vmc

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"

	"gonum.org/v1/gonum/floats"
	"gonum.org/v1/gonum/mat"

	"github.com/isingflow/isingflow/flow"
	"github.com/isingflow/isingflow/ising"
	"github.com/isingflow/isingflow/stats"
	"github.com/isingflow/isingflow/train"
)

// FreeEnergy is the variational objective of the relaxation as a flow.Loss
// in the Sampling direction: for samples y = x_T of the flow with model
// log-density logp,
//
//	L = (1/B) Σ_b [logp_b − ln q̃(y_b)],   ∂L/∂logp_b = 1/B,   ∂L/∂y_b = −∇ln q̃(y_b)/B,
//
// the batch estimate of F_var(cont) = E_p[ln p − ln q̃] ≥ −ln Z_cont. It keeps
// the per-sample values ln p − ln q̃ of the last evaluation (Values) for error
// bars and the effective sample size.
type FreeEnergy struct {
	Target *ising.Relaxation

	lnq    []float64
	values []float64
	grad   *mat.Dense
}

// Loss implements flow.Loss.
func (f *FreeEnergy) Loss(dy *mat.Dense, dlogp []float64, y *mat.Dense, logp []float64) float64 {
	b, n := y.Dims()
	if f.grad == nil || f.grad.RawMatrix().Rows != b {
		f.grad = mat.NewDense(b, n, nil)
		f.lnq = make([]float64, b)
		f.values = make([]float64, b)
	}
	f.Target.LogDensityGrad(f.lnq, f.grad, y)
	inv := 1 / float64(b)
	sum := 0.0
	for i := range b {
		f.values[i] = logp[i] - f.lnq[i]
		sum += f.values[i]
		dlogp[i] = inv
	}
	dy.Scale(-inv, f.grad)
	return sum * inv
}

// Values returns ln p(x_b) − ln q̃(x_b) of every sample of the last
// evaluation (the slice is reused by the next one).
func (f *FreeEnergy) Values() []float64 { return f.values }

// Settings of a training run: the loop's (train.Settings: steps, learning
// rate and schedule, Adam's penalties, time limit, checkpoints) and the
// variational problem's. The zero value of every field but Steps,
// LearningRate and Batch has a sensible meaning. A Trainer reads them at
// every step, so they may change between calls.
type Settings struct {
	train.Settings
	Batch int    // samples per step
	Seed  uint64 // seed of the latent samples z
	// Anneal, when its From is above 1, trains at higher temperatures first.
	Anneal Anneal
	// Data, when not nil, supplies exact samples of the target for the
	// first DataSteps steps, whose gradient then adds DataWeight times the
	// gradient of the negative log-likelihood of a batch of Data (the
	// forward KL divergence up to a constant) to (1 − DataWeight) times
	// that of the variational free energy.
	Data       DataSource
	DataSteps  int
	DataWeight float64
	// PathGradient estimates the gradient of the variational free energy
	// with flow.Flow.PathGradient instead of Gradient: the same
	// expectation, without the term ∂ln p_θ(x)/∂θ at fixed x whose variance
	// does not vanish at the optimum. It costs one more Hessian-vector
	// product per RK4 stage.
	PathGradient bool
}

// DataSource fills a batch with samples of the target distribution for a
// training step; the same step must give the same batch (for a bit-identical
// resume).
type DataSource interface {
	Fill(x *mat.Dense, step int)
}

// Anneal is a temperature schedule for the start of training. The reverse
// KL divergence that variational training minimises is mode-seeking: at
// and below T_c a flow trained at the target temperature from the start
// drops the disordered, domain-wall configurations that carry a few per cent
// of the weight, and stalls at KL/site ≈ 0.02 on a 4×4 lattice whatever its
// capacity. Starting hot, where the distribution is unimodal, and cooling
// in steps lets the flow keep that mass: on 4×4 at T_c it halves the KL.
//
// The temperature of step s < Fraction·Steps is T·From^(1 − level/Levels)
// with level = ⌊s·Levels/(Fraction·Steps)⌋: Levels geometric steps from
// From·T down towards T; the remaining steps train at T. Steps is the
// trainer's plan (train.Trainer.PlannedSteps): Settings.Steps, or the
// number fitted to the time budget with train.Settings.FitToDuration.
type Anneal struct {
	From     float64 // starting temperature as a multiple of T; ≤ 1 disables annealing
	Fraction float64 // fraction of the steps spent annealing (default 0.5)
	Levels   int     // number of temperature levels (default 10)
}

// Temperature returns the training temperature at step for the target
// temperature T and total steps.
func (a Anneal) Temperature(T float64, step, steps int) float64 {
	if a.From <= 1 || steps <= 0 {
		return T
	}
	frac, levels := a.Fraction, a.Levels
	if frac <= 0 {
		frac = 0.5
	}
	if levels <= 0 {
		levels = 10
	}
	end := frac * float64(steps)
	if float64(step) >= end {
		return T
	}
	level := int(float64(step) * float64(levels) / end)
	return T * math.Pow(a.From, 1-float64(level)/float64(levels))
}

// Record is what a Recorder sees after every step; it is also one line of
// the JSONL training log.
type Record struct {
	Step        int     `json:"step"`
	Temperature float64 `json:"T"` // the training temperature of the step (see Anneal)
	// ContinuousFreeEnergyPerSite is the batch estimate of F_var(cont)/N,
	// the paper's figure, with its standard error.
	ContinuousFreeEnergyPerSite float64 `json:"free_energy_cont_per_site"`
	ContinuousFreeEnergyErr     float64 `json:"free_energy_cont_per_site_err"`
	// VariationalFreeEnergyPerSite is f_var = T(F_var(cont) − c)/N in Ising
	// units, an upper bound of the exact free energy per site.
	VariationalFreeEnergyPerSite float64 `json:"variational_free_energy_per_site"`
	VariationalFreeEnergyErr     float64 `json:"variational_free_energy_per_site_err"`
	// KLPerSite is βf_var − βf, KL(p‖q)/N in nats; NaN (omitted from JSON
	// as null) when the exact free energy is unknown.
	KLPerSite    float64 `json:"kl_per_site"`
	ESSFraction  float64 `json:"ess_fraction"` // of the batch
	GradNorm     float64 `json:"grad_norm"`
	LearningRate float64 `json:"learning_rate"`
	Seconds      float64 `json:"seconds"` // since the start of this process's training
	Rejected     bool    `json:"rejected,omitempty"`
	// ProcessStart marks the first record of this Trainer, whose Seconds
	// count from its own start: a log written by a run and its
	// resumptions restarts its clock at each marked record. (Seconds alone
	// cannot tell: the first step of a resumed process, with its one-time
	// allocations, may take longer than the whole of a short earlier run.)
	ProcessStart bool `json:"process_start,omitempty"`
}

// Recorder is told about every step, as gonum's optimize.Recorder is; a
// non-nil error stops training.
type Recorder interface {
	Record(Record) error
}

// RecorderFunc adapts a function to Recorder.
type RecorderFunc func(Record) error

// Record calls fn.
func (fn RecorderFunc) Record(r Record) error { return fn(r) }

// Trainer minimises the variational free energy of a flow against the
// relaxation: the objective FreeEnergy on batches z ~ N(0, I), its exact
// gradient through the discrete flow (flow.Flow.Gradient or PathGradient),
// optionally annealed and mixed with exact samples, in the loop of package
// train, whose Trainer it embeds (Step, Optimizer, LearningRateScale,
// Checkpoint, Restore). The random stream of z is part of every checkpoint,
// so a resumed run continues bit for bit (at the same GOMAXPROCS).
type Trainer struct {
	*train.Trainer
	Flow     *flow.Flow
	Target   *ising.Relaxation
	Settings Settings

	// ExactLnZPerSite, when not nil, returns the exact ln Z_Ising/N at a
	// temperature, for the KL per site of the records (NaN when unknown).
	ExactLnZPerSite func(T float64) float64
	// BeforeStep, when not nil, is called before the evaluation of every
	// step with its index (models whose potential draws random symmetry
	// elements restart their stream there, so that a step's draws do not
	// depend on the steps before).
	BeforeStep func(step int)

	obj  *objective
	logw []float64
}

// objective is the variational free energy as a train.Objective.
type objective struct {
	t        *Trainer
	pcg      *rand.PCG
	rng      *rand.Rand
	free     FreeEnergy
	z        *mat.Dense
	data     *mat.Dense
	dataGrad []float64
}

func (o *objective) Params() []float64 { return o.t.Flow.Potential.Params() }

// ParamLayout names the flow's parameters (flow.Layout), so that the
// checkpoints of package train store them as named arrays.
func (o *objective) ParamLayout() []flow.ParamBlock { return flow.Layout(o.t.Flow.Potential) }

// Evaluate draws a batch z ~ N(0, I) and returns the batch estimate of the
// variational free energy at the step's temperature with its gradient.
func (o *objective) Evaluate(grad []float64, step int) (float64, error) {
	t := o.t
	s := &t.Settings
	if t.BeforeStep != nil {
		t.BeforeStep(step)
	}
	raw := o.z.RawMatrix()
	for i := range raw.Data {
		raw.Data[i] = o.rng.NormFloat64()
	}
	if err := o.setTemperature(step); err != nil {
		return 0, err
	}
	var loss float64
	if s.PathGradient {
		loss = t.Flow.PathGradient(grad, o.z, &o.free)
	} else {
		loss = t.Flow.Gradient(grad, nil, o.z, flow.Sampling, &o.free)
	}
	if s.Data != nil && step < s.DataSteps {
		if o.data == nil {
			o.data = mat.NewDense(s.Batch, t.Flow.Dim(), nil)
			o.dataGrad = make([]float64, len(grad))
		}
		s.Data.Fill(o.data, step)
		t.Flow.Gradient(o.dataGrad, nil, o.data, flow.Density, flow.LossFunc(meanNLL))
		floats.Scale(1-s.DataWeight, grad)
		floats.AddScaled(grad, s.DataWeight, o.dataGrad)
	}
	return loss, nil
}

// MarshalState returns the state of the stream of z.
func (o *objective) MarshalState() ([]byte, error) { return o.pcg.MarshalBinary() }

// UnmarshalState restores the stream of z.
func (o *objective) UnmarshalState(b []byte) error { return o.pcg.UnmarshalBinary(b) }

// setTemperature points the objective at the relaxation of the step's
// temperature (the target's own unless annealing).
func (o *objective) setTemperature(step int) error {
	target := o.t.Target
	T := o.t.Settings.Anneal.Temperature(target.Temperature(), step, o.t.Trainer.PlannedSteps())
	if T == target.Temperature() {
		o.free.Target = target
		return nil
	}
	if o.free.Target != nil && o.free.Target.Temperature() == T {
		return nil
	}
	r, err := ising.NewRelaxation(target.Lattice(), T, target.Delta())
	if err != nil {
		return err
	}
	o.free.Target = r
	return nil
}

// meanNLL is the mean negative log-likelihood of a batch as a flow.Loss in
// the Density direction.
func meanNLL(dy *mat.Dense, dlogp []float64, y *mat.Dense, logp []float64) float64 {
	inv := 1 / float64(len(logp))
	L := 0.0
	for b, lp := range logp {
		L -= lp * inv
		dlogp[b] = -inv
	}
	dy.Zero()
	return L
}

// NewTrainer returns a trainer of the flow against the target, starting
// from the flow's current parameters.
func NewTrainer(f *flow.Flow, target *ising.Relaxation, s Settings) (*Trainer, error) {
	if f == nil || target == nil {
		return nil, errors.New("vmc: NewTrainer needs a flow and a target")
	}
	if err := f.Validate(); err != nil {
		return nil, err
	}
	if f.Dim() != target.N() {
		return nil, fmt.Errorf("vmc: flow of dimension %d for a target of %d sites", f.Dim(), target.N())
	}
	if s.Steps < 0 || s.Batch < 2 {
		return nil, fmt.Errorf("vmc: need Steps ≥ 0 and Batch ≥ 2, have %d and %d", s.Steps, s.Batch)
	}
	if s.DataSteps < 0 || !(s.DataWeight >= 0 && s.DataWeight <= 1) {
		return nil, fmt.Errorf("vmc: need DataSteps ≥ 0 and DataWeight in [0, 1], have %d and %v", s.DataSteps, s.DataWeight)
	}
	pcg := rand.NewPCG(s.Seed, 0x15_1f_10_3)
	t := &Trainer{
		Flow:     f,
		Target:   target,
		Settings: s,
		logw:     make([]float64, s.Batch),
	}
	t.obj = &objective{t: t, pcg: pcg, rng: rand.New(pcg), z: mat.NewDense(s.Batch, f.Dim(), nil)}
	t.obj.free.Target = target
	loop, err := train.New(t.obj, s.Settings)
	if err != nil {
		return nil, fmt.Errorf("vmc: %w", err)
	}
	t.Trainer = loop
	return t, nil
}

// Run trains until Settings.Steps steps are done, the time limit passes,
// the context is done, the recorder returns an error, or too many
// consecutive steps are non-finite (see train.Trainer.Run).
func (t *Trainer) Run(ctx context.Context, rec Recorder) (*train.Result, error) {
	t.sync()
	var r train.Recorder
	if rec != nil {
		r = train.RecorderFunc(func(st train.Step) error { return rec.Record(t.record(st)) })
	}
	return t.Trainer.Run(ctx, r)
}

// TrainStep takes one optimisation step (see train.Trainer.TrainStep) and
// returns its record. A step whose loss or gradient is not finite is rolled
// back at half the learning rate, and its record has Rejected set.
func (t *Trainer) TrainStep() (Record, error) {
	t.sync()
	st, err := t.Trainer.TrainStep()
	return t.record(st), err
}

// sync hands the loop the current settings.
func (t *Trainer) sync() {
	s := t.Settings.Settings
	if s.MaxRejected <= 0 {
		s.MaxRejected = 10
	}
	t.Trainer.Settings = s
}

// record summarises the batch just evaluated.
func (t *Trainer) record(st train.Step) Record {
	v := t.obj.free.Values()
	target := t.obj.free.Target
	if len(v) == 0 {
		return Record{Step: st.Step, Temperature: target.Temperature(), GradNorm: st.GradNorm,
			LearningRate: st.LearningRate, Seconds: st.Seconds, Rejected: st.Rejected, ProcessStart: st.First}
	}
	b := float64(len(v))
	n := float64(target.N())
	mean, sd := stats.MeanSD(v)
	for i, x := range v {
		t.logw[i] = -x
	}
	beta := target.Beta()
	fcont := mean / n
	errCont := sd / math.Sqrt(b) / n
	betaF := target.BetaFreeEnergyPerSite(mean)
	lnZ := math.NaN()
	if t.ExactLnZPerSite != nil {
		lnZ = t.ExactLnZPerSite(target.Temperature())
	}
	return Record{
		Step:                         st.Step,
		Temperature:                  target.Temperature(),
		ContinuousFreeEnergyPerSite:  fcont,
		ContinuousFreeEnergyErr:      errCont,
		VariationalFreeEnergyPerSite: betaF / beta,
		VariationalFreeEnergyErr:     errCont / beta,
		KLPerSite:                    betaF + lnZ,
		ESSFraction:                  stats.ESSFraction(t.logw),
		GradNorm:                     st.GradNorm,
		LearningRate:                 st.LearningRate,
		Seconds:                      st.Seconds,
		Rejected:                     st.Rejected,
		ProcessStart:                 st.First,
	}
}
