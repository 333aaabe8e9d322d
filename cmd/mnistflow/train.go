package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"math/rand/v2"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"time"

	"github.com/spf13/pflag"
	"gonum.org/v1/gonum/mat"

	"github.com/isingflow/isingflow/flow"
	"github.com/isingflow/isingflow/internal/blasimpl"
	"github.com/isingflow/isingflow/internal/cli"
	"github.com/isingflow/isingflow/internal/runio"
	"github.com/isingflow/isingflow/mnist"
)

// maxRejectedInARow is the number of consecutive rejected steps (non-finite
// loss or gradient) after which training gives up.
const maxRejectedInARow = 10

// trainFlags are the flags of mnistflow train.
type trainFlags struct {
	cfg             config
	data            string
	epochs          int
	maxBatches      int
	out             string
	resume          bool
	checkpointEvery int
}

// identityFlags are the flags that set config fields: on --resume, an
// explicitly given value must equal the run's.
var identityFlags = []string{"hidden", "activation", "steps", "step-size", "batch", "lr",
	"weight-decay", "kinetic", "seed", "validation-size", "eval-images", "precision"}

func (f *trainFlags) register(fs *pflag.FlagSet) {
	c := &f.cfg
	c.Activation = flow.Softplus
	fs.StringVar(&f.data, "data", mnist.DefaultDir, "directory holding the four MNIST IDX files (raw or .gz)")
	fs.IntVar(&c.Hidden, "hidden", 1024, "hidden units H of the potential φ(x) = Σ_j w_j σ(a_j·x + b_j)")
	fs.Var(&c.Activation, "activation", "activation σ: softplus (the paper's) or lncosh")
	fs.IntVar(&c.Steps, "steps", 100, "RK4 steps of the flow")
	fs.Float64Var(&c.StepSize, "step-size", 0.1, "RK4 step size ε (flow time T = steps·ε; the paper's code: ε = 0.1, T = 10)")
	fs.IntVar(&c.Batch, "batch", 100, "images per training batch (also per validation batch)")
	fs.Float64Var(&c.LearningRate, "lr", 1e-3, "Adam learning rate")
	fs.Float64Var(&c.WeightDecay, "weight-decay", 1e-3, "L2 penalty added to the gradient, as torch.optim.Adam's weight_decay (the paper's code: 1e-3)")
	fs.Float64Var(&c.Kinetic, "kinetic", 0, "weight of the transport cost ½∫|∇φ|²dt added to the loss")
	fs.Uint64Var(&c.Seed, "seed", 1, "seed of the initial parameters, the batch order and the dequantisation noise")
	fs.IntVar(&c.ValidationSize, "validation-size", mnist.ValidationSize, "images held out of the training file for validation (MAF: the last 10000)")
	fs.IntVar(&c.EvalImages, "eval-images", mnist.ValidationSize, "validation images evaluated at each epoch (the first N; 0: no validation)")
	fs.Var(&c.Precision, "precision", "arithmetic of the training step's matrix products: float64, or float32 (sgemm, faster; elementwise work, sums and every evaluation stay float64)")
	fs.IntVar(&f.epochs, "epochs", 100, "epochs to train (in total, counting those before a resume)")
	fs.IntVar(&f.maxBatches, "max-batches", 0, "stop after this many batches in total (0: no limit), for quick runs")
	fs.StringVar(&f.out, "out", "", "run directory (default runs/mnist_H<hidden>_S<steps>_eps<ε>_B<batch>_lr<lr>_seed<seed>)")
	fs.BoolVar(&f.resume, "resume", false, "continue the run in --out from its last checkpoint")
	fs.IntVar(&f.checkpointEvery, "checkpoint-every", 20, "write a checkpoint every K batches (and at every epoch; 0: epochs only)")
}

