package symmetry_test

import (
	"fmt"
	"math"
	"math/rand/v2"

	"gonum.org/v1/gonum/mat"

	"github.com/isingflow/isingflow/lattice"
	"github.com/isingflow/isingflow/symmetry"
)

func ExampleIsingGroup() {
	lat, err := lattice.NewHypercubic(2, 16, lattice.Periodic)
	if err != nil {
		panic(err)
	}
	T, _ := symmetry.Translations(lat)
	P, _ := symmetry.PointGroup(lat)
	G, _ := symmetry.IsingGroup(lat)
	fmt.Println("translations:", T.Order())
	fmt.Println("point group:", P.Order())
	fmt.Println("T ⋊ P × spin flip:", G.Order())
	// Output:
	// translations: 256
	// point group: 8
	// T ⋊ P × spin flip: 4096
}

func ExampleConv() {
	lat, err := lattice.NewHypercubic(2, 8, lattice.Periodic)
	if err != nil {
		panic(err)
	}
	// One channel of full-lattice kernels tied over D4: 1·8·64 = 512
	// effective hidden units from 65 parameters.
	phi, err := symmetry.NewConv(lat, 1, symmetry.ConvOptions{}, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		panic(err)
	}
	fmt.Println("effective hidden units:", phi.EffectiveHiddenUnits(), "parameters:", len(phi.Params()))

	// φ is invariant under every element of its group: check a rotation
	// composed with a translation and a spin flip.
	G, _ := phi.Group()
	x := mat.NewDense(1, lat.N(), nil)
	rng := rand.New(rand.NewPCG(3, 4))
	for i := range lat.N() {
		x.Set(0, i, rng.NormFloat64())
	}
	gx := mat.NewDense(1, lat.N(), nil)
	G.Element(G.Order()-3).ApplyRows(gx, x)
	v, gv := make([]float64, 1), make([]float64, 1)
	phi.Value(v, x)
	phi.Value(gv, gx)
	fmt.Printf("|φ(gx) − φ(x)| < 1e-14: %v\n", math.Abs(gv[0]-v[0]) < 1e-14)
	// Output:
	// effective hidden units: 512 parameters: 65
	// |φ(gx) − φ(x)| < 1e-14: true
}
