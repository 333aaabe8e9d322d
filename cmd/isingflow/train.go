package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"gonum.org/v1/gonum/mat"

	"github.com/isingflow/isingflow/flow"
	"github.com/isingflow/isingflow/internal/blasimpl"
	"github.com/isingflow/isingflow/internal/cli"
	"github.com/isingflow/isingflow/internal/runio"
	"github.com/isingflow/isingflow/observables"
	"github.com/isingflow/isingflow/vmc"
)

// trainConfig holds the optimisation settings of a run.
type trainConfig struct {
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
	// Gradient is the estimator of the objective's gradient: gradientFull
	// (also "", in configurations written before the choice existed) or
	// gradientPath.
	Gradient string `json:"gradient,omitempty"`
}

// Gradient estimators of --gradient.
const (
	gradientFull = "full"
	gradientPath = "path"
)

func (t trainConfig) settings() vmc.Settings {
	return vmc.Settings{
		Steps:        t.Iterations,
		Batch:        t.Batch,
		LearningRate: t.LR,
		Schedule:     vmc.Schedule{Warmup: t.Warmup, Total: t.Iterations, Final: t.FinalLR},
		WeightDecay:  t.WeightDecay,
		L2:           t.L2,
		Seed:         t.Seed,
		Anneal:       vmc.Anneal{From: t.AnnealFrom, Fraction: t.AnnealFrac, Levels: t.AnnealSteps},
		DataSteps:    t.DataSteps,
		DataWeight:   t.DataWeight,
		PathGradient: t.Gradient == gradientPath,
	}
}

// evalFlags are the settings of the evaluation after training (and of
// "isingflow eval").
type evalFlags struct {
	samples int
	mcmc    int
	seed    uint64
	batch   int
	logdet  int
}

func (e *evalFlags) register(fs *pflag.FlagSet) {
	fs.IntVar(&e.samples, "samples", 10000, "samples of the trained flow for the importance-weighted estimates")
	fs.IntVar(&e.mcmc, "mcmc", 0, "proposals of flow-MCMC (independence Metropolis-Hastings); 0 runs no chain")
	fs.Uint64Var(&e.seed, "eval-seed", 2, "seed of the evaluation samples")
	fs.IntVar(&e.batch, "eval-batch", 512, "samples drawn per batch in the evaluation")
	fs.IntVar(&e.logdet, "logdet-check", 0, "compare ln p from the integrated Laplacian with the exact log-determinant of the discrete RK4 map on this many samples (costly: about N training steps per sample)")
}

func (e *evalFlags) validate() error {
	if e.samples < 2 {
		return usagef("--samples %d: need at least 2", e.samples)
	}
	if e.mcmc < 0 || e.mcmc == 1 {
		return usagef("--mcmc %d: need 0 (no chain) or at least 2 proposals", e.mcmc)
	}
	if e.batch < 1 {
		return usagef("--eval-batch %d: must be positive", e.batch)
	}
	if e.logdet < 0 || e.logdet == 1 {
		return usagef("--logdet-check %d: need 0 (no check) or at least 2 samples", e.logdet)
	}
	return nil
}

// defaultBlocks is the default number of independent potentials in time:
// at L = 16, T_c one time-independent potential reaches KL/site 0.039 in
// the default 16 minutes, five blocks of ten RK4 steps 0.027, ten blocks of
// five 0.0259, and 25 blocks of two no better (0.0258) at a slower step
// (docs/ablation.md, runs D1, D4, B10, B25). The training defaults (1700
// steps, cosine decay to 2 % of the rate, annealing from 1.2 T over the
// first quarter) are those of the measured runs.
const defaultBlocks = 10

// defaultSpectralScale is the default scale γ of the quadratic part's
// spectral basis (--quadratic-scale), under which Adam moves each
// eigenvalue by about 10·lr per step. At L = 16, T_c the default model
// reaches KL/site 0.00097 in its 1700 steps with γ = 10, 0.00267 with
// γ = 1 (its quadratic part then learns too slowly: after 1700 steps its
// eigenvalues span [−0.12, 0.15], where the kernel basis's span
// [−0.28, 0.61]) and 0.00223 with the kernel basis, which at L = 32 can
// move one eigenvalue by 0.65 per step and collapsed a Fourier mode
// (docs/ablation.md, runs P16spec10, P16spec, P16F32 and P32).
const defaultSpectralScale = 10.0

