package model

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/isingflow/isingflow/flow"
	"github.com/isingflow/isingflow/internal/provenance"
	"github.com/isingflow/isingflow/internal/runio"
	"github.com/isingflow/isingflow/train"
	"github.com/isingflow/isingflow/vmc"
)

// Version is recorded in every run directory's config.json.
const Version = "0.1.0"

// Files of a run directory.
const (
	ConfigFile     = "config.json"    // RunConfig
	CheckpointFile = "checkpoint.npz" // the trainer's state (train.Trainer.Checkpoint)
	LogFile        = "train.jsonl"    // one vmc.Record per step
	ResultFile     = "result.json"    // the evaluation, written by the caller
)

// RunConfig is a run directory's config.json: the model and the training
// settings, the version and the provenance of the program that wrote it.
type RunConfig struct {
	Model    Config           `json:"model"`
	Training Training         `json:"training"`
	Version  string           `json:"isingflow_version"`
	Extra    *json.RawMessage `json:"extra,omitempty"`
	// Provenance is the program, build and machine of the process that
	// wrote config.json last (Create, or the last Resume), as result.json
	// holds that of the evaluation: the caller's, with its command line,
	// or when nil, what Create and Resume collect (without one). It is nil
	// in runs written before it was recorded.
	Provenance *provenance.Provenance `json:"provenance,omitempty"`
	// InitFrom is the run directory whose trained flow started this run
	// (Model.TransferFrom), as the caller gave it; empty for a run trained
	// from its initialisation. Create records it; it does not transfer.
	InitFrom string `json:"init_from,omitempty"`
}

// stamp sets the version and, unless the caller gave one, the provenance.
func (rc *RunConfig) stamp() {
	rc.Version = Version
	if rc.Provenance == nil {
		p := provenance.Collect(nil)
		rc.Provenance = &p
	}
}

// Run is a run directory with its model and trainer: the parameters and
// the optimiser's state those of its checkpoint when it has one.
type Run struct {
	Dir     string
	Config  RunConfig
	Model   *Model
	Trainer *vmc.Trainer

	unlock func() error // releases the directory's lock (Create, Resume)
}

// Close releases the run directory that Create or Resume locked; it does
// nothing for a run from Load.
func (r *Run) Close() error {
	if r.unlock == nil {
		return nil
	}
	err := r.unlock()
	r.unlock = nil
	return err
}

// ErrNotRun is returned (wrapped) by Load, ReadConfig and Resume for a
// directory that holds no run.
var ErrNotRun = errors.New("not an isingflow run directory")

// notRunError names the directory that is not a run.
type notRunError struct{ dir string }

func (e notRunError) Error() string {
	return fmt.Sprintf("%s is not an isingflow run directory (no %s)", e.dir, ConfigFile)
}

func (e notRunError) Unwrap() error { return ErrNotRun }

// Load reads a run directory: its configuration, and the model with the
// parameters of its checkpoint.
func Load(dir string) (*Run, error) {
	rc, err := ReadConfig(dir)
	if err != nil {
		return nil, err
	}
	r, err := newRun(dir, rc)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, ConfigFile), err)
	}
	if err := r.Trainer.Restore(filepath.Join(dir, CheckpointFile), r.Config.Model); err != nil {
		return nil, err
	}
	return r, nil
}

// ReadConfig reads a run directory's config.json.
func ReadConfig(dir string) (RunConfig, error) {
	var rc RunConfig
	path := filepath.Join(dir, ConfigFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return rc, notRunError{dir}
	}
	if err != nil {
		return rc, err
	}
	if err := json.Unmarshal(b, &rc); err != nil {
		return rc, fmt.Errorf("%s: %v", path, err)
	}
	if rc.Training.Gradient == "" {
		rc.Training.Gradient = GradientFull // written before the choice existed
	}
	return rc, nil
}

// Create makes a new run directory holding rc's config.json and a first
// checkpoint of the freshly initialised model, so that a run killed at any
// moment after Create can be resumed. It never overwrites anything: a dir
// that holds files is an error (an empty one, left by a run that failed
// before its configuration was written, is taken). The directory stays
// locked (runio.Lock) until Close: a second process on it is refused.
func Create(dir string, rc RunConfig) (*Run, error) {
	return CreateWith(dir, rc, nil)
}

