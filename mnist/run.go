package mnist

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"time"

	"github.com/isingflow/isingflow/flow"
	"github.com/isingflow/isingflow/internal/runio"
	"github.com/isingflow/isingflow/stats"
	"github.com/isingflow/isingflow/train"
)

// Files of a run directory.
const (
	LastCheckpoint = "last.npz"    // the latest checkpoint; its presence makes a directory a run
	BestCheckpoint = "best.npz"    // the checkpoint with the lowest validation NLL so far
	ConfigFile     = "config.json" // the run's Config, for people
	LogFile        = "log.jsonl"   // one Record per batch, per rejected step and per validation
)

// checkpointFormat marks the checkpoints of this package (train.Trainer's
// .npz, with State in the objective's state). Those of mnistflow before it
// trained through package train had their own schema and no mark.
const checkpointFormat = 2

// checkpointConfig is the configuration stored in a checkpoint.
type checkpointConfig struct {
	Format int    `json:"mnistflow_checkpoint"`
	Config Config `json:"mnist"`
}

// Errors of the run directory functions, wrapped with the path.
var (
	ErrNotRun        = errors.New("not a mnistflow run")
	ErrRunExists     = errors.New("already holds a run")
	ErrOldCheckpoint = errors.New("written by an older mnistflow; retrain")
)

// Run is a training run in a directory: its configuration, the flow, the
// trainer (package train: Adam with the L2 penalty Config.WeightDecay, the
// rollback of non-finite steps, checkpoints) and the run's State. Create
// starts one, Resume continues one from its last checkpoint, LoadCheckpoint reads
// any checkpoint for evaluation and sampling.
type Run struct {
	Dir     string
	Config  Config
	Flow    *flow.Flow
	Trainer *train.Trainer
	// Data is the data set being trained on: nil for a Run from LoadCheckpoint.
	Data *Dataset
	// LastValidation is the last finite validation of this process (nil:
	// none), made after batch LastValidationBatch.
	LastValidation      *Summary
	LastValidationBatch int

	obj     *objective
	eval    *Evaluator
	started bool         // the directory holds a checkpoint of the run
	unlock  func() error // releases the directory's lock (Create, Resume)
}

// Close releases the run directory that Create or Resume locked; it does
// nothing for a run from LoadCheckpoint.
func (r *Run) Close() error {
	if r.unlock == nil {
		return nil
	}
	err := r.unlock()
	r.unlock = nil
	return err
}

// State returns the run's progress.
func (r *Run) State() State { return r.obj.state }

// BatchesPerEpoch returns the number of whole batches in the training set
// (0 for a Run without data).
func (r *Run) BatchesPerEpoch() int {
	if r.Data == nil {
		return 0
	}
	return r.obj.batchesPerEpoch()
}

// PlannedBatches returns the number of batches, counting those done
// before, at which training to batches batches (TrainOptions.Batches)
// stops: batches, or the end of the plan fitted to the time budget
// (TrainOptions.FitToDuration) that the run holds for them, the
// batches done plus the plan's steps still to do. It is known once Train
// has fitted the plan or a checkpoint holding one has been resumed.
func (r *Run) PlannedBatches(batches int) int {
	tr := r.Trainer
	if !r.holdsPlan(batches) {
		return batches
	}
	return min(batches, r.obj.state.Batch+max(0, tr.Planned-tr.Step))
}

// holdsPlan reports whether the trainer holds a plan fitted to the time
// budget for a run of batches batches.
func (r *Run) holdsPlan(batches int) bool {
	tr := r.Trainer
	return tr.Planned > 0 && tr.PlannedFrom == batches
}

func newRun(dir string, cfg Config) (*Run, error) {
	f, err := cfg.NewFlow()
	if err != nil {
		return nil, err
	}
	r := &Run{Dir: dir, Config: cfg, Flow: f}
	r.obj = newObjective(&r.Config, f)
	tr, err := train.New(r.obj, train.Settings{LearningRate: cfg.LearningRate, L2: cfg.WeightDecay})
	if err != nil {
		return nil, fmt.Errorf("mnist: %w", err)
	}
	r.Trainer = tr
	r.eval = &Evaluator{Flow: f, Batch: cfg.Batch}
	return r, nil
}

