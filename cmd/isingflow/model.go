package main

import (
	"fmt"
	"math"
	"strconv"

	"github.com/spf13/pflag"

	"github.com/isingflow/isingflow/internal/cli"
	"github.com/isingflow/isingflow/lattice"
	"github.com/isingflow/isingflow/model"
	"github.com/isingflow/isingflow/validation"
)

// blocksFlag is the pflag.Value of --blocks: an integer K ≥ 1 stored in
// model.Config.Blocks, with 1 stored as 0 (see model.Config.NumBlocks).
type blocksFlag struct{ c *model.Config }

func (b blocksFlag) String() string {
	if b.c == nil {
		return "1"
	}
	return strconv.Itoa(b.c.NumBlocks())
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
// number stored in Config.QuadraticScale (where 0 means absent).
type scaleFlag struct{ c *model.Config }

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

// settleModelDefaults adapts the defaults of flags the user did not set to
// the ones that were set, instead of failing on a flag the user never
// gave: --potential to the dense potential on open boundaries, which the
// multiscale one does not support, the training flags to
// model.DefaultTraining of the chosen
// potential (--lr 0.001, float32, 1700 steps not fitted to the time limit
// for the dense potential), --blocks to one block when the default does
// not divide --flow-steps (a short test flow of 4 steps, say), --init to
// none for the symmetric potential, which has no initialisation to
// choose, and --quadratic-basis to the kernel (stored as absent) where
// the spectral basis does not apply: without a quadratic part, or on open
// boundaries (whose quadratic part is a dense S). With --init-from it
// follows inheritModel and precedes scan.WarmSettings. It refuses a size
// flag of another potential than the chosen one (--hidden without
// --potential dense, say), which would otherwise be ignored.
func settleModelDefaults(fs *pflag.FlagSet, c *model.Config, t *model.Training, open bool) error {
	if !fs.Changed("potential") && open && c.Potential == model.PotentialMultiscale {
		c.Potential = model.PotentialDense // the multiscale potential needs a torus
	}
	dense := c.Potential == model.PotentialDense || c.Potential == model.PotentialRandom
	switch {
	case fs.Changed("hidden") && !dense:
		return usagef("--hidden: the %s potential has no hidden units (they are the dense and random potentials'; --potential dense)", c.Potential)
	case fs.Changed("channels") && dense:
		return usagef("--channels: the %s potential has no channels (they are the symmetric and multiscale potentials')", c.Potential)
	}
	if !fs.Changed("blocks") && c.FlowSteps%c.NumBlocks() != 0 {
		c.Blocks = 0
	}
	if !fs.Changed("init") && c.Potential == model.PotentialSymmetric {
		c.Init = ""
	}
	if !fs.Changed("quadratic-basis") && (!c.Quadratic || open) {
		c.QuadraticBasis = ""
	}
	if !fs.Changed("quadratic-scale") && c.QuadraticBasis != model.BasisSpectral {
		c.QuadraticScale = 0
	}
	d := model.DefaultTraining(c)
	for _, f := range []struct {
		flag string
		set  func()
	}{
		{"iterations", func() { t.Iterations = d.Iterations }},
		{"lr", func() { t.LR = d.LR }},
		{"precision", func() { t.Precision = d.Precision }},
		{"fit-to-time-limit", func() { t.FitToTimeLimit = d.FitToTimeLimit }},
	} {
		if !fs.Changed(f.flag) {
			f.set()
		}
	}
	return nil
}

// defaultModel is model.Default on the 16×16 torus at T_c, whose values
// are the defaults of the model flags.
func defaultModel() *model.Config {
	lat, err := lattice.NewHypercubic(2, 16, lattice.Periodic)
	if err != nil {
		panic(err)
	}
	d, err := model.Default(lat, validation.CriticalTemperature)
	if err != nil {
		panic(err)
	}
	return &d
}

// registerModel adds the flags that define the flow, with the defaults
// of model.Default.
func registerModel(fs *pflag.FlagSet, c *model.Config) {
	d := defaultModel()
	fs.Float64Var(&c.Delta, "delta", d.Delta, "shift δ of the Hubbard-Stratonovich relaxation")
	fs.StringVar(&c.Potential, "potential", d.Potential, "potential φ: multiscale (exactly symmetric, block spins of every scale; on --open: dense), dense (the paper's), symmetric or random")
	fs.IntVar(&c.Hidden, "hidden", d.Hidden, "hidden units of the dense and random potentials")
	fs.IntVar(&c.Channels, "channels", d.Channels, "kernels of the symmetric potential, per level of the multiscale one")
	fs.StringVar(&c.RandomGroup, "random-group", model.RandomGroupIsing, "group of the random potential's draws: ising or reference")
	fs.StringVar(&c.Init, "init", d.Init, "initialisation: multiscale (block spins in the dense potential's first rows, the multiscale potential's first kernels) or random")
	fs.BoolVar(&c.Quadratic, "quadratic", d.Quadratic, "add a learnable quadratic part ½xᵀSx to the potential")
	fs.StringVar(&c.QuadraticBasis, "quadratic-basis", d.QuadraticBasis, "parameters of the quadratic part: spectral (eigenvalues) or kernel")
	c.QuadraticScale = d.QuadraticScale
	fs.Var(scaleFlag{c}, "quadratic-scale", "scale γ of the spectral basis (eigenvalue = γ × parameter)")
	fs.IntVar(&c.FlowSteps, "flow-steps", d.FlowSteps, "RK4 steps of the flow")
	c.Blocks = d.Blocks
	fs.Var(blocksFlag{c}, "blocks", "independent potentials in time, each for flow-steps/blocks RK4 steps")
	fs.Float64Var(&c.Epsilon, "epsilon", d.Epsilon, "RK4 step size ε")
	fs.Uint64Var(&c.InitSeed, "init-seed", d.InitSeed, "seed of the initial parameters")
	cli.Group(fs, "model")
}

// inheritModel sets every model flag that the command line did not set to
// the value of the model src (the run of --init-from), so that
// "-L 32 --init-from RUN" continues RUN's model on the larger lattice.
func inheritModel(fs *pflag.FlagSet, c *model.Config, src *model.Config) {
	for _, f := range []struct {
		flag string
		set  func()
	}{
		{"delta", func() { c.Delta = src.Delta }},
		{"potential", func() { c.Potential = src.Potential }},
		{"hidden", func() { c.Hidden = src.Hidden }},
		{"channels", func() { c.Channels = src.Channels }},
		{"random-group", func() { c.RandomGroup = src.RandomGroup }},
		{"init", func() { c.Init = src.Init }},
		{"quadratic", func() { c.Quadratic = src.Quadratic }},
		{"quadratic-basis", func() { c.QuadraticBasis = src.QuadraticBasis }},
		{"quadratic-scale", func() { c.QuadraticScale = src.QuadraticScale }},
		{"flow-steps", func() { c.FlowSteps = src.FlowSteps }},
		{"blocks", func() { c.Blocks = src.Blocks }},
		{"epsilon", func() { c.Epsilon = src.Epsilon }},
		{"init-seed", func() { c.InitSeed = src.InitSeed }},
	} {
		if fs.Lookup(f.flag) == nil {
			panic("inheritModel: no flag --" + f.flag)
		}
		if !fs.Changed(f.flag) {
			f.set()
		}
	}
}
