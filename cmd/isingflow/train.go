package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"time"

	"github.com/spf13/pflag"
	"gonum.org/v1/gonum/mat"

	"github.com/isingflow/isingflow/flow"
	"github.com/isingflow/isingflow/internal/blasimpl"
	"github.com/isingflow/isingflow/internal/cli"
	"github.com/isingflow/isingflow/internal/runio"
	"github.com/isingflow/isingflow/model"
	"github.com/isingflow/isingflow/observables"
	"github.com/isingflow/isingflow/train"
	"github.com/isingflow/isingflow/vmc"
)

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
	fs.IntVar(&e.logdet, "logdet-check", 0, "samples on which to check ln p against the exact log-determinant of the RK4 map (costly)")
	cli.Group(fs, "evaluation")
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

// registerTraining adds the optimisation flags, with the defaults of
// model.DefaultTraining.
func registerTraining(fs *pflag.FlagSet, t *model.Training) {
	d := model.DefaultTraining()
	fs.IntVar(&t.Iterations, "iterations", d.Iterations, "optimisation steps (the run may end earlier at --time-limit)")
	fs.IntVar(&t.Batch, "batch", d.Batch, "samples per optimisation step")
	fs.Float64Var(&t.LR, "lr", d.LR, "Adam learning rate")
	fs.IntVar(&t.Warmup, "warmup", d.Warmup, "steps of linear learning-rate warm-up")
	fs.Float64Var(&t.FinalLR, "final-lr", d.FinalLR, "final learning rate as a fraction of --lr (cosine decay; 1: constant)")
	fs.Float64Var(&t.WeightDecay, "weight-decay", d.WeightDecay, "decoupled weight decay of Adam")
	fs.Float64Var(&t.L2, "l2", d.L2, "L2 penalty added to the gradient before Adam's moments")
	fs.Float64Var(&t.Kinetic, "kinetic", d.Kinetic, "weight of the transport-cost regulariser ½∫|∇φ|²dt")
	fs.Uint64Var(&t.Seed, "seed", d.Seed, "seed of the training samples")
	fs.Float64Var(&t.AnnealFrom, "anneal-from", d.AnnealFrom, "start training at this multiple of T and cool to T (1: no annealing)")
	fs.Float64Var(&t.AnnealFrac, "anneal-fraction", d.AnnealFrac, "fraction of the iterations spent annealing")
	fs.IntVar(&t.AnnealSteps, "anneal-levels", d.AnnealSteps, "temperature levels of the annealing")
	t.Precision = d.Precision
	fs.Var(&t.Precision, "precision", "arithmetic of the training step's matrix products: float32 or float64")
	fs.StringVar(&t.Gradient, "gradient", d.Gradient, "estimator of the free energy's gradient: path or full (the paper's)")
	fs.IntVar(&t.DataSteps, "data-steps", d.DataSteps, "first steps that also fit exact Wolff samples of the target (forward KL)")
	fs.Float64Var(&t.DataWeight, "data-weight", d.DataWeight, "weight of the forward-KL gradient during --data-steps")
	cli.Group(fs, "training")
}

// runFlags are the bookkeeping flags of training runs, shared by train and
// scan.
type runFlags struct {
	every int
	limit time.Duration
}

