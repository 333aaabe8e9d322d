package flow_test

import (
	"fmt"
	"math"
	"math/rand/v2"

	"gonum.org/v1/gonum/mat"

	"github.com/isingflow/isingflow/flow"
)

// Example samples a small Monge-Ampère flow and evaluates the density of the
// samples by integrating back. The quadratic potential φ = ½xᵀSx with
// S = diag(0.5, −0.25) has the exact pushforward N(0, diag(e^{2T·0.5},
// e^{−2T·0.25})), whose log-density is printed for comparison.
func Example() {
	S := mat.NewDiagDense(2, []float64{0.5, -0.25})
	f, err := flow.New(flow.NewQuadratic(S, nil), 10, 0.1) // T = 1
	if err != nil {
		fmt.Println(err)
		return
	}
	rng := rand.New(rand.NewPCG(1, 2))
	x := mat.NewDense(3, 2, nil)
	logp := make([]float64, 3)
	if err := f.Sample(x, logp, rng); err != nil {
		fmt.Println(err)
		return
	}

	back := make([]float64, 3)
	if err := f.LogDensity(back, x); err != nil {
		fmt.Println(err)
		return
	}

	T := f.Duration()
	v1, v2 := math.Exp(2*T*0.5), math.Exp(-2*T*0.25)
	for b := range 3 {
		x1, x2 := x.At(b, 0), x.At(b, 1)
		exact := -0.5*(x1*x1/v1+x2*x2/v2) - 0.5*math.Log(v1*v2) - math.Log(2*math.Pi)
		fmt.Printf("x = (%6.3f, %6.3f)  ln p: sample %.5f, LogDensity %.5f, exact %.5f\n",
			x1, x2, logp[b], back[b], exact)
	}
	// Output:
	// x = ( 0.626,  0.058)  ln p: sample -2.16266, LogDensity -2.16266, exact -2.16266
	// x = ( 0.330, -0.876)  ln p: sample -2.74106, LogDensity -2.74106, exact -2.74106
	// x = (-0.660, -2.403)  ln p: sample -6.92789, LogDensity -6.92789, exact -6.92789
}

// ExampleNewIntegrator evaluates a flow with an adaptive integrator chosen
// by name, as torchdiffeq's odeint(f, y0, t, method="dopri5") does: the
// flow's Integrator field replaces its fixed-step RK4 scheme in Forward,
// Backward, Sample and LogDensity (Gradient keeps the fixed-step scheme,
// the model being trained). The difference of the two log-densities is the
// discretisation error of the fixed-step scheme, O(ε⁴).
func ExampleNewIntegrator() {
	rng := rand.New(rand.NewPCG(1, 2))
	p := flow.NewShallow(2, 8, flow.LogCosh, false, rng)
	f, err := flow.New(p, 10, 0.1)
	if err != nil {
		fmt.Println(err)
		return
	}
	x := mat.NewDense(4, 2, nil)
	fixed := make([]float64, 4)
	if err := f.Sample(x, fixed, rng); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("fixed step: %+v\n", f.LastStats())

	f.Integrator, err = flow.NewIntegrator("dopri5", flow.IntegratorOptions{RTol: 1e-10, ATol: 1e-10})
	if err != nil {
		fmt.Println(err)
		return
	}
	adaptive := make([]float64, 4)
	if err := f.LogDensity(adaptive, x); err != nil {
		fmt.Println(err)
		return
	}
	// Six evaluations per step attempt (first same as last), and two to
	// start: the velocity at the start and the first-step heuristic.
	st := f.LastStats()
	fmt.Println("dopri5 evaluations per step:", (st.Evaluations-2)/(st.Steps+st.Rejected))
	var gap float64
	for b := range fixed {
		gap = math.Max(gap, math.Abs(adaptive[b]-fixed[b]))
	}
	fmt.Printf("max |ln p(fixed) − ln p(dopri5)| < 1e-6: %t\n", gap < 1e-6)
	fmt.Println("methods:", flow.IntegratorMethods())
	// Output:
	// fixed step: {Steps:10 Rejected:0 Evaluations:40}
	// dopri5 evaluations per step: 6
	// max |ln p(fixed) − ln p(dopri5)| < 1e-6: true
	// methods: [rk4 dopri5]
}