// settleModelDefaults adapts the defaults of flags the user did not set to
// the ones that were set, instead of failing on a flag the user never
// gave: --blocks falls back to one block when the default does not divide
// --flow-steps (a short test flow of 4 steps, say), --init and
// --precision to the only initialisation and arithmetic of the symmetric
// potential, and --quadratic-basis to the kernel (stored as absent) where
// the spectral basis does not apply: without a quadratic part, or on open
// boundaries (whose quadratic part is a dense S).
func settleModelDefaults(fs *pflag.FlagSet, c *modelConfig, t *trainConfig, open bool) {
	if !fs.Changed("blocks") && c.FlowSteps%c.blocks() != 0 {
		c.Blocks = 0
	}
	if !fs.Changed("init") && c.Potential == potentialSymmetric {
		c.Init = ""
	}
	if !fs.Changed("precision") && c.Potential == potentialSymmetric {
		t.Precision = flow.Float64
	}
	if !fs.Changed("quadratic-basis") && (!c.Quadratic || open) {
		c.QuadraticBasis = ""
	}
	if !fs.Changed("quadratic-scale") && c.QuadraticBasis != basisSpectral {
		c.QuadraticScale = 0
	}
}

// registerModel adds the flags that define the flow.
func registerModel(fs *pflag.FlagSet, c *modelConfig) {
	fs.Float64Var(&c.Delta, "delta", vmc.DefaultDelta, "shift δ of the Hubbard-Stratonovich relaxation")
	fs.StringVar(&c.Potential, "potential", potentialDense, "potential: dense (the paper's φ), symmetric (exactly invariant), or random (dense, evaluated at one random element of translations × point group × spin flip per sample and RK4 stage, as the paper's code)")
	fs.IntVar(&c.Hidden, "hidden", 512, "hidden units of the dense potential (paper: 512)")
	fs.IntVar(&c.Channels, "channels", 4, "kernels of the symmetric potential")
	fs.StringVar(&c.RandomGroup, "random-group", randomGroupIsing, "group of the random potential's draws: ising (translations × point group × spin flip) or reference (translations × {1, transposition}, the reference code's draw)")
	fs.StringVar(&c.Init, "init", initMultiscale, "initial rows of the dense and random potentials: multiscale (the first rows are indicators of blocks of sites at every scale, block spins) or random (the paper's)")
	fs.BoolVar(&c.Quadratic, "quadratic", true, "add a learnable quadratic part ½xᵀSx (translation invariant on a torus) to the potential")
	fs.StringVar(&c.QuadraticBasis, "quadratic-basis", basisSpectral, "parameters of the quadratic part on a torus: spectral (S's eigenvalues over γ, one per Fourier mode: Adam then moves each eigenvalue by about γ·lr per step at any L) or kernel (S's kernel s(r), one value per displacement: Adam can move one mode's eigenvalue by up to lr·2N/π per step, which collapsed a mode at L = 32)")
	c.QuadraticScale = defaultSpectralScale
	fs.Var(scaleFlag{c}, "quadratic-scale", "scale γ of the spectral basis: an eigenvalue is γ times its parameter, so that Adam moves it by about γ·lr per step (only with --quadratic-basis spectral)")
	fs.IntVar(&c.FlowSteps, "flow-steps", 50, "RK4 steps of the flow (paper: 50)")
	c.Blocks = defaultBlocks
	fs.Var(blocksFlag{c}, "blocks", "independent potentials in time, each active for flow-steps/blocks RK4 steps (1: the paper's time-independent potential; the default 10 becomes 1 when it does not divide --flow-steps)")
	fs.Float64Var(&c.Epsilon, "epsilon", 0.1, "RK4 step size ε (paper: 0.1)")
	fs.Uint64Var(&c.InitSeed, "init-seed", 1, "seed of the initial parameters")
}

