package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"

	"gonum.org/v1/gonum/mat"

	"github.com/isingflow/isingflow/flow"
	"github.com/isingflow/isingflow/lattice"
	"github.com/isingflow/isingflow/symmetry"
	"github.com/isingflow/isingflow/vmc"
)

// Potential kinds of the --potential flag.
const (
	potentialDense     = "dense"     // the paper's φ = Σ_j w_j ln cosh(a_j·x), H hidden units
	potentialSymmetric = "symmetric" // exactly invariant under translations × point group × spin flip
	potentialRandom    = "random"    // the paper's code: dense, one random group element per sample and RK4 stage
)

// Initialisations of --init (dense and random potentials).
const (
	initRandom     = "random"     // the paper's: every entry of A uniform in ±1/√N
	initMultiscale = "multiscale" // the first rows of A are the indicators of lattice.MultiscaleBlocks
)

// Parameters of the quadratic part, --quadratic-basis.
const (
	basisKernel   = "kernel"   // its kernel s(r)
	basisSpectral = "spectral" // its eigenvalues (flow.NewSpectralQuadratic)
)

// Random groups of --random-group.
const (
	randomGroupIsing     = "ising"     // translations × point group × spin flip
	randomGroupReference = "reference" // translations × {1, transposition}, the reference code's draw
)

// modelConfig is everything that defines a trained model: the physics and
// the flow. It is stored in every checkpoint and in config.json of the run
// directory, and a checkpoint only loads into the configuration it was
// written for.
type modelConfig struct {
	L         int     `json:"L"`
	Dim       int     `json:"dim"`
	Open      bool    `json:"open"`
	T         float64 `json:"T"`
	Delta     float64 `json:"delta"`
	Potential string  `json:"potential"`
	Hidden    int     `json:"hidden,omitempty"`   // dense and random: hidden units
	Channels  int     `json:"channels,omitempty"` // symmetric: kernels
	// RandomGroup is the group of the random elements of the random
	// potential: "" (absent) for the Ising group, randomGroupReference for
	// the reference code's translations × {1, transposition}.
	RandomGroup string `json:"random_group,omitempty"`
	// Init is the initialisation of the dense (or random) potential's
	// rows: "" (absent) for the paper's random rows, initMultiscale for
	// block indicators (see modelConfig.build).
	Init      string `json:"init,omitempty"`
	Quadratic bool   `json:"quadratic"` // a learnable quadratic part ½xᵀSx
	// QuadraticBasis is the parametrisation of the quadratic part on a
	// torus: "" (absent) for its kernel s(r), basisSpectral for its
	// eigenvalues (flow.NewSpectralQuadratic).
	QuadraticBasis string `json:"quadratic_basis,omitempty"`
	// QuadraticScale is the spectral basis's scale γ, the pace at which
	// Adam moves its eigenvalues (flow.NewSpectralQuadratic): 0 (absent)
	// with the kernel basis, and in runs written before the flag existed,
	// where it was 1.
	QuadraticScale float64 `json:"quadratic_scale,omitempty"`
	Blocks         int     `json:"blocks,omitempty"` // K potentials in time; 0 (absent) means 1
	FlowSteps      int     `json:"flow_steps"`
	Epsilon        float64 `json:"epsilon"`
	InitSeed       uint64  `json:"init_seed"`
}

// blocks returns the number K of independent potentials of the flow, one
// per interval of FlowSteps/K RK4 steps (a potential piecewise constant in
// time); K = 1 is the paper's time-independent potential. K = 1 is stored
// as 0, with no "blocks" key in JSON, so that configurations and
// checkpoints written before the flag existed keep meaning K = 1.
func (c *modelConfig) blocks() int { return max(1, c.Blocks) }

// spectralScale returns the scale γ of the spectral basis of the quadratic
// part: QuadraticScale, or 1 in runs written before it was stored.
func (c *modelConfig) spectralScale() float64 {
	if c.QuadraticScale == 0 {
		return 1
	}
	return c.QuadraticScale
}

// blocksFlag is the pflag.Value of --blocks: an integer K ≥ 1 stored in
// modelConfig.Blocks, with 1 stored as 0 (see modelConfig.blocks).
type blocksFlag struct{ c *modelConfig }

func (b blocksFlag) String() string {
	if b.c == nil {
		return "1"
	}
	return strconv.Itoa(b.c.blocks())
}

