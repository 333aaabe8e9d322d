package ising_test

import (
	"fmt"
	"log"

	"gonum.org/v1/gonum/mat"

	"github.com/isingflow/isingflow/ising"
	"github.com/isingflow/isingflow/lattice"
	"github.com/isingflow/isingflow/validation"
)

// The paper's cross-check: the exact normalisation of the relaxed target on
// the 16×16 torus at T_c, from Kaufman's exact Ising partition function.
func ExampleNewRelaxation() {
	lat, err := lattice.NewHypercubic(2, 16, lattice.Periodic)
	if err != nil {
		log.Fatal(err)
	}
	Tc := validation.CriticalTemperature
	r, err := ising.NewRelaxation(lat, Tc, ising.DefaultDelta)
	if err != nil {
		log.Fatal(err)
	}
	exact, err := validation.Kaufman(16, 16, Tc)
	if err != nil {
		log.Fatal(err)
	}
	n := float64(r.N())
	fmt.Printf("α = δ + 4β = %.6f\n", r.Alpha())
	fmt.Printf("c/N = %.8f\n", r.Constant()/n)
	fmt.Printf("ln Z_Ising/N = %.8f\n", exact.LnZPerSite)
	fmt.Printf("−ln Z_cont/N = %.8f\n", -r.ContinuousLnZ(exact.LnZ)/n)
	// Output:
	// α = δ + 4β = 1.862747
	// c/N = -1.38372454
	// ln Z_Ising/N = 0.93219631
	// −ln Z_cont/N = -2.31592086
}

// The log-density of the target and its gradient −K'⁻¹x + tanh x, for a
// batch of two configurations of a 4×4 torus: x = 0 and a uniform field.
func ExampleRelaxation_LogDensityGrad() {
	lat, err := lattice.NewHypercubic(2, 4, lattice.Periodic)
	if err != nil {
		log.Fatal(err)
	}
	r, err := ising.NewRelaxation(lat, 2.5, ising.DefaultDelta)
	if err != nil {
		log.Fatal(err)
	}
	x := mat.NewDense(2, r.N(), nil)
	for i := 0; i < r.N(); i++ {
		x.Set(1, i, 0.5)
	}
	lnq := make([]float64, 2)
	grad := mat.NewDense(2, r.N(), nil)
	r.LogDensityGrad(lnq, grad, x)
	// A uniform x is the k = 0 mode, eigenvalue 4β + α = 3.3 of K', so
	// ln q̃ = −½·16·0.5²/3.3 + 16 ln cosh 0.5 and ∂ln q̃/∂x_i = −0.5/3.3 + tanh 0.5.
	for b := range lnq {
		fmt.Printf("ln q̃ = %.6f, ∂ln q̃/∂x_0 = %.6f\n", lnq[b], grad.At(b, 0))
	}
	// Output:
	// ln q̃ = 0.000000, ∂ln q̃/∂x_0 = 0.000000
	// ln q̃ = 1.315772, ∂ln q̃/∂x_0 = 0.310602
}