func registerTraining(fs *pflag.FlagSet, t *trainConfig) {
	fs.IntVar(&t.Iterations, "iterations", 1700, "optimisation steps (the run may end earlier at --time-limit; the default fits the default time limit on 2 cores with OpenBLAS)")
	fs.IntVar(&t.Batch, "batch", 64, "samples per optimisation step (paper: 64)")
	fs.Float64Var(&t.LR, "lr", 1e-3, "Adam learning rate (paper: 1e-3)")
	fs.IntVar(&t.Warmup, "warmup", 0, "steps of linear learning-rate warm-up")
	fs.Float64Var(&t.FinalLR, "final-lr", 0.02, "learning rate at the last step as a fraction of --lr (cosine decay; 1 keeps it constant, the paper's choice)")
	fs.Float64Var(&t.WeightDecay, "weight-decay", 0, "decoupled weight decay of Adam")
	fs.Float64Var(&t.L2, "l2", 0, "L2 penalty added to the gradient before Adam's moments, as torch.optim.Adam's weight_decay (the reference code: 1e-3)")
	fs.Float64Var(&t.Kinetic, "kinetic", 0, "weight of the transport-cost regulariser ½∫|∇φ|²dt")
	fs.Uint64Var(&t.Seed, "seed", 1, "seed of the training samples")
	fs.Float64Var(&t.AnnealFrom, "anneal-from", 1.2, "start training at this multiple of T and cool to T (1: no annealing)")
	fs.Float64Var(&t.AnnealFrac, "anneal-fraction", 0.25, "fraction of the iterations spent annealing")
	fs.IntVar(&t.AnnealSteps, "anneal-levels", 10, "temperature levels of the annealing")
	t.Precision = flow.Float32
	fs.Var(&t.Precision, "precision", "arithmetic of the training step's matrix products: float32 (sgemm, faster; elementwise work, sums and the evaluation stay float64; dense and random potentials, the symmetric one is float64), or float64")
	fs.StringVar(&t.Gradient, "gradient", gradientPath, "estimator of the free energy's gradient: path (drops ∂ln p/∂θ at fixed x, whose mean is zero: the same expectation, with a variance that vanishes as the flow approaches the target; one more Hessian-vector product per RK4 stage; at L = 32 it diverged with the kernel basis of the quadratic part, see docs/ablation.md), or full (the reparametrised gradient of the whole objective, the paper's)")
	fs.IntVar(&t.DataSteps, "data-steps", 0, "steps (from the start) that also fit exact samples of the target, drawn by a Wolff chain (forward KL)")
	fs.Float64Var(&t.DataWeight, "data-weight", 0.5, "weight of the forward-KL gradient during --data-steps (the variational free energy has 1 − this)")
}

func (t *trainConfig) validate() error {
	switch {
	case t.Iterations < 0:
		return usagef("--iterations %d: must not be negative", t.Iterations)
	case t.Batch < 2:
		return usagef("--batch %d: need at least 2", t.Batch)
	case !(t.LR > 0) || math.IsInf(t.LR, 0):
		return usagef("--lr %v: must be positive", t.LR)
	case t.Warmup < 0:
		return usagef("--warmup %d: must not be negative", t.Warmup)
	case !(t.FinalLR >= 0 && t.FinalLR <= 1):
		return usagef("--final-lr %v: must lie in [0, 1]", t.FinalLR)
	case !(t.WeightDecay >= 0) || math.IsInf(t.WeightDecay, 0):
		return usagef("--weight-decay %v: must not be negative", t.WeightDecay)
	case !(t.L2 >= 0) || math.IsInf(t.L2, 0):
		return usagef("--l2 %v: must not be negative", t.L2)
	case !(t.Kinetic >= 0) || math.IsInf(t.Kinetic, 0):
		return usagef("--kinetic %v: must not be negative", t.Kinetic)
	case !(t.AnnealFrom >= 1) || math.IsInf(t.AnnealFrom, 0):
		return usagef("--anneal-from %v: must be at least 1", t.AnnealFrom)
	case !(t.AnnealFrac > 0 && t.AnnealFrac <= 1):
		return usagef("--anneal-fraction %v: must lie in (0, 1]", t.AnnealFrac)
	case t.AnnealSteps < 1:
		return usagef("--anneal-levels %d: must be positive", t.AnnealSteps)
	case t.Gradient != gradientFull && t.Gradient != gradientPath:
		return usagef("--gradient %q: want %s or %s", t.Gradient, gradientFull, gradientPath)
	case t.DataSteps < 0:
		return usagef("--data-steps %d: must not be negative", t.DataSteps)
	case !(t.DataWeight >= 0 && t.DataWeight <= 1):
		return usagef("--data-weight %v: must lie in [0, 1]", t.DataWeight)
	}
	return nil
}

