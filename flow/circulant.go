package flow

import (
	"fmt"
	"math"
	"slices"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas32"
	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/gonum/mat"

	"github.com/isingflow/isingflow/internal/blasimpl"
	"github.com/isingflow/isingflow/internal/fft"
	"github.com/isingflow/isingflow/internal/parallel"
)

// CirculantQuadratic is a translation-invariant quadratic potential on a
// periodic hypercubic torus of the given shape (sites indexed row-major,
// the last axis fastest, as package lattice does),
//
//	φ(x) = ½ xᵀ S̄ x,   S̄_ij = s̄(r_j − r_i),   s̄(r) = ½(s(r) + s(−r)),
//
// with one learnable kernel value s(r) per displacement r (N parameters
// instead of the N² of Quadratic). S̄ is circulant, hence diagonal in the
// plane-wave basis, and its flow is linear: x(t) = e^{tS̄} z, each Fourier
// mode scaled by e^{t ŝ(k)}. ∇φ = S̄x, ∇²φ = N s(0), and for adjoints
// λ, μ
//
//	∂/∂s(r) [λ·∇φ + μ∇²φ] = ½ Σ_i λ_i (x_{i+r} + x_{i−r}) + N μ δ_{r0},
//	λ·∂∇φ/∂x = S̄λ.
//
// Parameters: the kernel s, indexed by the site whose coordinates are r
// (NewCirculantQuadratic), or the eigenvalues (NewSpectralQuadratic).
//
// The products with S̄ and the correlations behind the kernel's gradient
// take one of two paths, chosen by N (and by the precision and the BLAS:
// see CirculantFFTMinSites). From CirculantFFTMinSites sites on
// (CirculantFFTMinSitesOther when a side is not a power of two)
// they go through the real d-dimensional FFT (O(N log N) a row): S̄x is the
// inverse transform of ŝ(k)x̂(k), and Σ_b λ_b ⋆ x_b that of
// Σ_b Re(conj(λ̂_b) x̂_b), always in float64. Below, they are dense
// products with the N×N matrix S̄ (B·N² a call), rebuilt (O(N²)) when the
// parameters have changed since the last call, which are faster there;
// SetPrecision(Float32) runs those in float32. The two paths agree to
// rounding (about 10⁻¹⁵ relative), and the dense path's N² storage is
// allocated only when it is taken.
type CirculantQuadratic struct {
	n     int
	s     []float64 // the parameters: the kernel, or with spectral the eigenvalues c
	shape []int

	// With spectral, the parameters are c(k), and the kernel is
	// s(r) = (γ/N) Σ_k c(k) cos(k·r), computed by an FFT of c.
	spectral bool
	scale    float64
	kernel   []float64
	kgrad    []float64 // the kernel's gradient before the change of basis
	neg      []int     // neg[r] = site of −r
	main     *fft.ND   // the transform of build and of the change of basis
	spec     []complex128
	halfOf   []int // halfOf[r]: the index in the half spectrum of r, or of −r
	siteOf   []int // siteOf[h]: the site of the wave vector of half-spectrum index h
	built    []float64
	builtFor int // the path built was built for (pathDense or pathFFT)
	path     int // the path forced by tests (pathAuto: chosen by N)
	tmp      []float64

	// The FFT path: the eigenvalues on the half spectrum and one
	// workspace per slice of a batch.
	eig  []float64
	work []*circWork

	// The dense path, allocated at its first use.
	idx  []int // idx[i*n+r] = site of r_i + r
	dns  []float64
	corr []float64
	acc  []float64 // partial sums of the kernel's gradient, per chunk of rows

	// Float32 products of the dense path (see Precision): S̄ rounded when
	// it is built, the rounded operands and the results.
	prec            Precision
	dense32, corr32 []float32
	x32, l32, y32   []float32
}