func (b blocksFlag) Set(s string) error {
	k, err := strconv.Atoi(s)
	if err != nil {
		return fmt.Errorf("%q is not an integer", s)
	}
	if k < 1 {
		return fmt.Errorf("need at least one block, have %d", k)
	}
	b.c.Blocks = k
	if k == 1 {
		b.c.Blocks = 0
	}
	return nil
}

func (b blocksFlag) Type() string { return "K" }

// scaleFlag is the pflag.Value of --quadratic-scale: a positive, finite
// number stored in modelConfig.QuadraticScale (where 0 means absent).
type scaleFlag struct{ c *modelConfig }

func (f scaleFlag) String() string {
	if f.c == nil {
		return "0"
	}
	return strconv.FormatFloat(f.c.QuadraticScale, 'g', -1, 64)
}

func (f scaleFlag) Set(s string) error {
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return fmt.Errorf("%q is not a number", s)
	}
	if !(v > 0) || math.IsInf(v, 0) {
		return fmt.Errorf("need a positive, finite scale, have %s", s)
	}
	f.c.QuadraticScale = v
	return nil
}

func (f scaleFlag) Type() string { return "γ" }

func (c *modelConfig) geometry() *geometry {
	return &geometry{L: c.L, dim: c.Dim, open: c.Open, T: temperature(c.T)}
}

// validate checks the flags that define the model.
func (c *modelConfig) validate() error {
	switch c.Potential {
	case potentialDense, potentialRandom:
		if c.Hidden < 1 {
			return usagef("--hidden %d: need at least one hidden unit", c.Hidden)
		}
	case potentialSymmetric:
		if c.Channels < 1 {
			return usagef("--channels %d: need at least one channel", c.Channels)
		}
	default:
		return usagef("--potential %q: want %q, %q or %q", c.Potential, potentialDense, potentialSymmetric, potentialRandom)
	}
	switch c.RandomGroup {
	case "", randomGroupIsing:
		c.RandomGroup = "" // the default is stored as absent, as before the flag existed
	case randomGroupReference:
		if c.Potential != potentialRandom {
			return usagef("--random-group %s: only for --potential %s", c.RandomGroup, potentialRandom)
		}
	default:
		return usagef("--random-group %q: want %q or %q", c.RandomGroup, randomGroupIsing, randomGroupReference)
	}
	switch c.Init {
	case "", initRandom:
		c.Init = "" // the paper's initialisation is stored as absent, as before the flag existed
	case initMultiscale:
		if c.Potential == potentialSymmetric {
			return usagef("--init %s: only for the %s and %s potentials", c.Init, potentialDense, potentialRandom)
		}
	default:
		return usagef("--init %q: want %q or %q", c.Init, initMultiscale, initRandom)
	}
	switch c.QuadraticBasis {
	case "", basisKernel:
		c.QuadraticBasis = "" // the default is stored as absent, as before the flag existed
	case basisSpectral:
		if !c.Quadratic || c.Open {
			return usagef("--quadratic-basis %s: only with the quadratic part on a torus (--quadratic, no --open)", c.QuadraticBasis)
		}
		if c.QuadraticScale < 0 || math.IsNaN(c.QuadraticScale) || math.IsInf(c.QuadraticScale, 0) {
			return usagef("--quadratic-scale %g: need a positive, finite scale", c.QuadraticScale)
		}
	default:
		return usagef("--quadratic-basis %q: want %q or %q", c.QuadraticBasis, basisKernel, basisSpectral)
	}
	if c.QuadraticBasis != basisSpectral && c.QuadraticScale != 0 {
		return usagef("--quadratic-scale %g: only with --quadratic-basis %s", c.QuadraticScale, basisSpectral)
	}
	if c.FlowSteps < 1 {
		return usagef("--flow-steps %d: need at least one RK4 step", c.FlowSteps)
	}
	if c.Blocks < 0 {
		return usagef("--blocks %d: need at least one block", c.Blocks)
	}
	if K := c.blocks(); c.FlowSteps%K != 0 {
		return usagef("--blocks %d: must divide --flow-steps %d (each block is active for flow-steps/blocks RK4 steps)", K, c.FlowSteps)
	}
	if !(c.Epsilon > 0) || math.IsInf(c.Epsilon, 0) {
		return usagef("--epsilon %v: the RK4 step must be positive", c.Epsilon)
	}
	if !(c.Delta > 0) || math.IsInf(c.Delta, 0) {
		return usagef("--delta %v: must be positive", c.Delta)
	}
	return nil
}