// CreateWith is Create with init, when not nil, applied to the freshly
// initialised model before anything is written (a warm start: the first
// checkpoint then holds the parameters init set, so that a run killed
// before its next checkpoint resumes from them). An error of init is
// returned and leaves no directory behind.
func CreateWith(dir string, rc RunConfig, init func(*Model) error) (*Run, error) {
	rc.stamp()
	if err := rc.Training.Validate(); err != nil {
		return nil, err
	}
	r, err := newRun(dir, rc)
	if err != nil {
		return nil, err
	}
	if init != nil {
		if err := init(r.Model); err != nil {
			return nil, err
		}
	}
	if ents, err := os.ReadDir(dir); err == nil && !onlyLock(ents) {
		return nil, fmt.Errorf("run directory %s already exists: use --resume to continue it or --out to choose another", dir)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	if r.unlock, err = runio.Lock(dir); err != nil {
		return nil, err
	}
	if err := writeConfig(dir, &r.Config); err != nil {
		r.Close()
		return nil, err
	}
	if err := r.Trainer.Checkpoint(filepath.Join(dir, CheckpointFile), r.Config.Model); err != nil {
		r.Close()
		return nil, err
	}
	return r, nil
}

// onlyLock reports whether a directory listing is empty but for the lock
// file.
func onlyLock(ents []os.DirEntry) bool {
	for _, e := range ents {
		if e.Name() != runio.LockFile {
			return false
		}
	}
	return true
}

// Resume opens an existing run directory to train it further with rc,
// from its checkpoint (from the initialisation when a run died before its
// first one): the model must be the run's and the training settings too,
// except the number of iterations, which may grow. It locks the directory
// until Close and removes the temporary files of writes a kill cut short.
func Resume(dir string, rc RunConfig) (*Run, error) {
	old, err := ReadConfig(dir)
	if err != nil {
		return nil, err
	}
	rc.stamp()
	if err := rc.Training.Validate(); err != nil {
		return nil, err
	}
	r, err := newRun(dir, rc)
	if err != nil {
		return nil, err
	}
	if r.unlock, err = runio.Lock(dir); err != nil {
		return nil, err
	}
	ok := false
	defer func() {
		if !ok {
			r.Close()
		}
	}()
	if err := runio.RemoveTemporaryFiles(dir); err != nil {
		return nil, err
	}
	// A run killed between its configuration and its first checkpoint
	// starts again from its initialisation.
	ck := filepath.Join(dir, CheckpointFile)
	if _, err := os.Stat(ck); err == nil || !errors.Is(err, os.ErrNotExist) {
		if err := r.Trainer.Restore(ck, r.Config.Model); err != nil {
			return nil, err
		}
	}
	if r.Config.InitFrom == "" {
		// A resumed warm start still began from that flow.
		r.Config.InitFrom = old.InitFrom
	}
	old.Training.Iterations = rc.Training.Iterations
	if old.Training != rc.Training {
		there, _ := json.Marshal(old.Training)
		here, _ := json.Marshal(rc.Training)
		diffs, _ := runio.JSONDifferences(there, here)
		return nil, fmt.Errorf("the training flags differ from the run's %s (there) in %s; give the run's values to resume it",
			ConfigFile, strings.Join(diffs, "; "))
	}
	if err := writeConfig(dir, &r.Config); err != nil {
		return nil, err
	}
	ok = true
	return r, nil
}

func newRun(dir string, rc RunConfig) (*Run, error) {
	m, err := rc.Model.Build()
	if err != nil {
		return nil, err
	}
	rc.Model = m.Config
	tr, err := m.NewTrainer(&rc.Training)
	if err != nil {
		return nil, err
	}
	return &Run{Dir: dir, Config: rc, Model: m, Trainer: tr}, nil
}

func writeConfig(dir string, rc *RunConfig) error {
	b, err := json.MarshalIndent(rc, "", "  ")
	if err != nil {
		return err
	}
	return runio.WriteBytesAtomic(filepath.Join(dir, ConfigFile), append(b, '\n'))
}

// TrainOptions are the settings of Run.Train besides the run's own.
type TrainOptions struct {
	CheckpointEvery int           // checkpoint every this many steps (and at the end); 0 means 100
	Duration        time.Duration // stop training after this long; 0 means no limit
	// Record, when not nil, sees every step after it is logged (progress
	// reports); an error stops training.
	Record func(vmc.Record) error
}

// Train trains the run to its Training.Iterations in its directory: one
// record per step appended to train.jsonl (trimmed first to the
// checkpoint's step, so that the log keeps one history), a checkpoint every
// CheckpointEvery steps and at the end. A stop by the context (a signal) or
// the time limit is not an error (see train.Result.Status): the checkpoint
// is written and the run can be resumed.
func (r *Run) Train(ctx context.Context, opt TrainOptions) (*train.Result, error) {
	every := opt.CheckpointEvery
	if every == 0 {
		every = 100
	}
	if every < 0 || opt.Duration < 0 {
		return nil, fmt.Errorf("model: CheckpointEvery %d and Duration %v must not be negative", every, opt.Duration)
	}
	tr := r.Trainer
	logPath := filepath.Join(r.Dir, LogFile)
	appending := tr.Step > 0
	if appending {
		// A process killed after its last checkpoint logged steps that the
		// resumed run does again.
		if err := runio.TrimJSONL(logPath, "step", tr.Step-1); err != nil {
			return nil, err
		}
	}
	log, err := runio.CreateJSONL(logPath, appending)
	if err != nil {
		return nil, err
	}
	defer log.Close()
	tr.Settings.CheckpointEvery = every
	tr.Settings.CheckpointPath = filepath.Join(r.Dir, CheckpointFile)
	tr.Settings.CheckpointConfig = r.Config.Model
	tr.Settings.Duration = opt.Duration
	flow.SetPrecision(r.Model.Flow.Potential, r.Config.Training.Precision)
	defer flow.SetPrecision(r.Model.Flow.Potential, flow.Float64)
	return tr.Run(ctx, vmc.RecorderFunc(func(rec vmc.Record) error {
		if err := log.Write(rec); err != nil {
			return err
		}
		if opt.Record != nil {
			return opt.Record(rec)
		}
		return nil
	}))
}

// ReadLog reads a run directory's training log. A last line cut off by a
// kill is dropped; any other bad line is an error.
func ReadLog(dir string) ([]vmc.Record, error) {
	path := filepath.Join(dir, LogFile)
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var recs []vmc.Record
	var bad error
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<16), 1<<20)
	for line := 1; sc.Scan(); line++ {
		if bad != nil {
			return nil, bad
		}
		var r vmc.Record
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			bad = fmt.Errorf("%s:%d: %v", path, line, err)
			continue
		}
		recs = append(recs, r)
	}
	return recs, sc.Err()
}