// ExampleFlow_Gradient fits a quadratic flow to data by maximum likelihood:
// gradient descent on the mean negative log-likelihood, differentiated
// exactly through the RK4 steps in the density direction. The data are
// N(0, diag(4, 1/4)), which the flow of φ = ½xᵀSx reaches at T = 1 with
// S = diag(ln 2, −ln 2) = diag(0.693, −0.693); the fit finds the
// maximum-likelihood values for this sample of 500 points.
func ExampleFlow_Gradient() {
	rng := rand.New(rand.NewPCG(3, 4))
	const B = 500
	data := mat.NewDense(B, 2, nil)
	for b := range B {
		data.Set(b, 0, 2*rng.NormFloat64())
		data.Set(b, 1, 0.5*rng.NormFloat64())
	}
	q := flow.NewQuadratic(mat.NewDense(2, 2, nil), nil)
	f, _ := flow.New(q, 10, 0.1)
	nll := flow.LossFunc(func(dy *mat.Dense, dlogp []float64, y *mat.Dense, logp []float64) float64 {
		var L float64
		for b, v := range logp {
			L -= v / float64(len(logp))
			dlogp[b] = -1 / float64(len(logp))
		}
		return L
	})
	theta := q.Params()
	grad := make([]float64, len(theta))
	var L float64
	for range 60 {
		L = f.Gradient(grad, nil, data, flow.Density, nll)
		for i := range theta {
			theta[i] -= 0.2 * grad[i]
		}
	}
	fmt.Printf("NLL per dimension %.3f\n", L/2)
	S := q.Symmetric()
	fmt.Printf("S̄ = [%.2f %.2f; %.2f %.2f]\n", S.At(0, 0), math.Abs(S.At(0, 1)), math.Abs(S.At(1, 0)), S.At(1, 1))
	// Output:
	// NLL per dimension 1.388
	// S̄ = [0.68 0.03; 0.03 -0.75]
}

// ExampleFlow_PathGradient fits a quadratic flow to the Gaussian target
// q̃ ∝ exp(−½xᵀ diag(1/4, 4) x) by minimising the reverse KL divergence
// E_p[ln p − ln q̃] with the path gradient. The flow of φ = ½xᵀSx maps
// N(0, I) to N(0, e^{2TS̄}), so the optimum is S = diag(ln 2, −ln 2) at
// T = 1, where the path gradient of every batch vanishes, and the KL
// divergence does up to the O(ε⁴) of the RK4 steps.
func ExampleFlow_PathGradient() {
	rng := rand.New(rand.NewPCG(5, 6))
	const B = 64
	q := flow.NewQuadratic(mat.NewDense(2, 2, nil), nil)
	f, _ := flow.New(q, 10, 0.1)
	precision := []float64{0.25, 4}  // of the target, diagonal
	lnNorm := -math.Log(2 * math.Pi) // ln of the target's normalisation, 1/(2π·√det Σ) with det Σ = 1
	kl := flow.LossFunc(func(dy *mat.Dense, dlogp []float64, y *mat.Dense, logp []float64) float64 {
		var L float64
		for b := range B {
			lnq := lnNorm
			for k, p := range precision {
				v := y.At(b, k)
				lnq -= 0.5 * p * v * v
				dy.Set(b, k, p*v/B) // −∂ln q̃/∂y / B
			}
			L += (logp[b] - lnq) / B
			dlogp[b] = 1.0 / B
		}
		return L
	})
	theta := q.Params()
	grad := make([]float64, len(theta))
	z := mat.NewDense(B, 2, nil)
	var L float64
	for range 200 {
		for i := range z.RawMatrix().Data {
			z.RawMatrix().Data[i] = rng.NormFloat64()
		}
		L = f.PathGradient(grad, z, kl)
		for i := range theta {
			theta[i] -= 0.1 * grad[i]
		}
	}
	S := q.Symmetric()
	norm := math.Hypot(math.Hypot(grad[0], grad[1]), math.Hypot(grad[2], grad[3]))
	fmt.Println("batch KL estimate below 1e-6:", math.Abs(L) < 1e-6) // 1e-8: the RK4 map's O(ε⁴)
	fmt.Println("batch path gradient below 1e-9:", norm < 1e-9)
	fmt.Printf("S̄ = [%.4f %.4f; %.4f %.4f]\n", S.At(0, 0), math.Abs(S.At(0, 1)), math.Abs(S.At(1, 0)), S.At(1, 1))
	// Output:
	// batch KL estimate below 1e-6: true
	// batch path gradient below 1e-9: true
	// S̄ = [0.6931 0.0000; 0.0000 -0.6931]
}

// ExampleNewSpectralQuadratic sets the spectrum of a translation-invariant
// quadratic potential on a ring of four sites with the scale γ = 1:
// c(1) = 1 gives the plane waves of wave vector ±2π/4 the eigenvalue
// ½(c(1) + c(−1)) = 0.5 and every other mode 0; the kernel is
// s(r) = ¼ cos(πr/2).
func ExampleNewSpectralQuadratic() {
	q := flow.NewSpectralQuadratic([]int{4}, 1)
	q.Params()[1] = 1
	S := mat.NewDense(4, 4, nil)
	q.Matrix(S)
	// Rounding residues such as −1e-17 (which either BLAS may leave) to
	// +0 keeps "-0.00" out of the printed values.
	clean := func(v []float64) []float64 {
		for i := range v {
			v[i] = math.Round(v[i]*1e12)/1e12 + 0
		}
		return v
	}
	fmt.Printf("first row of S̄ %.2f\n", clean(mat.Row(nil, 0, S)))
	var eig mat.EigenSym
	eig.Factorize(mat.NewSymDense(4, S.RawMatrix().Data), false)
	fmt.Printf("eigenvalues %.2f\n", clean(eig.Values(nil)))
	// Output:
	// first row of S̄ [0.25 0.00 -0.25 0.00]
	// eigenvalues [0.00 0.00 0.50 0.50]
}