// model is a built model: lattice, target and flow.
type model struct {
	cfg    modelConfig
	lat    *lattice.Lattice
	target *vmc.Relaxation
	flow   *flow.Flow
	random []*symmetry.Random // the blocks' random-element wrappers (--potential random)
}

// Streams of the random group elements of --potential random (see reseed).
const (
	randomStreamEval = 1 << 62 // the evaluation after training
)

// reseed restarts the draws of the random-element wrappers from the
// stream of a training step (or randomStreamEval), so that the draws of a
// step do not depend on the steps before and a resumed run continues bit for
// bit. It does nothing for the other potentials.
func (m *model) reseed(stream uint64) {
	for k, r := range m.random {
		r.Reseed(m.cfg.InitSeed^uint64(k+1)*0x9e3779b97f4a7c15, stream)
	}
}

// build constructs the lattice, the relaxation and the flow with freshly
// initialised parameters.
func (c *modelConfig) build() (*model, error) {
	if err := c.validate(); err != nil {
		return nil, err
	}
	g := c.geometry()
	lat, err := g.lattice()
	if err != nil {
		return nil, err
	}
	target, err := vmc.NewRelaxation(lat, c.T, c.Delta)
	if err != nil {
		return nil, err
	}
	// The K blocks are initialised one after the other from one stream, so
	// K = 1 gives the parameters of the time-independent model.
	rng := rand.New(rand.NewPCG(c.InitSeed, 0xf10))
	blocks := make([]flow.Potential, c.blocks())
	var random []*symmetry.Random
	for k := range blocks {
		var pot flow.Potential
		switch c.Potential {
		case potentialDense:
			pot = c.newShallow(lat, rng)
		case potentialRandom:
			if c.Open {
				return nil, usagef("--potential random needs periodic boundaries")
			}
			G, err := c.randomGroup(lat)
			if err != nil {
				return nil, err
			}
			r, err := symmetry.NewRandom(c.newShallow(lat, rng), G, 0)
			if err != nil {
				return nil, err
			}
			random = append(random, r)
			pot = r
		case potentialSymmetric:
			if c.Open {
				return nil, usagef("--potential symmetric needs periodic boundaries")
			}
			conv, err := symmetry.NewConv(lat, c.Channels, symmetry.ConvOptions{}, rng)
			if err != nil {
				return nil, err
			}
			pot = conv
		}
		if c.Quadratic {
			// The target's Gaussian part −½xᵀK'⁻¹x is translation invariant on a
			// torus: a circulant S with N parameters can match it exactly.
			var q flow.Potential
			switch {
			case c.Open:
				q = flow.NewQuadratic(mat.NewDense(lat.N(), lat.N(), nil), nil)
			case c.QuadraticBasis == basisSpectral:
				q = flow.NewSpectralQuadratic(lat.Shape(), c.spectralScale())
			default:
				q = flow.NewCirculantQuadratic(lat.Shape())
			}
			pot = flow.NewSum(q, pot)
		}
		blocks[k] = pot
	}
	pot := blocks[0]
	if len(blocks) > 1 {
		pot = flow.NewPiecewise(blocks...)
	}
	f, err := flow.New(pot, c.FlowSteps, c.Epsilon)
	if err != nil {
		return nil, err
	}
	m := &model{cfg: *c, lat: lat, target: target, flow: f, random: random}
	m.reseed(0)
	return m, nil
}

// newShallow returns the paper's potential φ = Σ_j w_j ln cosh(a_j·x)
// with H = Hidden units drawn from rng; with Init multiscale its first rows
// are then replaced by the indicators of the lattice's blocks at every
// scale (lattice.MultiscaleBlocks, coarsest first; 425 rows on the 16×16
// torus): units that start out feeling the block spins of a
// renormalisation group, the collective coordinates of the critical
// configurations, instead of random directions. Rows beyond the number of
// blocks keep their random values, and when H is smaller the finest blocks
// are left out. Either way the potential is even, so the flow keeps
// the spin-flip symmetry exactly.
func (c *modelConfig) newShallow(lat *lattice.Lattice, rng *rand.Rand) *flow.Shallow {
	s := flow.NewShallow(lat.N(), c.Hidden, flow.LogCosh, false, rng)
	if c.Init == initMultiscale {
		s.SetIndicatorRows(lat.MultiscaleBlocks())
	}
	return s
}