// CirculantFFTMinSites and CirculantFFTMinSitesOther are the numbers of
// sites from which CirculantQuadratic applies S̄ through the FFT rather
// than as a dense matrix: the first on a torus whose sides are all powers
// of two (the radix-2 transform), the second on any other (gonum's
// dsp/fourier, several times slower at these sizes). They are the
// crossovers that BenchmarkCirculantQuadratic measured (B = 64;
// docs/performance.md) against the dense products of gonum's pure-Go
// BLAS, in float64 and float32 alike: the dense path is faster at L = 4
// (N = 16) and the FFT from L = 8 (N = 64) on; with other sides the dense
// path is faster at L = 12 (N = 144) and the FFT at L = 20 (N = 400).
// OpenBLAS's products are faster, and against them both thresholds are
// twice as large in float64 (the dense path a little faster at L = 8, the
// FFT at L = 16) and eight times in float32 (SetPrecision(Float32): the
// dense path faster at L = 16, the FFT three times faster at L = 32, the
// two even at L = 48).
const (
	CirculantFFTMinSites      = 64
	CirculantFFTMinSitesOther = 256
)

// circulantOpenBLASFactor is the factor of the thresholds of the FFT path
// with OpenBLAS, in float64 and float32 (see CirculantFFTMinSites).
var circulantOpenBLASFactor = [...]int{Float64: 2, Float32: 8}

// Paths of the products of CirculantQuadratic.
const (
	pathAuto = iota
	pathDense
	pathFFT
)

// NewCirculantQuadratic returns the zero circulant quadratic potential on
// the periodic torus of the given shape. It panics on an empty shape or a
// non-positive length.
func NewCirculantQuadratic(shape []int) *CirculantQuadratic {
	if len(shape) == 0 {
		panic("flow: NewCirculantQuadratic: empty shape")
	}
	n := 1
	for _, l := range shape {
		if l < 1 {
			panic(fmt.Sprintf("flow: NewCirculantQuadratic: bad shape %v", shape))
		}
		n *= l
	}
	d := len(shape)
	q := &CirculantQuadratic{n: n, s: make([]float64, n), shape: slices.Clone(shape), neg: make([]int, n)}
	cr := make([]int, d)
	for r := range n {
		q.coords(r, cr)
		for a := range d {
			cr[a] = -cr[a]
		}
		q.neg[r] = q.index(cr)
	}
	q.main = fft.New(q.shape)
	m, half, last := q.main.SpectrumLen(), q.main.Half(), shape[d-1]
	q.spec = make([]complex128, m)
	q.halfOf = make([]int, n)
	q.siteOf = make([]int, m)
	for r := range n {
		rr := r
		if r%last >= half {
			rr = q.neg[r]
		}
		// rr's last coordinate is below half: its index in the half
		// spectrum drops the last axis's other coefficients.
		q.halfOf[r] = rr/last*half + rr%last
		if rr == r {
			q.siteOf[q.halfOf[r]] = r
		}
	}
	return q
}

// index returns the site of the coordinates c, taken modulo the sides.
func (q *CirculantQuadratic) index(c []int) int {
	i := 0
	for a, l := range q.shape {
		i = i*l + ((c[a]%l)+l)%l
	}
	return i
}

// NewSpectralQuadratic returns the zero circulant quadratic potential on
// the periodic torus of the given shape parametrised by its spectrum: the
// parameter c(k), indexed by the site whose coordinates are the wave
// vector's k (k_a in units of 2π/L_a), gives the eigenvalue
//
//	ŝ(k) = ½ γ (c(k) + c(−k))
//
// of S̄ on the plane waves e^{ik·r} and e^{−ik·r}, where γ is scale; the
// kernel is s(r) = (γ/N) Σ_k c(k) cos(k·r). The potential, its
// derivatives and the flow are those of NewCirculantQuadratic with that
// kernel; only the coordinates of the parameters differ. They matter to an
// optimiser that scales each parameter separately, as Adam does: a step of
// about the learning rate η on every kernel value moves one eigenvalue by
// up to η·2N/π when the signs follow a plane wave, so that at N = 1024 a
// few steps can contract one Fourier mode of the flow by orders of
// magnitude, while the same step on every c(k) moves each eigenvalue by
// about γη, whatever N is. γ sets that pace (Adam is blind to the scale
// of a gradient, so γ acts as a learning-rate factor of the quadratic
// part alone). It panics as NewCirculantQuadratic does, and on a scale
// that is not positive and finite.
func NewSpectralQuadratic(shape []int, scale float64) *CirculantQuadratic {
	if !(scale > 0) || math.IsInf(scale, 0) {
		panic(fmt.Sprintf("flow: NewSpectralQuadratic: scale %v is not positive and finite", scale))
	}
	q := NewCirculantQuadratic(shape)
	q.spectral = true
	q.scale = scale
	q.kernel, q.kgrad = make([]float64, q.n), make([]float64, q.n)
	return q
}