// validateConfig checks the configuration's values (the image size is
// checked only when set).
func validateConfig(c *config) error {
	switch {
	case c.Hidden < 1:
		return usagef("--hidden %d: want at least 1", c.Hidden)
	case c.Steps < 1:
		return usagef("--steps %d: want at least 1", c.Steps)
	case !(c.StepSize > 0) || math.IsInf(c.StepSize, 0):
		return usagef("--step-size %v: want positive and finite", c.StepSize)
	case c.Batch < 1:
		return usagef("--batch %d: want at least 1", c.Batch)
	case !(c.LearningRate > 0) || math.IsInf(c.LearningRate, 0):
		return usagef("--lr %v: want positive and finite", c.LearningRate)
	case !(c.WeightDecay >= 0) || math.IsInf(c.WeightDecay, 0):
		return usagef("--weight-decay %v: want non-negative and finite", c.WeightDecay)
	case !(c.Kinetic >= 0) || math.IsInf(c.Kinetic, 0):
		return usagef("--kinetic %v: want non-negative and finite", c.Kinetic)
	case c.ValidationSize < 0:
		return usagef("--validation-size %d: want non-negative", c.ValidationSize)
	case c.EvalImages < 0:
		return usagef("--eval-images %d: want non-negative", c.EvalImages)
	case c.Rows < 0 || c.Cols < 0:
		return usagef("image size %d×%d", c.Rows, c.Cols)
	}
	return nil
}

func (f *trainFlags) validate() error {
	if err := validateConfig(&f.cfg); err != nil {
		return err
	}
	switch {
	case f.epochs < 1:
		return usagef("--epochs %d: want at least 1", f.epochs)
	case f.maxBatches < 0:
		return usagef("--max-batches %d: want non-negative", f.maxBatches)
	case f.checkpointEvery < 0:
		return usagef("--checkpoint-every %d: want non-negative", f.checkpointEvery)
	}
	return nil
}

func runTrain(args []string, stdout, stderr io.Writer) error {
	var tf trainFlags
	fs := newFlagSet("train", stderr)
	tf.register(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := tf.validate(); err != nil {
		return err
	}
	if tf.out == "" {
		tf.out = defaultRunDir(&tf.cfg)
	}
	tf.data = resolveDataDir(tf.data, fs.Changed("data"))

	cfg := tf.cfg
	var resumeFrom string
	if tf.resume {
		path, err := runCheckpoint(tf.out, "last")
		if err != nil {
			return err
		}
		st, _, err := readCheckpoint(path)
		if err != nil {
			return err
		}
		if err := sameIdentity(fs, &tf.cfg, &st.Config, path); err != nil {
			return err
		}
		cfg = st.Config
		if !fs.Changed("data") && st.Data != "" {
			tf.data = resolveDataDir(st.Data, false)
		}
		resumeFrom = path
	} else if err := checkFreshRunDir(tf.out); err != nil {
		return err
	}

	ds, err := mnist.LoadSplit(tf.data, cfg.ValidationSize)
	if err != nil {
		return usageError{Msg: oneLine(err.Error())}
	}
	im := ds.Train.Images
	if resumeFrom == "" {
		cfg.Rows, cfg.Cols = im.Rows, im.Cols
	} else if cfg.Rows != im.Rows || cfg.Cols != im.Cols {
		return usagef("the run has %d×%d images but %s holds %d×%d", cfg.Rows, cfg.Cols, tf.data, im.Rows, im.Cols)
	}
	perEpoch := ds.Train.Len() / cfg.Batch
	if perEpoch == 0 {
		return usagef("--batch %d: larger than the %d training images", cfg.Batch, ds.Train.Len())
	}

	stored := tf.data
	if abs, err := filepath.Abs(tf.data); err == nil {
		stored = abs // in the checkpoints, for eval from any directory
	}
	t, err := newTrainer(cfg, stored)
	if err != nil {
		return err
	}
	if resumeFrom != "" {
		if err := t.restore(resumeFrom, ds.Train.Len()); err != nil {
			return err
		}
		t.st.Data = stored
	}
	total := tf.epochs * perEpoch
	if tf.maxBatches > 0 {
		total = min(total, tf.maxBatches)
	}
	r := &trainRun{
		t: t, ds: ds, dir: tf.out, perEpoch: perEpoch, total: total,
		checkpointEvery: tf.checkpointEvery, stderr: stderr,
	}
	r.header(resumeFrom)
	if err := r.open(resumeFrom != ""); err != nil {
		return err
	}
	defer r.log.Close()
	if err := r.train(); err != nil {
		return err
	}
	r.summary(stdout)
	return nil
}

// sameIdentity checks that every configuration flag given explicitly on
// --resume agrees with the run's configuration.
func sameIdentity(fs *pflag.FlagSet, given, stored *config, path string) error {
	g, s := *given, *stored
	g.Rows, g.Cols = s.Rows, s.Cols
	if g == s {
		return nil
	}
	for _, name := range identityFlags {
		if !fs.Changed(name) {
			continue
		}
		one := s
		switch name {
		case "hidden":
			one.Hidden = g.Hidden
		case "activation":
			one.Activation = g.Activation
		case "steps":
			one.Steps = g.Steps
		case "step-size":
			one.StepSize = g.StepSize
		case "batch":
			one.Batch = g.Batch
		case "lr":
			one.LearningRate = g.LearningRate
		case "weight-decay":
			one.WeightDecay = g.WeightDecay
		case "kinetic":
			one.Kinetic = g.Kinetic
		case "seed":
			one.Seed = g.Seed
		case "validation-size":
			one.ValidationSize = g.ValidationSize
		case "eval-images":
			one.EvalImages = g.EvalImages
		case "precision":
			one.Precision = g.Precision
		}
		if one != s {
			return usagef("--%s %s: %s is a checkpoint of another configuration (%s)",
				name, fs.Lookup(name).Value.String(), path, configJSON(&s))
		}
	}
	return nil
}

func configJSON(c *config) string {
	js, _ := json.Marshal(c)
	return string(js)
}

// checkFreshRunDir refuses a directory that already holds a run or is not
// a directory, so that a new run never overwrites anything.
func checkFreshRunDir(dir string) error {
	st, err := os.Stat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return usageError{Msg: err.Error()}
	}
	if !st.IsDir() {
		return usagef("--out %s is not a directory", dir)
	}
	for _, name := range []string{lastFile, bestFile, configFile, logFile} {
		if _, err := os.Stat(filepath.Join(dir, name)); err == nil {
			return usagef("%s already holds a run (%s): continue it with --resume or choose another --out", dir, name)
		}
	}
	return nil
}