// defaultRunDir names a run by its physics and model.
func defaultRunDir(m *modelConfig, t *trainConfig) string {
	return filepath.Join("runs", fmt.Sprintf("%s_T%.6f_%s", latticeTag(m), m.T, modelTag(m, t)))
}

// latticeTag names the lattice of a run: "L16", "L4_d3_open".
func latticeTag(m *modelConfig) string {
	bc := ""
	if m.Open {
		bc = "_open"
	}
	d := ""
	if m.Dim != 2 {
		d = fmt.Sprintf("_d%d", m.Dim)
	}
	return fmt.Sprintf("L%d%s%s", m.L, d, bc)
}

// modelTag names the relaxation, the flow and the training of a run:
// "d0.1_H512_S50_e0.1_B64_seed1" for the paper's model, or
// "d0.1_H512q_ms_K10_S50_e0.1_B64_seed1" with the quadratic part, the
// multiscale initialisation and ten blocks in time.
func modelTag(m *modelConfig, t *trainConfig) string {
	var p string
	switch m.Potential {
	case potentialDense:
		p = fmt.Sprintf("H%d", m.Hidden)
	case potentialRandom:
		p = fmt.Sprintf("H%drnd", m.Hidden)
	default:
		p = fmt.Sprintf("sym%d", m.Channels)
	}
	if m.Quadratic {
		p += "q"
		if m.QuadraticBasis == basisSpectral {
			p += "s"
			if g := m.spectralScale(); g != 1 {
				p += strconv.FormatFloat(g, 'g', -1, 64)
			}
		}
	}
	if m.Init == initMultiscale {
		p += "_ms"
	}
	if K := m.blocks(); K > 1 {
		p += fmt.Sprintf("_K%d", K)
	}
	tag := fmt.Sprintf("d%g_%s_S%d_e%g_B%d_seed%d", m.Delta, p, m.FlowSteps, m.Epsilon, t.Batch, t.Seed)
	if t.Precision == flow.Float32 {
		tag += "_f32"
	}
	if t.Gradient == gradientPath {
		tag += "_path"
	}
	return tag
}

// runFlags are the bookkeeping flags of training runs, shared by train and
// scan.
type runFlags struct {
	every int
	limit time.Duration
}

func (r *runFlags) register(fs *pflag.FlagSet) {
	fs.IntVar(&r.every, "checkpoint-every", 100, "write a checkpoint every this many steps (and at the end)")
	fs.DurationVar(&r.limit, "time-limit", 16*time.Minute, "stop training after this long (in a scan, at each temperature) and evaluate; 0 means no limit")
}

func (r *runFlags) validate() error {
	if r.every < 1 {
		return usagef("--checkpoint-every %d: must be positive", r.every)
	}
	if r.limit < 0 {
		return usagef("--time-limit %v: must not be negative", r.limit)
	}
	return nil
}

// trainArgs are the flags that define one training run: the lattice, the
// model, the optimisation and the evaluation.
type trainArgs struct {
	g  geometry
	mc modelConfig
	tc trainConfig
	ev evalFlags
}

