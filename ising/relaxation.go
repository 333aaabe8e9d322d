package ising

import (
	"errors"
	"fmt"
	"math"
	"sync"

	"gonum.org/v1/gonum/dsp/fourier"
	"gonum.org/v1/gonum/mat"

	"github.com/isingflow/isingflow/internal/parallel"
	"github.com/isingflow/isingflow/lattice"
)

// DefaultDelta is the shift δ of the paper (Zhang, E & Wang 2018): the
// smallest eigenvalue of the shifted coupling K' = K + αI.
const DefaultDelta = 0.1

// maxDenseSites bounds the number of sites of a lattice whose K'⁻¹ must be
// stored as a dense N×N matrix (open boundaries): 4096² float64 is 128 MiB.
const maxDenseSites = 1 << 12

// fftMinSites is the number of sites from which a periodic lattice applies
// K'⁻¹ by FFT rather than by one GEMM with the precomputed dense K'⁻¹.
// Measured with BenchmarkApplyInverseCoupling (L×L, batch 64, 2 cores):
// µs per call, FFT vs dense, 55 vs 5.5 (L=4), 147 vs 54 (L=8), 436 vs 223
// (L=12), 394 vs 330 (L=14), 370 vs 560 (L=16), 4.8e3 vs 1.4e5 (L=64).
// gonum's FFTs of lengths with factors 3 and 5 are slower than of powers of
// two, so the crossover is near N = 256.
const fftMinSites = 256

// inverseMethod selects how K'⁻¹ is applied.
type inverseMethod int

const (
	autoInverse  inverseMethod = iota // FFT on periodic lattices with N ≥ fftMinSites, dense otherwise
	fftInverse                        // FFT (periodic lattices only)
	denseInverse                      // GEMM with the precomputed dense K'⁻¹
)

// Relaxation is the target of the variational problem: the
// Hubbard–Stratonovich continuous relaxation of the Ising model
// E(s) = −J Σ_bonds s_i s_j (J = 1) on a lattice at temperature T,
//
//	ln q̃(x) = −½ xᵀK'⁻¹x + Σ_i ln cosh x_i,   x ∈ R^N,
//
// with K = βA, K' = K + αI and α = δ − λ_min(K), so that the smallest
// eigenvalue of K' is δ. Its normalisation Z_cont = ∫ q̃ is related exactly to
// the Ising partition function by ln Z_Ising = ln Z_cont + c (Constant).
//
// On periodic lattices K' is diagonal in the plane-wave basis and K'⁻¹ is
// applied by FFT in O(N log N) per sample; small periodic lattices and open
// lattices use a precomputed dense K'⁻¹ (open lattices are limited to 4096
// sites for that reason).
//
// A Relaxation keeps workspaces between calls: its batched methods are not
// safe for concurrent use (they parallelise internally). Its scalar
// accessors are.
type Relaxation struct {
	lat              *lattice.Lattice
	n                int
	temp, beta       float64
	delta, alpha     float64
	logDet, constant float64
	eig              []float64 // eigenvalues of K', indexed like the sites
	useFFT           bool
	fft              *fftInverter // periodic lattices only
	dense            *mat.Dense   // K'⁻¹, when !useFFT
	work             *mat.Dense   // B×N workspace for LogDensity
	workData         []float64
	workRows         int
	sqrt             *sqrtCoupling // for FieldGivenSpins, built on first use
}

// NewRelaxation returns the relaxation of the Ising model with J = 1 on lat
// at temperature T > 0, with shift δ > 0 (DefaultDelta in the paper).
func NewRelaxation(lat *lattice.Lattice, T, delta float64) (*Relaxation, error) {
	return newRelaxation(lat, T, delta, autoInverse)
}