// trainRun is one invocation of mnistflow train.
type trainRun struct {
	t               *trainer
	ds              *mnist.Dataset
	dir             string
	perEpoch, total int
	checkpointEvery int
	stderr          io.Writer
	log             *runio.JSONL

	eval      *mnist.Evaluator
	y         *mat.Dense
	logJac    []float64
	grad      []float64
	idx       []int
	nll       float64 // NLL of the current batch, captured by the loss
	backup    backup
	lastVal   *mnist.Summary
	startTime time.Time
}

// batchRecord is the log record of one training step.
type batchRecord struct {
	Kind       string   `json:"kind"` // "batch"
	Batch      int      `json:"batch"`
	Epoch      int      `json:"epoch"` // 1-based epoch the batch belongs to
	NLL        float64  `json:"nll"`
	BitsPerDim float64  `json:"bits_per_dim"`
	Kinetic    *float64 `json:"kinetic,omitempty"`
	LR         float64  `json:"lr"`
	GradNorm   float64  `json:"grad_norm"`
	Seconds    float64  `json:"seconds"`
}

// epochRecord is the log record of a validation: at the start, after every
// epoch and when a run stops within an epoch (Partial).
type epochRecord struct {
	Kind             string   `json:"kind"` // "epoch"
	Batch            int      `json:"batch"`
	Epoch            float64  `json:"epoch"` // epochs done
	Partial          bool     `json:"partial,omitempty"`
	TrainNLL         *float64 `json:"train_nll,omitempty"` // mean over the epoch's batches
	TrainBitsPerDim  *float64 `json:"train_bits_per_dim,omitempty"`
	ValNLL           *float64 `json:"val_nll,omitempty"`
	ValNLLErr        *float64 `json:"val_nll_err,omitempty"`
	ValBitsPerDim    *float64 `json:"val_bits_per_dim,omitempty"`
	ValBitsPerDimErr *float64 `json:"val_bits_per_dim_err,omitempty"`
	ValImages        int      `json:"val_images"`
	ValNonFinite     bool     `json:"val_non_finite,omitempty"` // the validation NLL was NaN or infinite
	Seconds          float64  `json:"seconds"`                  // of the validation
	Elapsed          float64  `json:"elapsed"`                  // of training so far
}