// Create starts a run in dir, which must not hold one (ErrRunExists), on
// data, whose image size it sets in cfg; dataDir, the directory data was
// read from, is recorded in the checkpoints (as an absolute path) for
// evaluation. The flow is initialised from cfg.Seed. It
// creates dir, locks it until Close (runio.Lock: a second process is
// refused) and writes config.json; Train writes the rest.
func Create(dir string, cfg Config, data *Dataset, dataDir string) (*Run, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	im := data.Train.Images
	if (cfg.Rows != 0 || cfg.Cols != 0) && (cfg.Rows != im.Rows || cfg.Cols != im.Cols) {
		return nil, fmt.Errorf("mnist: the configuration has %d×%d images but the data %d×%d", cfg.Rows, cfg.Cols, im.Rows, im.Cols)
	}
	cfg.Rows, cfg.Cols = im.Rows, im.Cols
	if cfg.Blocks == 1 {
		cfg.Blocks = 0 // K = 1 is stored as today's configuration (NumBlocks)
	}
	if err := checkData(&cfg, data, dataDir); err != nil {
		return nil, err
	}
	if err := checkFreshDir(dir); err != nil {
		return nil, err
	}
	r, err := newRun(dir, cfg)
	if err != nil {
		return nil, err
	}
	r.Data, r.obj.data, r.obj.state.Data = data, data, absDir(dataDir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	if r.unlock, err = runio.Lock(dir); err != nil {
		return nil, err
	}
	js, err := json.MarshalIndent(&r.Config, "", "  ")
	if err == nil {
		err = runio.WriteBytesAtomic(filepath.Join(dir, ConfigFile), append(js, '\n'))
	}
	if err != nil {
		r.Close()
		return nil, err
	}
	return r, nil
}

// checkData checks that the data set fits the configuration.
func checkData(c *Config, data *Dataset, dataDir string) error {
	im := data.Train.Images
	if im.Rows != c.Rows || im.Cols != c.Cols {
		return fmt.Errorf("mnist: the run has %d×%d images but %s holds %d×%d", c.Rows, c.Cols, dataDir, im.Rows, im.Cols)
	}
	if n := data.Validation.Len(); n != c.ValidationSize {
		return fmt.Errorf("mnist: the data has %d validation images, the run %d", n, c.ValidationSize)
	}
	if n := data.Train.Len(); n < c.Batch {
		return &ConfigError{Field: "batch", Value: c.Batch, Problem: fmt.Sprintf("larger than the %d training images", n)}
	}
	return nil
}

// checkFreshDir refuses a directory that already holds a run or is not a
// directory, so that a new run never overwrites anything.
func checkFreshDir(dir string) error {
	st, err := os.Stat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if !st.IsDir() {
		return fmt.Errorf("mnist: %s is not a directory", dir)
	}
	for _, name := range []string{LastCheckpoint, BestCheckpoint, ConfigFile, LogFile} {
		if _, err := os.Stat(filepath.Join(dir, name)); err == nil {
			return fmt.Errorf("mnist: %s %w (%s)", dir, ErrRunExists, name)
		}
	}
	return nil
}

// Resume continues the run in dir from its last checkpoint, on data (which
// must have the run's image size and, in the middle of an epoch, its
// number of training images). dataDir, when not empty, replaces the data
// directory recorded in the run.
func Resume(dir string, data *Dataset, dataDir string) (r *Run, err error) {
	path, err := FindCheckpoint(dir, false)
	if errors.Is(err, ErrNotRun) {
		// Killed before its first checkpoint: start again from config.json.
		return restart(dir, data, dataDir)
	}
	if err != nil {
		return nil, err
	}
	unlock, err := runio.Lock(dir)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			unlock()
		}
	}()
	if err := runio.RemoveTemporaryFiles(dir); err != nil {
		return nil, err
	}
	r, err = LoadCheckpoint(path)
	if err != nil {
		return nil, err
	}
	r.unlock = unlock
	shown := dataDir
	if shown == "" {
		shown = r.obj.state.Data
	}
	if err := checkData(&r.Config, data, shown); err != nil {
		return nil, err
	}
	o := r.obj
	o.data = data
	if o.state.Batch%o.batchesPerEpoch() != 0 && o.images != data.Train.Len() {
		return nil, fmt.Errorf("mnist: %s: its epoch order covers %d training images, the data has %d", path, o.images, data.Train.Len())
	}
	r.Data = data
	if dataDir != "" {
		o.state.Data = absDir(dataDir)
	}
	return r, nil
}

