package flow

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"
)

// Discrepancy summarises the difference between two batches of end states
// and their log-densities.
type Discrepancy struct {
	MaxAbs float64 // max over all B·N coordinates of |x − x'|
	RMS    float64 // root mean square over all B·N coordinates of x − x'

	MaxLogDensity float64 // max over samples of |ln p − ln p'|
	RMSLogDensity float64 // root mean square over samples of ln p − ln p'
}

func discrepancy(x, y *mat.Dense, lx, ly []float64) Discrepancy {
	var d Discrepancy
	B, n := x.Dims()
	var ss float64
	for b := range B {
		xb, yb := x.RawRowView(b), y.RawRowView(b)
		for k, v := range xb {
			e := math.Abs(v - yb[k])
			d.MaxAbs = math.Max(d.MaxAbs, e)
			ss += e * e
		}
	}
	d.RMS = math.Sqrt(ss / float64(B*n))
	ss = 0
	for b := range B {
		e := math.Abs(lx[b] - ly[b])
		d.MaxLogDensity = math.Max(d.MaxLogDensity, e)
		ss += e * e
	}
	d.RMSLogDensity = math.Sqrt(ss / float64(B))
	return d
}

// RoundTripError integrates the rows of start through the fixed-step flow in
// direction dir and back (whatever the flow's Integrator), and compares the
// result with start. With dir = Sampling, start holds latents z:
// x = Forward(z) carries ln p(x) = ln p₀(z) − ℓ_forward, and
// z' = Backward(x) gives the density ln p₀(z') − ℓ_backward of the same
// points, so the log-density part of the result measures how well Sample
// and LogDensity agree. With dir = Density, start holds data x, pulled back
// to z and pushed forward again.
//
// Running RK4 backwards inverts it only up to the local error, so both
// parts are O(ε⁴) for a smooth potential.
func (f *Flow) RoundTripError(start *mat.Dense, dir Direction) Discrepancy {
	f.mustValidate()
	B, n := start.Dims()
	mid := mat.NewDense(B, n, nil)
	end := mat.NewDense(B, n, nil)
	l1 := make([]float64, B)
	l2 := make([]float64, B)
	other := Sampling
	if dir == Sampling {
		other = Density
	}
	_, _ = f.integrate(nil, mid, l1, start, dir)
	_, _ = f.integrate(nil, end, l2, mid, other)
	return discrepancy(start, end, l1, l2)
}

// DiscretisationError integrates the rows of start in direction dir with
// the fixed-step flow and with the reference integrator ref over the same
// time (for example a Dopri5 at tight tolerance), and compares the end
// states and the log-densities ln p₀(z) − ℓ of the two (the flow's
// Integrator field is not used). It returns the reference's statistics and
// its error, if any.
func (f *Flow) DiscretisationError(start *mat.Dense, dir Direction, ref Integrator) (Discrepancy, Stats, error) {
	if err := f.Validate(); err != nil {
		return Discrepancy{}, Stats{}, err
	}
	B, n := start.Dims()
	x1 := mat.NewDense(B, n, nil)
	x2 := mat.NewDense(B, n, nil)
	l1 := make([]float64, B)
	l2 := make([]float64, B)
	_, _ = f.integrate(nil, x1, l1, start, dir)
	st, err := f.integrate(ref, x2, l2, start, dir)
	if err != nil {
		return Discrepancy{}, st, err
	}
	return discrepancy(x1, x2, l1, l2), st, nil
}

// maxJacobianFloats bounds the size of the Jacobian blocks LogDetGap
// propagates at once (8 MB per matrix).
const maxJacobianFloats = 1 << 20