func (a *trainArgs) register(fs *pflag.FlagSet) {
	a.g.register(fs)
	registerModel(fs, &a.mc)
	registerTraining(fs, &a.tc)
	a.ev.register(fs)
}

// settle completes the model configuration from the parsed flags and
// checks the training and evaluation flags.
func (a *trainArgs) settle(fs *pflag.FlagSet) error {
	settleModelDefaults(fs, &a.mc, &a.tc, a.g.open)
	a.mc.L, a.mc.Dim, a.mc.Open, a.mc.T = a.g.L, a.g.dim, a.g.open, float64(a.g.T)
	if err := a.tc.validate(); err != nil {
		return err
	}
	return a.ev.validate()
}

func runTrain(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("train", stderr)
	var a trainArgs
	a.register(fs)
	out := fs.String("out", "", "run directory (default: runs/ named by the physics and the model)")
	resume := fs.Bool("resume", false, "continue the run in --out (or the default directory) from its checkpoint")
	var rf runFlags
	rf.register(fs)
	asJSON := fs.Bool("json", false, "print the results as one JSON object")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := a.settle(fs); err != nil {
		return err
	}
	if err := rf.validate(); err != nil {
		return err
	}
	m, err := a.mc.build()
	if err != nil {
		return err
	}
	dir := *out
	if dir == "" {
		dir = defaultRunDir(&a.mc, &a.tc)
	}
	ctx, stop := cli.StopContext(context.Background())
	defer stop()
	report, err := trainAndEvaluate(ctx, m, &a.tc, runOptions{dir: dir, resume: *resume, every: rf.every, limit: rf.limit, eval: &a.ev}, stderr)
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSON(stdout, report)
	}
	report.print(stdout)
	fmt.Fprintf(stdout, "\nrun directory: %s (checkpoint, train.jsonl, result.json, plots)\n", dir)
	return nil
}

// runOptions are the settings of one training run besides the model and
// the optimiser.
type runOptions struct {
	dir    string        // run directory
	resume bool          // continue the run in dir from its checkpoint
	every  int           // checkpoint every this many steps
	limit  time.Duration // stop training after this long; 0 means no limit
	eval   *evalFlags    // the evaluation after training
}

// trainAndEvaluate is one run: it prepares the run directory, trains m
// with the settings tc (from the parameters m has, unless resuming),
// evaluates the trained flow, writes result.json and the plots, and returns
// the report. "isingflow train" makes one run, "isingflow scan" one per
// temperature.
func trainAndEvaluate(ctx context.Context, m *model, tc *trainConfig, opt runOptions, stderr io.Writer) (*report, error) {
	mc := m.cfg
	rc := runConfig{Model: mc, Training: *tc, Version: version}
	settings := tc.settings()
	if tc.DataSteps > 0 {
		settings.Data = &wolffData{lat: m.lat, target: m.target, seed: tc.Seed}
	}
	tr, err := vmc.NewTrainer(m.flow, m.target, settings)
	if err != nil {
		return nil, err
	}
	m.flow.KineticWeight = tc.Kinetic
	if tc.Precision != flow.Float64 && mc.Potential == potentialSymmetric {
		return nil, usagef("--precision %v: only the dense and random potentials have float32 products", tc.Precision)
	}
	if err := prepareRunDir(opt.dir, &rc, tr, opt.resume); err != nil {
		return nil, err
	}
	ref, err := exactReference(mc.geometry(), m.lat, mc.Delta)
	if err != nil {
		return nil, err
	}
	tr.ExactLnZPerSite = exactLnZFunc(mc.geometry(), m.lat)
	fmt.Fprintf(stderr, "isingflow: %s lattice, T = %.6g, δ = %g; %s (%d parameters); BLAS: %s; elementwise: %s\n",
		m.lat, mc.T, mc.Delta, mc.describe(), len(m.flow.Potential.Params()), blasimpl.Name(), flow.Elementwise())
	if note := mc.multiscaleNote(m.lat); note != "" {
		fmt.Fprintf(stderr, "isingflow: note: %s\n", note)
	}
	fmt.Fprintf(stderr, "isingflow: run directory %s, training from step %d to %d\n", opt.dir, tr.Step, tc.Iterations)

	if opt.limit > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, opt.limit)
		defer cancel()
	}
	start, firstStep := time.Now(), tr.Step
	flow.SetPrecision(m.flow.Potential, tc.Precision)
	err = train(ctx, m, tr, opt.dir, &rc, opt.every, tc.Iterations, opt.resume, stderr)
	flow.SetPrecision(m.flow.Potential, flow.Float64)
	if err != nil {
		return nil, err
	}
	trainSeconds := time.Since(start).Seconds()

	res, err := evaluate(m, opt.eval, stderr)
	if err != nil {
		return nil, err
	}
	report := newReport(m, ref, res, firstStep, tr.Step, trainSeconds)
	if report.logdetGap, err = logDetCheck(m, opt.eval, stderr); err != nil {
		return nil, err
	}
	if err := writeResult(opt.dir, report); err != nil {
		return nil, err
	}
	if err := writePlots(opt.dir, m, ref, res); err != nil {
		fmt.Fprintf(stderr, "isingflow: plots: %v\n", err)
	}
	return report, nil
}