// LastProcessStart returns the index in recs of the first record of the
// last process that wrote the log (each process counts its seconds from
// its own start): the last record marked ProcessStart, or, in a log
// written before the mark existed, the last record whose seconds fall
// below the one before. It returns 0 for a log written by one process.
func LastProcessStart(recs []vmc.Record) int {
	for i := len(recs) - 1; i > 0; i-- {
		if ProcessStarts(recs, i) {
			return i
		}
	}
	return 0
}

// ProcessStarts reports whether recs[i] is the first record of a process.
func ProcessStarts(recs []vmc.Record, i int) bool {
	if recs[i].ProcessStart {
		return true
	}
	return i > 0 && recs[i].Seconds < recs[i-1].Seconds
}

// DefaultRunDir names a run by its physics and model, under runs/.
func DefaultRunDir(m *Config, t *Training) string {
	return filepath.Join("runs", fmt.Sprintf("%s_T%.6f_%s", LatticeTag(m), m.T, Tag(m, t)))
}

// LatticeTag names the lattice of a run: "L16", "L4_d3_open".
func LatticeTag(m *Config) string {
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

// Tag names the relaxation, the flow and the training of a run:
// "d0.1_H512_S50_e0.1_B64_seed1" for the paper's model, or
// "d0.1_H512q_ms_K10_S50_e0.1_B64_seed1" with the quadratic part, the
// multiscale initialisation and ten blocks in time. "seed" is the
// training seed (--seed); an initialisation seed (--init-seed) other than
// the default 1 follows it, "seed1_init2", so that runs differing only in
// it get directories of their own, while the runs of the default keep the
// names they had before the initialisation seed was part of them.
func Tag(m *Config, t *Training) string {
	var p string
	switch m.Potential {
	case PotentialDense:
		p = fmt.Sprintf("H%d", m.Hidden)
	case PotentialRandom:
		p = fmt.Sprintf("H%drnd", m.Hidden)
	case PotentialMultiscale:
		p = fmt.Sprintf("msc%d", m.Channels)
	default:
		p = fmt.Sprintf("sym%d", m.Channels)
	}
	if m.Quadratic {
		p += "q"
		if m.QuadraticBasis == BasisSpectral {
			p += "s"
			if g := m.SpectralScale(); g != 1 {
				p += strconv.FormatFloat(g, 'g', -1, 64)
			}
		}
	}
	if m.Init == InitMultiscale {
		p += "_ms"
	}
	if K := m.NumBlocks(); K > 1 {
		p += fmt.Sprintf("_K%d", K)
	}
	tag := fmt.Sprintf("d%g_%s_S%d_e%g_B%d_seed%d", m.Delta, p, m.FlowSteps, m.Epsilon, t.Batch, t.Seed)
	if m.InitSeed != 1 {
		tag += fmt.Sprintf("_init%d", m.InitSeed)
	}
	if t.Precision == flow.Float32 {
		tag += "_f32"
	}
	if t.Gradient == GradientPath {
		tag += "_path"
	}
	return tag
}

// TrainingClock returns, for each record of a training log, the training
// time up to it over all the processes that wrote the log: each process
// counts its seconds from zero, so where one starts (ProcessStarts) the
// previous process's last value is carried over.
func TrainingClock(recs []vmc.Record) []float64 {
	clock := make([]float64, len(recs))
	var offset, prev float64
	for i, r := range recs {
		if i > 0 && ProcessStarts(recs, i) {
			offset += prev
		}
		prev = r.Seconds
		clock[i] = offset + prev
	}
	return clock
}