// LogDetGap writes into dst[b], for each row of start, the difference
// between the log-density the fixed-step flow reports and the exact
// log-density of its discrete map Ψ (the RK4 steps, a diffeomorphism for
// small enough ε) in direction dir:
//
//	Sampling (start = z):  ln|det ∂Ψ/∂z| − ℓ,   since p(x_T) = p₀(z)/|det ∂Ψ/∂z|,
//	Density  (start = x):  −ℓ − ln|det ∂Ψ/∂x|,  since p(x)  = p₀(Ψ(x))·|det ∂Ψ/∂x|,
//
// that is ln p(integrated Laplacian) − ln p(discrete map) in both cases. It
// is O(ε⁴) for a smooth potential.
//
// The Jacobian is exact: J = ∂Ψ/∂start is propagated through every RK4
// stage with the stage Jacobians, J' = J + ε Σ b_i H_i J_i with
// J_1 = J, J_{i+1} = J + c_{i+1} ε H_i J_i and H_i the Hessian of φ at the
// stage input x_i. The products H_i J_i come from GradLaplacianVJP with
// the N columns of J_i as adjoint rows (μ = 0), for all samples of a block
// at once, and ln|det J| from an LU factorisation. The cost is that of
// Gradient on a batch of B·N samples (without the parameter adjoint), plus
// B LU factorisations, and memory of about 6 N² float64 per sample of a
// block of at most max(1, 2²⁰/N²) samples (the potential's own workspaces
// grow to a batch of block·N rows); it is meant for small N or few
// samples.
func (f *Flow) LogDetGap(dst []float64, start *mat.Dense, dir Direction) {
	f.mustValidate()
	p := f.Potential
	B, n := start.Dims()
	if n != p.Dim() {
		panic(fmt.Sprintf("flow: LogDetGap: start has %d columns, want %d", n, p.Dim()))
	}
	if len(dst) != B {
		panic(fmt.Sprintf("flow: LogDetGap: len(dst) = %d, want %d", len(dst), B))
	}
	eps := dir.sign() * f.StepSize
	G := max(1, min(B, maxJacobianFloats/(n*n)))
	var (
		rk  rk4Work
		lu  mat.LU
		blk = mat.NewDense(n, n, nil)
	)
	for b0 := 0; b0 < B; b0 += G {
		g := min(G, B-b0)
		x := mat.NewDense(g, n, nil)
		x.Copy(start.Slice(b0, b0+g, 0, n))
		ell := make([]float64, g)
		tape := make([]*mat.Dense, 4)
		for i := range tape {
			tape[i] = mat.NewDense(g, n, nil)
		}
		rows := g * n
		// M holds Jᵀ, block by block: row k of block b is column k of J_b.
		M := mat.NewDense(rows, n, nil)
		for r := range rows {
			M.Set(r, r%n, 1)
		}
		Ms := mat.NewDense(rows, n, nil)
		P := mat.NewDense(rows, n, nil)
		acc := mat.NewDense(rows, n, nil)
		xe := mat.NewDense(rows, n, nil)
		mu := make([]float64, rows)
		rk.ensure(g, n)
		for s := range f.Steps {
			f.selectStep(s, dir)
			rk.step(p, x, ell, nil, eps, tape, nil)
			for i := range 4 {
				for b := range g {
					xi := tape[i].RawRowView(b)
					for k := range n {
						copy(xe.RawRowView(b*n+k), xi)
					}
				}
				in := M
				if i > 0 {
					in = Ms
				}
				P.Zero()
				// Row k of P is (H_i J_i e_k)ᵀ: the VJP with λ = (J_i e_k)ᵀ,
				// since the Hessian is symmetric.
				p.GradLaplacianVJP(P, nil, xe, in, mu)
				pr, ar, mr, sr := P.RawMatrix().Data, acc.RawMatrix().Data, M.RawMatrix().Data, Ms.RawMatrix().Data
				bi := rk4B[i]
				for j, v := range pr {
					if i == 0 {
						ar[j] = bi * v
					} else {
						ar[j] += bi * v
					}
				}
				if i < 3 {
					c := rk4C[i+1] * eps
					for j, v := range pr {
						sr[j] = mr[j] + c*v
					}
				}
			}
			M.Add(M, scaled(acc, eps))
		}
		for b := range g {
			blk.Copy(M.Slice(b*n, (b+1)*n, 0, n))
			lu.Factorize(blk)
			logDet, _ := lu.LogDet()
			if dir == Sampling {
				dst[b0+b] = logDet - ell[b]
			} else {
				dst[b0+b] = -ell[b] - logDet
			}
		}
	}
}

// scaled scales m by s in place and returns it.
func scaled(m *mat.Dense, s float64) *mat.Dense {
	m.Scale(s, m)
	return m
}

// LogDensityError writes into dst[b], for each latent row z_b of z, an
// estimate of the error of the log-density that the fixed-step flow
// reports for its sample x_b = Ψ(z_b) (Forward, Sample, with a nil
// Integrator): ln p_ε(x_b) − ln p(x_b), where p is the density of the
// exact flow of the potential. ln p(x_b) comes from integrating x_b back to
// the latent space with the fixed-step scheme twice, with Steps steps of ε
// (ln p_ε′) and with 2·Steps steps of ε/2 (ln p_ε/2), and Richardson's
// extrapolation of RK4's ε⁴ error,
//
//	ln p(x) ≈ ln p_ε/2(x) − (ln p_ε′(x) − ln p_ε/2(x))/15,
//
// whose own error is O(ε⁵) (the ε/2 integration alone would leave 1/16
// of the error). The cost is four integrations of the batch: one forward,
// three steps' worth backward.
//
// What biases an importance-sampled estimate is the gap between ln p_ε and
// the log-density of the discrete map Ψ that drew the samples (LogDetGap,
// exact but O(N) times costlier). Their means agree to leading order:
// E[ln p_ε − ln p_Ψ] = E[ln p_ε − ln p] − KL(p_Ψ‖p) over x ~ p_Ψ, and the
// KL divergence of two densities O(ε⁴) apart is O(ε⁸). So the mean of dst
// over samples estimates the mean of LogDetGap, not each sample's gap. For
// a potential that draws at random at every evaluation (package symmetry's
// Random), the integrations back see other draws and the estimate does not
// apply. It returns the error of Validate.
func (f *Flow) LogDensityError(dst []float64, z *mat.Dense) error {
	if err := f.Validate(); err != nil {
		return err
	}
	B, n := z.Dims()
	if n != f.Potential.Dim() {
		panic(fmt.Sprintf("flow: LogDensityError: z has %d columns, want %d", n, f.Potential.Dim()))
	}
	if len(dst) != B {
		panic(fmt.Sprintf("flow: LogDensityError: len(dst) = %d, want %d", len(dst), B))
	}
	x := mat.NewDense(B, n, nil)
	back := mat.NewDense(B, n, nil)
	coarse, fine := make([]float64, B), make([]float64, B)
	_, _ = f.integrate(nil, x, dst, z, Sampling)
	_, _ = f.integrate(nil, back, coarse, x, Density)
	half := &Flow{Potential: f.Potential, Steps: 2 * f.Steps, StepSize: f.StepSize / 2}
	_, _ = half.integrate(nil, back, fine, x, Density)
	for b := range dst {
		dst[b] -= fine[b] - (coarse[b]-fine[b])/15
	}
	return nil
}