// ReadConfig reads the configuration of the run in dir (its config.json).
func ReadConfig(dir string) (Config, error) {
	var cfg Config
	path := filepath.Join(dir, ConfigFile)
	b, err := os.ReadFile(path)
	if err != nil {
		return cfg, fmt.Errorf("mnist: %s is %w: it holds no %s", dir, ErrNotRun, ConfigFile)
	}
	if err := json.Unmarshal(b, &cfg); err != nil {
		return cfg, fmt.Errorf("mnist: %s: %v", path, err)
	}
	return cfg, cfg.Validate()
}

// restart begins again the run in dir that has a config.json but no
// checkpoint yet (its process died before the first one).
func restart(dir string, data *Dataset, dataDir string) (*Run, error) {
	cfg, err := ReadConfig(dir)
	if err != nil {
		return nil, err
	}
	if err := checkData(&cfg, data, dataDir); err != nil {
		return nil, err
	}
	r, err := newRun(dir, cfg)
	if err != nil {
		return nil, err
	}
	if r.unlock, err = runio.Lock(dir); err != nil {
		return nil, err
	}
	if err := runio.RemoveTemporaryFiles(dir); err != nil {
		r.Close()
		return nil, err
	}
	for _, f := range []string{LogFile} {
		if err := os.Remove(filepath.Join(dir, f)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			r.Close()
			return nil, err
		}
	}
	r.Data, r.obj.data, r.obj.state.Data = data, data, absDir(dataDir)
	return r, nil
}

// absDir returns dir as an absolute path when it can: the checkpoints
// record it for evaluation from any working directory.
func absDir(dir string) string {
	if abs, err := filepath.Abs(dir); err == nil && dir != "" {
		return abs
	}
	return dir
}

// LoadCheckpoint reads a checkpoint of a run (last.npz or best.npz): its
// configuration, its State, the flow with its parameters and the trainer
// with Adam's state. A checkpoint of mnistflow before this format is an
// error wrapping ErrOldCheckpoint.
func LoadCheckpoint(path string) (*Run, error) {
	var cc checkpointConfig
	if err := train.ReadCheckpointConfig(path, &cc); err != nil {
		return nil, err
	}
	switch {
	case cc.Format < checkpointFormat:
		return nil, fmt.Errorf("mnist: %s: %w", path, ErrOldCheckpoint)
	case cc.Format > checkpointFormat:
		return nil, fmt.Errorf("mnist: %s: written by a newer mnistflow (checkpoint format %d, this one reads %d)", path, cc.Format, checkpointFormat)
	}
	if err := cc.Config.Validate(); err != nil {
		return nil, fmt.Errorf("mnist: %s: invalid configuration: %v", path, err)
	}
	r, err := newRun(filepath.Dir(path), cc.Config)
	if err != nil {
		return nil, fmt.Errorf("mnist: %s: %v", path, err)
	}
	if err := r.Trainer.Restore(path, r.checkpointConfig()); err != nil {
		return nil, err
	}
	r.started = true
	return r, nil
}

// FindCheckpoint returns the path of the last checkpoint of the run in dir,
// or of its best one (the last when it has none yet), or an error saying
// why dir is not a run (wrapping ErrNotRun when it holds no last.npz).
func FindCheckpoint(dir string, best bool) (string, error) {
	st, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "", fmt.Errorf("mnist: run directory %s does not exist", dir)
	case err != nil:
		return "", err
	case !st.IsDir():
		return "", fmt.Errorf("mnist: %s is not a directory (want a run directory)", dir)
	}
	last := filepath.Join(dir, LastCheckpoint)
	if _, err := os.Stat(last); err != nil {
		return "", fmt.Errorf("mnist: %s is %w: it holds no %s", dir, ErrNotRun, LastCheckpoint)
	}
	if !best {
		return last, nil
	}
	path := filepath.Join(dir, BestCheckpoint)
	if _, err := os.Stat(path); err != nil {
		return last, nil // no validation yet: the last checkpoint is the best one known
	}
	return path, nil
}

