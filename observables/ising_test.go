package observables

import (
	"encoding/json"
	"errors"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/isingflow/isingflow/flow"
	_ "github.com/isingflow/isingflow/internal/blasimpl" // OpenBLAS with -tags openblas
	"github.com/isingflow/isingflow/ising"
	"github.com/isingflow/isingflow/lattice"
	"github.com/isingflow/isingflow/stats"
	"github.com/isingflow/isingflow/validation"
)

// gaussianSampler draws x ~ N(0, Σ) with its exact log-density, row by
// row from the random stream (so that the draws do not depend on the batch
// size).
type gaussianSampler struct {
	chol   mat.TriDense // Σ = L Lᵀ
	logDet float64      // ln det L
	z      []float64
}

func newGaussianSampler(t *testing.T, sigma *mat.SymDense) *gaussianSampler {
	t.Helper()
	var ch mat.Cholesky
	if !ch.Factorize(sigma) {
		t.Fatal("covariance is not positive definite")
	}
	g := &gaussianSampler{z: make([]float64, sigma.SymmetricDim())}
	ch.LTo(&g.chol)
	for i := range g.z {
		g.logDet += math.Log(g.chol.At(i, i))
	}
	return g
}

func (g *gaussianSampler) Dim() int { return len(g.z) }

func (g *gaussianSampler) Sample(x *mat.Dense, logp []float64, rng *rand.Rand) error {
	b, n := x.Dims()
	zv := mat.NewVecDense(n, g.z)
	for r := range b {
		sq := 0.0
		for i := range g.z {
			g.z[i] = rng.NormFloat64()
			sq += g.z[i] * g.z[i]
		}
		row := mat.NewVecDense(n, x.RawRowView(r))
		row.MulVec(&g.chol, zv)
		logp[r] = -0.5*sq - g.logDet - 0.5*float64(n)*math.Log(2*math.Pi)
	}
	return nil
}

// spinCorrelations enumerates ⟨s_i s_j⟩ of the Ising model (J = 1) on a
// small lattice at temperature T.
func spinCorrelations(lat *lattice.Lattice, T float64) *mat.SymDense {
	n := lat.N()
	c := mat.NewSymDense(n, nil)
	s := make([]float64, n)
	var z float64
	for conf := 0; conf < 1<<n; conf++ {
		for i := range s {
			s[i] = float64(2*((conf>>i)&1) - 1)
		}
		w := math.Exp(-lat.Energy(s, 1) / T)
		z += w
		for i := range n {
			for j := i; j < n; j++ {
				c.SetSym(i, j, c.At(i, j)+w*s[i]*s[j])
			}
		}
	}
	c.ScaleSym(1/z, c)
	return c
}

// targetCovariance returns the exact covariance of x under the relaxation's
// target, K' + K'CK' with C_ij = ⟨s_i s_j⟩ (x given s is N(K's, K')), or
// just K', the covariance of the Gaussian part, when exact is false.
func targetCovariance(rel *ising.Relaxation, exact bool) *mat.SymDense {
	lat := rel.Lattice()
	k := lat.Coupling(rel.Beta(), 1)
	n := rel.N()
	for i := range n {
		k.SetSym(i, i, k.At(i, i)+rel.Alpha())
	}
	if !exact {
		return k
	}
	var kck mat.Dense
	kck.Product(k, spinCorrelations(lat, rel.Temperature()), k)
	out := mat.NewSymDense(n, nil)
	for i := range n {
		for j := i; j < n; j++ {
			out.SetSym(i, j, k.At(i, j)+0.5*(kck.At(i, j)+kck.At(j, i)))
		}
	}
	return out
}

type exactCheck struct {
	name  string
	got   stats.Estimate
	exact float64
}

func isingChecks(e IsingEstimates, ex validation.Enumeration) []exactCheck {
	return []exactCheck{
		{"f", e.FreeEnergyPerSite, ex.FreeEnergyPerSite},
		{"ln Z/N", e.LnZPerSite, ex.LnZPerSite},
		{"E/N", e.EnergyPerSite, ex.EnergyPerSite},
		{"c", e.SpecificHeatPerSite, ex.SpecificHeatPerSite},
		{"|m|", e.AbsMagnetization, ex.AbsMagnetization},
		{"m²", e.MagnetizationSq, ex.MagnetizationSq},
		{"m⁴", e.Magnetization4, ex.Magnetization4},
		{"U", e.Binder, ex.Binder},
		{"χ", e.Susceptibility, ex.Susceptibility},
	}
}