func newRelaxation(lat *lattice.Lattice, T, delta float64, method inverseMethod) (*Relaxation, error) {
	if lat == nil {
		return nil, errors.New("ising: relaxation: nil lattice")
	}
	if !(T > 0) || math.IsInf(T, 1) {
		return nil, fmt.Errorf("ising: relaxation: temperature %v, need a finite T > 0", T)
	}
	if !(delta > 0) || math.IsInf(delta, 1) {
		return nil, fmt.Errorf("ising: relaxation: shift δ = %v, need a finite δ > 0", delta)
	}
	periodic := lat.Boundary() == lattice.Periodic
	n := lat.N()
	if err := CheckTemperature(T, lat.Dim(), int64(n), delta); err != nil {
		return nil, fmt.Errorf("ising: relaxation: temperature %g %v", T, err)
	}
	useFFT := periodic && (method == fftInverse || (method == autoInverse && n >= fftMinSites))
	if method == fftInverse && !periodic {
		return nil, fmt.Errorf("ising: relaxation: FFT inverse needs a periodic lattice, have %v", lat)
	}
	if !useFFT && n > maxDenseSites {
		return nil, fmt.Errorf("ising: relaxation: %v has %d sites, too many for a dense K'⁻¹ (at most %d); use periodic boundaries", lat, n, maxDenseSites)
	}

	beta := 1 / T
	// K = βA with β > 0, so λ_min(K) = β λ_min(A).
	alpha := delta - beta*lat.MinAdjacencyEigenvalue()
	eig := lat.AdjacencySpectrum()
	logDet := 0.0
	for i, l := range eig {
		eig[i] = beta*l + alpha
		logDet += math.Log(eig[i])
	}
	N := float64(n)
	r := &Relaxation{
		lat:      lat,
		n:        n,
		temp:     T,
		beta:     beta,
		delta:    delta,
		alpha:    alpha,
		logDet:   logDet,
		constant: 0.5*N*(2*math.Ln2-alpha-math.Log(2*math.Pi)) - 0.5*logDet,
		eig:      eig,
		useFFT:   useFFT,
	}
	if periodic {
		r.fft = newFFTInverter(lat, eig)
	}
	if !useFFT {
		var err error
		if periodic {
			r.dense = r.fft.denseInverse(lat)
		} else {
			r.dense, err = choleskyInverse(lat, beta, alpha)
		}
		if err != nil {
			return nil, err
		}
	}
	return r, nil
}

// shiftedCoupling returns K' = βA + αI as a dense symmetric matrix.
func shiftedCoupling(lat *lattice.Lattice, beta, alpha float64) *mat.SymDense {
	k := lat.Coupling(beta, 1)
	for i := 0; i < lat.N(); i++ {
		k.SetSym(i, i, k.At(i, i)+alpha)
	}
	return k
}

// choleskyInverse returns K'⁻¹ = (βA + αI)⁻¹ as a dense matrix.
func choleskyInverse(lat *lattice.Lattice, beta, alpha float64) (*mat.Dense, error) {
	k := shiftedCoupling(lat, beta, alpha)
	var ch mat.Cholesky
	if !ch.Factorize(k) {
		return nil, fmt.Errorf("ising: relaxation: shifted coupling of %v is not positive definite", lat)
	}
	var inv mat.SymDense
	if err := ch.InverseTo(&inv); err != nil {
		return nil, fmt.Errorf("ising: relaxation: inverting the shifted coupling of %v: %w", lat, err)
	}
	d := mat.NewDense(lat.N(), lat.N(), nil)
	d.Copy(&inv)
	return d, nil
}

// String describes the relaxation, for example
// "Ising relaxation on 16x16 periodic, T = 2.269, δ = 0.1, α = 1.863, K'⁻¹ by FFT".
func (r *Relaxation) String() string {
	how := "dense"
	if r.useFFT {
		how = "FFT"
	}
	return fmt.Sprintf("Ising relaxation on %v, T = %.4g, δ = %.4g, α = %.4g, K'⁻¹ by %s", r.lat, r.temp, r.delta, r.alpha, how)
}

// Lattice returns the lattice.
func (r *Relaxation) Lattice() *lattice.Lattice { return r.lat }

// N returns the number of sites, the dimension of x.
func (r *Relaxation) N() int { return r.n }

// Temperature returns T.
func (r *Relaxation) Temperature() float64 { return r.temp }

// Beta returns β = 1/T.
func (r *Relaxation) Beta() float64 { return r.beta }

// Delta returns the shift δ, the smallest eigenvalue of K'.
func (r *Relaxation) Delta() float64 { return r.delta }

// Alpha returns α = δ − λ_min(K), the multiple of the identity added to K.
func (r *Relaxation) Alpha() float64 { return r.alpha }