// rejectedRecord logs a step rejected by the NaN guard.
type rejectedRecord struct {
	Kind    string  `json:"kind"` // "rejected"
	Batch   int     `json:"batch"`
	Reason  string  `json:"reason"`
	LRScale float64 `json:"lr_scale"` // after halving
}

func (r *trainRun) header(resumeFrom string) {
	c := &r.t.cfg
	w := r.stderr
	fmt.Fprintf(w, "mnistflow train: %s\n", r.dir)
	if resumeFrom != "" {
		fmt.Fprintf(w, "  resuming from %s at batch %d\n", resumeFrom, r.t.st.Batch)
	}
	fmt.Fprintf(w, "  data: %s (%d train / %d validation / %d test images of %d×%d)\n", r.t.st.Data,
		r.ds.Train.Len(), r.ds.Validation.Len(), r.ds.Test.Len(), c.Rows, c.Cols)
	fmt.Fprintf(w, "  potential: %d hidden units, %s, %d parameters\n", c.Hidden, c.Activation, len(r.t.m.potential.Params()))
	fmt.Fprintf(w, "  flow: %d RK4 steps of ε = %g (T = %.4g), tape %.0f MB\n", c.Steps, c.StepSize,
		r.t.m.flow.Duration(), float64(r.t.m.flow.TapeBytes(c.Batch))/1e6)
	fmt.Fprintf(w, "  Adam: lr %g, L2 weight decay %g, batch %d, kinetic weight %g, seed %d\n",
		c.LearningRate, c.WeightDecay, c.Batch, c.Kinetic, c.Seed)
	fmt.Fprintf(w, "  %d batches per epoch, training to batch %d; BLAS: %s, elementwise: %s, GOMAXPROCS %d\n",
		r.perEpoch, r.total, blasimpl.Name(), flow.Elementwise(), runtime.GOMAXPROCS(0))
}

// open creates the run directory (fresh) or trims its log to the
// checkpoint (resume), and opens the log for appending.
func (r *trainRun) open(resume bool) error {
	path := filepath.Join(r.dir, logFile)
	if resume {
		if err := runio.TrimJSONL(path, "batch", r.t.st.Batch); err != nil {
			return err
		}
	} else {
		if err := os.MkdirAll(r.dir, 0o755); err != nil {
			return err
		}
		if err := writeConfig(filepath.Join(r.dir, configFile), &r.t.cfg); err != nil {
			return err
		}
	}
	l, err := runio.CreateJSONL(path, true)
	if err != nil {
		return err
	}
	r.log = l
	return nil
}

