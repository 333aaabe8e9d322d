package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"

	"github.com/isingflow/isingflow/flow"
	"github.com/isingflow/isingflow/internal/runio"
	"github.com/isingflow/isingflow/optim"
)

// Files of a run directory.
const (
	lastFile   = "last.npz"    // the latest checkpoint; its presence makes a directory a run
	bestFile   = "best.npz"    // the checkpoint with the lowest validation NLL so far
	configFile = "config.json" // the run's configuration, for people
	logFile    = "log.jsonl"   // one JSON record per batch, per validation, per rejected step
	sampleFile = "samples.png"
	curveFile  = "curve.png"
)

// Streams of the run's PCG generators: all seeded with config.Seed.
const (
	streamInit       = 0 // initial parameters
	streamTrain      = 1 // shuffling and dequantisation of training batches
	streamValidation = 2 // dequantisation of the validation images (reseeded at each validation: the same noise every epoch, so epochs compare)
)

// config is everything that determines a training trajectory bit for bit
// (with GOMAXPROCS). It is stored in every checkpoint; resuming with a
// different value is an error.
type config struct {
	Rows           int             `json:"rows"`
	Cols           int             `json:"cols"`
	Hidden         int             `json:"hidden"`
	Activation     flow.Activation `json:"activation"`
	Steps          int             `json:"steps"`
	StepSize       float64         `json:"step_size"`
	Batch          int             `json:"batch"`
	LearningRate   float64         `json:"lr"`
	WeightDecay    float64         `json:"weight_decay"`
	Kinetic        float64         `json:"kinetic"`
	Seed           uint64          `json:"seed"`
	ValidationSize int             `json:"validation_size"`
	EvalImages     int             `json:"eval_images"`
	Precision      flow.Precision  `json:"precision"` // of the training products; evaluation is float64
}

// model is a flow built from a configuration.
type model struct {
	potential *flow.Shallow
	flow      *flow.Flow
}

// newModel builds the flow of cfg with parameters drawn from the
// initialisation stream (the paper's PyTorch-default initialisation).
func newModel(cfg *config) (*model, error) {
	rng := rand.New(rand.NewPCG(cfg.Seed, streamInit))
	p := flow.NewShallow(cfg.Rows*cfg.Cols, cfg.Hidden, cfg.Activation, true, rng)
	f, err := flow.New(p, cfg.Steps, cfg.StepSize)
	if err != nil {
		return nil, usageError{Msg: err.Error()}
	}
	f.KineticWeight = cfg.Kinetic
	return &model{potential: p, flow: f}, nil
}

// state is the metadata of a checkpoint; the arrays "params",
// "adam_first", "adam_second" and "perm" (the current epoch's order of the
// training images) complete it.
type state struct {
	Config       config   `json:"config"`
	Data         string   `json:"data"`          // the data directory of the run
	Batch        int      `json:"batch"`         // batches done
	AdamStep     int      `json:"adam_step"`     // Adam's step counter
	LRScale      float64  `json:"lr_scale"`      // halved at every rejected step
	RNG          []byte   `json:"rng"`           // the training stream's PCG state
	Elapsed      float64  `json:"elapsed"`       // wall-clock seconds of the run so far
	TrainSeconds float64  `json:"train_seconds"` // seconds of the training steps (without validation)
	EpochNLL     float64  `json:"epoch_nll"`     // sum of the batch NLLs of the current epoch
	EpochBPD     float64  `json:"epoch_bpd"`     // sum of their bits/dim
	EpochBatches int      `json:"epoch_batches"` // number of accepted batches in the sum
	Rejected     int      `json:"rejected"`      // rejected steps so far
	BestNLL      *float64 `json:"best_nll"`      // lowest validation NLL so far (nil: none)
	BestBatch    int      `json:"best_batch"`    // the batch it was reached at
	ValNLL       *float64 `json:"val_nll"`       // validation NLL of these parameters, when known
	ValNLLErr    *float64 `json:"val_nll_err"`
}

// trainer is the complete state of a training run.
type trainer struct {
	cfg  config
	st   state
	m    *model
	adam *optim.Adam
	pcg  *rand.PCG
	rng  *rand.Rand
	perm []int
}

func newTrainer(cfg config, data string) (*trainer, error) {
	m, err := newModel(&cfg)
	if err != nil {
		return nil, err
	}
	pcg := rand.NewPCG(cfg.Seed, streamTrain)
	return &trainer{
		cfg:  cfg,
		st:   state{Config: cfg, Data: data, LRScale: 1},
		m:    m,
		adam: optim.NewAdam(len(m.potential.Params()), cfg.LearningRate),
		pcg:  pcg,
		rng:  rand.New(pcg),
	}, nil
}

// checkpoint writes the trainer's state to path atomically.
func (t *trainer) checkpoint(path string) error {
	rng, err := t.pcg.MarshalBinary()
	if err != nil {
		return err
	}
	t.st.RNG = rng
	t.st.AdamStep = t.adam.Step
	arrays := map[string][]float64{
		"params":      t.m.potential.Params(),
		"adam_first":  t.adam.First,
		"adam_second": t.adam.Second,
	}
	if len(t.perm) > 0 { // between epochs there is none (and npz cannot store an empty array)
		perm := make([]float64, len(t.perm))
		for i, v := range t.perm {
			perm[i] = float64(v)
		}
		arrays["perm"] = perm
	}
	return runio.WriteCheckpoint(path, t.st, arrays)
}

