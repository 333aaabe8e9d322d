package flow_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/floats"
	"gonum.org/v1/gonum/mat"

	"github.com/isingflow/isingflow/flow"
)

// pathGradientPotentials are the potentials of the path-gradient tests:
// the paper's network, a sum with a wrapped term, and a time-dependent
// Piecewise (the score must follow the block each step selected).
func pathGradientPotentials() []struct {
	name string
	make func(rng *rand.Rand, n int) flow.Potential
} {
	return []struct {
		name string
		make func(rng *rand.Rand, n int) flow.Potential
	}{
		{"lncosh", func(rng *rand.Rand, n int) flow.Potential { return newTestShallow(rng, n, 5, flow.LogCosh, false, 0.6) }},
		{"sum(quadratic,wrapped softplus+bias)", func(rng *rand.Rand, n int) flow.Potential {
			return flow.NewSum(newRandomQuadratic(rng, n, true, 0.5), reversed{newTestShallow(rng, n, 4, flow.Softplus, true, 0.5)})
		}},
		{"piecewise", func(rng *rand.Rand, n int) flow.Potential { return newTestPiecewise(rng, n, 0.6) }},
	}
}

// TestScoreIsGradientOfLogDensity checks the score that PathGradient
// integrates against the gradient of the integrated log-density: pulled
// back through the discrete map, Jᵀ s(x_T) must equal ∇_z[ln p₀(z) − ℓ(z)]
// (both from Gradient's exact adjoint), to O(ε⁴): the deviation must fall
// by about 2⁴ each time the step halves at fixed flow time.
func TestScoreIsGradientOfLogDensity(t *testing.T) {
	const n, B, duration = 4, 5, 1.2
	for _, pc := range pathGradientPotentials() {
		t.Run(pc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(71, 72))
			p := pc.make(rng, n)
			z := normalDense(rng, B, n)
			var eps, dev []float64
			for _, steps := range []int{6, 12, 24} {
				f := mustFlow(t, p, steps, duration/float64(steps))
				f.PathGradient(nil, z, flow.LossFunc(variationalLoss))
				s := mat.DenseCopyOf(f.Score())
				// Jᵀ s: the adjoint of the start for the loss s·y.
				pulled := mat.NewDense(B, n, nil)
				f.Gradient(nil, pulled, z, flow.Sampling, flow.LossFunc(func(dy *mat.Dense, _ []float64, y *mat.Dense, _ []float64) float64 {
					dy.Copy(s)
					return 0
				}))
				// ∇_z ln p(x_T(z)) = ∇_z[ln p₀(z) − ℓ(z)]: the loss Σ logp.
				want := mat.NewDense(B, n, nil)
				f.Gradient(nil, want, z, flow.Sampling, flow.LossFunc(func(_ *mat.Dense, dlogp []float64, _ *mat.Dense, _ []float64) float64 {
					for b := range dlogp {
						dlogp[b] = 1
					}
					return 0
				}))
				d := maxAbsDiff(pulled, want) / math.Max(1, maxAbs(want.RawMatrix().Data))
				t.Logf("%d steps: max |Jᵀs − ∇_z ln p| = %.3g (relative)", steps, d)
				eps = append(eps, duration/float64(steps))
				dev = append(dev, d)
			}
			if dev[len(dev)-1] > 1e-5 {
				t.Errorf("the score deviates by %.3g at the finest step", dev[len(dev)-1])
			}
			if slope := logLogSlope(eps, dev); slope < 3.5 {
				t.Errorf("the score converges with order %.2f in the step, want 4", slope)
			}
		})
	}
}

// TestPathGradientBackward checks PathGradient's parameter gradient and
// loss against Gradient's for the same loss with the log-density stopped:
// the end-state adjoint ∂L/∂y_b + (∂L/∂logp_b)·s_b and no adjoint of ℓ. It
// agrees to rounding with and without the transport cost, and the kinetic
// term is differentiated as in Gradient.
func TestPathGradientBackward(t *testing.T) {
	const n, B, steps, eps = 3, 4, 6, 0.2
	for _, pc := range pathGradientPotentials() {
		for _, kw := range []float64{0, 0.7} {
			t.Run(fmt.Sprintf("%s/kinetic=%v", pc.name, kw), func(t *testing.T) {
				rng := rand.New(rand.NewPCG(73, 74))
				p := pc.make(rng, n)
				f := mustFlow(t, p, steps, eps)
				f.KineticWeight = kw
				z := normalDense(rng, B, n)
				got := make([]float64, len(p.Params()))
				J := f.PathGradient(got, z, flow.LossFunc(variationalLoss))
				s := mat.DenseCopyOf(f.Score())
				want := make([]float64, len(got))
				Jt := f.Gradient(want, nil, z, flow.Sampling, flow.LossFunc(func(dy *mat.Dense, dlogp []float64, y *mat.Dense, logp []float64) float64 {
					L := variationalLoss(dy, dlogp, y, logp)
					for b := range B {
						floats.AddScaled(dy.RawRowView(b), dlogp[b], s.RawRowView(b))
						dlogp[b] = 0
					}
					return L
				}))
				if J != Jt {
					t.Errorf("loss %v, Gradient's %v", J, Jt)
				}
				if d := maxAbsDiffSlice(got, want); d > 1e-13*math.Max(1, maxAbs(want)) {
					t.Errorf("parameter gradient differs by %g", d)
				}
				if f.Score() != nil {
					t.Error("Score is not nil after Gradient")
				}
			})
		}
	}
}