// train runs the batches up to r.total, validating and checkpointing.
func (r *trainRun) train() error {
	t := r.t
	c := &t.cfg
	d := c.Rows * c.Cols
	r.y = mat.NewDense(c.Batch, d, nil)
	r.logJac = make([]float64, c.Batch)
	r.grad = make([]float64, len(t.m.potential.Params()))
	r.idx = make([]int, c.Batch)
	r.eval = &mnist.Evaluator{Flow: t.m.flow, Batch: c.Batch}
	r.startTime = time.Now()
	elapsed0 := t.st.Elapsed

	if t.st.Batch == 0 && t.st.EpochBatches == 0 && t.st.BestNLL == nil {
		// A fresh run: the initial model's validation NLL and a checkpoint,
		// so the directory is a run from the start.
		if err := r.validate(false); err != nil {
			return err
		}
		if err := r.save(); err != nil {
			return err
		}
	}
	if t.st.Batch >= r.total {
		fmt.Fprintf(r.stderr, "  nothing to do: the run has done %d batches already\n", t.st.Batch)
		return nil
	}

	interrupt := make(chan os.Signal, 1)
	signal.Notify(interrupt, cli.StopSignals...)
	defer signal.Stop(interrupt)

	start := t.st.Batch
	bar := runio.NewProgress(r.stderr, r.total-start, "")
	defer bar.Finish()
	quiet := runio.IsTerminal(r.stderr)
	every := max(1, (r.total-start)/20)
	inARow := 0
	for t.st.Batch < r.total {
		select {
		case <-interrupt:
			t.st.Elapsed = elapsed0 + time.Since(r.startTime).Seconds()
			if err := r.saveLast(); err != nil {
				return err
			}
			return fmt.Errorf("interrupted after batch %d; checkpoint %s written, continue with --resume --out %s",
				t.st.Batch, filepath.Join(r.dir, lastFile), r.dir)
		default:
		}
		ok, err := r.step()
		if err != nil {
			return err
		}
		if ok {
			inARow = 0
		} else if inARow++; inARow >= maxRejectedInARow {
			t.st.Elapsed = elapsed0 + time.Since(r.startTime).Seconds()
			_ = r.saveLast()
			return fmt.Errorf("%d steps in a row rejected (non-finite loss or gradient) at batch %d; giving up (lr scale now %g)",
				inARow, t.st.Batch, t.st.LRScale)
		}
		t.st.Elapsed = elapsed0 + time.Since(r.startTime).Seconds()

		done := t.st.Batch - start
		epoch := (t.st.Batch-1)/r.perEpoch + 1
		running := t.st.EpochNLL / float64(max(1, t.st.EpochBatches))
		bar.Set(done, fmt.Sprintf("epoch %d, NLL %.1f", epoch, running))
		if !quiet && (done%every == 0 || t.st.Batch == r.total) {
			fmt.Fprintf(r.stderr, "  batch %d/%d (epoch %d): NLL %.2f nats (epoch mean %.2f), %.1f s\n",
				t.st.Batch, r.total, epoch, r.nll, running, t.st.Elapsed)
		}

		endOfEpoch := t.st.Batch%r.perEpoch == 0
		switch {
		case endOfEpoch || t.st.Batch == r.total:
			bar.Set(done, fmt.Sprintf("epoch %d, validating", epoch))
			if err := r.validate(!endOfEpoch); err != nil {
				return err
			}
			if endOfEpoch {
				t.st.EpochNLL, t.st.EpochBPD, t.st.EpochBatches = 0, 0, 0
				t.perm = t.perm[:0]
			}
			if err := r.save(); err != nil {
				return err
			}
		case r.checkpointEvery > 0 && t.st.Batch%r.checkpointEvery == 0:
			if err := r.saveLast(); err != nil {
				return err
			}
		}
	}
	return nil
}

