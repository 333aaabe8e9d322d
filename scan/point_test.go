package scan

import (
	"context"
	"strings"
	"testing"

	"github.com/isingflow/isingflow/flow"
	"github.com/isingflow/isingflow/lattice"
	"github.com/isingflow/isingflow/model"
)

// TestEvaluateDiscretisation checks the estimate of the integrator's error
// of ln p in an evaluation: on the 4×4 torus, a potential integrated over
// the flow time 2 in two RK4 steps of 1 shows a significant error, folded
// into the error of f with a warning, while forty steps of 0.05 of the same
// potential show none.
func TestEvaluateDiscretisation(t *testing.T) {
	lat, err := lattice.NewHypercubic(2, 4, lattice.Periodic)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := model.Default(lat, 2.0)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Potential, cfg.Hidden, cfg.Blocks, cfg.FlowSteps, cfg.Epsilon = model.PotentialDense, 16, 1, 4, 0.5
	m, err := cfg.Build()
	if err != nil {
		t.Fatal(err)
	}
	training := model.DefaultTraining(&cfg)
	training.Iterations, training.LR, training.Precision = 200, 1e-2, flow.Float64
	tr, err := m.NewTrainer(&training)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tr.Run(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		steps  int
		eps    float64
		coarse bool
	}{{4, 0.5, true}, {40, 0.05, false}} {
		m.Flow.Steps, m.Flow.StepSize = c.steps, c.eps
		est, _, err := Evaluate(m, Evaluation{Samples: 4000, Seed: 3, Batch: 500, Discretisation: 256})
		if err != nil {
			t.Fatal(err)
		}
		d := est.LogDensityDiscretisation
		if d == nil {
			t.Fatal("no estimate of the discretisation error")
		}
		warned := false
		for _, w := range est.Warnings {
			warned = warned || strings.HasPrefix(w, "RK4 STEP TOO COARSE")
		}
		t.Logf("%d steps of %g: δ = %v per site, f = %v (statistical %.3g), warnings %q", c.steps, c.eps, *d, est.FreeEnergyPerSite, est.FreeEnergyStatErr, est.Warnings)
		if warned != c.coarse || (est.FreeEnergyStatErr > 0) != c.coarse {
			t.Errorf("%d steps of %g: δ = %v, warned %v, folded %v; want both %v", c.steps, c.eps, *d, warned, est.FreeEnergyStatErr > 0, c.coarse)
		}
	}
}
