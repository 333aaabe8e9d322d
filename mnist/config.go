package mnist

import (
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"strconv"

	"github.com/isingflow/isingflow/flow"
	"github.com/isingflow/isingflow/optim"
)

// Streams of a run's PCG generators, all seeded with Config.Seed.
const (
	StreamInit       = 0 // the initial parameters
	StreamTrain      = 1 // the order of the training images and their dequantisation noise
	StreamValidation = 2 // the validation images' dequantisation noise, reseeded at every validation (the same noise every epoch, so epochs compare)
	StreamTest       = 3 // the test images' dequantisation noise (mnistflow eval)
)

// Config is everything that determines a training run's trajectory bit for
// bit (at a given GOMAXPROCS): the flow, the optimiser, the batches and the
// validation. With FinalLR the trajectory also depends on the number of
// batches the run is to do, over which the rate decays (Schedule). It is
// stored in every checkpoint, and a run resumes only with its own. The
// JSON names are those of the checkpoints and of config.json.
type Config struct {
	Rows   int `json:"rows"` // image size; Create takes it from the data
	Cols   int `json:"cols"`
	Hidden int `json:"hidden"` // hidden units H of φ(x) = Σ_j w_j σ(a_j·x + b_j)
	// Activation σ of the potential: flow.Softplus is the paper's.
	Activation flow.Activation `json:"activation"`
	Steps      int             `json:"steps"`     // RK4 steps of the flow
	StepSize   float64         `json:"step_size"` // RK4 step ε; flow time T = Steps·ε
	// Blocks is the number K of independent potentials in time (see
	// NumBlocks); 0, absent from the JSON, means one, the paper's.
	Blocks int `json:"blocks,omitempty"`
	Batch  int `json:"batch"` // images per training (and validation) batch
	// LearningRate is Adam's rate: constant, or the start of the decay to
	// FinalLR·LearningRate.
	LearningRate float64 `json:"lr"`
	// FinalLR, when positive, decays the learning rate on a cosine from
	// LearningRate to FinalLR·LearningRate over the batches a run is to do
	// (Schedule); 0, absent from the JSON (and in every run written before
	// it existed), keeps the rate constant, the paper's.
	FinalLR float64 `json:"final_lr,omitempty"`
	// WeightDecay is an L2 penalty in the gradient, torch.optim.Adam's
	// weight_decay (the paper's code: 1e-3): train.Settings.L2.
	WeightDecay float64 `json:"weight_decay"`
	// Kinetic is the weight of the transport cost ½∫|∇φ|²dt added to the
	// loss (flow.Flow.KineticWeight).
	Kinetic float64 `json:"kinetic"`
	// Seed seeds the initial parameters, the batch order and the
	// dequantisation noise (see the Stream constants).
	Seed uint64 `json:"seed"`
	// ValidationSize is the number of images held out of the end of the
	// training file for validation (LoadSplit).
	ValidationSize int `json:"validation_size"`
	// EvalImages is the number of validation images (the first ones)
	// evaluated after every epoch; 0 disables validation.
	EvalImages int `json:"eval_images"`
	// Precision is the arithmetic of the training step's matrix products;
	// every evaluation is in float64.
	Precision flow.Precision `json:"precision"`
}

// PaperConfig returns the settings of the paper's MNIST experiment: 1024
// softplus units, 100 RK4 steps of 0.1, batches of 100, Adam at 10⁻³ with
// an L2 penalty of 10⁻³, MAF's 10,000 validation images, all evaluated
// after every epoch. The image size is left to Create.
func PaperConfig() Config {
	return Config{
		Hidden:         1024,
		Activation:     flow.Softplus,
		Steps:          100,
		StepSize:       0.1,
		Batch:          100,
		LearningRate:   1e-3,
		WeightDecay:    1e-3,
		Seed:           1,
		ValidationSize: ValidationSize,
		EvalImages:     ValidationSize,
	}
}

// BudgetConfig returns the settings that trained best within a time budget
// of minutes on two cores (docs/mnist.md, "The ablation"), the default of
// mnistflow train: the paper's with 256 hidden units in each of 8
// independent potentials in time, 40 RK4 steps of 0.25 (the same flow time
// T = 10, five steps a block), Adam at 2·10⁻³ decaying on a cosine to 2 %
// of it, float32 matrix products in the training step, and 2000
// validation images.
func BudgetConfig() Config {
	c := PaperConfig()
	c.Hidden, c.Blocks, c.Steps, c.StepSize = 256, 8, 40, 0.25
	c.LearningRate, c.FinalLR = 2e-3, 0.02
	c.Precision = flow.Float32
	c.EvalImages = 2000
	return c
}

// ConfigError is an invalid value of a Config field, named by its JSON
// name (Field), so that a command can name its flag.
type ConfigError struct {
	Field   string // JSON name of the field: "hidden", "step_size", "lr", …
	Value   any
	Problem string // "want at least 1", …
}

// Error returns "mnist: FIELD VALUE: PROBLEM".
func (e *ConfigError) Error() string {
	return fmt.Sprintf("mnist: %s %v: %s", e.Field, e.Value, e.Problem)
}