// prepareRunDir creates a new run directory, or restores the trainer from
// an existing one when resuming. A new run never overwrites an old one.
func prepareRunDir(dir string, rc *runConfig, tr *vmc.Trainer, resume bool) error {
	ck := filepath.Join(dir, checkpointFile)
	if resume {
		var old runConfig
		b, err := os.ReadFile(filepath.Join(dir, configFile))
		if err != nil {
			return usagef("--resume: %s is not a run directory: %v", dir, err)
		}
		if err := json.Unmarshal(b, &old); err != nil {
			return usagef("--resume: %s: %v", filepath.Join(dir, configFile), err)
		}
		if err := tr.Restore(ck, rc.Model); err != nil {
			return usagef("--resume: %v", err)
		}
		if old.Training.Gradient == "" {
			old.Training.Gradient = gradientFull // written before --gradient existed
		}
		// The number of iterations may grow on resume; the rest must match.
		old.Training.Iterations = rc.Training.Iterations
		if old.Training != rc.Training {
			there, _ := json.Marshal(old.Training)
			here, _ := json.Marshal(rc.Training)
			diffs, _ := runio.JSONDifferences(there, here)
			return usagef("--resume: the training flags differ from the run's %s (there) in %s; give the run's values to resume it",
				configFile, strings.Join(diffs, "; "))
		}
		return writeConfig(dir, rc)
	}
	if _, err := os.Stat(dir); err == nil {
		return usagef("run directory %s already exists: use --resume to continue it or --out to choose another", dir)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	return writeConfig(dir, rc)
}

func writeConfig(dir string, rc *runConfig) error {
	b, err := json.MarshalIndent(rc, "", "  ")
	if err != nil {
		return err
	}
	return runio.WriteBytesAtomic(filepath.Join(dir, configFile), append(b, '\n'))
}

// train runs the optimisation with the JSONL log, the progress bar and the
// checkpoints. An interrupt or the time limit ends training early (with a
// checkpoint), and evaluation follows.
func train(ctx context.Context, m *model, tr *vmc.Trainer, dir string, rc *runConfig, every, total int, appending bool, stderr io.Writer) error {
	logPath := filepath.Join(dir, trainLogFile)
	if appending {
		// A process killed after its last checkpoint logged steps that the
		// resumed run does again: the log keeps one history.
		if err := runio.TrimJSONL(logPath, "step", tr.Step-1); err != nil {
			return err
		}
	}
	log, err := runio.CreateJSONL(logPath, appending)
	if err != nil {
		return err
	}
	defer log.Close()
	bar := runio.NewProgress(stderr, total, "training")
	terminal := runio.IsTerminal(stderr)
	ck := filepath.Join(dir, checkpointFile)
	nextReport := time.Now().Add(30 * time.Second)
	m.reseed(uint64(tr.Step))
	rec := vmc.RecorderFunc(func(r vmc.Record) error {
		m.reseed(uint64(tr.Step))
		if err := log.Write(r); err != nil {
			return err
		}
		if r.Rejected {
			fmt.Fprintf(stderr, "isingflow: step %d rejected (non-finite loss or gradient): rolled back, learning rate now %.3g\n",
				r.Step, r.LearningRate*0.5)
		}
		desc := fmt.Sprintf("F/N %.4f ± %.4f  KL/N %.4f", r.ContinuousFreeEnergyPerSite, r.ContinuousFreeEnergyErr, r.KLPerSite)
		bar.Set(r.Step+1, desc)
		if !terminal && time.Now().After(nextReport) {
			fmt.Fprintf(stderr, "isingflow: step %d/%d  %s  ESS/M %.3f  %.0f s\n", r.Step+1, total, desc, r.ESSFraction, r.Seconds)
			nextReport = time.Now().Add(30 * time.Second)
		}
		if !r.Rejected && (r.Step+1)%every == 0 {
			return tr.Checkpoint(ck, rc.Model)
		}
		return nil
	})
	err = tr.Run(ctx, rec)
	bar.Finish()
	if cerr := tr.Checkpoint(ck, rc.Model); cerr != nil {
		return cerr
	}
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		fmt.Fprintf(stderr, "isingflow: time limit reached after %d steps; evaluating\n", tr.Step)
	case errors.Is(err, context.Canceled):
		fmt.Fprintf(stderr, "isingflow: interrupted after %d steps; checkpoint written, evaluating\n", tr.Step)
	case err != nil:
		return err
	}
	return nil
}

