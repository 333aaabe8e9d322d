package model_test

import (
	"context"
	"fmt"
	"log"

	"github.com/isingflow/isingflow/lattice"
	"github.com/isingflow/isingflow/model"
	"github.com/isingflow/isingflow/observables"
	"github.com/isingflow/isingflow/validation"
)

// Train the default model, made smaller, on the 4×4 torus at T_c, and
// estimate the free energy per site by importance sampling beside the
// exact value (the README's program).
func Example() {
	lat, err := lattice.NewHypercubic(2, 4, lattice.Periodic)
	check(err)
	T := validation.CriticalTemperature
	cfg, err := model.Default(lat, T)
	check(err)
	cfg.FlowSteps, cfg.Blocks = 20, 5 // smaller than the default: seconds, not minutes
	m, err := cfg.Build()
	check(err)
	training := model.DefaultTraining(&cfg)
	training.Iterations = 150
	tr, err := m.NewTrainer(&training)
	check(err)
	_, err = tr.Run(context.Background(), nil)
	check(err)
	est, err := observables.SampleIsing(m.Flow, m.Target, observables.SampleOptions{Samples: 4000, Seed: 2})
	check(err)
	exact, err := validation.Enumerate(lat, T)
	check(err)
	f := est.FreeEnergyPerSite
	fmt.Printf("f = %.2f ± %.2f (exact %.2f)\n", f.Mean, f.Err, exact.FreeEnergyPerSite)
	// Output:
	// f = -2.20 ± 0.00 (exact -2.20)
}

func check(err error) {
	if err != nil {
		log.Fatal(err)
	}
}