// step trains on one batch. It returns false if the NaN guard rejected the
// step, and an error only if the log cannot be written.
func (r *trainRun) step() (bool, error) {
	t := r.t
	c := &t.cfg
	start := time.Now()
	k := t.st.Batch % r.perEpoch
	if k == 0 || len(t.perm) == 0 {
		t.perm = t.rng.Perm(r.ds.Train.Len())
	}
	copy(r.idx, t.perm[k*c.Batch:(k+1)*c.Batch])
	im := r.ds.Train.Images
	mnist.LogitBatch(r.y, r.logJac, im, r.idx, t.rng)

	params := t.m.potential.Params()
	t.m.potential.SetPrecision(c.Precision)
	J := t.m.flow.Gradient(r.grad, nil, r.y, flow.Density, flow.LossFunc(r.loss))
	t.m.potential.SetPrecision(flow.Float64)
	t.st.Batch++
	t.st.ValNLL, t.st.ValNLLErr = nil, nil

	reason := ""
	switch {
	case !finite(r.nll) || !finite(J):
		reason = fmt.Sprintf("loss %v", r.nll)
	default:
		for i, g := range r.grad {
			if !finite(g) {
				reason = fmt.Sprintf("gradient component %d is %v", i, g)
				break
			}
		}
	}
	if reason != "" {
		t.st.Rejected++
		t.st.LRScale /= 2
		what := "parameters kept"
		if r.backup.valid {
			r.backup.restore(t)
			what = "last update undone"
		}
		r.notef("batch %d rejected: %s; learning rate halved to %g, %s", t.st.Batch, reason, c.LearningRate*t.st.LRScale, what)
		t.st.TrainSeconds += time.Since(start).Seconds()
		return false, r.log.Write(rejectedRecord{Kind: "rejected", Batch: t.st.Batch, Reason: reason, LRScale: t.st.LRScale})
	}
	// These parameters gave a finite loss and gradient: the last good ones.
	r.backup.save(t)

	var norm float64
	for i, g := range r.grad {
		g += c.WeightDecay * params[i] // torch.optim.Adam's weight_decay: an L2 term in the gradient
		r.grad[i] = g
		norm += g * g
	}
	lr := c.LearningRate * t.st.LRScale
	t.adam.Update(params, r.grad, lr)

	var bpd float64
	for _, lj := range r.logJac {
		bpd += mnist.BitsPerDim(r.nll, lj, im.Dim())
	}
	bpd /= float64(len(r.logJac))
	t.st.EpochNLL += r.nll
	t.st.EpochBPD += bpd
	t.st.EpochBatches++
	rec := batchRecord{
		Kind: "batch", Batch: t.st.Batch, Epoch: (t.st.Batch-1)/r.perEpoch + 1,
		NLL: r.nll, BitsPerDim: bpd, LR: lr, GradNorm: math.Sqrt(norm),
		Seconds: time.Since(start).Seconds(),
	}
	t.st.TrainSeconds += rec.Seconds
	if kin := t.m.flow.TransportCost(); kin != nil {
		m, _ := mnist.MeanStdErr(kin)
		rec.Kinetic = &m
	}
	return true, r.log.Write(rec)
}

// backup holds the last parameters and Adam state whose loss and gradient
// were finite. When a step is rejected (non-finite loss or gradient at the
// parameters the previous update produced), the trainer returns to them:
// the update that led to the failure is undone.
type backup struct {
	valid                 bool
	params, first, second []float64
	step                  int
}

func (b *backup) save(t *trainer) {
	p := t.m.potential.Params()
	if b.params == nil {
		b.params = make([]float64, len(p))
		b.first = make([]float64, len(p))
		b.second = make([]float64, len(p))
	}
	copy(b.params, p)
	copy(b.first, t.adam.First)
	copy(b.second, t.adam.Second)
	b.step = t.adam.Step
	b.valid = true
}

func (b *backup) restore(t *trainer) {
	copy(t.m.potential.Params(), b.params)
	copy(t.adam.First, b.first)
	copy(t.adam.Second, b.second)
	t.adam.Step = b.step
}

// loss is the likelihood loss; it keeps the batch NLL (without the
// transport cost, which Gradient adds).
func (r *trainRun) loss(dy *mat.Dense, dlogp []float64, y *mat.Dense, logp []float64) float64 {
	r.nll = mnist.NegLogLikelihood.Loss(dy, dlogp, y, logp)
	return r.nll
}