// LogDetShiftedCoupling returns ln det K' = Σ_k ln(βλ_k + α) from the
// closed-form spectrum λ_k of the adjacency matrix.
func (r *Relaxation) LogDetShiftedCoupling() float64 { return r.logDet }

// ShiftedCouplingEigenvalues writes the N eigenvalues βλ_k + α of K' into
// dst (allocated when nil or too short), indexed like the sites as in
// lattice.AdjacencySpectrum, and returns it.
func (r *Relaxation) ShiftedCouplingEigenvalues(dst []float64) []float64 {
	if cap(dst) < r.n {
		dst = make([]float64, r.n)
	}
	dst = dst[:r.n]
	copy(dst, r.eig)
	return dst
}

// Constant returns c = ½N(ln 4 − α − ln 2π) − ½ ln det K', the exact offset
// ln Z_Ising = ln Z_cont + c between the Ising and the continuous partition
// functions.
func (r *Relaxation) Constant() float64 { return r.constant }

// ContinuousLnZ returns ln Z_cont = ln Z_Ising − c.
func (r *Relaxation) ContinuousLnZ(lnZIsing float64) float64 { return lnZIsing - r.constant }

// IsingLnZ returns ln Z_Ising = ln Z_cont + c.
func (r *Relaxation) IsingLnZ(lnZCont float64) float64 { return lnZCont + r.constant }

// BetaFreeEnergyPerSite converts a free energy F_cont of the continuous
// problem (−ln Z_cont, or a variational bound E_p[ln p − ln q̃] ≥ −ln Z_cont)
// into the Ising free energy per site times β: βf = (F_cont − c)/N.
func (r *Relaxation) BetaFreeEnergyPerSite(fCont float64) float64 {
	return (fCont - r.constant) / float64(r.n)
}

// LogDensity writes the unnormalised log-density ln q̃(x_b) of every row x_b
// of the B×N batch x into dst[b].
func (r *Relaxation) LogDensity(dst []float64, x *mat.Dense) {
	rows := r.checkBatch(x, "x")
	if len(dst) != rows {
		panic(fmt.Sprintf("ising: LogDensity: len(dst) = %d, want %d", len(dst), rows))
	}
	y := r.workspace(rows)
	r.ApplyInverseCoupling(y, x)
	r.finish(dst, nil, x, y)
}

// LogDensityGrad writes the gradient ∇ln q̃(x_b) = −K'⁻¹x_b + tanh x_b into
// row b of grad (B×N) and, when dst is not nil, ln q̃(x_b) into dst[b]. grad
// must not share storage with x.
func (r *Relaxation) LogDensityGrad(dst []float64, grad, x *mat.Dense) {
	rows := r.checkBatch(x, "x")
	if dst != nil && len(dst) != rows {
		panic(fmt.Sprintf("ising: LogDensityGrad: len(dst) = %d, want %d", len(dst), rows))
	}
	r.ApplyInverseCoupling(grad, x)
	r.finish(dst, grad, x, grad)
}

// finish computes, from x and y = K'⁻¹x, the log-density into dst (if not
// nil) and the gradient tanh x − y into grad (if not nil; grad may be y).
func (r *Relaxation) finish(dst []float64, grad, x, y *mat.Dense) {
	rows, n := x.Dims()
	xr, yr := x.RawMatrix(), y.RawMatrix()
	var gr = yr
	if grad != nil {
		gr = grad.RawMatrix()
	}
	parallel.For(rows, 16*n, func(lo, hi int) {
		for b := lo; b < hi; b++ {
			xb := xr.Data[b*xr.Stride : b*xr.Stride+n]
			yb := yr.Data[b*yr.Stride : b*yr.Stride+n]
			switch {
			case grad == nil:
				quad, lc := 0.0, 0.0
				for i, v := range xb {
					quad += v * yb[i]
					lc += logCosh(v)
				}
				dst[b] = lc - 0.5*quad
			case dst == nil:
				gb := gr.Data[b*gr.Stride : b*gr.Stride+n]
				for i, v := range xb {
					gb[i] = math.Tanh(v) - yb[i]
				}
			default:
				gb := gr.Data[b*gr.Stride : b*gr.Stride+n]
				quad, lc := 0.0, 0.0
				for i, v := range xb {
					quad += v * yb[i]
					l, t := logCoshTanh(v)
					lc += l
					gb[i] = t - yb[i] // gb may be yb: read before write
				}
				dst[b] = lc - 0.5*quad
			}
		}
	})
}

