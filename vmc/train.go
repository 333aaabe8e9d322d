package vmc

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"gonum.org/v1/gonum/floats"
	"gonum.org/v1/gonum/mat"

	"github.com/isingflow/isingflow/flow"
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
	Target *Relaxation

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

// Settings of a training run. The zero value of every field but Steps and
// Batch has a sensible meaning.
type Settings struct {
	Steps        int      // total optimisation steps
	Batch        int      // samples per step
	LearningRate float64  // Adam's base rate
	Schedule     Schedule // warm-up and decay of the rate
	WeightDecay  float64  // decoupled weight decay
	L2           float64  // L2 penalty in the gradient (Adam.L2)
	Seed         uint64   // seed of the latent samples z
	// MaxRejected is the number of consecutive non-finite steps after which
	// training gives up (default 10).
	MaxRejected int
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
// From·T down towards T; the remaining steps train at T.
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
// relaxation with Adam, using the exact gradient of the discrete flow
// (flow.Flow.Gradient). Its whole state — parameters, optimiser moments,
// random stream and step counter — is saved by Checkpoint, and a run
// resumed from a checkpoint continues bit for bit (at the same GOMAXPROCS).
type Trainer struct {
	Flow      *flow.Flow
	Target    *Relaxation
	Settings  Settings
	Optimizer *Adam

	// ExactLnZPerSite, when not nil, returns the exact ln Z_Ising/N at a
	// temperature, for the KL per site of the records (NaN when unknown).
	ExactLnZPerSite func(T float64) float64

	// Step is the number of steps done; LearningRateScale multiplies the
	// scheduled rate and is halved at every rejected step.
	Step              int
	LearningRateScale float64

	pcg        *rand.PCG
	rng        *rand.Rand
	objective  FreeEnergy
	z          *mat.Dense
	grad       []float64
	backup     []float64 // parameters and moments before the last update
	rejected   int
	start      time.Time
	logw       []float64
	hasBackup  bool
	recorded   bool // a record has been made since the start
	lastRecord Record
	data       *mat.Dense
	dataGrad   []float64
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
func NewTrainer(f *flow.Flow, target *Relaxation, s Settings) (*Trainer, error) {
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
	if !(s.LearningRate > 0) || math.IsInf(s.LearningRate, 0) {
		return nil, fmt.Errorf("vmc: learning rate %v must be positive", s.LearningRate)
	}
	if s.DataSteps < 0 || !(s.DataWeight >= 0 && s.DataWeight <= 1) {
		return nil, fmt.Errorf("vmc: need DataSteps ≥ 0 and DataWeight in [0, 1], have %d and %v", s.DataSteps, s.DataWeight)
	}
	if s.MaxRejected == 0 {
		s.MaxRejected = 10
	}
	n := len(f.Potential.Params())
	pcg := rand.NewPCG(s.Seed, 0x15_1f_10_3)
	opt := NewAdam(n, s.LearningRate)
	opt.WeightDecay = s.WeightDecay
	opt.L2 = s.L2
	return &Trainer{
		Flow:              f,
		Target:            target,
		Settings:          s,
		Optimizer:         opt,
		LearningRateScale: 1,
		pcg:               pcg,
		rng:               rand.New(pcg),
		objective:         FreeEnergy{Target: target},
		z:                 mat.NewDense(s.Batch, f.Dim(), nil),
		grad:              make([]float64, n),
		backup:            make([]float64, 3*n),
		logw:              make([]float64, s.Batch),
	}, nil
}

// Run trains until Settings.Steps steps are done, the context is cancelled,
// the recorder returns an error, or too many consecutive steps are
// non-finite.
func (t *Trainer) Run(ctx context.Context, rec Recorder) error {
	if t.start.IsZero() {
		t.start = time.Now()
	}
	for t.Step < t.Settings.Steps {
		if err := ctx.Err(); err != nil {
			return err
		}
		r, err := t.TrainStep()
		if rec != nil {
			if rerr := rec.Record(r); rerr != nil {
				return rerr
			}
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// TrainStep takes one optimisation step: it draws a batch z ~ N(0, I),
// evaluates the variational free energy and its exact gradient, and updates
// the parameters with Adam. A step whose loss or gradient is not finite is
// rejected: the parameters and optimiser go back to the state before the
// previous update, the learning rate is halved, and the returned record has
// Rejected set. The error is non-nil only when MaxRejected consecutive steps
// have been rejected.
func (t *Trainer) TrainStep() (Record, error) {
	if t.start.IsZero() {
		t.start = time.Now()
	}
	s := t.Settings
	params := t.Flow.Potential.Params()
	raw := t.z.RawMatrix()
	for i := range raw.Data {
		raw.Data[i] = t.rng.NormFloat64()
	}
	if err := t.setTemperature(); err != nil {
		return Record{Step: t.Step}, err
	}
	var loss float64
	if s.PathGradient {
		loss = t.Flow.PathGradient(t.grad, t.z, &t.objective)
	} else {
		loss = t.Flow.Gradient(t.grad, nil, t.z, flow.Sampling, &t.objective)
	}
	if s.Data != nil && t.Step < s.DataSteps {
		if t.data == nil {
			t.data = mat.NewDense(s.Batch, t.Flow.Dim(), nil)
			t.dataGrad = make([]float64, len(t.grad))
		}
		s.Data.Fill(t.data, t.Step)
		t.Flow.Gradient(t.dataGrad, nil, t.data, flow.Density, flow.LossFunc(meanNLL))
		floats.Scale(1-s.DataWeight, t.grad)
		floats.AddScaled(t.grad, s.DataWeight, t.dataGrad)
	}
	gnorm := floats.Norm(t.grad, 2)
	lr := s.Schedule.Rate(s.LearningRate, t.Step) * t.LearningRateScale
	rec := t.record(gnorm, lr)
	if math.IsNaN(loss) || math.IsInf(loss, 0) || math.IsNaN(gnorm) || math.IsInf(gnorm, 0) {
		rec.Rejected = true
		t.rejected++
		if t.hasBackup {
			t.restoreBackup(params)
		}
		t.LearningRateScale *= 0.5
		if t.rejected >= s.MaxRejected {
			return rec, fmt.Errorf("vmc: %d consecutive steps had a non-finite loss or gradient", t.rejected)
		}
		return rec, nil
	}
	t.rejected = 0
	t.saveBackup(params)
	t.Optimizer.Update(params, t.grad, lr)
	t.Step++
	t.lastRecord = rec
	return rec, nil
}

// setTemperature points the objective at the relaxation of the step's
// temperature (the target's own unless annealing).
func (t *Trainer) setTemperature() error {
	T := t.Settings.Anneal.Temperature(t.Target.Temperature(), t.Step, t.Settings.Steps)
	if T == t.Target.Temperature() {
		t.objective.Target = t.Target
		return nil
	}
	if t.objective.Target != nil && t.objective.Target.Temperature() == T {
		return nil
	}
	r, err := NewRelaxation(t.Target.Lattice(), T, t.Target.Delta())
	if err != nil {
		return err
	}
	t.objective.Target = r
	return nil
}

func (t *Trainer) saveBackup(params []float64) {
	n := len(params)
	copy(t.backup[:n], params)
	copy(t.backup[n:2*n], t.Optimizer.First)
	copy(t.backup[2*n:], t.Optimizer.Second)
	t.hasBackup = true
}

func (t *Trainer) restoreBackup(params []float64) {
	n := len(params)
	copy(params, t.backup[:n])
	copy(t.Optimizer.First, t.backup[n:2*n])
	copy(t.Optimizer.Second, t.backup[2*n:])
	t.Optimizer.Step--
	t.Step--
	t.hasBackup = false
}

// record summarises the batch just evaluated.
func (t *Trainer) record(gnorm, lr float64) Record {
	v := t.objective.Values()
	b := float64(len(v))
	target := t.objective.Target
	n := float64(target.N())
	mean, sd := meanStd(v)
	for i, x := range v {
		t.logw[i] = -x
	}
	beta := target.Beta()
	fcont := mean / n
	errCont := sd / math.Sqrt(b) / n
	betaF := target.BetaFreeEnergyPerSite(mean)
	first := !t.recorded
	t.recorded = true
	lnZ := math.NaN()
	if t.ExactLnZPerSite != nil {
		lnZ = t.ExactLnZPerSite(target.Temperature())
	}
	return Record{
		Step:                         t.Step,
		Temperature:                  target.Temperature(),
		ContinuousFreeEnergyPerSite:  fcont,
		ContinuousFreeEnergyErr:      errCont,
		VariationalFreeEnergyPerSite: betaF / beta,
		VariationalFreeEnergyErr:     errCont / beta,
		KLPerSite:                    betaF + lnZ,
		ESSFraction:                  essFraction(t.logw),
		GradNorm:                     gnorm,
		LearningRate:                 lr,
		Seconds:                      time.Since(t.start).Seconds(),
		ProcessStart:                 first,
	}
}

func meanStd(v []float64) (mean, sd float64) {
	for _, x := range v {
		mean += x
	}
	mean /= float64(len(v))
	for _, x := range v {
		sd += (x - mean) * (x - mean)
	}
	return mean, math.Sqrt(sd / float64(len(v)-1))
}

// essFraction is the Kish effective sample size over the sample size.
func essFraction(logw []float64) float64 {
	m := math.Inf(-1)
	for _, v := range logw {
		m = math.Max(m, v)
	}
	var s1, s2 float64
	for _, v := range logw {
		w := math.Exp(v - m)
		s1 += w
		s2 += w * w
	}
	return s1 * s1 / s2 / float64(len(logw))
}
