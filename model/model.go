package model

import (
	"fmt"
	"math"
	"math/rand/v2"

	"gonum.org/v1/gonum/mat"

	"github.com/isingflow/isingflow/flow"
	"github.com/isingflow/isingflow/ising"
	"github.com/isingflow/isingflow/lattice"
	"github.com/isingflow/isingflow/symmetry"
)

// Potential kinds of the --potential flag.
const (
	PotentialDense     = "dense"     // the paper's φ = Σ_j w_j ln cosh(a_j·x), H hidden units
	PotentialSymmetric = "symmetric" // exactly invariant under translations × point group × spin flip
	PotentialRandom    = "random"    // the paper's code: dense, one random group element per sample and RK4 stage
	// PotentialMultiscale is exactly invariant like symmetric, with local
	// kernels on block spins of every scale and parameters independent of L
	// (symmetry.Multiscale with MultiscaleLevels levels, Channels kernels
	// per level of radius MultiscaleRadius).
	PotentialMultiscale = "multiscale"
)

// The fixed geometry of PotentialMultiscale (docs/multiscale.md): blocks
// of 1, 2, 4, 8 and 16 sites a side, 3×3 kernels on each coarse lattice.
const (
	MultiscaleLevels = 5
	MultiscaleRadius = 1
)

// Initialisations of --init (dense and random potentials).
const (
	InitRandom     = "random"     // the paper's: every entry of A uniform in ±1/√N
	InitMultiscale = "multiscale" // the first rows of A are the indicators of lattice.MultiscaleBlocks
)

// Parameters of the quadratic part, --quadratic-basis.
const (
	BasisKernel   = "kernel"   // its kernel s(r)
	BasisSpectral = "spectral" // its eigenvalues (flow.NewSpectralQuadratic)
)

// Random groups of --random-group.
const (
	RandomGroupIsing     = "ising"     // translations × point group × spin flip
	RandomGroupReference = "reference" // translations × {1, transposition}, the reference code's draw
)