func (r *runFlags) register(fs *pflag.FlagSet) {
	fs.IntVar(&r.every, "checkpoint-every", 100, "write a checkpoint every this many steps (and at the end)")
	fs.DurationVar(&r.limit, "time-limit", 16*time.Minute, "stop training after this long (in a scan: per temperature; 0: none)")
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
	mc model.Config
	tc model.Training
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
	if err := a.tc.Validate(); err != nil {
		return usagef("%v", err)
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
	cli.Group(fs, "run and output")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := a.settle(fs); err != nil {
		return err
	}
	if err := rf.validate(); err != nil {
		return err
	}
	if _, err := a.g.lattice(); err != nil {
		return err
	}
	if err := a.mc.Validate(); err != nil {
		return usagef("%v", err)
	}
	dir := *out
	if dir == "" {
		dir = model.DefaultRunDir(&a.mc, &a.tc)
	}
	ctx, stop := cli.StopContext(context.Background())
	defer stop()
	report, err := trainAndEvaluate(ctx, model.RunConfig{Model: a.mc, Training: a.tc},
		runOptions{dir: dir, resume: *resume, every: rf.every, limit: rf.limit, eval: &a.ev}, stderr)
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
	init   []float64     // parameters to start from instead of the initialisation (a warm start)
}

// trainAndEvaluate is one run: it creates (or resumes) the run directory,
// trains, evaluates the trained flow, writes result.json and the plots,
// and returns the report. "isingflow train" makes one run, "isingflow
// scan" one per temperature.
func trainAndEvaluate(ctx context.Context, rc model.RunConfig, opt runOptions, stderr io.Writer) (*report, error) {
	var r *model.Run
	var err error
	if opt.resume {
		if r, err = model.Resume(opt.dir, rc); err != nil {
			return nil, usagef("--resume: %v", err)
		}
	} else {
		if r, err = model.Create(opt.dir, rc); err != nil {
			return nil, usagef("%v", err)
		}
		if opt.init != nil {
			copy(r.Model.Flow.Potential.Params(), opt.init)
		}
	}
	m, mc, tr := r.Model, &r.Config.Model, r.Trainer
	ref, err := exactReference(geometryOf(mc), m.Lattice, mc.Delta)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(stderr, "isingflow: %s lattice, T = %.6g, δ = %g; %s (%d parameters); BLAS: %s; elementwise: %s\n",
		m.Lattice, mc.T, mc.Delta, mc.Describe(), len(m.Flow.Potential.Params()), blasimpl.Name(), flow.Elementwise())
	if note := mc.MultiscaleNote(m.Lattice); note != "" {
		fmt.Fprintf(stderr, "isingflow: note: %s\n", note)
	}
	total := r.Config.Training.Iterations
	fmt.Fprintf(stderr, "isingflow: run directory %s, training from step %d to %d\n", opt.dir, tr.Step, total)

	bar := runio.NewProgress(stderr, total, "training")
	terminal := runio.IsTerminal(stderr)
	nextReport := time.Now().Add(30 * time.Second)
	res, err := r.Train(ctx, model.TrainOptions{CheckpointEvery: opt.every, Duration: opt.limit, Record: func(rec vmc.Record) error {
		if rec.Rejected {
			fmt.Fprintf(stderr, "isingflow: step %d rejected (non-finite loss or gradient): rolled back, learning rate now %.3g\n",
				rec.Step, rec.LearningRate*0.5)
		}
		desc := fmt.Sprintf("F/N %.4f ± %.4f  KL/N %.4f", rec.ContinuousFreeEnergyPerSite, rec.ContinuousFreeEnergyErr, rec.KLPerSite)
		bar.Set(rec.Step+1, desc)
		if !terminal && time.Now().After(nextReport) {
			fmt.Fprintf(stderr, "isingflow: step %d/%d  %s  ESS/M %.3f  %.0f s\n", rec.Step+1, total, desc, rec.ESSFraction, rec.Seconds)
			nextReport = time.Now().Add(30 * time.Second)
		}
		return nil
	}})
	bar.Finish()
	if err != nil {
		return nil, err
	}
	switch res.Status {
	case train.StatusTimeLimit:
		fmt.Fprintf(stderr, "isingflow: time limit reached after %d steps; evaluating\n", tr.Step)
	case train.StatusInterrupted:
		fmt.Fprintf(stderr, "isingflow: interrupted after %d steps; checkpoint written, evaluating\n", tr.Step)
	}

	est, err := evaluate(m, opt.eval, stderr)
	if err != nil {
		return nil, err
	}
	report := newReport(m, ref, est, res.FirstStep, tr.Step, res.Seconds)
	report.params = slices.Clone(m.Flow.Potential.Params())
	if report.logdetGap, err = logDetCheck(m, opt.eval, stderr); err != nil {
		return nil, err
	}
	if err := writeResult(opt.dir, report); err != nil {
		return nil, err
	}
	if err := writePlots(opt.dir, m, ref, est); err != nil {
		fmt.Fprintf(stderr, "isingflow: plots: %v\n", err)
	}
	return report, nil
}

// evaluate draws the evaluation samples of the trained flow.
func evaluate(m *model.Model, ev *evalFlags, stderr io.Writer) (*observables.IsingEstimates, error) {
	m.Reseed(model.StreamEvaluation)
	start := time.Now()
	bar := runio.NewProgress(stderr, ev.samples+ev.mcmc, "sampling")
	res, err := observables.SampleIsing(m.Flow, m.Target, observables.SampleOptions{
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
func logDetCheck(m *model.Model, ev *evalFlags, stderr io.Writer) (*observables.Estimate, error) {
	if ev.logdet == 0 {
		return nil, nil
	}
	m.Reseed(model.StreamLogDetGap)
	start := time.Now()
	n := m.Lattice.N()
	z := mat.NewDense(ev.logdet, n, nil)
	rng := rand.New(rand.NewPCG(ev.seed, 0x109de7))
	for i := range ev.logdet {
		for j := range n {
			z.Set(i, j, rng.NormFloat64())
		}
	}
	gap := make([]float64, ev.logdet)
	m.Flow.LogDetGap(gap, z, flow.Sampling)
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
	return runio.WriteBytesAtomic(filepath.Join(dir, model.ResultFile), append(b, '\n'))
}
