package model

import (
	"fmt"
	"math"
	"math/rand/v2"

	"gonum.org/v1/gonum/mat"

	"github.com/isingflow/isingflow/flow"
	"github.com/isingflow/isingflow/ising"
	"github.com/isingflow/isingflow/lattice"
	"github.com/isingflow/isingflow/optim"
	"github.com/isingflow/isingflow/train"
	"github.com/isingflow/isingflow/validation"
	"github.com/isingflow/isingflow/vmc"
)

// Estimators of the free energy's gradient (Training.Gradient).
const (
	GradientFull = "full" // the reparametrised gradient of the whole objective, the paper's
	GradientPath = "path" // without ∂ln p/∂θ at fixed x (vmc.Settings.PathGradient)
)

// Training holds the optimisation settings of a run; it is the "training"
// object of a run directory's config.json.
type Training struct {
	Iterations  int     `json:"iterations"`
	Batch       int     `json:"batch"`
	LR          float64 `json:"lr"`
	Warmup      int     `json:"warmup"`
	FinalLR     float64 `json:"final_lr_fraction"`
	WeightDecay float64 `json:"weight_decay"`
	L2          float64 `json:"l2,omitempty"`
	Kinetic     float64 `json:"kinetic"`
	Seed        uint64  `json:"seed"`
	AnnealFrom  float64 `json:"anneal_from"`
	AnnealFrac  float64 `json:"anneal_fraction"`
	AnnealSteps int     `json:"anneal_levels"`
	DataSteps   int     `json:"data_steps,omitempty"`
	DataWeight  float64 `json:"data_weight,omitempty"`
	// Precision of the training step's matrix products; the evaluation is
	// always float64.
	Precision flow.Precision `json:"precision,omitempty"`
	// Gradient is the estimator of the objective's gradient: GradientFull
	// (also "", in configurations written before the choice existed) or
	// GradientPath.
	Gradient string `json:"gradient,omitempty"`
	// FitToTimeLimit fits the number of steps, and with it the
	// learning-rate decay and the anneal, to the time limit of the run
	// (train.Settings.FitToDuration); without a time limit it does
	// nothing. The fitted number depends on the speed of the machine; the
	// plan is in the checkpoint and in result.json's planned_steps, and
	// --iterations with that number and no time limit reproduces the run.
	FitToTimeLimit bool `json:"fit_to_time_limit,omitempty"`
}

// DefaultTraining returns the training settings tuned for the model c
// (docs/ablation.md, docs/multiscale.md). Common to every potential: Adam
// on batches of 64 samples with a rate decaying to 2 % on a cosine,
// annealed from 1.2 T over the first quarter in ten levels, and the path
// gradient. The multiscale potential (the default model) takes a rate of
// 10⁻², float64 products, and at most 3000 steps fitted to the run's time
// limit (FitToTimeLimit), because its step time grows with L (0.5 s at
// L = 8, 6.5 s at L = 32) where no single count suits every size. The
// other potentials keep the dense model's tuning: 1700 steps at 10⁻³,
// float32 products (the symmetric potential computes in float64), not
// fitted.
func DefaultTraining(c *Config) Training {
	t := Training{
		Iterations:  1700,
		Batch:       64,
		LR:          1e-3,
		FinalLR:     0.02,
		Seed:        1,
		AnnealFrom:  1.2,
		AnnealFrac:  0.25,
		AnnealSteps: 10,
		DataWeight:  0.5,
		Precision:   flow.Float32,
		Gradient:    GradientPath,
	}
	switch c.Potential {
	case PotentialMultiscale:
		t.Iterations, t.LR, t.Precision, t.FitToTimeLimit = 3000, 1e-2, flow.Float64, true
	case PotentialSymmetric:
		t.Precision = flow.Float64
	}
	return t
}