// ApplyInverseCoupling writes K'⁻¹x_b into row b of dst for every row x_b of
// the B×N batch x. dst must not share storage with x.
func (r *Relaxation) ApplyInverseCoupling(dst, x *mat.Dense) {
	rows := r.checkBatch(x, "x")
	if dr, dc := dst.Dims(); dr != rows || dc != r.n {
		panic(fmt.Sprintf("ising: destination is %d×%d, want %d×%d", dr, dc, rows, r.n))
	}
	if dst == x {
		panic("ising: ApplyInverseCoupling: dst and x are the same matrix")
	}
	if r.useFFT {
		r.fft.applyRows(dst, x)
		return
	}
	// K'⁻¹ is symmetric: row b of x·K'⁻¹ is (K'⁻¹x_b)ᵀ.
	dst.Mul(x, r.dense)
}

func (r *Relaxation) checkBatch(x *mat.Dense, name string) int {
	rows, cols := x.Dims()
	if cols != r.n {
		panic(fmt.Sprintf("ising: %s has %d columns, want N = %d", name, cols, r.n))
	}
	return rows
}

// workspace returns a rows×N matrix, reusing storage between calls.
func (r *Relaxation) workspace(rows int) *mat.Dense {
	if r.work != nil && r.workRows == rows {
		return r.work
	}
	if cap(r.workData) < rows*r.n {
		r.workData = make([]float64, rows*r.n)
	}
	r.work = mat.NewDense(rows, r.n, r.workData[:rows*r.n])
	r.workRows = rows
	return r.work
}

// logCosh returns ln cosh x = |x| + log1p(exp(−2|x|)) − ln 2 without
// overflow.
func logCosh(x float64) float64 {
	a := math.Abs(x)
	return a + math.Log1p(math.Exp(-2*a)) - math.Ln2
}

// logCoshTanh returns ln cosh x and tanh x from one call to expm1:
// with m = expm1(−2|x|), tanh|x| = −m/(2+m) and
// ln cosh x = |x| + log1p(1+m) − ln 2.
func logCoshTanh(x float64) (lc, th float64) {
	a := math.Abs(x)
	m := math.Expm1(-2 * a)
	lc = a + math.Log1p(1+m) - math.Ln2
	th = -m / (2 + m)
	if x < 0 {
		th = -th
	}
	return lc, th
}

// fftInverter applies K'⁻¹ on a periodic lattice by a separable
// d-dimensional FFT: a real FFT along the last axis (L/2+1 coefficients),
// complex FFTs along the others, division by the eigenvalue, and back.
type fftInverter struct {
	shape []int
	n     int
	half  int       // L_last/2 + 1
	m     int       // number of half-spectrum coefficients, n/L_last·half
	scale []float64 // 1/(N μ(k)) on the half spectrum
	cost  int       // work per row, for parallel.For

	mu   sync.Mutex
	free []*fftWork // workspaces, one per concurrently running chunk
}

// fftWork is the workspace of one goroutine.
type fftWork struct {
	spec  []complex128
	line  []complex128
	real  *fourier.FFT
	cmplx []*fourier.CmplxFFT // per axis, except the last
}

func newFFTInverter(lat *lattice.Lattice, eig []float64) *fftInverter {
	shape := lat.Shape()
	d := len(shape)
	last := shape[d-1]
	half := last/2 + 1
	n := lat.N()
	m := n / last * half
	f := &fftInverter{shape: shape, n: n, half: half, m: m, scale: make([]float64, m)}
	for i := range f.scale {
		// Coefficient i has coordinates (k_0 … k_{d−2}, k_last) with
		// k_last = i mod half: the same wave vector as site rest·L_last + k_last.
		site := i/half*last + i%half
		f.scale[i] = 1 / (float64(n) * eig[site])
	}
	logN := 1
	for 1<<logN < n {
		logN++
	}
	f.cost = 4 * n * logN
	return f
}

