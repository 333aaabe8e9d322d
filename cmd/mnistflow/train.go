package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/isingflow/isingflow/flow"
	"github.com/isingflow/isingflow/internal/blasimpl"
	"github.com/isingflow/isingflow/internal/cli"
	"github.com/isingflow/isingflow/internal/runio"
	"github.com/isingflow/isingflow/mnist"
	"github.com/isingflow/isingflow/train"
)

// trainFlags are the flags of mnistflow train.
type trainFlags struct {
	cfg             mnist.Config
	preset          string
	data            string
	epochs          int
	maxBatches      int
	out             string
	resume          bool
	checkpointEvery int
	evalEvery       int
	// blocks is --blocks, which sets cfg.Blocks (K = 1 as 0) in validate.
	blocks         int
	timeLimit      time.Duration
	fitToTimeLimit bool
}

// identityFlags are the flags that set Config fields (the flag's name with
// "_" for "-" is the field's JSON name): on --resume, an explicitly given
// value must equal the run's.
var identityFlags = []string{"hidden", "activation", "steps", "blocks", "step-size", "batch", "lr",
	"final-lr", "weight-decay", "kinetic", "seed", "validation-size", "eval-images", "precision"}

// Presets of the configuration flags (--preset).
const (
	presetBudget = "budget" // mnist.BudgetConfig, the default
	presetPaper  = "paper"  // mnist.PaperConfig
)

// register defines the flags of mnistflow train with the defaults of the
// configuration preset.
func (f *trainFlags) register(fs *pflag.FlagSet, preset string) {
	c := &f.cfg
	*c = mnist.BudgetConfig()
	if preset == presetPaper {
		*c = mnist.PaperConfig()
	}
	fs.StringVar(&f.preset, "preset", preset, "defaults of the configuration flags: budget (tuned for minutes to hours on a CPU) or paper (the paper's H=1024, 100 steps of 0.1, lr 1e-3)")
	fs.StringVar(&f.data, "data", mnist.DefaultDir, "directory holding the four MNIST IDX files (raw or .gz)")
	fs.IntVar(&c.Hidden, "hidden", c.Hidden, "hidden units H of the potential φ(x) = Σ_j w_j σ(a_j·x + b_j)")
	fs.Var(&c.Activation, "activation", "activation σ: softplus (the paper's) or lncosh")
	fs.IntVar(&c.Steps, "steps", c.Steps, "RK4 steps of the flow")
	fs.IntVar(&f.blocks, "blocks", c.NumBlocks(), "independent potentials in time, each active for steps/blocks RK4 steps (1: one potential, the paper's); must divide --steps")
	fs.Float64Var(&c.StepSize, "step-size", c.StepSize, "RK4 step size ε (flow time T = steps·ε; the paper's code: ε = 0.1, T = 10)")
	fs.IntVar(&c.Batch, "batch", c.Batch, "images per training batch (also per validation batch)")
	fs.Float64Var(&c.LearningRate, "lr", c.LearningRate, "Adam learning rate")
	fs.Float64Var(&c.FinalLR, "final-lr", c.FinalLR, "decay the rate on a cosine to this fraction of --lr over the run's batches (0: a constant rate, the paper's)")
	fs.Float64Var(&c.WeightDecay, "weight-decay", c.WeightDecay, "L2 penalty added to the gradient, as torch.optim.Adam's weight_decay (the paper's code: 1e-3)")
	fs.Float64Var(&c.Kinetic, "kinetic", c.Kinetic, "weight of the transport cost ½∫|∇φ|²dt added to the loss")
	fs.Uint64Var(&c.Seed, "seed", c.Seed, "seed of the initial parameters, the batch order and the dequantisation noise")
	fs.IntVar(&c.ValidationSize, "validation-size", c.ValidationSize, "images held out of the training file for validation (MAF: the last 10000)")
	fs.IntVar(&c.EvalImages, "eval-images", c.EvalImages, "validation images evaluated at each validation (the first N; 0: no validation)")
	fs.IntVar(&f.evalEvery, "eval-every", 0, "validate also every N batches, besides at every epoch and at the end (0: epochs only)")
	fs.Var(&c.Precision, "precision", "arithmetic of the training step's matrix products: float64, or float32 (sgemm, faster; elementwise work, sums and every evaluation stay float64)")
	fs.IntVar(&f.epochs, "epochs", 100, "epochs to train (in total, counting those before a resume)")
	fs.IntVar(&f.maxBatches, "max-batches", 0, "stop after this many batches in total (0: no limit), for quick runs")
	fs.DurationVar(&f.timeLimit, "time-limit", 0, "stop training after this long, with a checkpoint to --resume from (0: no limit)")
	fs.BoolVar(&f.fitToTimeLimit, "fit-to-time-limit", true,
		"with --time-limit: time the first batches and fit the batches, and the decay of --final-lr, to it (false: a run cut by the limit stops before its decay ends)")
	fs.StringVar(&f.out, "out", "", "run directory (default runs/mnist_H<hidden>_S<steps>[_K<blocks>]_eps<ε>_B<batch>_lr<lr>[_final<final-lr>]_seed<seed>)")
	fs.BoolVar(&f.resume, "resume", false, "continue the run in --out from its last checkpoint")
	fs.IntVar(&f.checkpointEvery, "checkpoint-every", 20, "write a checkpoint every K batches (and at every epoch; 0: epochs only)")
}