// multiscaleNote returns, when the multiscale initialisation has fewer
// hidden units than the lattice has blocks, a note that the finest blocks
// (the single sites among them) start as random rows and how many units
// would hold them all; "" when every block has its unit or the rows start
// random anyway. At L = 32 the 512 default units hold 512 of 1705 blocks,
// and 2048 units trained to a lower KL/site (docs/ablation.md).
func (c *modelConfig) multiscaleNote(lat *lattice.Lattice) string {
	if c.Init != initMultiscale || c.Potential == potentialSymmetric {
		return ""
	}
	n := len(lat.MultiscaleBlocks())
	if c.Hidden >= n {
		return ""
	}
	return fmt.Sprintf("the %d hidden units start as the coarsest %d of the lattice's %d multiscale blocks; the finest %d, single sites among them, are left out (--hidden %d or more holds them all, at a higher cost per step)",
		c.Hidden, c.Hidden, n, n-c.Hidden, n)
}

// randomGroup returns the group whose elements the random potential draws.
func (c *modelConfig) randomGroup(lat *lattice.Lattice) (*symmetry.Group, error) {
	if c.RandomGroup != randomGroupReference {
		return symmetry.IsingGroup(lat)
	}
	T, err := symmetry.Translations(lat)
	if err != nil {
		return nil, err
	}
	X, err := symmetry.Transposition(lat)
	if err != nil {
		return nil, usagef("--random-group %s: %v", randomGroupReference, err)
	}
	return symmetry.DirectProduct(T, X)
}

// describe is a one-line summary of the model.
func (c *modelConfig) describe() string {
	var p string
	switch c.Potential {
	case potentialDense:
		p = fmt.Sprintf("dense ln cosh potential, H = %d", c.Hidden)
	case potentialSymmetric:
		p = fmt.Sprintf("symmetric potential, %d channels", c.Channels)
	case potentialRandom:
		p = fmt.Sprintf("dense ln cosh potential, H = %d, a random symmetry element per sample and stage", c.Hidden)
		if c.RandomGroup == randomGroupReference {
			p += " (translations × transposition)"
		}
	}
	if c.Init == initMultiscale {
		p += ", multiscale init"
	}
	if c.Quadratic {
		p += " + quadratic"
		if c.QuadraticBasis == basisSpectral {
			p += fmt.Sprintf(" (spectral, γ = %g)", c.spectralScale())
		}
	}
	if K := c.blocks(); K > 1 {
		return fmt.Sprintf("%s, %d RK4 steps of %g in %d independent blocks", p, c.FlowSteps, c.Epsilon, K)
	}
	return fmt.Sprintf("%s, %d RK4 steps of %g", p, c.FlowSteps, c.Epsilon)
}

// Files of a run directory.
const (
	configFile     = "config.json"
	checkpointFile = "checkpoint.npz"
	trainLogFile   = "train.jsonl"
	resultFile     = "result.json"
)

// runConfig is config.json: the model and the training settings of a run.
type runConfig struct {
	Model    modelConfig      `json:"model"`
	Training trainConfig      `json:"training"`
	Version  string           `json:"isingflow_version"`
	Extra    *json.RawMessage `json:"extra,omitempty"`
}

// loadRun reads a run directory's configuration and builds its model with
// the parameters of its checkpoint. Anything wrong with the directory is a
// usage error naming the file.
func loadRun(dir string) (*model, *runConfig, error) {
	path := filepath.Join(dir, configFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil, usagef("%s is not an isingflow run directory (no %s)", dir, configFile)
	}
	if err != nil {
		return nil, nil, err
	}
	var rc runConfig
	if err := json.Unmarshal(b, &rc); err != nil {
		return nil, nil, usagef("%s: %v", path, err)
	}
	m, err := rc.Model.build()
	if err != nil {
		return nil, nil, usagef("%s: %v", path, err)
	}
	tr, err := vmc.NewTrainer(m.flow, m.target, rc.Training.settings())
	if err != nil {
		return nil, nil, usagef("%s: %v", path, err)
	}
	if err := tr.Restore(filepath.Join(dir, checkpointFile), rc.Model); err != nil {
		return nil, nil, usagef("%v", err)
	}
	return m, &rc, nil
}