func chainChecks(c *MCMCEstimates, ex validation.Enumeration) []exactCheck {
	return []exactCheck{
		{"E/N", c.EnergyPerSite, ex.EnergyPerSite},
		{"c", c.SpecificHeatPerSite, ex.SpecificHeatPerSite},
		{"|m|", c.AbsMagnetization, ex.AbsMagnetization},
		{"m²", c.MagnetizationSq, ex.MagnetizationSq},
		{"m⁴", c.Magnetization4, ex.Magnetization4},
		{"U", c.Binder, ex.Binder},
		{"χ", c.Susceptibility, ex.Susceptibility},
	}
}

func checkWithin(t *testing.T, what string, checks []exactCheck, sigmas float64) {
	t.Helper()
	for _, c := range checks {
		d := c.got.Deviation(c.exact)
		if !(math.Abs(d) <= sigmas) || !(c.got.Err > 0) {
			t.Errorf("%s: %s = %v, exact %.8g (%.1fσ)", what, c.name, c.got, c.exact, d)
		}
	}
}

// TestSampleIsingGaussianProposal samples the relaxation of small lattices
// with a Gaussian proposal of known density and compares every estimate
// with the enumerated exact value: importance sampling and flow-MCMC.
func TestSampleIsingGaussianProposal(t *testing.T) {
	for _, tc := range []struct {
		name  string
		shape []int
		b     lattice.Boundary
		T     float64
		exact bool // proposal covariance: the target's (true) or K' (false)
		m     int
	}{
		{"2x2 periodic Tc", []int{2, 2}, lattice.Periodic, validation.CriticalTemperature, true, 20000},
		{"2x2 periodic T=5 K'", []int{2, 2}, lattice.Periodic, 5, false, 20000},
		{"ring 6 T=1.5", []int{6}, lattice.Periodic, 1.5, true, 20000},
		{"3x3 open T=2", []int{3, 3}, lattice.Open, 2, true, 20000},
		{"4x4 periodic Tc", []int{4, 4}, lattice.Periodic, validation.CriticalTemperature, true, 20000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lat, err := lattice.New(tc.shape, tc.b)
			if err != nil {
				t.Fatal(err)
			}
			rel, err := ising.NewRelaxation(lat, tc.T, ising.DefaultDelta)
			if err != nil {
				t.Fatal(err)
			}
			exact, err := validation.Enumerate(lat, tc.T)
			if err != nil {
				t.Fatal(err)
			}
			s := newGaussianSampler(t, targetCovariance(rel, tc.exact))
			est, err := SampleIsing(s, rel, SampleOptions{Samples: tc.m, Batch: 1000, MCMC: tc.m, Seed: 1})
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("ESS/M = %.3f, sd(ln w) = %.2f, acceptance %.3f, τ_int %.2f, blocks %d, warnings %q %q",
				est.ESSFraction, est.LogWeightSD, est.MCMC.Acceptance, est.MCMC.TauInt, est.MCMC.Blocks, est.Warnings, est.MCMC.Warnings)
			checkWithin(t, "importance sampling", isingChecks(est, exact), 4)
			checkWithin(t, "flow-MCMC", chainChecks(est.MCMC, exact), 4)
			if kl := est.SetExactLnZPerSite(exact.LnZPerSite); kl.Mean < -4*kl.Err {
				t.Errorf("KL/site = %v < 0: the variational bound is violated", kl)
			}
		})
	}
}

// gaussLogCosh returns E[ln cosh(σz)] for z ~ N(0, 1), by the trapezoidal
// rule on [−12, 12], exact to rounding for this smooth, rapidly decaying
// integrand.
func gaussLogCosh(sigma float64) float64 {
	const h, lim = 1e-3, 12.0
	s := 0.0
	for z := -lim; z <= lim+h/2; z += h {
		a := math.Abs(sigma * z)
		s += (a + math.Log1p(math.Exp(-2*a)) - math.Ln2) * math.Exp(-0.5*z*z)
	}
	return s * h / math.Sqrt(2*math.Pi)
}