// flagError turns an error of package mnist into a usage error, naming the
// flag of an invalid configuration value.
func flagError(err error) error {
	var ce *mnist.ConfigError
	if errors.As(err, &ce) {
		return usagef("--%s %v: %s", strings.ReplaceAll(ce.Field, "_", "-"), ce.Value, ce.Problem)
	}
	return usageError{Msg: oneLine(err.Error())}
}

func (f *trainFlags) validate() error {
	if f.blocks < 1 {
		return usagef("--blocks %d: want at least 1", f.blocks)
	}
	f.cfg.Blocks = f.blocks
	if f.blocks == 1 {
		f.cfg.Blocks = 0 // stored as before blocks existed (mnist.Config.NumBlocks)
	}
	// On --resume the run's stored configuration is used and the flags
	// given only assert it (sameIdentity): one given alone, say --steps 3,
	// must not be checked against the preset's defaults of the others.
	if !f.resume {
		if err := f.cfg.Validate(); err != nil {
			return flagError(err)
		}
	}
	switch {
	case f.epochs < 1:
		return usagef("--epochs %d: want at least 1", f.epochs)
	case f.maxBatches < 0:
		return usagef("--max-batches %d: want non-negative", f.maxBatches)
	case f.checkpointEvery < 0:
		return usagef("--checkpoint-every %d: want non-negative", f.checkpointEvery)
	case f.evalEvery < 0:
		return usagef("--eval-every %d: want non-negative", f.evalEvery)
	case f.timeLimit < 0:
		return usagef("--time-limit %v: want non-negative", f.timeLimit)
	}
	return nil
}

// parseTrainFlags parses the command line with the defaults of its
// --preset: first with those of the default preset, then, for another
// preset, again with its own.
func parseTrainFlags(args []string, stderr io.Writer) (*trainFlags, *pflag.FlagSet, error) {
	preset := presetBudget
	for {
		tf := &trainFlags{}
		fs := newFlagSet("train", stderr)
		tf.register(fs, preset)
		if err := parseFlags(fs, args); err != nil {
			return nil, nil, err
		}
		switch tf.preset {
		case preset:
			return tf, fs, nil
		case presetBudget, presetPaper:
			preset = tf.preset
		default:
			return nil, nil, usagef("--preset %q: want budget or paper", tf.preset)
		}
	}
}