func (r *Run) checkpointConfig() checkpointConfig {
	return checkpointConfig{Format: checkpointFormat, Config: r.Config}
}

// Checkpoint writes the run's whole state to path (see
// train.Trainer.Checkpoint).
func (r *Run) Checkpoint(path string) error {
	return r.Trainer.Checkpoint(path, r.checkpointConfig())
}

// TrainOptions are the settings of Run.Train besides the run's Config.
type TrainOptions struct {
	// Batches is the number of batches to train to, counting those done
	// before (State.Batch); a whole number of epochs is
	// k·BatchesPerEpoch().
	Batches int
	// CheckpointEvery, when positive, writes last.npz every this many
	// optimisation steps, besides after every epoch and when training
	// stops.
	CheckpointEvery int
	// ValidateEvery, when positive, also validates (and checkpoints)
	// every this many batches, besides after every epoch and at the last
	// batch: a finer validation curve. Validations do not touch the
	// training's random streams, so they leave the run's parameters as
	// they are; their time is in the Duration.
	ValidateEvery int
	// Duration, when positive, stops training this long after Train was
	// called (the first validation of a new run included), with
	// train.StatusTimeLimit and last.npz written, so that the run can be
	// resumed.
	Duration time.Duration
	// FitToDuration, with a positive Duration, fits the number of batches
	// to the time budget once, before the first batch of the call
	// (train.Settings.FitToDuration: it times a few evaluations and plans
	// as many batches as fit, at most Batches), so that the learning-rate
	// decay (Config.FinalLR) ends within the budget: training stops at the
	// end of the plan as it would at Batches, with a validation and a
	// checkpoint, and the checkpoints hold the plan
	// (Trainer.PlannedSteps). A run resumed from a checkpoint that holds a
	// plan for the same Batches follows it, whether FitToDuration is set
	// or not, so that it continues bit for bit; with other Batches the
	// plan is dropped, and fitted anew when FitToDuration is set.
	FitToDuration bool
	// Progress, when not nil, sees every record after it is logged; an
	// error stops training.
	Progress func(Record) error
	// ValidationProgress, when not nil, is called during a validation
	// with the number of images done and to do.
	ValidationProgress func(done, total int)
}

// Record is one line of a run's log: a *BatchRecord, *RejectedRecord or
// *EpochRecord.
type Record interface{ record() }

// BatchRecord is the log record of an accepted training step.
type BatchRecord struct {
	Kind       string   `json:"kind"`  // "batch"
	Batch      int      `json:"batch"` // State.Batch after the step
	Epoch      int      `json:"epoch"` // 1-based epoch the batch belongs to
	NLL        float64  `json:"nll"`   // the batch's mean NLL, nats in logit space
	BitsPerDim float64  `json:"bits_per_dim"`
	Kinetic    *float64 `json:"kinetic,omitempty"` // mean transport cost, when weighted
	LR         float64  `json:"lr"`
	GradNorm   float64  `json:"grad_norm"` // of the loss's gradient, without the L2 penalty
	Seconds    float64  `json:"seconds"`   // of the step
}

// RejectedRecord is the log record of a step whose loss or gradient was
// not finite: the previous update is undone and the learning rate halved
// (train.Trainer).
type RejectedRecord struct {
	Kind    string  `json:"kind"` // "rejected"
	Batch   int     `json:"batch"`
	Reason  string  `json:"reason"`
	LRScale float64 `json:"lr_scale"` // after halving
	// Undone reports whether the previous update was undone (there was
	// one to undo); not logged.
	Undone bool `json:"-"`
}