// TestPathGradientUnbiased checks that the path gradient has the
// expectation of the full gradient: their difference per batch is the mean
// of ∂ln p_θ(x)/∂θ at fixed x over the flow's samples, which has mean zero.
// Over 400 batches of 32 every component of the mean difference lies within
// 4.5 of its standard errors of zero (the RK4 bias, O(ε⁴), is far below).
func TestPathGradientUnbiased(t *testing.T) {
	const n, B, batches, steps, eps = 3, 32, 400, 8, 0.1
	rng := rand.New(rand.NewPCG(75, 76))
	p := newTestShallow(rng, n, 4, flow.LogCosh, false, 0.5)
	f := mustFlow(t, p, steps, eps)
	np := len(p.Params())
	total, path := make([]float64, np), make([]float64, np)
	sum, sum2 := make([]float64, np), make([]float64, np)
	var varTotal, varPath float64
	loss := flow.LossFunc(variationalLoss)
	for range batches {
		z := normalDense(rng, B, n)
		f.Gradient(total, nil, z, flow.Sampling, loss)
		f.PathGradient(path, z, loss)
		for i := range np {
			d := total[i] - path[i]
			sum[i] += d
			sum2[i] += d * d
			varTotal += total[i] * total[i]
			varPath += path[i] * path[i]
		}
	}
	for i := range np {
		mean := sum[i] / batches
		se := math.Sqrt((sum2[i]/batches - mean*mean) / (batches - 1))
		if math.Abs(mean) > 4.5*se {
			t.Errorf("parameter %d: mean difference %.3g ± %.3g", i, mean, se)
		}
	}
	// Far from the target, as here, neither estimator need have the
	// smaller variance; near it the path gradient's vanishes
	// (TestPathGradientVanishesAtTarget).
	t.Logf("second moments of the batch gradients: full %.4g, path %.4g", varTotal/batches, varPath/batches)
}

// TestPathGradientVanishesAtTarget checks the property the estimator is
// for: when the flow's density is the target, every batch's path gradient
// vanishes (here to the O(ε⁴) difference between the discrete map and the
// flow), while the full gradient is a noisy zero. The flow of a quadratic
// potential maps N(0, I) to N(0, e^{2TS̄}); the target is that Gaussian.
func TestPathGradientVanishesAtTarget(t *testing.T) {
	const n, B, steps, eps = 4, 16, 40, 0.025
	rng := rand.New(rand.NewPCG(77, 78))
	q := newRandomQuadratic(rng, n, false, 0.6)
	f := mustFlow(t, q, steps, eps)
	prec := expSym(q, -2*f.Duration()) // the target's precision e^{−2TS̄}
	target := flow.LossFunc(func(dy *mat.Dense, dlogp []float64, y *mat.Dense, logp []float64) float64 {
		var g mat.Dense
		g.Mul(y, prec)
		var L float64
		for b := range B {
			L += (logp[b] + 0.5*floats.Dot(y.RawRowView(b), g.RawRowView(b))) / B
			dlogp[b] = 1.0 / B
			floats.AddScaled(dy.RawRowView(b), 1.0/B, g.RawRowView(b))
		}
		return L
	})
	path, total := make([]float64, len(q.Params())), make([]float64, len(q.Params()))
	var worstPath, leastTotal float64 = 0, math.Inf(1)
	for range 5 {
		z := normalDense(rng, B, n)
		f.PathGradient(path, z, target)
		f.Gradient(total, nil, z, flow.Sampling, target)
		worstPath = math.Max(worstPath, floats.Norm(path, 2))
		leastTotal = math.Min(leastTotal, floats.Norm(total, 2))
	}
	t.Logf("|path gradient| ≤ %.3g, |full gradient| ≥ %.3g", worstPath, leastTotal)
	if worstPath > 1e-6 {
		t.Errorf("the path gradient at the target is %.3g, want O(ε⁴)", worstPath)
	}
	if leastTotal < 1e-2 {
		t.Errorf("the full gradient at the target is %.3g: the test does not separate the estimators", leastTotal)
	}
}

// TestPathGradientNoAllocs checks that PathGradient allocates nothing in
// steady state.
func TestPathGradientNoAllocs(t *testing.T) {
	rng := rand.New(rand.NewPCG(79, 80))
	p := flow.NewShallow(4, 8, flow.LogCosh, false, rng)
	f := mustFlow(t, p, 5, 0.1)
	z := normalDense(rng, 8, 4)
	dp := make([]float64, len(p.Params()))
	loss := flow.LossFunc(variationalLoss)
	f.PathGradient(dp, z, loss)
	if a := testing.AllocsPerRun(10, func() { f.PathGradient(dp, z, loss) }); a != 0 {
		t.Errorf("%v allocations", a)
	}
}