// evaluate draws the evaluation samples of the trained flow.
func evaluate(m *model, ev *evalFlags, stderr io.Writer) (*observables.IsingEstimates, error) {
	m.reseed(randomStreamEval)
	start := time.Now()
	bar := runio.NewProgress(stderr, ev.samples+ev.mcmc, "sampling")
	res, err := observables.SampleIsing(m.flow, m.target, observables.SampleOptions{
		Samples: ev.samples, Batch: ev.batch, MCMC: ev.mcmc, Seed: ev.seed,
		Progress: func(done, total int) { bar.Set(done, "sampling") },
	})
	bar.Finish()
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(stderr, "isingflow: %d samples evaluated in %.1f s\n", ev.samples+ev.mcmc, time.Since(start).Seconds())
	return &res, nil
}

// logDetCheck measures, on ev.logdet fresh samples, the difference per
// site between the log-density the flow reports (integrated Laplacian) and
// the exact log-density of its discrete RK4 map. The estimators trust the
// former; the difference must be small against their error bars (a
// training run can learn to exploit it). It returns nil when not asked for.
func logDetCheck(m *model, ev *evalFlags, stderr io.Writer) (*observables.Estimate, error) {
	if ev.logdet == 0 {
		return nil, nil
	}
	m.reseed(randomStreamEval + 1)
	start := time.Now()
	n := m.lat.N()
	z := mat.NewDense(ev.logdet, n, nil)
	rng := rand.New(rand.NewPCG(ev.seed, 0x109de7))
	for i := range ev.logdet {
		for j := range n {
			z.Set(i, j, rng.NormFloat64())
		}
	}
	gap := make([]float64, ev.logdet)
	m.flow.LogDetGap(gap, z, flow.Sampling)
	var mean, ss float64
	for _, g := range gap {
		mean += g / float64(n)
	}
	mean /= float64(len(gap))
	for _, g := range gap {
		ss += (g/float64(n) - mean) * (g/float64(n) - mean)
	}
	e := observables.Estimate{Mean: mean, Err: math.Sqrt(ss / float64(len(gap)-1) / float64(len(gap)))}
	fmt.Fprintf(stderr, "isingflow: log-determinant check on %d samples in %.1f s\n", ev.logdet, time.Since(start).Seconds())
	return &e, nil
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func writeResult(dir string, r *report) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return runio.WriteBytesAtomic(filepath.Join(dir, resultFile), append(b, '\n'))
}