// EpochRecord is the log record of a validation: at the start of a run,
// after every epoch, and within an epoch (Partial) every
// TrainOptions.ValidateEvery batches and when training stops.
type EpochRecord struct {
	Kind             string   `json:"kind"` // "epoch"
	Batch            int      `json:"batch"`
	Epoch            float64  `json:"epoch"` // epochs done
	Partial          bool     `json:"partial,omitempty"`
	TrainNLL         *float64 `json:"train_nll,omitempty"` // mean over the epoch's accepted batches
	TrainBitsPerDim  *float64 `json:"train_bits_per_dim,omitempty"`
	ValNLL           *float64 `json:"val_nll,omitempty"`
	ValNLLErr        *float64 `json:"val_nll_err,omitempty"`
	ValBitsPerDim    *float64 `json:"val_bits_per_dim,omitempty"`
	ValBitsPerDimErr *float64 `json:"val_bits_per_dim_err,omitempty"`
	ValImages        int      `json:"val_images"`
	ValNonFinite     bool     `json:"val_non_finite,omitempty"` // the validation NLL was NaN or infinite
	Seconds          float64  `json:"seconds"`                  // of the validation
	Elapsed          float64  `json:"elapsed"`                  // of the run so far
}

func (*BatchRecord) record()    {}
func (*RejectedRecord) record() {}
func (*EpochRecord) record()    {}

// errBatchesDone stops the loop of package train at TrainOptions.Batches.
var errBatchesDone = errors.New("mnist: the batches are done")

// Train trains the run to opt.Batches batches with the loop of package
// train, in the run's directory: a new run is first validated and
// checkpointed, so that the directory is a run from the start; then every
// step is logged to log.jsonl (trimmed first to the checkpoint's batch, so
// that the log keeps one history), the validation subset is evaluated
// after every epoch, every opt.ValidateEvery batches and at the last
// batch, best.npz is written at every new lowest validation NLL and
// last.npz after every validation, every CheckpointEvery steps and when
// training stops. The learning rate follows
// Config.Schedule over opt.Batches, or over the plan fitted to the time
// budget (opt.FitToDuration), at whose end training stops as at
// opt.Batches. A stop by the context (a signal) or the time limit is not
// an error (see train.Result.Status): the checkpoint is written and the
// run can be resumed. The epochs are passes over the data: a rejected
// step uses up its batch.
func (r *Run) Train(ctx context.Context, opt TrainOptions) (*train.Result, error) {
	if r.Data == nil {
		return nil, errors.New("mnist: Train needs a run with data (Create or Resume)")
	}
	if opt.Batches < 0 || opt.CheckpointEvery < 0 || opt.ValidateEvery < 0 || opt.Duration < 0 {
		return nil, fmt.Errorf("mnist: Batches %d, CheckpointEvery %d, ValidateEvery %d and Duration %v must not be negative",
			opt.Batches, opt.CheckpointEvery, opt.ValidateEvery, opt.Duration)
	}
	logPath := filepath.Join(r.Dir, LogFile)
	// A process killed after its last checkpoint logged batches that the
	// resumed run does again.
	if err := runio.TrimJSONL(logPath, "batch", r.obj.state.Batch); err != nil {
		return nil, err
	}
	log, err := runio.CreateJSONL(logPath, true)
	if err != nil {
		return nil, err
	}
	defer log.Close()
	t := &trainLoop{r: r, opt: opt, log: log, begin: time.Now(), elapsed0: r.obj.state.Elapsed}
	tr := r.Trainer
	if !r.started {
		if err := t.validate(false); err != nil {
			return nil, err
		}
		if err := t.save(); err != nil {
			return nil, err
		}
		r.started = true
	}
	if r.obj.state.Batch >= r.PlannedBatches(opt.Batches) {
		return &train.Result{Status: train.StatusCompleted, FirstStep: tr.Step, Steps: tr.Step, Planned: tr.PlannedSteps()}, nil
	}
	// Every step draws a batch, so the loop's step count never passes the
	// batches; the recorder stops it at the batch count, or at the end of
	// the plan fitted to the time budget. The learning rate decays over
	// the batches, or over the plan (Trainer.Schedule).
	tr.Settings.Steps = opt.Batches
	tr.Settings.Schedule = r.Config.Schedule(opt.Batches)
	tr.Settings.FitToDuration = opt.FitToDuration || r.holdsPlan(opt.Batches)
	tr.Settings.CheckpointEvery = opt.CheckpointEvery
	tr.Settings.CheckpointPath = filepath.Join(r.Dir, LastCheckpoint)
	tr.Settings.CheckpointConfig = r.checkpointConfig()
	tr.Settings.Duration = opt.Duration
	if opt.Duration > 0 {
		// The budget counts from the call: the first validation is in it.
		tr.Settings.Duration = max(opt.Duration-time.Since(t.begin), 1)
	}
	res, err := tr.Run(ctx, train.RecorderFunc(t.record))
	if opt.CheckpointEvery == 0 { // the loop wrote none
		if cerr := t.saveLast(); cerr != nil && (err == nil || errors.Is(err, errBatchesDone)) {
			err = cerr
		}
	}
	switch {
	case errors.Is(err, errBatchesDone):
		res.Status, err = train.StatusCompleted, nil
	case err != nil:
		err = fmt.Errorf("mnist: at batch %d: %w", r.obj.state.Batch, err)
	}
	return res, err
}

