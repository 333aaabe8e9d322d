package flow

import (
	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/gonum/mat"

	"github.com/isingflow/isingflow/internal/fft"
	"github.com/isingflow/isingflow/internal/parallel"
)

// circWork is the workspace of one slice of a batch on the FFT path of
// CirculantQuadratic.
type circWork struct {
	f      *fft.ND
	xh, lh []complex128 // spectra of a row of x and of λ
	yh     []complex128 // a product ŝ ⊙ (…)
	y      []float64    // a row transformed back
	p      []float64    // this slice's Σ_b Re(conj(λ̂_b) x̂_b), on the half spectrum
}

// fftCost is the work counted per row and transform for splitting a batch
// into slices (batchSlices): about 5 N log₂ N flops.
func (q *CirculantQuadratic) fftCost() int {
	c := 1
	for m := q.n; m > 1; m >>= 1 {
		c++
	}
	return 5 * q.n * c
}

// workspaces returns the workspaces of the slices of a batch of B rows
// whose rows cost cost each, and their number.
func (q *CirculantQuadratic) workspaces(B, cost int) []*circWork {
	k := batchSlices(B, B*cost)
	m := q.main.SpectrumLen()
	for len(q.work) < k {
		q.work = append(q.work, &circWork{
			f:  fft.New(q.shape),
			xh: make([]complex128, m), lh: make([]complex128, m), yh: make([]complex128, m),
			y: make([]float64, q.n), p: make([]float64, m),
		})
	}
	return q.work[:k]
}

// forSlicesOf runs fn on the k slices of a batch of B rows, each with its
// workspace, in parallel.
func forSlicesOf(work []*circWork, B int, fn func(w *circWork, lo, hi int)) {
	k := len(work)
	if k == 1 {
		fn(work[0], 0, B)
		return
	}
	parallel.For(k, minSliceWork, func(k0, k1 int) {
		for j := k0; j < k1; j++ {
			fn(work[j], j*B/k, (j+1)*B/k)
		}
	})
}

// buildEigenvalues writes the eigenvalues ŝ(k) of S̄ on the half spectrum:
// Re ŝ(k) of the kernel (the transform of s̄ is the real part of that of
// s), or ½γ(c(k) + c(−k)) in the spectral basis.
func (q *CirculantQuadratic) buildEigenvalues() {
	m := q.main.SpectrumLen()
	if len(q.eig) < m {
		q.eig = make([]float64, m)
	}
	if q.spectral {
		for h, k := range q.siteOf {
			q.eig[h] = 0.5 * q.scale * (q.s[k] + q.s[q.neg[k]])
		}
		return
	}
	q.main.Forward(q.spec, q.s)
	for h, v := range q.spec {
		q.eig[h] = real(v)
	}
}

// mulSFFT writes S̄x_b into row b of dst, or adds it when add: the inverse
// transform of ŝ(k) x̂_b(k).
func (q *CirculantQuadratic) mulSFFT(dst, x blas64.General, add bool) {
	B, n := x.Rows, q.n
	eig := q.eig
	forSlicesOf(q.workspaces(B, 2*q.fftCost()), B, func(w *circWork, lo, hi int) {
		for b := lo; b < hi; b++ {
			w.f.Forward(w.xh, x.Data[b*x.Stride:b*x.Stride+n])
			for h, v := range eig {
				w.xh[h] *= complex(v, 0)
			}
			row := dst.Data[b*dst.Stride : b*dst.Stride+n]
			if !add {
				w.f.Inverse(row, w.xh)
				continue
			}
			w.f.Inverse(w.y, w.xh)
			for i, v := range w.y {
				row[i] += v
			}
		}
	})
}

// vjpFFT is GradLaplacianVJP on the FFT path: dx_b += S̄λ_b, and for the
// parameters the kernel's gradient g(r) = ½(a(r) + a(−r)) + Nμ δ_{r0} with
// a = Σ_b λ_b ⋆ x_b, whose transform is P(k) = Σ_b Re(conj(λ̂_b(k)) x̂_b(k)).
// The batch is split into a fixed number of slices, each summing its own
// P, added in slice order: the result does not depend on the scheduling.
func (q *CirculantQuadratic) vjpFFT(dx *mat.Dense, dparams []float64, x, lambda *mat.Dense, mu []float64) {
	if dx == nil && dparams == nil {
		return
	}
	q.build()
	B, n := x.Dims()
	lr, xr := lambda.RawMatrix(), x.RawMatrix()
	var dr blas64.General
	cost := 0
	if dx != nil {
		dr = dx.RawMatrix()
		cost += 2 * q.fftCost()
	}
	if dparams != nil {
		cost += 2 * q.fftCost()
	}
	eig := q.eig
	work := q.workspaces(B, cost)
	forSlicesOf(work, B, func(w *circWork, lo, hi int) {
		clear(w.p)
		for b := lo; b < hi; b++ {
			w.f.Forward(w.lh, lr.Data[b*lr.Stride:b*lr.Stride+n])
			if dx != nil {
				for h, v := range eig {
					w.yh[h] = w.lh[h] * complex(v, 0)
				}
				w.f.Inverse(w.y, w.yh)
				row := dr.Data[b*dr.Stride : b*dr.Stride+n]
				for i, v := range w.y {
					row[i] += v
				}
			}
			if dparams != nil {
				w.f.Forward(w.xh, xr.Data[b*xr.Stride:b*xr.Stride+n])
				for h, l := range w.lh {
					v := w.xh[h]
					w.p[h] += real(l)*real(v) + imag(l)*imag(v)
				}
			}
		}
	})
	if dparams == nil {
		return
	}
	p := work[0].p
	for _, w := range work[1:] {
		for h, v := range w.p {
			p[h] += v
		}
	}
	var m float64
	for _, v := range mu {
		m += v
	}
	nm := float64(n) * m
	if q.spectral {
		// ∂/∂c(k) = (γ/N) Re ĝ(k) = (γ/N)(P(k) + Nm); P is even in k.
		f := q.scale / float64(n)
		for k := range dparams {
			dparams[k] += f * (p[q.halfOf[k]] + nm)
		}
		return
	}
	for h, v := range p {
		q.spec[h] = complex(v, 0)
	}
	g := work[0].y
	q.main.Inverse(g, q.spec)
	for r, v := range g {
		dparams[r] += v
	}
	dparams[0] += nm
}
