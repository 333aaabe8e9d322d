package ising

import (
	"fmt"
	"math"
	"math/rand/v2"

	"gonum.org/v1/gonum/mat"

	"github.com/isingflow/isingflow/lattice"
)

// FieldGivenSpins writes into row b of dst a draw of the Hubbard-Stratonovich
// field given the spins in row b of spins (±1):
//
//	x | s ~ N(K's, K'),
//
// the conditional of the joint density ∝ exp(−½xᵀK'⁻¹x + sᵀx) whose
// marginals are the Ising Boltzmann distribution (s) and the relaxation
// q̃/Z_cont (x). Spins drawn from the Boltzmann distribution (by a Wolff
// chain, say) thus give exact samples of the relaxation: data for the
// forward KL divergence. The Gaussian noise is drawn from rng.
func (r *Relaxation) FieldGivenSpins(dst, spins *mat.Dense, rng *rand.Rand) {
	rows := r.checkBatch(spins, "spins")
	if dr, dc := dst.Dims(); dr != rows || dc != r.n {
		panic(fmt.Sprintf("ising: FieldGivenSpins: destination is %d×%d, want %d×%d", dr, dc, rows, r.n))
	}
	if r.sqrt == nil {
		r.sqrt = newSqrtCoupling(r.lat, r.beta, r.alpha, r.eig)
	}
	// x = K's + Cξ with CCᵀ = K'.
	xi := make([]float64, r.n)
	for b := range rows {
		s := spins.RawRowView(b)
		x := dst.RawRowView(b)
		for i := range xi {
			xi[i] = rng.NormFloat64()
		}
		r.sqrt.apply(x, s, xi)
	}
}

// sqrtCoupling applies x = K's + Cξ with CCᵀ = K': on a periodic lattice
// by FFT with C = K'^{1/2} (x = C(Cs + ξ)), else with the dense K' and its
// Cholesky factor.
type sqrtCoupling struct {
	fft  *fftInverter // applies K'^{1/2}
	kp   *mat.SymDense
	chol *mat.TriDense
	work []float64
}

func newSqrtCoupling(lat *lattice.Lattice, beta, alpha float64, eig []float64) *sqrtCoupling {
	c := &sqrtCoupling{work: make([]float64, lat.N())}
	if lat.Boundary() == lattice.Periodic {
		inv := make([]float64, len(eig))
		for i, e := range eig {
			inv[i] = 1 / math.Sqrt(e) // the inverter divides by its eigenvalues
		}
		c.fft = newFFTInverter(lat, inv)
		return c
	}
	c.kp = shiftedCoupling(lat, beta, alpha)
	var ch mat.Cholesky
	if !ch.Factorize(c.kp) {
		panic("ising: shifted coupling is not positive definite")
	}
	c.chol = mat.NewTriDense(lat.N(), mat.Lower, nil)
	ch.LTo(c.chol)
	return c
}

func (c *sqrtCoupling) apply(x, s, xi []float64) {
	if c.fft != nil {
		w := c.fft.get()
		c.fft.apply(c.work, s, w)
		for i, v := range xi {
			c.work[i] += v
		}
		c.fft.apply(x, c.work, w)
		c.fft.put(w)
		return
	}
	n := len(x)
	xv := mat.NewVecDense(n, x)
	xv.MulVec(c.kp, mat.NewVecDense(n, s))
	noise := mat.NewVecDense(n, c.work)
	noise.MulVec(c.chol, mat.NewVecDense(n, xi))
	xv.AddVec(xv, noise)
}