func runTrain(args []string, stdout, stderr io.Writer) error {
	tf, fs, err := parseTrainFlags(args, stderr)
	if err != nil {
		return err
	}
	if err := tf.validate(); err != nil {
		return err
	}
	if fs.Changed("fit-to-time-limit") && tf.fitToTimeLimit && tf.timeLimit == 0 {
		return usagef("--fit-to-time-limit: needs a --time-limit to fit the batches to")
	}
	if tf.out == "" {
		tf.out = mnist.DefaultRunDir(&tf.cfg)
	}
	data := resolveDataDir(tf.data, fs.Changed("data"))
	cfg := tf.cfg
	var resumeFrom string
	if tf.resume {
		path, err := findCheckpoint(tf.out, "last")
		if c, cerr := mnist.ReadConfig(tf.out); err != nil && cerr == nil {
			// Killed before its first checkpoint: from the start.
			if err := sameIdentity(fs, &tf.cfg, &c, filepath.Join(tf.out, mnist.ConfigFile)); err != nil {
				return err
			}
			cfg, resumeFrom = c, filepath.Join(tf.out, mnist.ConfigFile)
		} else {
			if err != nil {
				return err
			}
			old, err := loadCheckpoint(path)
			if err != nil {
				return err
			}
			if err := sameIdentity(fs, &tf.cfg, &old.Config, path); err != nil {
				return err
			}
			cfg = old.Config
			if d := old.State().Data; !fs.Changed("data") && d != "" {
				data = resolveDataDir(d, false)
			}
			resumeFrom = path
		}
	}
	ds, err := mnist.LoadSplit(data, cfg.ValidationSize)
	if err != nil {
		return flagError(err)
	}
	// Refuse a model too large for the machine before building it, with
	// the image size of the data when the run has none yet (a batch larger
	// than the data is a usage error that Create reports).
	need := cfg
	if need.Rows == 0 || need.Cols == 0 {
		need.Rows, need.Cols = ds.Train.Images.Rows, ds.Train.Images.Cols
	}
	need.Batch = min(need.Batch, ds.Train.Len())
	if err := cli.CheckMemory("training the model", need.MemoryEstimate(0)); err != nil {
		return err
	}
	if perEpoch := ds.Train.Len() / cfg.Batch; perEpoch > 0 && tf.epochs > math.MaxInt/perEpoch {
		return usagef("--epochs %d: %d epochs of %d batches are more batches than can be counted", tf.epochs, tf.epochs, perEpoch)
	}
	var r *mnist.Run
	if resumeFrom != "" {
		r, err = mnist.Resume(tf.out, ds, data)
	} else {
		r, err = mnist.Create(tf.out, cfg, ds, data)
	}
	if errors.Is(err, mnist.ErrRunExists) {
		return usagef("%s: continue it with --resume or choose another --out", strings.TrimPrefix(err.Error(), "mnist: "))
	}
	if err != nil {
		return flagError(err)
	}
	defer r.Close()
	perEpoch := r.BatchesPerEpoch()
	total := tf.epochs * perEpoch
	if tf.maxBatches > 0 {
		total = min(total, tf.maxBatches)
	}
	header(stderr, r, resumeFrom, total, tf.timeLimit)
	if b, p := r.State().Batch, r.PlannedBatches(total); b >= p {
		if p < total {
			fmt.Fprintf(stderr, "  nothing to do: the run has done the %d batches of its plan fitted to the time limit\n", p)
		} else {
			fmt.Fprintf(stderr, "  nothing to do: the run has done %d batches already\n", b)
		}
		summary(stdout, r)
		return nil
	}

	ctx, stop := cli.StopContext(context.Background())
	defer stop()
	p := newProgress(r, total, stderr)
	res, err := r.Train(ctx, mnist.TrainOptions{
		Batches: total, CheckpointEvery: tf.checkpointEvery, ValidateEvery: tf.evalEvery,
		Duration: tf.timeLimit, FitToDuration: tf.fitToTimeLimit && tf.timeLimit > 0,
		Progress: p.record, ValidationProgress: p.validating,
	})
	p.bar.Finish()
	if err != nil {
		return err
	}
	last := filepath.Join(r.Dir, mnist.LastCheckpoint)
	switch res.Status {
	case train.StatusInterrupted:
		return fmt.Errorf("interrupted after batch %d; checkpoint %s written, continue with --resume --out %s",
			r.State().Batch, last, r.Dir)
	case train.StatusTimeLimit:
		fmt.Fprintf(stderr, "  time limit %v reached after batch %d; checkpoint %s written, continue with --resume --out %s\n",
			tf.timeLimit, r.State().Batch, last, r.Dir)
	}
	summary(stdout, r)
	return nil
}

// sameIdentity checks that every configuration flag given explicitly on
// --resume agrees with the run's configuration.
func sameIdentity(fs *pflag.FlagSet, given, stored *mnist.Config, path string) error {
	g, s := jsonFields(given), jsonFields(stored)
	for _, name := range identityFlags {
		key := strings.ReplaceAll(name, "-", "_")
		if fs.Changed(name) && !reflect.DeepEqual(g[key], s[key]) {
			js, _ := json.Marshal(stored)
			return usagef("--%s %s: %s is a checkpoint of another configuration (%s)",
				name, fs.Lookup(name).Value.String(), path, js)
		}
	}
	return nil
}

