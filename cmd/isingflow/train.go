package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/isingflow/isingflow/flow"
	"github.com/isingflow/isingflow/internal/blasimpl"
	"github.com/isingflow/isingflow/internal/cli"
	"github.com/isingflow/isingflow/internal/runio"
	"github.com/isingflow/isingflow/model"
	"github.com/isingflow/isingflow/scan"
	"github.com/isingflow/isingflow/train"
	"github.com/isingflow/isingflow/vmc"
)

// registerEvaluation adds the flags of the evaluation after training (and
// of "isingflow eval"), with the defaults of scan.DefaultEvaluation.
func registerEvaluation(fs *pflag.FlagSet, e *scan.Evaluation) {
	d := scan.DefaultEvaluation()
	fs.IntVar(&e.Samples, "samples", d.Samples, "samples of the trained flow for the importance-weighted estimates")
	fs.IntVar(&e.MCMC, "mcmc", d.MCMC, "proposals of flow-MCMC (independence Metropolis-Hastings); 0 runs no chain")
	fs.Uint64Var(&e.Seed, "eval-seed", d.Seed, "seed of the evaluation samples")
	fs.IntVar(&e.Batch, "eval-batch", d.Batch, "samples drawn per batch in the evaluation")
	fs.IntVar(&e.LogDetCheck, "logdet-check", d.LogDetCheck, "samples on which to check ln p against the exact log-determinant of the RK4 map (costly)")
	fs.IntVar(&e.Discretisation, "discretisation-samples", d.Discretisation,
		"samples on which to estimate the RK4 error of ln p (ε against ε/2), folded into the error of f where it matters; 0: none")
	cli.Group(fs, "evaluation")
}

// validateEvaluation checks the evaluation flags.
func validateEvaluation(e *scan.Evaluation) error {
	if e.Batch < 1 {
		return usagef("--eval-batch %d: must be positive", e.Batch)
	}
	if err := e.Validate(); err != nil {
		return usagef("%v", err)
	}
	return nil
}

// registerTraining adds the optimisation flags, with the defaults of
// model.DefaultTraining for the default model; settleModelDefaults
// adapts those of other potentials.
func registerTraining(fs *pflag.FlagSet, t *model.Training) {
	d := model.DefaultTraining(defaultModel())
	fs.IntVar(&t.Iterations, "iterations", d.Iterations, "optimisation steps, at most (fewer when fitted to --time-limit); other potentials: 1700")
	fs.IntVar(&t.Batch, "batch", d.Batch, "samples per optimisation step")
	fs.Float64Var(&t.LR, "lr", d.LR, "Adam learning rate; other potentials: 0.001")
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
	fs.Var(&t.Precision, "precision", "arithmetic of the training step's matrix products: float32 or float64; the dense and random potentials: float32")
	fs.StringVar(&t.Gradient, "gradient", d.Gradient, "estimator of the free energy's gradient: path or full (the paper's)")
	fs.IntVar(&t.DataSteps, "data-steps", d.DataSteps, "first steps that also fit exact Wolff samples of the target (forward KL)")
	fs.Float64Var(&t.DataWeight, "data-weight", d.DataWeight, "weight of the forward-KL gradient during --data-steps")
	fs.BoolVar(&t.FitToTimeLimit, "fit-to-time-limit", d.FitToTimeLimit,
		"time the first steps and fit the iterations, the learning-rate decay and the anneal to --time-limit (off: a run cut by the limit stops before its decay ends); other potentials: false")
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
	fs.DurationVar(&r.limit, "time-limit", 16*time.Minute, "stop training after this long (in a scan: per temperature; with a size ladder: all its sizes; 0: none)")
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
	ev scan.Evaluation
}

func (a *trainArgs) register(fs *pflag.FlagSet) {
	a.g.register(fs)
	registerModel(fs, &a.mc)
	registerTraining(fs, &a.tc)
	registerEvaluation(fs, &a.ev)
}

// settle completes the model configuration from the parsed flags and
// checks the training and evaluation flags.
func (a *trainArgs) settle(fs *pflag.FlagSet) error {
	if err := settleModelDefaults(fs, &a.mc, &a.tc, a.g.open); err != nil {
		return err
	}
	a.mc.L, a.mc.Dim, a.mc.Open, a.mc.T = a.g.L, a.g.dim, a.g.open, float64(a.g.T)
	if err := a.tc.Validate(); err != nil {
		return usagef("%v", err)
	}
	return validateEvaluation(&a.ev)
}