// Config is everything that defines a trained model: the physics and
// the flow. It is stored in every checkpoint and in config.json of the run
// directory, and a checkpoint only loads into the configuration it was
// written for.
type Config struct {
	L         int     `json:"L"`
	Dim       int     `json:"dim"`
	Open      bool    `json:"open"`
	T         float64 `json:"T"`
	Delta     float64 `json:"delta"`
	Potential string  `json:"potential"`
	Hidden    int     `json:"hidden,omitempty"`   // dense and random: hidden units
	Channels  int     `json:"channels,omitempty"` // symmetric: kernels; multiscale: kernels per level
	// RandomGroup is the group of the random elements of the random
	// potential: "" (absent) for the Ising group, RandomGroupReference for
	// the reference code's translations × {1, transposition}.
	RandomGroup string `json:"random_group,omitempty"`
	// Init is the initialisation of the dense (or random) potential's
	// rows: "" (absent) for the paper's random rows, InitMultiscale for
	// block indicators (see Config.Build); of the multiscale potential's
	// kernels: "" for random ones, InitMultiscale for a block spin in the
	// first channel of every level (symmetry.Multiscale.SetBlockSpins).
	Init      string `json:"init,omitempty"`
	Quadratic bool   `json:"quadratic"` // a learnable quadratic part ½xᵀSx
	// QuadraticBasis is the parametrisation of the quadratic part on a
	// torus: "" (absent) for its kernel s(r), BasisSpectral for its
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

// NumBlocks returns the number K of independent potentials of the flow, one
// per interval of FlowSteps/K RK4 steps (a potential piecewise constant in
// time); K = 1 is the paper's time-independent potential. K = 1 is stored
// as 0, with no "blocks" key in JSON, so that configurations and
// checkpoints written before the flag existed keep meaning K = 1.
func (c *Config) NumBlocks() int { return max(1, c.Blocks) }

// SpectralScale returns the scale γ of the spectral basis of the quadratic
// part: QuadraticScale, or 1 in runs written before it was stored.
func (c *Config) SpectralScale() float64 {
	if c.QuadraticScale == 0 {
		return 1
	}
	return c.QuadraticScale
}

// Lattice builds the configuration's lattice.
func (c *Config) Lattice() (*lattice.Lattice, error) {
	if c.L < 2 {
		return nil, fmt.Errorf("-L %d: the linear size must be at least 2", c.L)
	}
	if c.Dim < 1 || c.Dim > 4 {
		return nil, fmt.Errorf("-d %d: the dimension must be 1, 2, 3 or 4", c.Dim)
	}
	bc := lattice.Periodic
	if c.Open {
		bc = lattice.Open
	}
	return lattice.NewHypercubic(c.Dim, c.L, bc)
}

// IsSquareTorus reports whether the lattice is the periodic square
// lattice, where Kaufman's exact solution and the spectral quadratic part
// apply.
func (c *Config) IsSquareTorus() bool { return c.Dim == 2 && !c.Open }

// Validate checks the configuration and puts it in its canonical form
// (defaults stored as absent, as in runs written before their field
// existed). Its errors name the command-line flag of the field.
func (c *Config) Validate() error {
	switch c.Potential {
	case PotentialDense, PotentialRandom:
		if c.Hidden < 1 {
			return fmt.Errorf("--hidden %d: need at least one hidden unit", c.Hidden)
		}
	case PotentialSymmetric, PotentialMultiscale:
		if c.Channels < 1 {
			return fmt.Errorf("--channels %d: need at least one channel", c.Channels)
		}
	default:
		return fmt.Errorf("--potential %q: want %q, %q, %q or %q", c.Potential, PotentialDense, PotentialSymmetric, PotentialMultiscale, PotentialRandom)
	}
	switch c.RandomGroup {
	case "", RandomGroupIsing:
		c.RandomGroup = "" // the default is stored as absent, as before the flag existed
	case RandomGroupReference:
		if c.Potential != PotentialRandom {
			return fmt.Errorf("--random-group %s: only for --potential %s", c.RandomGroup, PotentialRandom)
		}
	default:
		return fmt.Errorf("--random-group %q: want %q or %q", c.RandomGroup, RandomGroupIsing, RandomGroupReference)
	}
	switch c.Init {
	case "", InitRandom:
		c.Init = "" // the paper's initialisation is stored as absent, as before the flag existed
	case InitMultiscale:
		if c.Potential == PotentialSymmetric {
			return fmt.Errorf("--init %s: only for the %s, %s and %s potentials", c.Init, PotentialDense, PotentialRandom, PotentialMultiscale)
		}
	default:
		return fmt.Errorf("--init %q: want %q or %q", c.Init, InitMultiscale, InitRandom)
	}
	switch c.QuadraticBasis {
	case "", BasisKernel:
		c.QuadraticBasis = "" // the default is stored as absent, as before the flag existed
	case BasisSpectral:
		if !c.Quadratic || c.Open {
			return fmt.Errorf("--quadratic-basis %s: only with the quadratic part on a torus (--quadratic, no --open)", c.QuadraticBasis)
		}
		if c.QuadraticScale < 0 || math.IsNaN(c.QuadraticScale) || math.IsInf(c.QuadraticScale, 0) {
			return fmt.Errorf("--quadratic-scale %g: need a positive, finite scale", c.QuadraticScale)
		}
	default:
		return fmt.Errorf("--quadratic-basis %q: want %q or %q", c.QuadraticBasis, BasisKernel, BasisSpectral)
	}
	if c.QuadraticBasis != BasisSpectral && c.QuadraticScale != 0 {
		return fmt.Errorf("--quadratic-scale %g: only with --quadratic-basis %s", c.QuadraticScale, BasisSpectral)
	}
	if c.FlowSteps < 1 {
		return fmt.Errorf("--flow-steps %d: need at least one RK4 step", c.FlowSteps)
	}
	if c.Blocks < 0 {
		return fmt.Errorf("--blocks %d: need at least one block", c.Blocks)
	}
	if K := c.NumBlocks(); c.FlowSteps%K != 0 {
		return fmt.Errorf("--blocks %d: must divide --flow-steps %d (each block is active for flow-steps/blocks RK4 steps)", K, c.FlowSteps)
	}
	if !(c.Epsilon > 0) || math.IsInf(c.Epsilon, 0) {
		return fmt.Errorf("--epsilon %v: the RK4 step must be positive", c.Epsilon)
	}
	if !(c.Delta > 0) || math.IsInf(c.Delta, 0) {
		return fmt.Errorf("--delta %v: must be positive", c.Delta)
	}
	if err := ising.CheckTemperature(c.T, c.Dim, c.Sites(), c.Delta); err != nil {
		return fmt.Errorf("-T %g: %v", c.T, err)
	}
	return nil
}

// Model is a built model: the lattice, the relaxed target and the flow.
type Model struct {
	Config  Config
	Lattice *lattice.Lattice
	Target  *ising.Relaxation
	Flow    *flow.Flow

	random []*symmetry.Random // the blocks' random-element wrappers (PotentialRandom)
}

// Streams of the random group elements of PotentialRandom (see Reseed)
// beside the training steps'.
const (
	StreamEvaluation = 1 << 62              // the evaluation after training
	StreamLogDetGap  = StreamEvaluation + 1 // the log-determinant check
	StreamSamples    = StreamEvaluation + 2 // spin configurations drawn for pictures
)

// Reseed restarts the draws of the random-element wrappers of
// PotentialRandom from the stream of a training step (or one of the
// Stream constants), so that the draws of a step do not depend on the steps
// before and a resumed run continues bit for bit. It does nothing for the
// other potentials.
func (m *Model) Reseed(stream uint64) {
	for k, r := range m.random {
		r.Reseed(m.Config.InitSeed^uint64(k+1)*0x9e3779b97f4a7c15, stream)
	}
}

// Build validates the configuration and constructs the lattice, the
// relaxation and the flow, with parameters initialised from InitSeed.
func (c *Config) Build() (*Model, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	lat, err := c.Lattice()
	if err != nil {
		return nil, err
	}
	target, err := ising.NewRelaxation(lat, c.T, c.Delta)
	if err != nil {
		return nil, err
	}
	// The K blocks are initialised one after the other from one stream, so
	// K = 1 gives the parameters of the time-independent model.
	rng := rand.New(rand.NewPCG(c.InitSeed, 0xf10))
	blocks := make([]flow.Potential, c.NumBlocks())
	var random []*symmetry.Random
	for k := range blocks {
		var pot flow.Potential
		switch c.Potential {
		case PotentialDense:
			pot = c.newShallow(lat, rng)
		case PotentialRandom:
			if c.Open {
				return nil, fmt.Errorf("--potential random needs periodic boundaries")
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
		case PotentialSymmetric:
			if c.Open {
				return nil, fmt.Errorf("--potential symmetric needs periodic boundaries")
			}
			conv, err := symmetry.NewConv(lat, c.Channels, symmetry.ConvOptions{}, rng)
			if err != nil {
				return nil, err
			}
			pot = conv
		case PotentialMultiscale:
			if c.Open {
				return nil, fmt.Errorf("--potential multiscale needs periodic boundaries")
			}
			ms, err := symmetry.NewMultiscale(lat, c.MultiscaleOptions(), rng)
			if err != nil {
				return nil, err
			}
			if c.Init == InitMultiscale {
				ms.SetBlockSpins()
			}
			pot = ms
		}
		if c.Quadratic {
			// The target's Gaussian part −½xᵀK'⁻¹x is translation invariant on a
			// torus: a circulant S with N parameters can match it exactly.
			var q flow.Potential
			switch {
			case c.Open:
				q = flow.NewQuadratic(mat.NewDense(lat.N(), lat.N(), nil), nil)
			case c.QuadraticBasis == BasisSpectral:
				q = flow.NewSpectralQuadratic(lat.Shape(), c.SpectralScale())
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
	m := &Model{Config: *c, Lattice: lat, Target: target, Flow: f, random: random}
	m.Reseed(0)
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
func (c *Config) newShallow(lat *lattice.Lattice, rng *rand.Rand) *flow.Shallow {
	s := flow.NewShallow(lat.N(), c.Hidden, flow.LogCosh, false, rng)
	if c.Init == InitMultiscale {
		s.SetIndicatorRows(lat.MultiscaleBlocks())
	}
	return s
}

// MultiscaleOptions returns the options of PotentialMultiscale: the fixed
// MultiscaleLevels and MultiscaleRadius, Channels kernels per level.
func (c *Config) MultiscaleOptions() symmetry.MultiscaleOptions {
	return symmetry.MultiscaleOptions{Levels: MultiscaleLevels, Channels: c.Channels, Radius: MultiscaleRadius}
}

// MultiscaleNote returns, when the multiscale initialisation has fewer
// hidden units than the lattice has blocks, a note that the finest blocks
// (the single sites among them) start as random rows and how many units
// would hold them all; "" when every block has its unit or the rows start
// random anyway.
func (c *Config) MultiscaleNote(lat *lattice.Lattice) string {
	if c.Init != InitMultiscale || (c.Potential != PotentialDense && c.Potential != PotentialRandom) {
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
func (c *Config) randomGroup(lat *lattice.Lattice) (*symmetry.Group, error) {
	if c.RandomGroup != RandomGroupReference {
		return symmetry.IsingGroup(lat)
	}
	T, err := symmetry.Translations(lat)
	if err != nil {
		return nil, err
	}
	X, err := symmetry.Transposition(lat)
	if err != nil {
		return nil, fmt.Errorf("--random-group %s: %v", RandomGroupReference, err)
	}
	return symmetry.DirectProduct(T, X)
}

// Describe is a one-line summary of the model.
func (c *Config) Describe() string {
	var p string
	switch c.Potential {
	case PotentialDense:
		p = fmt.Sprintf("dense ln cosh potential, H = %d", c.Hidden)
	case PotentialSymmetric:
		p = fmt.Sprintf("symmetric potential, %d channels", c.Channels)
	case PotentialMultiscale:
		p = fmt.Sprintf("multiscale potential, %d levels × %d channels of radius %d", MultiscaleLevels, c.Channels, MultiscaleRadius)
	case PotentialRandom:
		p = fmt.Sprintf("dense ln cosh potential, H = %d, a random symmetry element per sample and stage", c.Hidden)
		if c.RandomGroup == RandomGroupReference {
			p += " (translations × transposition)"
		}
	}
	switch {
	case c.Init == InitMultiscale && c.Potential == PotentialMultiscale:
		p += ", block-spin init"
	case c.Init == InitMultiscale:
		p += ", multiscale init"
	}
	if c.Quadratic {
		p += " + quadratic"
		if c.QuadraticBasis == BasisSpectral {
			p += fmt.Sprintf(" (spectral, γ = %g)", c.SpectralScale())
		}
	}
	if K := c.NumBlocks(); K > 1 {
		return fmt.Sprintf("%s, %d RK4 steps of %g in %d independent blocks", p, c.FlowSteps, c.Epsilon, K)
	}
	return fmt.Sprintf("%s, %d RK4 steps of %g", p, c.FlowSteps, c.Epsilon)
}

// Default returns the default model for the hypercubic lattice lat at
// temperature T: the exactly symmetric multiscale potential
// (PotentialMultiscale, 4 channels per level, block-spin initialisation;
// docs/multiscale.md), which beat the paper's dense potential at L = 16
// within the default 16-minute budget and by far at L ≥ 32, with a
// learnable quadratic part (on a torus in its spectral basis with γ = 10),
// 50 RK4 steps of 0.1 in ten independent blocks in time, δ = 0.1,
// initialised from seed 1. Setting Potential to PotentialDense gives the
// tuned dense model of the ablation (docs/ablation.md), H = 512 hidden
// units whose rows start as block spins at every scale. DefaultTraining
// gives the training settings for either.
func Default(lat *lattice.Lattice, T float64) (Config, error) {
	shape := lat.Shape()
	for _, n := range shape {
		if n != shape[0] {
			return Config{}, fmt.Errorf("model: the lattice %v is not hypercubic", lat)
		}
	}
	c := Config{
		L:              shape[0],
		Dim:            len(shape),
		Open:           lat.Boundary() == lattice.Open,
		T:              T,
		Delta:          ising.DefaultDelta,
		Potential:      PotentialMultiscale,
		Hidden:         512,
		Channels:       4,
		Init:           InitMultiscale,
		Quadratic:      true,
		QuadraticBasis: BasisSpectral,
		QuadraticScale: DefaultSpectralScale,
		FlowSteps:      50,
		Blocks:         DefaultBlocks,
		Epsilon:        0.1,
		InitSeed:       1,
	}
	if c.Open {
		c.QuadraticBasis, c.QuadraticScale = "", 0 // the spectral basis needs a torus
	}
	return c, c.Validate()
}

// DefaultBlocks is the default number of independent potentials in time
// (docs/ablation.md).
const DefaultBlocks = 10

// DefaultSpectralScale is the default scale γ of the quadratic part's
// spectral basis, under which Adam moves each eigenvalue by about 10·lr per
// step (docs/ablation.md).
const DefaultSpectralScale = 10.0

// TransferFrom sets m's parameters from the trained model src, which may
// be of another lattice size (of the same dimension) and another
// temperature: a warm start. Arrays whose shape does not depend on the
// lattice are copied and the quadratic part's spectrum is resampled onto
// m's wave vectors (flow.Transfer), so across sizes it needs a potential
// whose parameters do not depend on L: PotentialMultiscale, or the
// quadratic part alone. Both models must have the same potential,
// channels, hidden units, blocks in time and quadratic part; the number
// and size of the RK4 steps may differ. An error names what differs and
// leaves m unchanged.
func (m *Model) TransferFrom(src *Model) error {
	a, b := &m.Config, &src.Config
	switch {
	case a.Dim != b.Dim:
		return fmt.Errorf("model: the trained flow is on a %d-dimensional lattice, the model on a %d-dimensional one", b.Dim, a.Dim)
	case a.Open != b.Open:
		return fmt.Errorf("model: the trained flow and the model differ in their boundaries (--open)")
	case a.Potential != b.Potential:
		return fmt.Errorf("model: the trained flow has the %s potential, the model the %s one (--potential)", b.Potential, a.Potential)
	case a.Potential == PotentialDense || a.Potential == PotentialRandom:
		if a.Hidden != b.Hidden {
			return fmt.Errorf("model: the trained flow has %d hidden units, the model %d (--hidden)", b.Hidden, a.Hidden)
		}
	case a.Channels != b.Channels:
		return fmt.Errorf("model: the trained flow has %d channels, the model %d (--channels)", b.Channels, a.Channels)
	}
	switch {
	case a.NumBlocks() != b.NumBlocks():
		return fmt.Errorf("model: the trained flow has %d blocks in time, the model %d (--blocks)", b.NumBlocks(), a.NumBlocks())
	case a.Quadratic != b.Quadratic || a.QuadraticBasis != b.QuadraticBasis:
		return fmt.Errorf("model: the trained flow and the model differ in their quadratic part (--quadratic, --quadratic-basis)")
	case a.QuadraticBasis == BasisSpectral && a.SpectralScale() != b.SpectralScale():
		return fmt.Errorf("model: the trained flow's spectral scale is %g, the model's %g (--quadratic-scale)", b.SpectralScale(), a.SpectralScale())
	}
	if err := flow.Transfer(m.Flow.Potential, src.Flow.Potential); err != nil {
		if a.L != b.L && (a.Potential != PotentialMultiscale) {
			return fmt.Errorf("model: the %s potential's parameters depend on the lattice's size, so a flow trained at L = %d cannot start one at L = %d (the multiscale potential's do not): %w",
				a.Potential, b.L, a.L, err)
		}
		return fmt.Errorf("model: %w", err)
	}
	return nil
}