// coords writes the coordinates of site i (row-major, the last axis
// fastest) into c.
func (q *CirculantQuadratic) coords(i int, c []int) {
	for a := len(q.shape) - 1; a >= 0; a-- {
		c[a] = i % q.shape[a]
		i /= q.shape[a]
	}
}

// Spectral reports whether the parameters are the eigenvalues
// (NewSpectralQuadratic) rather than the kernel.
func (q *CirculantQuadratic) Spectral() bool { return q.spectral }

// FFT reports whether the products go through the FFT rather than the
// dense S̄ (CirculantFFT of the torus and the potential's precision).
func (q *CirculantQuadratic) FFT() bool {
	switch q.path {
	case pathDense:
		return false
	case pathFFT:
		return true
	}
	return CirculantFFT(q.shape, q.prec)
}

// CirculantFFT reports whether a CirculantQuadratic on a torus of the
// given shape applies S̄ through the FFT in precision p, rather than as a
// dense N×N matrix: N at least CirculantFFTMinSites, or
// CirculantFFTMinSitesOther when a side is not a power of two, with the
// pure-Go BLAS; two and eight times those with OpenBLAS in float64 and
// float32. Only the dense path stores O(N²) numbers.
func CirculantFFT(shape []int, p Precision) bool {
	least := CirculantFFTMinSites
	for _, l := range shape {
		if l&(l-1) != 0 {
			least = CirculantFFTMinSitesOther
		}
	}
	if blasimpl.OpenBLAS {
		least *= circulantOpenBLASFactor[p]
	}
	n := 1
	for _, l := range shape {
		if n *= l; n >= least {
			return true // before n can overflow on a huge shape
		}
	}
	return false
}

// kern returns the kernel s(r), which build keeps up to date.
func (q *CirculantQuadratic) kern() []float64 {
	if q.spectral {
		return q.kernel
	}
	return q.s
}

// Dim returns N.
func (q *CirculantQuadratic) Dim() int { return q.n }

// Params returns the kernel s (aliasing the potential).
func (q *CirculantQuadratic) Params() []float64 { return q.s }

// Matrix writes the dense S̄ into dst (N×N), whatever the path of the
// products.
func (q *CirculantQuadratic) Matrix(dst *mat.Dense) {
	q.build()
	n, d := q.n, len(q.shape)
	ker := q.kern()
	ci, cj := make([]int, d), make([]int, d)
	for i := range n {
		q.coords(i, ci)
		for j := range n {
			q.coords(j, cj)
			for a := range d {
				cj[a] -= ci[a]
			}
			r := q.index(cj)
			dst.Set(i, j, 0.5*(ker[r]+ker[q.neg[r]]))
		}
	}
}

// build brings the quantities derived from the parameters up to date: the
// kernel of the spectral basis, and the eigenvalues (FFT path) or the
// dense S̄ (dense path).
func (q *CirculantQuadratic) build() {
	fftPath := q.FFT()
	path := pathDense
	if fftPath {
		path = pathFFT
	}
	if q.built != nil && q.builtFor == path && slices.Equal(q.built, q.s) {
		return
	}
	q.built = append(q.built[:0], q.s...)
	q.builtFor = path
	n := q.n
	if q.spectral {
		// s(r) = (γ/N) Σ_k c(k) cos(k·r) = (γ/N) Re ĉ(r), even in r.
		q.main.Forward(q.spec, q.s)
		f := q.scale / float64(n)
		for r := range n {
			q.kernel[r] = f * real(q.spec[q.halfOf[r]])
		}
	}
	if fftPath {
		q.buildEigenvalues()
		return
	}
	q.ensureDense()
	ker := q.kern()
	for i := range n {
		row := q.dns[i*n : (i+1)*n]
		for r := range n {
			row[q.idx[i*n+r]] = 0.5 * (ker[r] + ker[q.neg[r]])
		}
	}
	if q.prec == Float32 {
		toFloat32(q.dense32, q.dns)
	}
}

