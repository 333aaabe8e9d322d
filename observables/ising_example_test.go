package observables_test

import (
	"fmt"
	"strings"

	"github.com/isingflow/isingflow/flow"
	"github.com/isingflow/isingflow/ising"
	"github.com/isingflow/isingflow/lattice"
	"github.com/isingflow/isingflow/observables"
	"github.com/isingflow/isingflow/validation"
)

// Evaluating a flow on the 4×4 torus at T_c. This one is untrained (φ = 0,
// so p = N(0, I)): its variational free energy lies far above the exact
// one, and its importance weights are too poor to be trusted, which the
// estimates say loudly.
func ExampleSampleIsing() {
	lat, _ := lattice.NewHypercubic(2, 4, lattice.Periodic)
	T := validation.CriticalTemperature
	rel, _ := ising.NewRelaxation(lat, T, ising.DefaultDelta)
	f, _ := flow.New(flow.NewShallow(lat.N(), 8, flow.LogCosh, false, nil), 10, 0.1)

	est, err := observables.SampleIsing(f, rel, observables.SampleOptions{Samples: 10000, MCMC: 5000, Seed: 1})
	if err != nil {
		fmt.Println(err)
		return
	}
	exact, _ := validation.Kaufman(4, 4, T)
	kl := est.SetExactLnZPerSite(exact.LnZPerSite)
	fmt.Printf("f_var = %.2f ≥ f = %.4f\n", est.VariationalFreeEnergyPerSite.Mean, exact.FreeEnergyPerSite)
	fmt.Printf("KL/site = %.2f\n", kl.Mean)
	for _, w := range append(est.Warnings, est.MCMC.Warnings...) {
		fmt.Println(w[:strings.Index(w, ":")])
	}
	// Output:
	// f_var = 0.37 ≥ f = -2.2014
	// KL/site = 1.13
	// LOW EFFECTIVE SAMPLE SIZE
	// HEAVY TAIL OF WEIGHTS
	// HUGE SPREAD OF LOG-WEIGHTS
	// FLOW-MCMC NEARLY STUCK
	// FLOW-MCMC CHAIN TOO SHORT
}
