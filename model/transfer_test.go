package model

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/isingflow/isingflow/flow"
)

// TestTransferFrom checks warm starts across sizes and temperatures: the
// multiscale potential's arrays are copied from L = 4 to L = 8 and the
// quadratic part's spectrum resampled (every second wave vector exactly
// the source's), a dense potential of the same size is copied, and every
// difference that cannot carry over is refused by name, leaving the model
// unchanged.
func TestTransferFrom(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	perturb := func(m *Model) {
		for i, p := range m.Flow.Potential.Params() {
			m.Flow.Potential.Params()[i] = p + 0.1*rng.NormFloat64()
		}
	}
	build := func(c Config) *Model {
		t.Helper()
		m, err := c.Build()
		if err != nil {
			t.Fatal(err)
		}
		return m
	}

	t.Run("multiscale L = 4 to 8", func(t *testing.T) {
		small := build(multiscaleConfig(4))
		perturb(small)
		c := multiscaleConfig(8)
		c.T = 2.5
		c.FlowSteps, c.Epsilon = 20, 0.05 // the RK4 steps may differ
		big := build(c)
		if err := big.TransferFrom(small); err != nil {
			t.Fatal(err)
		}
		sb, bb := small.Flow.Potential.(*flow.Piecewise).Blocks, big.Flow.Potential.(*flow.Piecewise).Blocks
		for k := range sb {
			sq, bq := sb[k].(*flow.Sum).Terms[0].Params(), bb[k].(*flow.Sum).Terms[0].Params()
			for i := range 4 {
				for j := range 4 {
					if got, want := bq[(2*i)*8+2*j], sq[i*4+j]; got != want {
						t.Fatalf("block %d: spectrum at k = (%d, %d) is %g on the 8×8 torus, %g on the 4×4", k, i, j, got, want)
					}
				}
			}
			if !slices.Equal(sb[k].(*flow.Sum).Terms[1].Params(), bb[k].(*flow.Sum).Terms[1].Params()) {
				t.Errorf("block %d: the multiscale parameters differ", k)
			}
		}
	})

	t.Run("dense, same size", func(t *testing.T) {
		c := denseTestConfig(4)
		src := build(c)
		perturb(src)
		c.T = 3
		dst := build(c)
		if err := dst.TransferFrom(src); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(src.Flow.Potential.Params(), dst.Flow.Potential.Params()) {
			t.Error("the parameters differ")
		}
	})

	for _, c := range []struct {
		name     string
		src, dst func() Config
		want     string
	}{
		{"dense across sizes", func() Config { return denseTestConfig(4) }, func() Config { return denseTestConfig(8) },
			"depend on the lattice's size"},
		{"another potential", func() Config { return denseTestConfig(4) }, func() Config { return multiscaleConfig(4) },
			"--potential"},
		{"other channels", func() Config { return multiscaleConfig(4) }, func() Config { c := multiscaleConfig(8); c.Channels = 3; return c },
			"--channels"},
		{"other blocks", func() Config { return multiscaleConfig(4) }, func() Config { c := multiscaleConfig(8); c.Blocks = 2; return c },
			"--blocks"},
		{"another spectral scale", func() Config { return multiscaleConfig(4) }, func() Config { c := multiscaleConfig(8); c.QuadraticScale = 3; return c },
			"--quadratic-scale"},
		{"no quadratic part", func() Config { return multiscaleConfig(4) }, func() Config {
			c := multiscaleConfig(8)
			c.Quadratic, c.QuadraticBasis, c.QuadraticScale = false, "", 0
			return c
		}, "--quadratic"},
		{"another dimension", func() Config { return multiscaleConfig(4) }, func() Config { c := multiscaleConfig(4); c.Dim = 3; return c },
			"dimensional"},
	} {
		t.Run(c.name, func(t *testing.T) {
			src, dst := build(c.src()), build(c.dst())
			perturb(src)
			before := slices.Clone(dst.Flow.Potential.Params())
			err := dst.TransferFrom(src)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("TransferFrom: %v, want an error with %q", err, c.want)
			}
			if !slices.Equal(before, dst.Flow.Potential.Params()) {
				t.Error("a refused transfer changed the model")
			}
		})
	}
}

// denseTestConfig is a small dense model with the spectral quadratic part.
func denseTestConfig(L int) Config {
	return Config{
		L: L, Dim: 2, T: 2.5, Delta: 0.1, Potential: PotentialDense, Hidden: 8, Init: InitMultiscale,
		Quadratic: true, QuadraticBasis: BasisSpectral, QuadraticScale: DefaultSpectralScale,
		FlowSteps: 4, Blocks: 2, Epsilon: 0.1, InitSeed: 1,
	}
}