// ensureDense allocates the dense path's N² tables.
func (q *CirculantQuadratic) ensureDense() {
	n := q.n
	if q.dns != nil {
		if q.prec == Float32 && q.dense32 == nil {
			q.dense32 = make([]float32, n*n)
			q.corr32 = make([]float32, n*n)
		}
		return
	}
	d := len(q.shape)
	q.idx, q.dns, q.corr = make([]int, n*n), make([]float64, n*n), make([]float64, n*n)
	ci, cr := make([]int, d), make([]int, d)
	for i := range n {
		q.coords(i, ci)
		for r := range n {
			q.coords(r, cr)
			for a := range d {
				cr[a] += ci[a]
			}
			q.idx[i*n+r] = q.index(cr)
		}
	}
	if q.prec == Float32 {
		q.dense32 = make([]float32, n*n)
		q.corr32 = make([]float32, n*n)
	}
}

// SetPrecision sets the arithmetic of the dense path's products with S̄
// and of the correlation behind the kernel's gradient (see Precision). The
// FFT path computes in float64 whatever the precision: it costs a small
// part of a training step.
func (q *CirculantQuadratic) SetPrecision(p Precision) {
	if p != Float64 && p != Float32 {
		panic(fmt.Sprintf("flow: CirculantQuadratic.SetPrecision: unknown precision %d", int(p)))
	}
	q.prec = p
	q.built = nil // build (and round) S̄ again at the next call
}

// round rounds the B×N batch x into buf (grown as needed) and returns it.
func (q *CirculantQuadratic) round(buf *[]float32, x blas64.General) blas32.General {
	B, n := x.Rows, q.n
	if len(*buf) < B*n {
		*buf = make([]float32, B*n)
	}
	roundRows(*buf, x, 0, B)
	return blas32.General{Rows: B, Cols: n, Stride: n, Data: (*buf)[:B*n]}
}

// mulS writes x S̄ into dst (B×N), or adds it when add (S̄ is symmetric:
// row b is S̄x_b), in the potential's precision. With float32 products x
// is rounded into buf, and the rounded x is returned for further products.
func (q *CirculantQuadratic) mulS(dst, x blas64.General, buf *[]float32, add bool) blas32.General {
	if q.prec == Float64 {
		beta := 0.0
		if add {
			beta = 1
		}
		gemm(blas.NoTrans, 1, x, q.general(), beta, dst)
		return blas32.General{}
	}
	n := q.n
	x32 := q.round(buf, x)
	if len(q.y32) < x.Rows*n {
		q.y32 = make([]float32, x.Rows*n)
	}
	y := blas32.General{Rows: x.Rows, Cols: n, Stride: n, Data: q.y32[:x.Rows*n]}
	gemm32(blas.NoTrans, x32, blas32.General{Rows: n, Cols: n, Stride: n, Data: q.dense32}, y)
	for b := range x.Rows {
		widen(dst.Data[b*dst.Stride:b*dst.Stride+n], y.Data[b*n:(b+1)*n], add)
	}
	return x32
}

func (q *CirculantQuadratic) general() blas64.General {
	return blas64.General{Rows: q.n, Cols: q.n, Stride: q.n, Data: q.dns}
}

// Value writes φ(x_b) into dst[b].
func (q *CirculantQuadratic) Value(dst []float64, x *mat.Dense) {
	B, _ := x.Dims()
	n := q.n
	if len(q.tmp) < B*n {
		q.tmp = make([]float64, B*n)
	}
	q.build()
	y := blas64.General{Rows: B, Cols: n, Stride: n, Data: q.tmp[:B*n]}
	xr := x.RawMatrix()
	if q.FFT() {
		q.mulSFFT(y, xr, false)
	} else {
		gemm(blas.NoTrans, 1, xr, q.general(), 0, y)
	}
	for b := range B {
		var v float64
		for k, xk := range xr.Data[b*xr.Stride : b*xr.Stride+n] {
			v += 0.5 * xk * y.Data[b*n+k]
		}
		dst[b] = v
	}
}