// trainLoop is one call of Run.Train.
type trainLoop struct {
	r        *Run
	opt      TrainOptions
	log      *runio.JSONL
	begin    time.Time
	elapsed0 float64
}

func (t *trainLoop) emit(rec Record) error {
	if err := t.log.Write(rec); err != nil {
		return err
	}
	if t.opt.Progress != nil {
		return t.opt.Progress(rec)
	}
	return nil
}

// record is the train.Recorder: it logs the step, keeps the epoch's sums,
// and validates and checkpoints at the end of an epoch, every
// ValidateEvery batches and at the last batch.
func (t *trainLoop) record(st train.Step) error {
	r, o := t.r, t.r.obj
	s := &o.state
	secs := time.Since(o.start).Seconds()
	s.TrainSeconds += secs
	s.Elapsed = t.elapsed0 + time.Since(t.begin).Seconds()
	s.ValNLL, s.ValNLLErr = nil, nil
	perEpoch := o.batchesPerEpoch()
	if st.Rejected {
		s.Rejected++
		rec := &RejectedRecord{Kind: "rejected", Batch: s.Batch, Reason: rejectReason(o.nll, st, r.Trainer.Gradient()),
			LRScale: r.Trainer.LearningRateScale, Undone: r.Trainer.Step < st.Step}
		if err := t.emit(rec); err != nil {
			return err
		}
	} else {
		bpd := o.bitsPerDim()
		s.EpochNLL += o.nll
		s.EpochBPD += bpd
		s.EpochBatches++
		rec := &BatchRecord{
			Kind: "batch", Batch: s.Batch, Epoch: (s.Batch-1)/perEpoch + 1,
			NLL: o.nll, BitsPerDim: bpd, LR: st.LearningRate, GradNorm: st.GradNorm, Seconds: secs,
		}
		if kin := r.Flow.TransportCost(); kin != nil {
			m := stats.MeanErr(kin).Mean
			rec.Kinetic = &m
		}
		if err := t.emit(rec); err != nil {
			return err
		}
	}
	endOfEpoch := s.Batch%perEpoch == 0
	tr := r.Trainer
	done := s.Batch >= t.opt.Batches || (!st.Rejected && tr.Step >= tr.PlannedSteps())
	periodic := t.opt.ValidateEvery > 0 && s.Batch%t.opt.ValidateEvery == 0
	if endOfEpoch || done || periodic {
		if err := t.validate(!endOfEpoch); err != nil {
			return err
		}
		if endOfEpoch {
			s.EpochNLL, s.EpochBPD, s.EpochBatches = 0, 0, 0
		}
		if err := t.save(); err != nil {
			return err
		}
	}
	if done {
		return errBatchesDone
	}
	return nil
}