// readCheckpoint reads a checkpoint and checks that its arrays fit its
// configuration. Every problem is a usage error naming the file.
func readCheckpoint(path string) (*state, map[string][]float64, error) {
	var st state
	arrays, err := runio.ReadCheckpoint(path, &st)
	if err != nil {
		return nil, nil, usageError{Msg: oneLine(err.Error())}
	}
	if err := validateConfig(&st.Config); err != nil {
		return nil, nil, usagef("%s: invalid configuration: %v", path, err)
	}
	if st.Batch < 0 || st.EpochBatches < 0 || !(st.LRScale > 0) {
		return nil, nil, usagef("%s: corrupted checkpoint (batch %d, lr scale %v)", path, st.Batch, st.LRScale)
	}
	c := &st.Config
	d := c.Rows * c.Cols
	n := c.Hidden*d + 2*c.Hidden
	for _, name := range []string{"params", "adam_first", "adam_second"} {
		if len(arrays[name]) != n {
			return nil, nil, usagef("%s: array %q has %d values, the configuration (%d×%d pixels, %d hidden units) has %d parameters",
				path, name, len(arrays[name]), c.Rows, c.Cols, c.Hidden, n)
		}
	}
	return &st, arrays, nil
}

// loadModel builds the flow stored in a checkpoint.
func loadModel(path string) (*model, *state, error) {
	st, arrays, err := readCheckpoint(path)
	if err != nil {
		return nil, nil, err
	}
	m, err := newModel(&st.Config)
	if err != nil {
		return nil, nil, err
	}
	copy(m.potential.Params(), arrays["params"])
	return m, st, nil
}

// restore loads a checkpoint into a trainer built from the same
// configuration. nTrain is the number of training images, which the stored
// permutation must cover.
func (t *trainer) restore(path string, nTrain int) error {
	st, arrays, err := readCheckpoint(path)
	if err != nil {
		return err
	}
	if st.Config != t.cfg {
		return usagef("%s belongs to another configuration", path)
	}
	perm := arrays["perm"]
	if len(perm) != 0 && len(perm) != nTrain {
		return usagef("%s: its epoch order covers %d training images, the data has %d", path, len(perm), nTrain)
	}
	t.perm = t.perm[:0]
	seen := make([]bool, nTrain)
	for _, v := range perm {
		i := int(v)
		if float64(i) != v || i < 0 || i >= nTrain || seen[i] {
			return usagef("%s: corrupted epoch order", path)
		}
		seen[i] = true
		t.perm = append(t.perm, i)
	}
	if err := t.pcg.UnmarshalBinary(st.RNG); err != nil {
		return usagef("%s: random state: %v", path, err)
	}
	copy(t.m.potential.Params(), arrays["params"])
	copy(t.adam.First, arrays["adam_first"])
	copy(t.adam.Second, arrays["adam_second"])
	t.adam.Step = st.AdamStep
	t.st = *st
	return nil
}

// runCheckpoint returns the path of a run's checkpoint ("best" or "last"),
// or a usage error if dir is not a run.
func runCheckpoint(dir, which string) (string, error) {
	if dir == "" {
		return "", usagef("--run DIR is required (a directory written by mnistflow train)")
	}
	var name string
	switch which {
	case "last":
		name = lastFile
	case "best":
		name = bestFile
	default:
		return "", usagef("--checkpoint %q: want best or last", which)
	}
	st, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "", usagef("run directory %s does not exist", dir)
	case err != nil:
		return "", usageError{Msg: err.Error()}
	case !st.IsDir():
		return "", usagef("%s is not a directory (want a run directory written by mnistflow train)", dir)
	}
	if _, err := os.Stat(filepath.Join(dir, lastFile)); err != nil {
		return "", usagef("%s is not a mnistflow run: it holds no %s (train one with mnistflow train --out %s)", dir, lastFile, dir)
	}
	path := filepath.Join(dir, name)
	if _, err := os.Stat(path); err != nil {
		if which == "best" {
			// No validation yet: the last checkpoint is the best one known.
			return filepath.Join(dir, lastFile), nil
		}
		return "", usagef("%s: no %s", dir, name)
	}
	return path, nil
}

// defaultRunDir names a run by its configuration.
func defaultRunDir(c *config) string {
	return filepath.Join("runs", fmt.Sprintf("mnist_H%d_S%d_eps%s_B%d_lr%s_seed%d",
		c.Hidden, c.Steps, strconv.FormatFloat(c.StepSize, 'g', -1, 64), c.Batch,
		strconv.FormatFloat(c.LearningRate, 'g', -1, 64), c.Seed))
}

// writeConfig writes the configuration as indented JSON, for people.
func writeConfig(path string, c *config) error {
	js, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return err
	}
	return runio.WriteBytesAtomic(path, append(js, '\n'))
}