func jsonFields(c *mnist.Config) map[string]any {
	var m map[string]any
	js, _ := json.Marshal(c)
	_ = json.Unmarshal(js, &m)
	return m
}

func header(w io.Writer, r *mnist.Run, resumeFrom string, total int, limit time.Duration) {
	c := &r.Config
	st := r.State()
	ds := r.Data
	fmt.Fprintf(w, "mnistflow train: %s\n", r.Dir)
	if resumeFrom != "" {
		fmt.Fprintf(w, "  resuming from %s at batch %d\n", resumeFrom, st.Batch)
	}
	fmt.Fprintf(w, "  data: %s (%d train / %d validation / %d test images of %d×%d)\n", st.Data,
		ds.Train.Len(), ds.Validation.Len(), ds.Test.Len(), c.Rows, c.Cols)
	fmt.Fprintf(w, "  potential: %s\n", describePotential(c, len(r.Flow.Potential.Params())))
	fmt.Fprintf(w, "  flow: %d RK4 steps of ε = %g (T = %.4g), tape %.0f MB\n", c.Steps, c.StepSize,
		r.Flow.Duration(), float64(r.Flow.TapeBytes(c.Batch))/1e6)
	lr := fmt.Sprintf("lr %g", c.LearningRate)
	if c.FinalLR != 0 {
		lr += fmt.Sprintf(" decaying to %g·lr on a cosine", c.FinalLR)
	}
	fmt.Fprintf(w, "  Adam: %s, L2 weight decay %g, batch %d, kinetic weight %g, seed %d\n",
		lr, c.WeightDecay, c.Batch, c.Kinetic, c.Seed)
	until := fmt.Sprintf("training to batch %d", total)
	if p := r.PlannedBatches(total); p < total {
		until += fmt.Sprintf(" (the checkpoint's plan fitted to the time limit: batch %d)", p)
	}
	if limit > 0 {
		until += fmt.Sprintf(" or for %v", limit)
	}
	fmt.Fprintf(w, "  %d batches per epoch, %s; BLAS: %s, elementwise: %s, GOMAXPROCS %d\n",
		r.BatchesPerEpoch(), until, blasimpl.Name(), flow.Elementwise(), runtime.GOMAXPROCS(0))
}

// describePotential describes the potential of the configuration, of
// params parameters in all.
func describePotential(c *mnist.Config, params int) string {
	potential := fmt.Sprintf("%d hidden units, %s, %d parameters", c.Hidden, c.Activation, params)
	if K := c.NumBlocks(); K > 1 {
		potential = fmt.Sprintf("%d blocks in time, each of %s in all", K, potential)
	}
	return potential
}

// progress reports training on stderr: a bar on a terminal, else a line
// every twentieth of the batches; and the validations and rejected steps.
type progress struct {
	r            *mnist.Run
	w            io.Writer
	bar          *runio.Progress
	terminal     bool
	start, total int
	asked        int // the batches asked for, before a plan fitted to the time limit
	every        int
	planned      bool // the plan fitted to the time limit is known (reported)
	plan         int  // then the trainer's plan (train.Trainer.Planned)
}

func newProgress(r *mnist.Run, total int, w io.Writer) *progress {
	start := r.State().Batch
	p := &progress{r: r, w: w, terminal: runio.IsTerminal(w), start: start, asked: total}
	p.setTotal(r.PlannedBatches(total))
	return p
}

// setTotal (re)starts the bar for training to batch total.
func (p *progress) setTotal(total int) {
	if p.bar != nil {
		p.bar.Finish()
	}
	p.total, p.every = total, max(1, (total-p.start)/20)
	p.bar = runio.NewProgress(p.w, total-p.start, "")
}