// gaussianContinuousFreeEnergy returns F_var(cont) = E_p[ln p − ln q̃] for
// p = N(0, Σ) exactly: −N/2 (1 + ln 2π) − ½ ln det Σ + ½ tr(K'⁻¹Σ) −
// Σ_i E[ln cosh x_i].
func gaussianContinuousFreeEnergy(rel *ising.Relaxation, sigma *mat.SymDense) float64 {
	n := rel.N()
	kp := targetCovariance(rel, false)
	var ch mat.Cholesky
	ch.Factorize(sigma)
	var kinv mat.Dense
	kinv.Inverse(kp)
	var prod mat.Dense
	prod.Mul(&kinv, sigma)
	f := -0.5*float64(n)*(1+math.Log(2*math.Pi)) - 0.5*ch.LogDet() + 0.5*mat.Trace(&prod)
	for i := range n {
		f -= gaussLogCosh(math.Sqrt(sigma.At(i, i)))
	}
	return f
}

// TestVariationalBound checks, for Gaussian proposals of every width on
// the 4×4 torus at T_c, that the estimated F_var(cont) agrees with its exact
// value and that f_var ≥ f and KL ≥ 0 within the error, while the
// importance-sampled free energy stays at the exact one when the ESS
// allows.
func TestVariationalBound(t *testing.T) {
	lat, _ := lattice.NewHypercubic(2, 4, lattice.Periodic)
	T := validation.CriticalTemperature
	rel, err := ising.NewRelaxation(lat, T, ising.DefaultDelta)
	if err != nil {
		t.Fatal(err)
	}
	exact, err := validation.Kaufman(4, 4, T)
	if err != nil {
		t.Fatal(err)
	}
	n := rel.N()
	identity := func(s float64) *mat.SymDense {
		d := mat.NewSymDense(n, nil)
		for i := range n {
			d.SetSym(i, i, s*s)
		}
		return d
	}
	for _, tc := range []struct {
		name  string
		sigma *mat.SymDense
	}{
		{"N(0, 0.25 I)", identity(0.5)},
		{"N(0, I)", identity(1)},
		{"N(0, 9 I)", identity(3)},
		{"N(0, K')", targetCovariance(rel, false)},
		{"N(0, Cov_q x)", targetCovariance(rel, true)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			est, err := SampleIsing(newGaussianSampler(t, tc.sigma), rel, SampleOptions{Samples: 20000, Seed: 2})
			if err != nil {
				t.Fatal(err)
			}
			fvar := gaussianContinuousFreeEnergy(rel, tc.sigma) / float64(n)
			if d := est.ContinuousFreeEnergyPerSite.Deviation(fvar); !(math.Abs(d) <= 4) {
				t.Errorf("F_var(cont)/N = %v, exact %.8g (%.1fσ)", est.ContinuousFreeEnergyPerSite, fvar, d)
			}
			kl := est.SetExactLnZPerSite(exact.LnZPerSite)
			fv := est.VariationalFreeEnergyPerSite
			t.Logf("f_var = %v (exact f %.6f), KL/site = %v, ESS/M = %.2g, k̂ = %.2f, f_IS = %v", fv, exact.FreeEnergyPerSite, kl, est.ESSFraction, est.ParetoShape, est.FreeEnergyPerSite)
			if fv.Mean < exact.FreeEnergyPerSite-4*fv.Err || kl.Mean < -4*kl.Err {
				t.Errorf("variational bound violated: f_var = %v < f = %.8g, KL/site = %v", fv, exact.FreeEnergyPerSite, kl)
			}
			if math.Abs(kl.Mean-(fv.Mean-exact.FreeEnergyPerSite)/T) > 1e-12 {
				t.Errorf("KL/site %v ≠ (f_var − f)/T = %v", kl.Mean, (fv.Mean-exact.FreeEnergyPerSite)/T)
			}
			if est.ESS >= MinESS && est.ParetoShape < MaxParetoShape {
				if d := est.FreeEnergyPerSite.Deviation(exact.FreeEnergyPerSite); !(math.Abs(d) <= 4) {
					t.Errorf("importance-sampled f = %v, exact %.8g (%.1fσ)", est.FreeEnergyPerSite, exact.FreeEnergyPerSite, d)
				}
			} else if len(est.Warnings) == 0 {
				t.Errorf("ESS = %.3g, k̂ = %.2f and no warning", est.ESS, est.ParetoShape)
			}
		})
	}
}