// Validate checks the settings; its errors name the command-line flag of
// the field.
func (t *Training) Validate() error {
	switch {
	case t.Iterations < 0:
		return fmt.Errorf("--iterations %d: must not be negative", t.Iterations)
	case t.Batch < 2:
		return fmt.Errorf("--batch %d: need at least 2", t.Batch)
	case !(t.LR > 0) || math.IsInf(t.LR, 0):
		return fmt.Errorf("--lr %v: must be positive", t.LR)
	case t.Warmup < 0:
		return fmt.Errorf("--warmup %d: must not be negative", t.Warmup)
	case !(t.FinalLR >= 0 && t.FinalLR <= 1):
		return fmt.Errorf("--final-lr %v: must lie in [0, 1]", t.FinalLR)
	case !(t.WeightDecay >= 0) || math.IsInf(t.WeightDecay, 0):
		return fmt.Errorf("--weight-decay %v: must not be negative", t.WeightDecay)
	case !(t.L2 >= 0) || math.IsInf(t.L2, 0):
		return fmt.Errorf("--l2 %v: must not be negative", t.L2)
	case !(t.Kinetic >= 0) || math.IsInf(t.Kinetic, 0):
		return fmt.Errorf("--kinetic %v: must not be negative", t.Kinetic)
	case !(t.AnnealFrom >= 1) || math.IsInf(t.AnnealFrom, 0):
		return fmt.Errorf("--anneal-from %v: must be at least 1", t.AnnealFrom)
	case !(t.AnnealFrac > 0 && t.AnnealFrac <= 1):
		return fmt.Errorf("--anneal-fraction %v: must lie in (0, 1]", t.AnnealFrac)
	case t.AnnealSteps < 1:
		return fmt.Errorf("--anneal-levels %d: must be positive", t.AnnealSteps)
	case t.Gradient != GradientFull && t.Gradient != GradientPath:
		return fmt.Errorf("--gradient %q: want %s or %s", t.Gradient, GradientFull, GradientPath)
	case t.DataSteps < 0:
		return fmt.Errorf("--data-steps %d: must not be negative", t.DataSteps)
	case !(t.DataWeight >= 0 && t.DataWeight <= 1):
		return fmt.Errorf("--data-weight %v: must lie in [0, 1]", t.DataWeight)
	}
	return nil
}

// Settings returns the settings of vmc.Trainer for these flags (without a
// data source, a time limit or checkpoints, which NewTrainer adds).
func (t *Training) Settings() vmc.Settings {
	return vmc.Settings{
		Settings: train.Settings{
			Steps:        t.Iterations,
			LearningRate: t.LR,
			Schedule:     optim.Schedule{Warmup: t.Warmup, Total: t.Iterations, Final: t.FinalLR},
			WeightDecay:  t.WeightDecay,
			L2:           t.L2,
			// Effective with the time limit that Run.Train sets.
			FitToDuration: t.FitToTimeLimit,
		},
		Batch:        t.Batch,
		Seed:         t.Seed,
		Anneal:       vmc.Anneal{From: t.AnnealFrom, Fraction: t.AnnealFrac, Levels: t.AnnealSteps},
		DataSteps:    t.DataSteps,
		DataWeight:   t.DataWeight,
		PathGradient: t.Gradient == GradientPath,
	}
}

// NewTrainer returns the trainer of the model with the settings t (checked
// by vmc.NewTrainer; Training.Validate checks them all): the
// exact ln Z for the records' KL per site where a reference exists, exact
// Wolff samples when DataSteps > 0, the transport cost's weight on the
// flow, and the random potential's streams restarted at every step.
func (m *Model) NewTrainer(t *Training) (*vmc.Trainer, error) {
	if t.Precision != flow.Float64 && (m.Config.Potential == PotentialSymmetric || m.Config.Potential == PotentialMultiscale) {
		return nil, fmt.Errorf("--precision %v: only the dense and random potentials have float32 products", t.Precision)
	}
	s := t.Settings()
	if t.DataSteps > 0 {
		s.Data = &WolffData{Lattice: m.Lattice, Target: m.Target, Seed: t.Seed}
	}
	tr, err := vmc.NewTrainer(m.Flow, m.Target, s)
	if err != nil {
		return nil, err
	}
	m.Flow.KineticWeight = t.Kinetic
	if x, err := validation.NewExact(m.Lattice); err == nil && x.Method() != validation.MethodNone {
		tr.ExactLnZPerSite = x.LnZPerSite
	}
	tr.BeforeStep = func(step int) { m.Reseed(uint64(step)) }
	return tr, nil
}

// wolffThermalize is the number of sweeps a fresh Wolff chain runs before
// its first configuration is used.
const wolffThermalize = 50

// WolffData is a vmc.DataSource of exact samples of the relaxation: Ising
// configurations from a Wolff chain, one sweep apart, each turned into a
// field x ~ N(K's, K'). Each step starts a fresh chain seeded by (Seed,
// step), so a step's batch does not depend on the steps before it.
type WolffData struct {
	Lattice *lattice.Lattice
	Target  *ising.Relaxation
	Seed    uint64

	spins *mat.Dense
}

// Fill implements vmc.DataSource.
func (d *WolffData) Fill(x *mat.Dense, step int) {
	rows, n := x.Dims()
	if d.spins == nil || d.spins.RawMatrix().Rows != rows {
		d.spins = mat.NewDense(rows, n, nil)
	}
	chain, err := validation.NewWolffSampler(d.Lattice, d.Target.Temperature(), wolffThermalize, d.Seed^uint64(step)*0x9e3779b97f4a7c15)
	if err != nil {
		panic(err) // the lattice and temperature were validated
	}
	for b := range rows {
		chain.Sample(d.spins.RawRowView(b))
	}
	rng := rand.New(rand.NewPCG(d.Seed, uint64(step)))
	d.Target.FieldGivenSpins(x, d.spins, rng)
}
