package main

import (
	"math/rand/v2"

	"gonum.org/v1/gonum/mat"

	"github.com/isingflow/isingflow/lattice"
	"github.com/isingflow/isingflow/validation"
	"github.com/isingflow/isingflow/vmc"
)

// dataThermalize is the number of sweeps a fresh Wolff chain runs before
// its first configuration is used.
const dataThermalize = 50

// wolffData is a vmc.DataSource of exact samples of the relaxation: Ising
// configurations from a Wolff chain, one sweep apart, each turned into a
// field x ~ N(K's, K'). Each step starts a fresh chain seeded by (seed,
// step), so a step's batch does not depend on the steps before it.
type wolffData struct {
	lat    *lattice.Lattice
	target *vmc.Relaxation
	seed   uint64
	spins  *mat.Dense
}

func (d *wolffData) Fill(x *mat.Dense, step int) {
	rows, n := x.Dims()
	if d.spins == nil || d.spins.RawMatrix().Rows != rows {
		d.spins = mat.NewDense(rows, n, nil)
	}
	chain, err := validation.NewWolffSampler(d.lat, d.target.Temperature(), dataThermalize, d.seed^uint64(step)*0x9e3779b97f4a7c15)
	if err != nil {
		panic(err) // the lattice and temperature were validated
	}
	for b := range rows {
		chain.Sample(d.spins.RawRowView(b))
	}
	rng := rand.New(rand.NewPCG(d.seed, uint64(step)))
	d.target.FieldGivenSpins(x, d.spins, rng)
}