// TestIdentityFlow evaluates an untrained flow (φ = 0: p = N(0, I)) on the
// 4×4 torus at T_c. Its variational free energy is known in closed form and
// bounds the exact one; its importance weights are useless, which both
// estimators must say.
func TestIdentityFlow(t *testing.T) {
	lat, _ := lattice.NewHypercubic(2, 4, lattice.Periodic)
	T := validation.CriticalTemperature
	rel, err := ising.NewRelaxation(lat, T, ising.DefaultDelta)
	if err != nil {
		t.Fatal(err)
	}
	exact, err := validation.Enumerate(lat, T)
	if err != nil {
		t.Fatal(err)
	}
	n := rel.N()
	f, err := flow.New(flow.NewShallow(n, 8, flow.LogCosh, false, nil), 10, 0.1)
	if err != nil {
		t.Fatal(err)
	}
	m := 20000
	if testing.Short() {
		m = 5000
	}
	est, err := SampleIsing(f, rel, SampleOptions{Samples: m, Batch: 512, MCMC: m, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	kl := est.SetExactLnZPerSite(exact.LnZPerSite)
	t.Logf("identity flow: F/N = %v, KL/site = %v, ESS/M = %.3g, k̂ = %.2f, sd(ln w) = %.2f, acceptance %.3f, τ_int %.1f\nwarnings %q\nMCMC warnings %q",
		est.ContinuousFreeEnergyPerSite, kl, est.ESSFraction, est.ParetoShape, est.LogWeightSD, est.MCMC.Acceptance, est.MCMC.TauInt, est.Warnings, est.MCMC.Warnings)
	// p = N(0, I): F_var(cont) = −N/2 (1 + ln 2π) + ½ tr K'⁻¹ − N E[ln cosh z].
	trInv := 0.0
	for _, e := range rel.ShiftedCouplingEigenvalues(nil) {
		trInv += 1 / e
	}
	fvar := (-0.5*float64(n)*(1+math.Log(2*math.Pi)) + 0.5*trInv - float64(n)*gaussLogCosh(1)) / float64(n)
	if d := est.ContinuousFreeEnergyPerSite.Deviation(fvar); !(math.Abs(d) <= 4) {
		t.Errorf("F_var(cont)/N = %v, exact %.8g (%.1fσ)", est.ContinuousFreeEnergyPerSite, fvar, d)
	}
	if kl.Mean < -4*kl.Err || est.VariationalFreeEnergyPerSite.Mean < exact.FreeEnergyPerSite-4*est.VariationalFreeEnergyPerSite.Err {
		t.Errorf("variational bound violated: f_var = %v, f = %.8g", est.VariationalFreeEnergyPerSite, exact.FreeEnergyPerSite)
	}
	// Under p = N(0, I) the spins are independent and fair (P(s_i = 1) =
	// E[(1 + tanh z)/2] = ½), so the flow's own ⟨|m|⟩ is E|S|/N for S a sum
	// of N fair ±1: Σ_k C(N, k) |2k − N| / (N 2^N).
	flowAbs := 0.0
	for k := 0; k <= n; k++ {
		flowAbs += binomial(n, k) * math.Abs(float64(2*k-n))
	}
	flowAbs /= float64(n) * math.Exp2(float64(n))
	if d := est.FlowAbsMagnetization.Deviation(flowAbs); !(math.Abs(d) <= 4) {
		t.Errorf("flow's own <|m|> = %v, exact %.6g for independent fair spins (%.1fσ)", est.FlowAbsMagnetization, flowAbs, d)
	}
	// The weights of N(0, I) against the Ising relaxation are useless (ESS
	// about 1, k̂ about 1.6, acceptance about 0.002 with this seed), and
	// both estimators must say so; the agreement of the estimators with
	// enumeration is tested with proposals that allow it (the matched
	// Gaussian and the trained flows below).
	if !(est.ESS < MinESS || est.ParetoShape > MaxParetoShape) || len(est.Warnings) == 0 {
		t.Errorf("identity flow: ESS = %.3g, k̂ = %.2f, warnings %q: want poor weights, said", est.ESS, est.ParetoShape, est.Warnings)
	}
	if !(est.MCMC.Acceptance < MinAcceptance) || len(est.MCMC.Warnings) == 0 {
		t.Errorf("identity flow: acceptance %.3g, warnings %q: want a stuck chain, said", est.MCMC.Acceptance, est.MCMC.Warnings)
	}
}

// matchedQuadraticFlow returns the flow of the quadratic potential
// φ = ½ xᵀSx, S = ln(Σ)/(2T), which pushes N(0, I) to N(0, Σ) (up to the
// O(ε⁴) error of RK4) with the exact ln p = ln p₀(z) − T tr S.
func matchedQuadraticFlow(t *testing.T, sigma *mat.SymDense, steps int, eps float64) *flow.Flow {
	t.Helper()
	var es mat.EigenSym
	if !es.Factorize(sigma, true) {
		t.Fatal("eigendecomposition failed")
	}
	vals := es.Values(nil)
	var vecs mat.Dense
	es.VectorsTo(&vecs)
	T := float64(steps) * eps
	for i, v := range vals {
		vals[i] = math.Log(v) / (2 * T)
	}
	var s mat.Dense
	s.Mul(&vecs, mat.NewDiagDense(len(vals), vals))
	s.Mul(&s, vecs.T())
	f, err := flow.New(flow.NewQuadratic(&s, nil), steps, eps)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// TestQuadraticFlowL4 evaluates, through a real *flow.Flow, the flow whose
// samples are N(0, Cov_q x) on the 4×4 torus at T_c: the importance-sampled
// and flow-MCMC estimates agree with enumeration.
func TestQuadraticFlowL4(t *testing.T) {
	lat, _ := lattice.NewHypercubic(2, 4, lattice.Periodic)
	T := validation.CriticalTemperature
	rel, err := ising.NewRelaxation(lat, T, ising.DefaultDelta)
	if err != nil {
		t.Fatal(err)
	}
	exact, err := validation.Enumerate(lat, T)
	if err != nil {
		t.Fatal(err)
	}
	f := matchedQuadraticFlow(t, targetCovariance(rel, true), 20, 0.05)
	m := 40000
	if testing.Short() {
		m = 10000
	}
	est, err := SampleIsing(f, rel, SampleOptions{Samples: m, Batch: 512, MCMC: m, Seed: 4})
	if err != nil {
		t.Fatal(err)
	}
	kl := est.SetExactLnZPerSite(exact.LnZPerSite)
	t.Logf("ESS/M = %.3f, k̂ = %.2f, KL/site = %v, acceptance %.3f, τ_int %.1f, warnings %q %q",
		est.ESSFraction, est.ParetoShape, kl, est.MCMC.Acceptance, est.MCMC.TauInt, est.Warnings, est.MCMC.Warnings)
	checkWithin(t, "importance sampling", isingChecks(est, exact), 4)
	checkWithin(t, "flow-MCMC", chainChecks(est.MCMC, exact), 4)
	if kl.Mean < -4*kl.Err {
		t.Errorf("KL/site = %v < 0", kl)
	}
}

func TestParetoTailShape(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	const m = 100000
	logw := make([]float64, m)
	// w = U^{−ξ} has a Pareto tail of shape ξ.
	for _, xi := range []float64{0.2, 0.5, 0.9, 1.5} {
		for k := range logw {
			logw[k] = -xi * math.Log(rng.Float64())
		}
		// The standard error of k̂ from n tail samples is about (1+ξ)/√n.
		tail := 3 * math.Sqrt(m)
		if got := ParetoTailShape(logw); math.Abs(got-xi) > 4*(1+xi)/math.Sqrt(tail) {
			t.Errorf("ξ = %v: k̂ = %v", xi, got)
		}
	}
	// Log-normal weights with a small spread have every moment: k̂ well below ½.
	for k := range logw {
		logw[k] = 0.5 * rng.NormFloat64()
	}
	if got := ParetoTailShape(logw); got > 0.3 {
		t.Errorf("log-normal σ = 0.5: k̂ = %v", got)
	}
	if got := ParetoTailShape(make([]float64, 1000)); !math.IsNaN(got) {
		t.Errorf("equal weights: k̂ = %v, want NaN", got)
	}
	if got := ParetoTailShape(logw[:20]); !math.IsNaN(got) {
		t.Errorf("20 weights: k̂ = %v, want NaN", got)
	}
}

func smallRelaxation(t *testing.T) *ising.Relaxation {
	t.Helper()
	lat, _ := lattice.NewHypercubic(2, 3, lattice.Periodic)
	rel, err := ising.NewRelaxation(lat, 3, ising.DefaultDelta)
	if err != nil {
		t.Fatal(err)
	}
	return rel
}

// TestSampleIsingReproducible: a seed fixes the results; the batch size
// changes them only through rounding, for samplers that draw row by row.
func TestSampleIsingReproducible(t *testing.T) {
	rel := smallRelaxation(t)
	n := rel.N()
	run := func(s Sampler, batch int) IsingEstimates {
		est, err := SampleIsing(s, rel, SampleOptions{Samples: 3000, MCMC: 2000, Batch: batch, Seed: 42})
		if err != nil {
			t.Fatal(err)
		}
		return est
	}
	g := newGaussianSampler(t, targetCovariance(rel, true))
	f, err := flow.New(flow.NewShallow(n, 16, flow.LogCosh, false, rand.New(rand.NewPCG(1, 1))), 8, 0.1)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		s    Sampler
	}{{"gaussian", g}, {"flow", f}} {
		a, b := run(tc.s, 256), run(tc.s, 256)
		ja, _ := json.Marshal(a)
		jb, _ := json.Marshal(b)
		if string(ja) != string(jb) {
			t.Errorf("%s: same seed, different results:\n%s\n%s", tc.name, ja, jb)
		}
		c := run(tc.s, 1000)
		for i, fa := range a.Fields() {
			fc := c.Fields()[i]
			if math.Abs(fa.Mean-fc.Mean) > 1e-10*math.Max(1, math.Abs(fa.Mean)) {
				t.Errorf("%s: %s = %v with batch 256, %v with batch 1000", tc.name, fa.Key, fa.Mean, fc.Mean)
			}
		}
		if a.MCMC.Acceptance != c.MCMC.Acceptance {
			t.Errorf("%s: acceptance %v with batch 256, %v with batch 1000", tc.name, a.MCMC.Acceptance, c.MCMC.Acceptance)
		}
		d, err := SampleIsing(tc.s, rel, SampleOptions{Samples: 3000, Batch: 256, Seed: 43})
		if err != nil {
			t.Fatal(err)
		}
		if d.EnergyPerSite == a.EnergyPerSite {
			t.Errorf("%s: seeds 42 and 43 give the same energy %v", tc.name, d.EnergyPerSite)
		}
	}
}

// TestEstimateIsingMatchesSampleIsing: estimates from samples drawn by the
// caller are those SampleIsing computes from the same draws.
func TestEstimateIsingMatchesSampleIsing(t *testing.T) {
	rel := smallRelaxation(t)
	g := newGaussianSampler(t, targetCovariance(rel, true))
	const m = 2000
	x := mat.NewDense(m, rel.N(), nil)
	logp := make([]float64, m)
	if err := g.Sample(x, logp, rand.New(rand.NewPCG(7, 1))); err != nil { // SampleIsing's importance stream
		t.Fatal(err)
	}
	got, err := EstimateIsing(rel, x, logp)
	if err != nil {
		t.Fatal(err)
	}
	var calls, last int
	want, err := SampleIsing(g, rel, SampleOptions{Samples: m, Batch: 300, Seed: 7,
		Progress: func(done, total int) { calls++; last = done; _ = total }})
	if err != nil {
		t.Fatal(err)
	}
	if calls != 7 || last != m {
		t.Errorf("progress called %d times, last with %d; want 7, %d", calls, last, m)
	}
	for i, f := range got.Fields() {
		w := want.Fields()[i]
		if !(math.Abs(f.Mean-w.Mean) <= 1e-12*math.Max(1, math.Abs(w.Mean))) && !(math.IsNaN(f.Mean) && math.IsNaN(w.Mean)) {
			t.Errorf("%s: EstimateIsing %v, SampleIsing %v", f.Key, f.Estimate, w.Estimate)
		}
	}
	if got.Samples != m || len(got.LogWeights) != m {
		t.Errorf("Samples = %d, %d log-weights; want %d", got.Samples, len(got.LogWeights), m)
	}
}

// issueKeys are the keys the command's --json output takes from
// IsingEstimates.
var issueKeys = []string{
	"variational_free_energy_per_site", "kl_per_site", "free_energy_per_site", "energy_per_site",
	"specific_heat_per_site", "abs_magnetization", "magnetization_sq", "magnetization_4", "binder",
	"susceptibility",
}

func TestIsingEstimatesJSON(t *testing.T) {
	rel := smallRelaxation(t)
	g := newGaussianSampler(t, targetCovariance(rel, true))
	est, err := SampleIsing(g, rel, SampleOptions{Samples: 1000, MCMC: 1000, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(est)
	if err != nil {
		t.Fatal(err)
	}
	var obj map[string]any
	if err := json.Unmarshal(b, &obj); err != nil {
		t.Fatalf("invalid JSON %s: %v", b, err)
	}
	for _, k := range append(issueKeys, "ess_fraction", "samples") {
		if _, ok := obj[k]; !ok {
			t.Errorf("key %s missing from %s", k, b)
		}
	}
	for _, k := range issueKeys {
		if _, ok := obj[k+"_err"]; !ok {
			t.Errorf("key %s_err missing", k)
		}
	}
	if obj["kl_per_site"] != nil {
		t.Errorf("kl_per_site without an exact ln Z is %v, want null", obj["kl_per_site"])
	}
	mc, ok := obj["mcmc"].(map[string]any)
	if !ok {
		t.Fatalf("mcmc is %T, want an object", obj["mcmc"])
	}
	for _, k := range []string{"acceptance", "tau_int"} {
		if _, ok := mc[k].(float64); !ok {
			t.Errorf("mcmc.%s missing", k)
		}
	}
	for _, k := range issueKeys[3:] {
		for _, kk := range []string{k, k + "_err"} {
			if _, ok := mc[kk].(float64); !ok {
				t.Errorf("mcmc.%s missing", kk)
			}
		}
	}
	if strings.Contains(string(b), "LogWeights") {
		t.Error("log-weights marshalled")
	}

	// Round trip, with the KL set.
	est.SetExactLnZPerSite(est.LnZPerSite.Mean)
	b, _ = json.Marshal(est)
	var back IsingEstimates
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	back.LogWeights = est.LogWeights
	b2, _ := json.Marshal(back)
	if string(b) != string(b2) {
		t.Errorf("round trip changed the JSON:\n%s\n%s", b, b2)
	}
	if back.KLPerSite != est.KLPerSite || back.MCMC == nil || back.MCMC.Binder != est.MCMC.Binder {
		t.Errorf("round trip: KL %v → %v", est.KLPerSite, back.KLPerSite)
	}
	// Without a chain, no mcmc key.
	est.MCMC = nil
	b, _ = json.Marshal(est)
	if strings.Contains(string(b), `"mcmc"`) {
		t.Errorf("mcmc present without a chain: %s", b)
	}
}

type nanSampler struct{ gaussianSampler }

func (s *nanSampler) Sample(x *mat.Dense, logp []float64, rng *rand.Rand) error {
	err := s.gaussianSampler.Sample(x, logp, rng)
	logp[len(logp)/2] = math.NaN()
	return err
}

// failingSampler fails at its second batch.
type failingSampler struct {
	gaussianSampler
	calls int
}

func (s *failingSampler) Sample(x *mat.Dense, logp []float64, rng *rand.Rand) error {
	if s.calls++; s.calls == 2 {
		return errors.New("sampler failed")
	}
	return s.gaussianSampler.Sample(x, logp, rng)
}

func TestSampleIsingBadInput(t *testing.T) {
	rel := smallRelaxation(t)
	g := newGaussianSampler(t, targetCovariance(rel, false))
	lat5, _ := lattice.NewHypercubic(1, 5, lattice.Periodic)
	rel5, _ := ising.NewRelaxation(lat5, 2, ising.DefaultDelta)
	for _, tc := range []struct {
		name string
		s    Sampler
		rel  *ising.Relaxation
		opt  SampleOptions
	}{
		{"nil sampler", nil, rel, SampleOptions{Samples: 10}},
		{"nil relaxation", g, nil, SampleOptions{Samples: 10}},
		{"one sample", g, rel, SampleOptions{Samples: 1}},
		{"negative batch", g, rel, SampleOptions{Samples: 10, Batch: -1}},
		{"negative MCMC", g, rel, SampleOptions{Samples: 10, MCMC: -5}},
		{"one MCMC proposal", g, rel, SampleOptions{Samples: 10, MCMC: 1}},
		{"wrong dimension", g, rel5, SampleOptions{Samples: 10}},
		{"NaN log-density", &nanSampler{*g}, rel, SampleOptions{Samples: 10}},
		{"failing sampler", &failingSampler{gaussianSampler: *g}, rel, SampleOptions{Samples: 10, Batch: 4}},
	} {
		if _, err := SampleIsing(tc.s, tc.rel, tc.opt); err == nil || !strings.HasPrefix(err.Error(), "observables: ") {
			t.Errorf("%s: error %v", tc.name, err)
		}
	}
	x := mat.NewDense(10, rel.N(), nil)
	for _, tc := range []struct {
		name string
		rel  *ising.Relaxation
		x    *mat.Dense
		logp []float64
	}{
		{"nil relaxation", nil, x, make([]float64, 10)},
		{"short logp", rel, x, make([]float64, 9)},
		{"wrong N", rel5, x, make([]float64, 10)},
		{"infinite logp", rel, x, append(make([]float64, 9), math.Inf(1))},
	} {
		if _, err := EstimateIsing(tc.rel, tc.x, tc.logp); err == nil {
			t.Errorf("EstimateIsing, %s: no error", tc.name)
		}
	}
	if _, err := EstimateChain(rel, make([]ising.SpinMoments, 1), 0.5); err == nil {
		t.Error("EstimateChain accepted a chain of one state")
	}
}

// BenchmarkSampleIsingL16 evaluates the paper's flow (H = 512, 50 RK4 steps
// of 0.1; untrained, which costs the same) on the 16×16 torus at T_c: one
// operation is SampleIsing with 4096 samples at the given batch size. With
// -tags openblas the matrix products run on OpenBLAS.
func BenchmarkSampleIsingL16(b *testing.B) {
	lat, _ := lattice.NewHypercubic(2, 16, lattice.Periodic)
	rel, err := ising.NewRelaxation(lat, validation.CriticalTemperature, ising.DefaultDelta)
	if err != nil {
		b.Fatal(err)
	}
	f, err := flow.New(flow.NewShallow(lat.N(), 512, flow.LogCosh, false, rand.New(rand.NewPCG(1, 1))), 50, 0.1)
	if err != nil {
		b.Fatal(err)
	}
	const m = 4096
	for _, batch := range []int{256, 512, 1024} {
		b.Run("B="+strconv.Itoa(batch), func(b *testing.B) {
			for b.Loop() {
				if _, err := SampleIsing(f, rel, SampleOptions{Samples: m, Batch: batch, Seed: 1}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(m*b.N)/b.Elapsed().Seconds(), "samples/s")
		})
	}
}

// binomial returns the binomial coefficient C(n, k) as a float64.
func binomial(n, k int) float64 {
	c := 1.0
	for i := 1; i <= k; i++ {
		c = c * float64(n-k+i) / float64(i)
	}
	return c
}
