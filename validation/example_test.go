package validation_test

import (
	"fmt"
	"log"

	"github.com/isingflow/isingflow/lattice"
	"github.com/isingflow/isingflow/validation"
)

// The exact thermodynamics of the 16×16 torus at T_c, the paper's lattice.
func ExampleKaufman() {
	t, err := validation.Kaufman(16, 16, validation.CriticalTemperature)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("ln Z/N = %.12f\n", t.LnZPerSite)
	fmt.Printf("f      = %.12f\n", t.FreeEnergyPerSite)
	fmt.Printf("u      = %.12f\n", t.EnergyPerSite)
	fmt.Printf("c      = %.12f\n", t.SpecificHeatPerSite)
	// Output:
	// ln Z/N = 0.932196314981
	// f      = -2.115326187918
	// u      = -1.453064852813
	// c      = 1.498704959400
}

// Onsager's infinite-lattice values at T_c: −βf = ln 2/2 + 2G/π, u = −√2.
func ExampleOnsagerLnZPerSite() {
	T := validation.CriticalTemperature
	fmt.Printf("T_c    = %.15f\n", T)
	fmt.Printf("ln Z/N = %.12f\n", validation.OnsagerLnZPerSite(T))
	fmt.Printf("f      = %.12f\n", validation.OnsagerFreeEnergyPerSite(T))
	fmt.Printf("u      = %.12f\n", validation.OnsagerEnergyPerSite(T))
	fmt.Printf("c      = %v\n", validation.OnsagerSpecificHeatPerSite(T))
	fmt.Printf("c(2.0) = %.12f, m(2.0) = %.12f\n", validation.OnsagerSpecificHeatPerSite(2), validation.SpontaneousMagnetization(2))
	// Output:
	// T_c    = 2.269185314213022
	// ln Z/N = 0.929695398342
	// f      = -2.109651144608
	// u      = -1.414213562373
	// c      = +Inf
	// c(2.0) = 0.724871448602, m(2.0) = 0.911319377877
}

// Exact spin observables of the 4×4 torus by enumerating its 2^16
// configurations once, then evaluating two temperatures.
func ExampleNewDensityOfStates() {
	lat, err := lattice.New([]int{4, 4}, lattice.Periodic)
	if err != nil {
		log.Fatal(err)
	}
	dos, err := validation.NewDensityOfStates(lat)
	if err != nil {
		log.Fatal(err)
	}
	for _, T := range []float64{2, validation.CriticalTemperature} {
		e, err := dos.Thermal(T)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("T=%.4f u=%.10f c=%.10f <|m|>=%.10f U=%.10f chi=%.10f\n",
			T, e.EnergyPerSite, e.SpecificHeatPerSite, e.AbsMagnetization, e.Binder, e.Susceptibility)
	}
	// Output:
	// T=2.0000 u=-1.7553802888 c=0.6055326572 <|m|>=0.9189432674 U=0.6448107912 chi=0.1957196235
	// T=2.2692 u=-1.5656237876 c=0.7832668259 <|m|>=0.8438604448 U=0.6171993184 chi=0.3473208323
}

// The exact reference of three lattices at T_c: the 4×4 torus has Kaufman's
// values and the enumerated moments, the 16×16 torus Kaufman's values only,
// the 3×3×3 torus (27 sites) nothing; both square lattices have Onsager's
// L = ∞ values beside them.
func ExampleNewExact() {
	for _, shape := range [][]int{{4, 4}, {16, 16}, {3, 3, 3}} {
		lat, err := lattice.New(shape, lattice.Periodic)
		if err != nil {
			log.Fatal(err)
		}
		x, err := validation.NewExact(lat)
		if err != nil {
			log.Fatal(err)
		}
		r, err := x.At(validation.CriticalTemperature)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("%v: %s\n", lat, r.Method)
		fmt.Printf("  ln Z/N = %.10f  u = %.10f  c = %.10f\n", r.LnZPerSite, r.EnergyPerSite, r.SpecificHeatPerSite)
		fmt.Printf("  <|m|> = %.10f  U = %.10f  chi = %.10f\n", r.AbsMagnetization, r.Binder, r.Susceptibility)
		if r.Onsager {
			fmt.Printf("  L = ∞: ln Z/N = %.10f  u = %.10f  c = %v\n", r.OnsagerLnZPerSite, r.OnsagerEnergyPerSite, r.OnsagerSpecificHeatPerSite)
		}
	}
	// Output:
	// 4x4 periodic: kaufman
	//   ln Z/N = 0.9701197162  u = -1.5656237876  c = 0.7832668259
	//   <|m|> = 0.8438604448  U = 0.6171993184  chi = 0.3473208323
	//   L = ∞: ln Z/N = 0.9296953983  u = -1.4142135624  c = +Inf
	// 16x16 periodic: kaufman
	//   ln Z/N = 0.9321963150  u = -1.4530648528  c = 1.4987049594
	//   <|m|> = NaN  U = NaN  chi = NaN
	//   L = ∞: ln Z/N = 0.9296953983  u = -1.4142135624  c = +Inf
	// 3x3x3 periodic: none
	//   ln Z/N = NaN  u = NaN  c = NaN
	//   <|m|> = NaN  U = NaN  chi = NaN
}