func runTrain(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("train", stderr)
	var a trainArgs
	a.register(fs)
	out := fs.String("out", "", "run directory (default: runs/ named by the physics and the model)")
	resume := fs.Bool("resume", false, "continue the run in --out (or the default directory) from its checkpoint")
	initFrom := fs.String("init-from", "", "start from the trained flow of this run directory (its model unless flags say otherwise; another T, or another L with --potential multiscale)")
	ladder := fs.Int("ladder", -1, "first train on L/2^N, …, L/2 (N halvings), each from the one before for a quarter of --time-limit (or of --iterations), then L from their flow (-1: one for the multiscale potential on a torus of even L ≥ 16 without --init-from, else none)")
	var rf runFlags
	rf.register(fs)
	asJSON := fs.Bool("json", false, "print the results as one JSON object")
	cli.Group(fs, "run and output")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *initFrom != "" {
		if *resume {
			return usagef("--init-from and --resume: a resumed run continues from its own checkpoint")
		}
		src, err := model.ReadConfig(*initFrom)
		if err != nil {
			return usagef("--init-from: %v", err)
		}
		inheritModel(fs, &a.mc, &src.Model)
	}
	if err := a.settle(fs); err != nil {
		return err
	}
	// A warm start begins from a trained flow, which is what annealing
	// would provide (scan.WarmSettings).
	warm := scan.WarmSettings(a.tc, -1, fs.Changed)
	if *initFrom != "" {
		a.tc = warm
	}
	rungs := *ladder
	if rungs < 0 {
		rungs = scan.DefaultLadder(&a.mc, *initFrom)
	}
	if err := scan.CheckLadder(&a.mc, rungs, rf.limit); err != nil && !*resume {
		return usagef("%v", err)
	}
	if err := rf.validate(); err != nil {
		return err
	}
	if err := a.g.validate(); err != nil {
		return err
	}
	if err := a.mc.Validate(); err != nil {
		return usagef("%v", err)
	}
	if err := cli.CheckMemory("the run", a.ev.MemoryEstimate(&a.mc, &a.tc)); err != nil {
		return err
	}
	if _, err := a.g.lattice(); err != nil {
		return err
	}
	dir := *out
	if dir == "" {
		dir = model.DefaultRunDir(&a.mc, &a.tc)
		if *initFrom != "" {
			dir += "_warm"
		}
	}
	ctx, stop := cli.StopContext(context.Background())
	defer stop()
	res, err := trainAndEvaluate(ctx, model.RunConfig{Model: a.mc, Training: a.tc},
		runOptions{dir: dir, resume: *resume, initFrom: *initFrom, rungs: rungs, warm: warm, every: rf.every, limit: rf.limit, eval: a.ev}, stderr)
	if err != nil {
		return err
	}
	if *asJSON {
		return cli.WriteJSON(stdout, res)
	}
	printResult(stdout, res)
	fmt.Fprintf(stdout, "\nrun directory: %s (checkpoint, train.jsonl, result.json, plots)\n", dir)
	return nil
}

// runOptions are the settings of one training run besides the model and
// the optimiser.
type runOptions struct {
	dir    string // run directory
	resume bool   // continue the run in dir from its checkpoint
	// initFrom is a run directory whose trained flow starts a new run.
	initFrom string
	// rungs is the number of halvings of L that a size ladder trains on
	// first (scan.Ladder), warm the training of the warm-started runs.
	rungs int
	warm  model.Training
	every int           // checkpoint every this many steps
	limit time.Duration // stop training after this long; 0 means no limit
	eval  scan.Evaluation
}