func (p *progress) record(rec mnist.Record) error {
	st := p.r.State()
	if _, ok := rec.(*mnist.EpochRecord); !ok && !p.planned {
		// After the first step the plan fitted to the time limit
		// (--fit-to-time-limit) is known.
		p.planned, p.plan = true, p.r.Trainer.Planned
		if planned := p.r.PlannedBatches(p.asked); planned < p.total {
			p.notef("%d batches planned to fit the time limit (of %d); %s", planned, p.total, p.followers())
			p.setTotal(planned)
		}
	} else if p.planned && p.r.Trainer.Planned != p.plan {
		// The plan re-fitted to the pace of the batches so far.
		p.plan = p.r.Trainer.Planned
		planned := p.r.PlannedBatches(p.asked)
		p.notef("%d batches re-planned to the pace of the batches so far (%d were planned); %s",
			planned, p.total, p.followers())
		p.setTotal(planned)
	}
	switch rec := rec.(type) {
	case *mnist.BatchRecord:
		done := rec.Batch - p.start
		running := st.EpochNLL / float64(max(1, st.EpochBatches))
		p.bar.Set(done, fmt.Sprintf("epoch %d, NLL %.1f", rec.Epoch, running))
		if !p.terminal && (done%p.every == 0 || rec.Batch == p.total) {
			fmt.Fprintf(p.w, "  batch %d/%d (epoch %d): NLL %.2f nats (epoch mean %.2f), %.1f s\n",
				rec.Batch, p.total, rec.Epoch, rec.NLL, running, st.Elapsed)
		}
	case *mnist.RejectedRecord:
		p.bar.Set(rec.Batch-p.start, "")
		what := "parameters kept"
		if rec.Undone {
			what = "last update undone"
		}
		p.notef("batch %d rejected: %s; learning rate halved to %g, %s",
			rec.Batch, rec.Reason, p.r.Config.LearningRate*rec.LRScale, what)
	case *mnist.EpochRecord:
		switch {
		case rec.ValNonFinite:
			p.notef("batch %d: validation NLL is not finite", rec.Batch)
		case rec.ValNLL == nil:
		case rec.TrainNLL != nil:
			p.notef("epoch %.2f (batch %d): train NLL %.2f, validation NLL %.2f ± %.2f nats = %.4f bits/dim (%d images, %.0f s)",
				rec.Epoch, rec.Batch, *rec.TrainNLL, *rec.ValNLL, *rec.ValNLLErr, *rec.ValBitsPerDim, rec.ValImages, rec.Seconds)
		default:
			p.notef("batch %d: validation NLL %.2f ± %.2f nats = %.4f bits/dim (%d images, %.0f s)",
				rec.Batch, *rec.ValNLL, *rec.ValNLLErr, *rec.ValBitsPerDim, rec.ValImages, rec.Seconds)
		}
	}
	return nil
}

// followers says what follows the plan.
func (p *progress) followers() string {
	if p.r.Config.FinalLR != 0 {
		return "the learning rate decays over them"
	}
	return "training stops at the end of the plan"
}

func (p *progress) validating(done, total int) {
	b := p.r.State().Batch
	p.bar.Set(b-p.start, fmt.Sprintf("epoch %d, validating %d/%d", (b+p.r.BatchesPerEpoch()-1)/p.r.BatchesPerEpoch(), done, total))
}

// notef prints a line of diagnostics on stderr, on a line of its own
// below the progress bar on a terminal.
func (p *progress) notef(format string, args ...any) {
	if p.terminal {
		fmt.Fprintln(p.w)
	}
	fmt.Fprintf(p.w, "  "+format+"\n", args...)
}

// summary prints the outcome of the run on stdout.
func summary(w io.Writer, r *mnist.Run) {
	st := r.State()
	perEpoch := r.BatchesPerEpoch()
	fmt.Fprintf(w, "run              %s\n", r.Dir)
	fmt.Fprintf(w, "batches          %d (%.2f epochs of %d batches), %d rejected\n",
		st.Batch, float64(st.Batch)/float64(perEpoch), perEpoch, st.Rejected)
	if v := r.LastValidation; v != nil {
		fmt.Fprintf(w, "validation NLL   %.2f ± %.2f nats, %.4f ± %.4f bits/dim (%d images, batch %d)\n",
			v.NLL, v.NLLErr, v.BitsPerDim, v.BitsPerDimErr, v.Images, r.LastValidationBatch)
	}
	if st.BestNLL != nil {
		fmt.Fprintf(w, "best validation  %.2f nats at batch %d (%s)\n", *st.BestNLL, st.BestBatch, filepath.Join(r.Dir, mnist.BestCheckpoint))
	}
	fmt.Fprintf(w, "last checkpoint  %s\n", filepath.Join(r.Dir, mnist.LastCheckpoint))
	if st.Batch > 0 {
		fmt.Fprintf(w, "training time    %.1f s in all, %.3f s per batch (without validation)\n",
			st.Elapsed, st.TrainSeconds/float64(st.Batch))
	}
}