// rejectReason says what was not finite.
func rejectReason(nll float64, st train.Step, grad []float64) string {
	if !finite(nll) || !finite(st.Loss) {
		return fmt.Sprintf("loss %v", nll)
	}
	for i, g := range grad {
		if !finite(g) {
			return fmt.Sprintf("gradient component %d is %v", i, g)
		}
	}
	return fmt.Sprintf("gradient norm %v", st.GradNorm)
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// validate evaluates the first EvalImages validation images, logs an epoch
// record and keeps the validation NLL in the State.
func (t *trainLoop) validate(partial bool) error {
	r := t.r
	s := &r.obj.state
	perEpoch := r.obj.batchesPerEpoch()
	rec := &EpochRecord{
		Kind: "epoch", Batch: s.Batch, Epoch: float64(s.Batch) / float64(perEpoch),
		Partial: partial, Elapsed: s.Elapsed,
	}
	if s.EpochBatches > 0 {
		m, b := s.EpochNLL/float64(s.EpochBatches), s.EpochBPD/float64(s.EpochBatches)
		rec.TrainNLL, rec.TrainBitsPerDim = &m, &b
	}
	n := min(r.Config.EvalImages, r.Data.Validation.Len())
	if n > 0 {
		start := time.Now()
		val := r.Data.Validation.Images.Slice(0, n)
		nll, logJac := make([]float64, n), make([]float64, n)
		rng := rand.New(rand.NewPCG(r.Config.Seed, StreamValidation))
		r.eval.Progress = nil
		if p := t.opt.ValidationProgress; p != nil {
			r.eval.Progress = func(done int) { p(done, n) }
		}
		if _, err := r.eval.Evaluate(nll, logJac, val, rng); err != nil {
			return err
		}
		sum := Summarize(nll, logJac, val.Dim())
		rec.ValImages = n
		rec.Seconds = time.Since(start).Seconds()
		if !finite(sum.NLL) || !finite(sum.NLLErr) {
			// Diverged parameters: JSON has no NaN, and they are no candidate for best.
			rec.ValNonFinite = true
			r.LastValidation = nil
		} else {
			r.LastValidation, r.LastValidationBatch = &sum, s.Batch
			rec.ValNLL, rec.ValNLLErr = &sum.NLL, &sum.NLLErr
			rec.ValBitsPerDim, rec.ValBitsPerDimErr = &sum.BitsPerDim, &sum.BitsPerDimErr
			s.ValNLL, s.ValNLLErr = &sum.NLL, &sum.NLLErr
		}
	}
	return t.emit(rec)
}

// save writes last.npz, and best.npz too when the validation NLL of the
// current parameters is the lowest so far.
func (t *trainLoop) save() error {
	r := t.r
	s := &r.obj.state
	if s.ValNLL != nil && finite(*s.ValNLL) && (s.BestNLL == nil || *s.ValNLL < *s.BestNLL) {
		v := *s.ValNLL
		s.BestNLL, s.BestBatch = &v, s.Batch
		if err := t.saveLast(); err != nil {
			return err
		}
		return r.Checkpoint(filepath.Join(r.Dir, BestCheckpoint))
	}
	return t.saveLast()
}

func (t *trainLoop) saveLast() error {
	return t.r.Checkpoint(filepath.Join(t.r.Dir, LastCheckpoint))
}

// ReadLog reads the log of the run in dir, one Record per line (lines of
// other kinds are skipped). A last line cut off by a kill is dropped; any
// other bad line is an error.
func ReadLog(dir string) ([]Record, error) {
	path := filepath.Join(dir, LogFile)
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var recs []Record
	var bad error
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<16), 1<<24)
	for line := 1; sc.Scan(); line++ {
		if bad != nil {
			return nil, bad
		}
		var kind struct {
			Kind string `json:"kind"`
		}
		var rec Record
		err := json.Unmarshal(sc.Bytes(), &kind)
		if err == nil {
			switch kind.Kind {
			case "batch":
				rec = new(BatchRecord)
			case "rejected":
				rec = new(RejectedRecord)
			case "epoch":
				rec = new(EpochRecord)
			default:
				continue
			}
			err = json.Unmarshal(sc.Bytes(), rec)
		}
		if err != nil {
			bad = fmt.Errorf("mnist: %s:%d: not a log record (%v)", path, line, err)
			continue
		}
		recs = append(recs, rec)
	}
	return recs, sc.Err()
}
