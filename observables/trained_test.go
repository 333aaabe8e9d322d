package observables_test

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/isingflow/isingflow/flow"
	"github.com/isingflow/isingflow/internal/testenv"
	"github.com/isingflow/isingflow/lattice"
	"github.com/isingflow/isingflow/observables"
	"github.com/isingflow/isingflow/validation"
	"github.com/isingflow/isingflow/vmc"
)

// TestTrainedFlowL4 trains a small flow on the enumerable 4×4 torus at T_c
// with the ingredients that beat the paper's KL floor — a translation-
// invariant quadratic part parametrised by its eigenvalues (γ = 10, as
// isingflow's default), a potential piecewise constant in time (five
// independent blocks), annealing from 1.5 T_c, a batch of 256 and the
// path-gradient estimator — to KL/site < 2.5e-4, then checks the variational
// bound and every importance-weighted and flow-MCMC observable against
// exact enumeration within 4σ. It guards the whole pipeline: a wrong
// gradient, objective, estimator or exact value fails it, and so does a
// change that loses one of the ingredients (measured: this run 0.00010 ±
// 0.00002 with OpenBLAS, 0.00007 ± 0.00003 in pure Go; with the kernel
// basis 0.00015 ± 0.00003, with the full gradient 0.00085 ± 0.00007; the
// paper's potential stalls near 0.02 here; without the blocks, or with a
// batch of 64, the full-gradient run ends near 0.0017).
func TestTrainedFlowL4(t *testing.T) {
	testenv.Long(t)
	if testing.Short() {
		t.Skip("trains a flow (about 6½ minutes on 2 cores in pure Go, 2 with OpenBLAS)")
	}
	lat, _ := lattice.NewHypercubic(2, 4, lattice.Periodic)
	T := validation.CriticalTemperature
	rel, err := vmc.NewRelaxation(lat, T, vmc.DefaultDelta)
	if err != nil {
		t.Fatal(err)
	}
	exact, err := validation.Enumerate(lat, T)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 1))
	blocks := make([]flow.Potential, 5)
	for k := range blocks {
		blocks[k] = flow.NewSum(
			flow.NewSpectralQuadratic(lat.Shape(), 10),
			flow.NewShallow(lat.N(), 64, flow.LogCosh, false, rng),
		)
	}
	f, err := flow.New(flow.NewPiecewise(blocks...), 20, 0.05)
	if err != nil {
		t.Fatal(err)
	}
	const steps = 3000
	tr, err := vmc.NewTrainer(f, rel, vmc.Settings{
		Steps: steps, Batch: 256, LearningRate: 1e-2, Seed: 1,
		Schedule:     vmc.Schedule{Total: steps, Final: 0.02},
		Anneal:       vmc.Anneal{From: 1.5, Fraction: 0.4, Levels: 10},
		PathGradient: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := tr.Run(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	est, err := observables.SampleIsing(f, rel, observables.SampleOptions{Samples: 20000, MCMC: 20000, Seed: 2})
	if err != nil {
		t.Fatal(err)
	}
	kl := est.SetExactLnZPerSite(exact.LnZPerSite)
	t.Logf("KL/site %v, ESS/M %.3f, MCMC acceptance %.3f", kl, est.ESSFraction, est.MCMC.Acceptance)
	// The variational bound, and the quality the ingredients reach (the
	// paper's architecture without them stalls near 0.02 here).
	if kl.Mean < -4*kl.Err {
		t.Errorf("KL/site = %v violates the variational bound", kl)
	}
	if kl.Mean > 2.5e-4 {
		t.Errorf("KL/site = %v, want < 2.5e-4 (0.00007 ± 0.00003 measured in pure Go, 0.00010 with OpenBLAS; 0.00085 with the full gradient)", kl)
	}
	if est.ESSFraction < 0.98 {
		t.Errorf("ESS/M = %.3f, want > 0.98 (0.996 measured; 0.966 with the full gradient)", est.ESSFraction)
	}
	for _, q := range []struct {
		name  string
		is    observables.Estimate
		mcmc  observables.Estimate
		exact float64
	}{
		{"u", est.EnergyPerSite, est.MCMC.EnergyPerSite, exact.EnergyPerSite},
		{"c", est.SpecificHeatPerSite, est.MCMC.SpecificHeatPerSite, exact.SpecificHeatPerSite},
		{"|m|", est.AbsMagnetization, est.MCMC.AbsMagnetization, exact.AbsMagnetization},
		{"m²", est.MagnetizationSq, est.MCMC.MagnetizationSq, exact.MagnetizationSq},
		{"m⁴", est.Magnetization4, est.MCMC.Magnetization4, exact.Magnetization4},
		{"Binder", est.Binder, est.MCMC.Binder, exact.Binder},
		{"χ", est.Susceptibility, est.MCMC.Susceptibility, exact.Susceptibility},
		{"f", est.FreeEnergyPerSite, est.FreeEnergyPerSite, exact.FreeEnergyPerSite},
	} {
		for _, e := range []struct {
			how string
			e   observables.Estimate
		}{{"importance sampling", q.is}, {"flow-MCMC", q.mcmc}} {
			if d := e.e.Deviation(q.exact); !(math.Abs(d) <= 4) {
				t.Errorf("%s by %s: %v, exact %.6f (%.1fσ)", q.name, e.how, e.e, q.exact, d)
			}
		}
	}
}