// GradLaplacian writes S̄x_b into row b of grad and N s(0) into lap[b].
func (q *CirculantQuadratic) GradLaplacian(grad *mat.Dense, lap []float64, x *mat.Dense) {
	B, _ := x.Dims()
	q.build()
	if q.FFT() {
		q.mulSFFT(grad.RawMatrix(), x.RawMatrix(), false)
	} else {
		q.mulS(grad.RawMatrix(), x.RawMatrix(), &q.x32, false)
	}
	tr := float64(q.n) * q.kern()[0]
	for b := range B {
		lap[b] = tr
	}
}

// GradLaplacianVJP adds the vector-Jacobian products (see Potential).
func (q *CirculantQuadratic) GradLaplacianVJP(dx *mat.Dense, dparams []float64, x, lambda *mat.Dense, mu []float64) {
	if q.FFT() {
		q.vjpFFT(dx, dparams, x, lambda, mu)
		return
	}
	n := q.n
	q.ensureDense()
	var l32 blas32.General // λ rounded, with float32 products
	if dx != nil {
		q.build()
		l32 = q.mulS(dx.RawMatrix(), lambda.RawMatrix(), &q.l32, true)
	}
	if dparams == nil {
		return
	}
	if q.prec == Float64 {
		c := blas64.General{Rows: n, Cols: n, Stride: n, Data: q.corr}
		gemm(blas.Trans, 1, lambda.RawMatrix(), x.RawMatrix(), 0, c)
	} else {
		if dx == nil {
			l32 = q.round(&q.l32, lambda.RawMatrix())
		}
		c := blas32.General{Rows: n, Cols: n, Stride: n, Data: q.corr32}
		gemm32(blas.Trans, l32, q.round(&q.x32, x.RawMatrix()), c)
	}
	// With C = Σ_b λ_b x_bᵀ, a(r) = Σ_i C_{i, i+r} and ∂/∂s(r) = ½(a(r) +
	// a(−r)). The rows of C are split into a fixed number of chunks, each
	// gathering along its rows (idx row by row, in memory order) into its
	// own partial sums, which are added in chunk order: the result does
	// not depend on the scheduling.
	chunks := batchSlices(n, n*n)
	if len(q.acc) < chunks*n {
		q.acc = make([]float64, chunks*n)
	}
	parallel.For(chunks, minSliceWork, func(k0, k1 int) {
		for k := k0; k < k1; k++ {
			acc := q.acc[k*n : (k+1)*n]
			clear(acc)
			for i := k * n / chunks; i < (k+1)*n/chunks; i++ {
				idx := q.idx[i*n : (i+1)*n]
				if q.prec == Float64 {
					gatherAdd(acc, q.corr[i*n:(i+1)*n], idx)
				} else {
					gatherAdd(acc, q.corr32[i*n:(i+1)*n], idx)
				}
			}
		}
	})
	for k := 1; k < chunks; k++ {
		for r, v := range q.acc[k*n : (k+1)*n] {
			q.acc[r] += v
		}
	}
	g := dparams // the kernel is the parameters: add in place
	if q.spectral {
		g = q.kgrad
		clear(g)
	}
	for r := range n {
		g[r] += 0.5 * (q.acc[r] + q.acc[q.neg[r]])
	}
	var m float64
	for _, v := range mu {
		m += v
	}
	g[0] += float64(n) * m
	if q.spectral {
		q.kernelToSpectral(dparams, g)
	}
}

// kernelToSpectral adds to dparams the gradient with respect to the
// spectral parameters of the kernel's gradient g: ∂/∂c = Cᵀ ∂/∂s with
// C_rk = γ cos(k·r)/N, that is (γ/N) Re ĝ(k).
func (q *CirculantQuadratic) kernelToSpectral(dparams, g []float64) {
	q.main.Forward(q.spec, g)
	f := q.scale / float64(q.n)
	for k := range dparams {
		dparams[k] += f * real(q.spec[q.halfOf[k]])
	}
}

// gatherAdd adds row[idx[r]] to acc[r] for every r.
func gatherAdd[T float32 | float64](acc []float64, row []T, idx []int) {
	for r, j := range idx {
		acc[r] += float64(row[j])
	}
}
