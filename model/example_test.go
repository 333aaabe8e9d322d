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
// exact value.
func Example() {
	lat, err := lattice.NewHypercubic(2, 4, lattice.Periodic)
	if err != nil {
		log.Fatal(err)
	}
	T := validation.CriticalTemperature
	cfg, err := model.Default(lat, T)
	if err != nil {
		log.Fatal(err)
	}
	cfg.Hidden, cfg.FlowSteps, cfg.Blocks = 32, 20, 5
	m, err := cfg.Build()
	if err != nil {
		log.Fatal(err)
	}
	training := model.DefaultTraining()
	training.Iterations, training.LR = 150, 1e-2
	tr, err := m.NewTrainer(&training)
	if err != nil {
		log.Fatal(err)
	}
	if _, err := tr.Run(context.Background(), nil); err != nil {
		log.Fatal(err)
	}
	est, err := observables.SampleIsing(m.Flow, m.Target, observables.SampleOptions{Samples: 4000, Seed: 2})
	if err != nil {
		log.Fatal(err)
	}
	exact, err := validation.Enumerate(lat, T)
	if err != nil {
		log.Fatal(err)
	}
	f := est.FreeEnergyPerSite
	fmt.Printf("f = %.2f ± %.2f (exact %.2f)\n", f.Mean, f.Err, exact.FreeEnergyPerSite)
	// Output:
	// f = -2.20 ± 0.01 (exact -2.20)
}