// validate evaluates the validation subset, logs an epoch record and
// updates the best NLL.
func (r *trainRun) validate(partial bool) error {
	t := r.t
	rec := epochRecord{
		Kind: "epoch", Batch: t.st.Batch, Epoch: float64(t.st.Batch) / float64(r.perEpoch),
		Partial: partial, Elapsed: t.st.Elapsed,
	}
	if t.st.EpochBatches > 0 {
		m, b := t.st.EpochNLL/float64(t.st.EpochBatches), t.st.EpochBPD/float64(t.st.EpochBatches)
		rec.TrainNLL, rec.TrainBitsPerDim = &m, &b
	}
	n := min(t.cfg.EvalImages, r.ds.Validation.Len())
	if n > 0 {
		start := time.Now()
		val := r.ds.Validation.Images.Slice(0, n)
		nll, logJac := make([]float64, n), make([]float64, n)
		rng := rand.New(rand.NewPCG(t.cfg.Seed, streamValidation))
		if _, err := r.eval.Evaluate(nll, logJac, val, rng); err != nil {
			return err
		}
		s := mnist.Summarize(nll, logJac, val.Dim())
		rec.ValImages = n
		rec.Seconds = time.Since(start).Seconds()
		if !finite(s.NLL) || !finite(s.NLLErr) {
			// Diverged parameters: JSON has no NaN, and they are no candidate for best.
			rec.ValNonFinite = true
			r.lastVal = nil
			r.notef("batch %d: validation NLL is %v", t.st.Batch, s.NLL)
			return r.log.Write(rec)
		}
		r.lastVal = &s
		rec.ValNLL, rec.ValNLLErr = &s.NLL, &s.NLLErr
		rec.ValBitsPerDim, rec.ValBitsPerDimErr = &s.BitsPerDim, &s.BitsPerDimErr
		t.st.ValNLL, t.st.ValNLLErr = &s.NLL, &s.NLLErr
		if rec.TrainNLL != nil {
			r.notef("epoch %.2f (batch %d): train NLL %.2f, validation NLL %.2f ± %.2f nats = %.4f bits/dim (%d images, %.0f s)",
				rec.Epoch, t.st.Batch, *rec.TrainNLL, s.NLL, s.NLLErr, s.BitsPerDim, n, rec.Seconds)
		} else {
			r.notef("batch %d: validation NLL %.2f ± %.2f nats = %.4f bits/dim (%d images, %.0f s)",
				t.st.Batch, s.NLL, s.NLLErr, s.BitsPerDim, n, rec.Seconds)
		}
	}
	return r.log.Write(rec)
}

// save writes the last checkpoint, and the best one when the validation
// NLL of the current parameters is the lowest so far.
func (r *trainRun) save() error {
	t := r.t
	if t.st.ValNLL != nil && finite(*t.st.ValNLL) && (t.st.BestNLL == nil || *t.st.ValNLL < *t.st.BestNLL) {
		v := *t.st.ValNLL
		t.st.BestNLL, t.st.BestBatch = &v, t.st.Batch
		if err := r.saveLast(); err != nil {
			return err
		}
		return t.checkpoint(filepath.Join(r.dir, bestFile))
	}
	return r.saveLast()
}

// notef prints a line of diagnostics on stderr, on a line of its own
// below the progress bar on a terminal.
func (r *trainRun) notef(format string, args ...any) {
	if runio.IsTerminal(r.stderr) {
		fmt.Fprintln(r.stderr)
	}
	fmt.Fprintf(r.stderr, "  "+format+"\n", args...)
}

func (r *trainRun) saveLast() error {
	return r.t.checkpoint(filepath.Join(r.dir, lastFile))
}

// summary prints the outcome of the run on stdout.
func (r *trainRun) summary(w io.Writer) {
	t := r.t
	st := &t.st
	fmt.Fprintf(w, "run              %s\n", r.dir)
	fmt.Fprintf(w, "batches          %d (%.2f epochs of %d batches), %d rejected\n",
		st.Batch, float64(st.Batch)/float64(r.perEpoch), r.perEpoch, st.Rejected)
	if r.lastVal != nil {
		fmt.Fprintf(w, "validation NLL   %.2f ± %.2f nats, %.4f ± %.4f bits/dim (%d images, batch %d)\n",
			r.lastVal.NLL, r.lastVal.NLLErr, r.lastVal.BitsPerDim, r.lastVal.BitsPerDimErr, r.lastVal.Images, st.Batch)
	}
	if st.BestNLL != nil {
		fmt.Fprintf(w, "best validation  %.2f nats at batch %d (%s)\n", *st.BestNLL, st.BestBatch, filepath.Join(r.dir, bestFile))
	}
	fmt.Fprintf(w, "last checkpoint  %s\n", filepath.Join(r.dir, lastFile))
	if st.Batch > 0 {
		fmt.Fprintf(w, "training time    %.1f s in all, %.3f s per batch (without validation)\n",
			st.Elapsed, st.TrainSeconds/float64(st.Batch))
	}
}