// Validate checks the configuration's values; the image size only when it
// is set. The error is a *ConfigError.
func (c *Config) Validate() error {
	bad := func(field string, v any, problem string) error {
		return &ConfigError{Field: field, Value: v, Problem: problem}
	}
	switch {
	case c.Hidden < 1:
		return bad("hidden", c.Hidden, "want at least 1")
	case c.Activation != flow.Softplus && c.Activation != flow.LogCosh:
		return bad("activation", int(c.Activation), "want softplus or lncosh")
	case c.Steps < 1:
		return bad("steps", c.Steps, "want at least 1")
	case c.Blocks < 0:
		return bad("blocks", c.Blocks, "want at least 1")
	case c.Steps%c.NumBlocks() != 0:
		return bad("blocks", c.Blocks, fmt.Sprintf("must divide steps %d (each block is active for steps/blocks RK4 steps)", c.Steps))
	case !(c.StepSize > 0) || math.IsInf(c.StepSize, 0):
		return bad("step_size", c.StepSize, "want positive and finite")
	case c.Batch < 1:
		return bad("batch", c.Batch, "want at least 1")
	case !(c.LearningRate > 0) || math.IsInf(c.LearningRate, 0):
		return bad("lr", c.LearningRate, "want positive and finite")
	case !(c.FinalLR >= 0 && c.FinalLR <= 1):
		return bad("final_lr", c.FinalLR, "want a fraction of lr in [0, 1] (0: a constant rate)")
	case !(c.WeightDecay >= 0) || math.IsInf(c.WeightDecay, 0):
		return bad("weight_decay", c.WeightDecay, "want non-negative and finite")
	case !(c.Kinetic >= 0) || math.IsInf(c.Kinetic, 0):
		return bad("kinetic", c.Kinetic, "want non-negative and finite")
	case c.ValidationSize < 0:
		return bad("validation_size", c.ValidationSize, "want non-negative")
	case c.EvalImages < 0:
		return bad("eval_images", c.EvalImages, "want non-negative")
	case c.Precision != flow.Float64 && c.Precision != flow.Float32:
		return bad("precision", int(c.Precision), "want float64 or float32")
	case c.Rows < 0:
		return bad("rows", c.Rows, "want non-negative")
	case c.Cols < 0:
		return bad("cols", c.Cols, "want non-negative")
	}
	return nil
}

// NumBlocks returns the number K of independent potentials of the flow:
// the flow time is cut into K equal intervals of Steps/K RK4 steps, each
// with a potential of its own (flow.Piecewise), a potential piecewise
// constant in time; K = 1 is the paper's time-independent potential. K = 1
// is stored as 0, with no "blocks" key in JSON, so that configurations and
// checkpoints written before blocks existed keep meaning K = 1.
func (c *Config) NumBlocks() int { return max(1, c.Blocks) }

// Schedule returns the learning-rate schedule of a run that is to do
// batches batches in all: with FinalLR, a cosine from LearningRate to
// FinalLR·LearningRate over them (optim.Schedule, counting the loop's
// accepted steps); without, the zero Schedule, a constant rate.
func (c *Config) Schedule(batches int) optim.Schedule {
	if c.FinalLR == 0 {
		return optim.Schedule{}
	}
	return optim.Schedule{Total: batches, Final: c.FinalLR}
}

// NewFlow returns the flow of the configuration integrated by Steps RK4
// steps of StepSize: a flow.Shallow potential with bias, or with K =
// NumBlocks() > 1 a flow.Piecewise of K of them, each active for Steps/K
// steps. The parameters are drawn from the stream StreamInit (PyTorch's
// default initialisation, as in the paper's code), block after block, so
// that the first block of K has the parameters of the one potential of
// K = 1. The image size must be set.
func (c *Config) NewFlow() (*flow.Flow, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	if c.Rows < 1 || c.Cols < 1 {
		return nil, fmt.Errorf("mnist: image size %d×%d", c.Rows, c.Cols)
	}
	rng := rand.New(rand.NewPCG(c.Seed, StreamInit))
	blocks := make([]flow.Potential, c.NumBlocks())
	for k := range blocks {
		blocks[k] = flow.NewShallow(c.Rows*c.Cols, c.Hidden, c.Activation, true, rng)
	}
	p := blocks[0]
	if len(blocks) > 1 {
		p = flow.NewPiecewise(blocks...)
	}
	f, err := flow.New(p, c.Steps, c.StepSize)
	if err != nil {
		return nil, err
	}
	f.KineticWeight = c.Kinetic
	return f, nil
}

// DefaultRunDir names a run directory by its configuration, under runs/:
// runs/mnist_H1024_S100_eps0.1_B100_lr0.001_seed1, with _K<k> after the
// steps when the flow has K > 1 blocks and _final<f> after the rate when
// it decays (runs/mnist_H1024_S100_K10_eps0.1_B100_lr0.001_final0.02_seed1),
// so that runs that differ only in those have directories of their own and
// runs of the paper's settings keep their names.
func DefaultRunDir(c *Config) string {
	var blocks, final string
	if K := c.NumBlocks(); K > 1 {
		blocks = fmt.Sprintf("_K%d", K)
	}
	if c.FinalLR != 0 {
		final = "_final" + strconv.FormatFloat(c.FinalLR, 'g', -1, 64)
	}
	return filepath.Join("runs", fmt.Sprintf("mnist_H%d_S%d%s_eps%s_B%d_lr%s%s_seed%d",
		c.Hidden, c.Steps, blocks, strconv.FormatFloat(c.StepSize, 'g', -1, 64), c.Batch,
		strconv.FormatFloat(c.LearningRate, 'g', -1, 64), final, c.Seed))
}
