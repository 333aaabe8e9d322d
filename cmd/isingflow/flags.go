package main

import (
	"math"
	"strconv"
	"strings"

	"github.com/spf13/pflag"

	"github.com/isingflow/isingflow/internal/cli"
	"github.com/isingflow/isingflow/ising"
	"github.com/isingflow/isingflow/lattice"
	"github.com/isingflow/isingflow/model"
	"github.com/isingflow/isingflow/scan"
	"github.com/isingflow/isingflow/validation"
)

// temperature is a pflag.Value holding T > 0: a number or the word "Tc"
// (exactly 2/ln(1+√2)).
type temperature float64

func (t *temperature) String() string {
	if float64(*t) == validation.CriticalTemperature {
		return "Tc"
	}
	return strconv.FormatFloat(float64(*t), 'g', -1, 64)
}

func (t *temperature) Set(s string) error {
	v, err := scan.ParseTemperature(s)
	if err == nil {
		*t = temperature(v)
	}
	return err
}

func (t *temperature) Type() string { return "T" }

// geometry holds the flags that choose the lattice.
type geometry struct {
	L    int
	dim  int
	open bool
	T    temperature
}

func (g *geometry) register(fs *pflag.FlagSet) {
	g.T = temperature(validation.CriticalTemperature)
	fs.IntVarP(&g.L, "L", "L", 16, "linear size of the lattice (L^d sites)")
	fs.VarP(&g.T, "T", "T", "temperature in units of J (a number, or Tc = 2/ln(1+√2))")
	g.registerShape(fs)
	cli.Group(fs, "lattice")
}

// registerShape adds the lattice flags other than -L and -T (for commands
// that read -T differently, such as scan).
func (g *geometry) registerShape(fs *pflag.FlagSet) {
	fs.IntVarP(&g.dim, "dim", "d", 2, "dimension of the hypercubic lattice")
	fs.BoolVar(&g.open, "open", false, "open instead of periodic boundaries")
}

// validate checks the flags without building the lattice.
func (g *geometry) validate() error {
	if g.L < 2 {
		return usagef("-L %d: the linear size must be at least 2", g.L)
	}
	if g.dim < 1 || g.dim > 4 {
		return usagef("-d %d: the dimension must be 1, 2, 3 or 4", g.dim)
	}
	if n := g.sites(); n > math.MaxInt32 {
		return usagef("-L %d: %d^%d sites, more than a lattice may have (%d)", g.L, g.L, g.dim, math.MaxInt32)
	}
	return nil
}

// describe names the lattice as lattice.Lattice.String does, without
// building it: "8x8x8 periodic".
func (g *geometry) describe() string {
	b := lattice.Periodic
	if g.open {
		b = lattice.Open
	}
	return strings.Repeat(strconv.Itoa(g.L)+"x", max(g.dim-1, 0)) + strconv.Itoa(g.L) + " " + b.String()
}

// sites returns the number of sites L^d, saturated at math.MaxInt64.
func (g *geometry) sites() int64 { return lattice.HypercubicSites(g.dim, g.L) }

// checkTemperature refuses a temperature so small that β times the
// energies overflows, or, with delta > 0, that the relaxation of that
// shift loses it to rounding (ising.CheckTemperature).
func (g *geometry) checkTemperature(delta float64) error {
	if err := ising.CheckTemperature(float64(g.T), g.dim, g.sites(), delta); err != nil {
		return usagef("-T %g: %v", float64(g.T), err)
	}
	return nil
}

// lattice validates the flags and builds the lattice.
func (g *geometry) lattice() (*lattice.Lattice, error) {
	if err := g.validate(); err != nil {
		return nil, err
	}
	b := lattice.Periodic
	if g.open {
		b = lattice.Open
	}
	lat, err := lattice.NewHypercubic(g.dim, g.L, b)
	if err != nil {
		return nil, usagef("%v", err)
	}
	return lat, nil
}

// isSquareTorus reports whether Kaufman's exact solution applies.
func (g *geometry) isSquareTorus() bool { return g.dim == 2 && !g.open }

// geometryOf returns the lattice flags of a model configuration.
func geometryOf(c *model.Config) *geometry {
	return &geometry{L: c.L, dim: c.Dim, open: c.Open, T: temperature(c.T)}
}