func (f *fftInverter) get() *fftWork {
	f.mu.Lock()
	if k := len(f.free); k > 0 {
		w := f.free[k-1]
		f.free = f.free[:k-1]
		f.mu.Unlock()
		return w
	}
	f.mu.Unlock()
	d := len(f.shape)
	maxLen := 0
	w := &fftWork{
		spec:  make([]complex128, f.m),
		real:  fourier.NewFFT(f.shape[d-1]),
		cmplx: make([]*fourier.CmplxFFT, d-1),
	}
	for a := 0; a < d-1; a++ {
		w.cmplx[a] = fourier.NewCmplxFFT(f.shape[a])
		maxLen = max(maxLen, f.shape[a])
	}
	w.line = make([]complex128, maxLen)
	return w
}

func (f *fftInverter) put(w *fftWork) {
	f.mu.Lock()
	f.free = append(f.free, w)
	f.mu.Unlock()
}

// applyRows writes K'⁻¹x_b into row b of dst, in parallel over rows.
func (f *fftInverter) applyRows(dst, x *mat.Dense) {
	rows, _ := x.Dims()
	xr, dr := x.RawMatrix(), dst.RawMatrix()
	n := f.n
	parallel.For(rows, f.cost, func(lo, hi int) {
		w := f.get()
		for b := lo; b < hi; b++ {
			f.apply(dr.Data[b*dr.Stride:b*dr.Stride+n], xr.Data[b*xr.Stride:b*xr.Stride+n], w)
		}
		f.put(w)
	})
}

// apply writes K'⁻¹x into dst (both of length N) using the workspace w.
func (f *fftInverter) apply(dst, x []float64, w *fftWork) {
	d := len(f.shape)
	last, half := f.shape[d-1], f.half
	spec := w.spec
	lines := f.n / last
	for l := 0; l < lines; l++ {
		w.real.Coefficients(spec[l*half:(l+1)*half], x[l*last:(l+1)*last])
	}
	f.transformOtherAxes(w, true)
	for i, s := range f.scale {
		spec[i] *= complex(s, 0)
	}
	f.transformOtherAxes(w, false)
	for l := 0; l < lines; l++ {
		w.real.Sequence(dst[l*last:(l+1)*last], spec[l*half:(l+1)*half])
	}
}

// transformOtherAxes applies the forward (or backward) complex FFT along
// every axis but the last to the half spectrum in w.spec, whose shape is
// (L_0, …, L_{d−2}, half) in row-major order.
func (f *fftInverter) transformOtherAxes(w *fftWork, forward bool) {
	spec := w.spec
	stride := f.half
	for a := len(f.shape) - 2; a >= 0; a-- {
		la := f.shape[a]
		line := w.line[:la]
		t := w.cmplx[a]
		outer := f.m / (la * stride)
		for o := 0; o < outer; o++ {
			for in := 0; in < stride; in++ {
				base := o*la*stride + in
				for j := range line {
					line[j] = spec[base+j*stride]
				}
				if forward {
					t.Coefficients(line, line)
				} else {
					t.Sequence(line, line)
				}
				for j, v := range line {
					spec[base+j*stride] = v
				}
			}
		}
		stride *= la
	}
}

// denseInverse returns the dense K'⁻¹ of a periodic lattice. K'⁻¹ is a
// function of the separation only, (K'⁻¹)_ij = g(r_j − r_i mod L), and
// g = K'⁻¹e_0 is one FFT solve.
func (f *fftInverter) denseInverse(lat *lattice.Lattice) *mat.Dense {
	n := f.n
	e0 := make([]float64, n)
	e0[0] = 1
	g := make([]float64, n)
	w := f.get()
	f.apply(g, e0, w)
	f.put(w)
	d := len(f.shape)
	coords := make([]int, n*d)
	for i := 0; i < n; i++ {
		lat.Coords(i, coords[i*d:(i+1)*d])
	}
	inv := mat.NewDense(n, n, nil)
	raw := inv.RawMatrix()
	parallel.For(n, n*d, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			ri := coords[i*d : (i+1)*d]
			row := raw.Data[i*raw.Stride : i*raw.Stride+n]
			for j := range row {
				rj := coords[j*d : (j+1)*d]
				k := 0
				for a, l := range f.shape {
					k = k*l + (rj[a]-ri[a]+l)%l
				}
				row[j] = g[k]
			}
		}
	})
	return inv
}