// pointOptions returns the options of scan.Point with the progress reports
// of a training run on stderr: the model, a progress bar (or a line every
// 30 s when stderr is not a terminal), rejected steps, why training ended,
// the evaluation's progress and time.
func pointOptions(opt runOptions, stderr io.Writer) scan.Options {
	var bar *runio.Progress
	var total int
	var evalStart time.Time
	var run *model.Run
	restoredPlan := 0 // the plan of the checkpoint resumed from (--fit-to-time-limit)
	terminal := runio.IsTerminal(stderr)
	nextReport := time.Now().Add(30 * time.Second)
	o := scan.Options{
		Dir: opt.dir, Resume: opt.resume, InitFrom: opt.initFrom, CheckpointEvery: opt.every, Duration: opt.limit, Evaluation: opt.eval,
		CommandLine: os.Args,
	}
	o.Started = func(r *model.Run) {
		run, restoredPlan = r, r.Trainer.Planned
		m, mc := r.Model, &r.Config.Model
		fmt.Fprintf(stderr, "isingflow: %s lattice, T = %.6g, δ = %g; %s (%d parameters); BLAS: %s; elementwise: %s\n",
			m.Lattice, mc.T, mc.Delta, mc.Describe(), len(m.Flow.Potential.Params()), blasimpl.Name(), flow.Elementwise())
		if note := mc.MultiscaleNote(m.Lattice); note != "" {
			fmt.Fprintf(stderr, "isingflow: note: %s\n", note)
		}
		total = r.Config.Training.Iterations
		if r.Config.InitFrom != "" && r.Trainer.Step == 0 {
			fmt.Fprintf(stderr, "isingflow: starting from the trained flow of %s\n", r.Config.InitFrom)
		}
		fmt.Fprintf(stderr, "isingflow: run directory %s, training from step %d to %d\n", r.Dir, r.Trainer.Step, total)
		bar = runio.NewProgress(stderr, total, "training")
	}
	o.Record = func(rec vmc.Record) error {
		if p := run.Trainer.PlannedSteps(); p != total {
			// The plan fitted to the time limit (--fit-to-time-limit), or
			// re-fitted to the pace of the steps so far.
			bar.Finish()
			switch {
			case !rec.ProcessStart:
				fmt.Fprintf(stderr, "isingflow: %d steps re-planned to the pace of the steps so far (%d were planned); decay and anneal follow them\n", p, total)
			case p == restoredPlan:
				fmt.Fprintf(stderr, "isingflow: following the checkpoint's plan of %d steps fitted to the time limit\n", p)
			default:
				fmt.Fprintf(stderr, "isingflow: %d steps planned to fit the time limit (of --iterations %d); decay and anneal follow them\n", p, total)
			}
			total = p
			bar = runio.NewProgress(stderr, total, "training")
		}
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
	}
	o.Trained = func(res *train.Result) {
		bar.Finish()
		switch res.Status {
		case train.StatusTimeLimit:
			fmt.Fprintf(stderr, "isingflow: time limit reached after %d steps; evaluating\n", res.Steps)
		case train.StatusInterrupted:
			fmt.Fprintf(stderr, "isingflow: interrupted after %d steps; checkpoint written, evaluating\n", res.Steps)
		}
		evalStart = time.Now()
	}
	o.Evaluation.Progress = evaluationProgress(stderr, opt.eval, &evalStart)
	return o
}

// evaluationProgress returns a progress report of an evaluation that
// prints its time when it is done.
func evaluationProgress(stderr io.Writer, e scan.Evaluation, start *time.Time) func(done, total int) {
	var bar *runio.Progress
	return func(done, total int) {
		if bar == nil {
			bar = runio.NewProgress(stderr, total, "sampling")
		}
		bar.Set(done, "sampling")
		if done >= total {
			bar.Finish()
			bar = nil
			fmt.Fprintf(stderr, "isingflow: %d samples evaluated in %.1f s\n", total, time.Since(*start).Seconds())
		}
	}
}

// trainAndEvaluate is one run (scan.Point, or scan.Ladder with rungs) with
// its progress on stderr and its plots: "isingflow train" makes one,
// "isingflow scan" one per temperature.
func trainAndEvaluate(ctx context.Context, rc model.RunConfig, opt runOptions, stderr io.Writer) (*scan.Result, error) {
	po := pointOptions(opt, stderr)
	if started := po.Started; opt.rungs > 0 {
		announced := false
		po.Started = func(r *model.Run) {
			if !announced && strings.HasPrefix(r.Dir, scan.LadderDir(opt.dir)) {
				sizes, _ := scan.LadderSizes(rc.Model.L, opt.rungs)
				fmt.Fprintf(stderr, "isingflow: a size ladder: L = %v first, each for a quarter of the budget, in %s; then L = %d from their flow (--ladder 0: none)\n",
					sizes, scan.LadderDir(opt.dir), rc.Model.L)
			}
			announced = true
			started(r)
		}
	}
	res, err := scan.Ladder(ctx, rc, opt.warm, opt.rungs, po)
	if errors.Is(err, scan.ErrIncomplete) {
		return nil, &cli.StatusError{Err: err, Code: cli.ExitIncomplete}
	}
	var bad *scan.ConfigError
	if errors.As(err, &bad) {
		if opt.resume {
			return nil, usagef("--resume: %v", bad.Err)
		}
		return nil, usagef("%v", bad.Err)
	}
	if err != nil {
		return nil, err
	}
	if err := writePlots(opt.dir, res); err != nil {
		fmt.Fprintf(stderr, "isingflow: plots: %v\n", err)
	}
	return res, nil
}
