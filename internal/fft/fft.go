// Package fft is the module's one discrete Fourier transform: the real
// d-dimensional transform of an array on a periodic torus, which package
// symmetry's convolutions and package flow's circulant quadratic potential
// both use.
package fft

import (
	"fmt"
	"math"
	"math/bits"
	"slices"

	"gonum.org/v1/gonum/dsp/fourier"
)

// ND is a d-dimensional real-to-half-complex discrete Fourier transform
// on an L_0 × … × L_{d−1} array stored row-major, separable over the axes:
// a real transform along the last axis (L_{d−1}/2+1 coefficients) followed
// by complex transforms along every other axis. The spectrum is stored
// row-major with shape L_0 × … × L_{d−2} × (L_{d−1}/2+1).
//
//	forward:  X̂(k) = Σ_r x(r) e^{−2πi k·r/L}
//	inverse:  x(r) = (1/N) Σ_k X̂(k) e^{+2πi k·r/L}   (over the full spectrum)
//
// Axes whose length is a power of two use the radix-2 transform below
// (about three times faster than gonum's dsp/fourier at length 16): the
// real rows are transformed two at a time as one complex sequence
// x_r + i x_{r+1}, and the other axes are transformed a whole row of
// coefficients at a time. Other lengths use gonum's dsp/fourier.
//
// An ND holds scratch space and is not safe for concurrent use: give each
// goroutine its own.
type ND struct {
	shape   []int
	n       int   // number of real points
	last    int   // L_{d−1}
	half    int   // L_{d−1}/2 + 1
	m       int   // number of complex coefficients
	rows    int   // n / last
	strides []int // spectrum strides of axes 0 … d−2

	rowR2 *radix2      // last axis, power of two
	rfft  *fourier.FFT // last axis otherwise
	z     []complex128 // L_{d−1} scratch for pairs of rows

	axR2 []*radix2           // axes 0 … d−2, nil when not a power of two
	cfft []*fourier.CmplxFFT // axes 0 … d−2 otherwise
	col  []complex128
	spec []complex128 // scratch for the inverse
}

func isPow2(n int) bool { return n > 0 && n&(n-1) == 0 }

// New returns the transform of arrays of the given shape (row-major, the
// last axis fastest). It panics on an empty shape or a length below 1.
func New(shape []int) *ND {
	d := len(shape)
	if d == 0 {
		panic("fft: New: empty shape")
	}
	for _, l := range shape {
		if l < 1 {
			panic(fmt.Sprintf("fft: New: bad shape %v", shape))
		}
	}
	shape = slices.Clone(shape)
	f := &ND{shape: shape, last: shape[d-1]}
	f.half = f.last/2 + 1
	f.n = 1
	for _, l := range shape {
		f.n *= l
	}
	f.rows = f.n / f.last
	f.m = f.rows * f.half
	if isPow2(f.last) {
		f.rowR2 = newRadix2(f.last)
		f.z = make([]complex128, f.last)
	} else {
		f.rfft = fourier.NewFFT(f.last)
	}
	f.strides = make([]int, d-1)
	s := f.half
	maxLen := 0
	for a := d - 2; a >= 0; a-- {
		f.strides[a] = s
		s *= shape[a]
		maxLen = max(maxLen, shape[a])
	}
	f.axR2 = make([]*radix2, d-1)
	f.cfft = make([]*fourier.CmplxFFT, d-1)
	for a := range d - 1 {
		if isPow2(shape[a]) {
			f.axR2[a] = newRadix2(shape[a])
		} else {
			f.cfft[a] = fourier.NewCmplxFFT(shape[a])
		}
	}
	f.col = make([]complex128, maxLen)
	f.spec = make([]complex128, f.m)
	return f
}

// Len returns N, the number of real points.
func (f *ND) Len() int { return f.n }

// SpectrumLen returns the number of stored complex coefficients,
// L_0 × … × L_{d−2} × (L_{d−1}/2+1).
func (f *ND) SpectrumLen() int { return f.m }

// Half returns L_{d−1}/2+1, the stored coefficients along the last axis.
func (f *ND) Half() int { return f.half }

// Forward writes the half spectrum of x (length Len) into dst (length
// SpectrumLen).
func (f *ND) Forward(dst []complex128, x []float64) {
	L, h := f.last, f.half
	if f.rowR2 == nil {
		for r := 0; r < f.rows; r++ {
			f.rfft.Coefficients(dst[r*h:(r+1)*h], x[r*L:(r+1)*L])
		}
	} else {
		z := f.z
		for r := 0; r < f.rows; r += 2 {
			x0 := x[r*L : (r+1)*L]
			if r+1 == f.rows {
				for j, v := range x0 {
					z[j] = complex(v, 0)
				}
				f.rowR2.forward(z)
				copy(dst[r*h:(r+1)*h], z)
				break
			}
			x1 := x[(r+1)*L : (r+2)*L]
			for j, v := range x0 {
				z[j] = complex(v, x1[j])
			}
			f.rowR2.forward(z)
			// Z = X0 + i X1 with X0, X1 Hermitian: X0(k) = (Z(k) + Z̄(−k))/2,
			// X1(k) = (Z(k) − Z̄(−k))/(2i).
			d0 := dst[r*h : (r+1)*h]
			d1 := dst[(r+1)*h : (r+2)*h]
			for k := range h {
				a := z[k]
				b := z[(L-k)&(L-1)]
				d0[k] = complex((real(a)+real(b))/2, (imag(a)-imag(b))/2)
				d1[k] = complex((imag(a)+imag(b))/2, (real(b)-real(a))/2)
			}
		}
	}
	for a := range f.axR2 {
		f.alongAxis(dst, a, false)
	}
}

// Inverse writes the real array whose half spectrum is src into dst,
// normalised so that Inverse(Forward(x)) = x. src is not modified. The
// imaginary parts of the coefficients that must be real (zero and Nyquist
// frequencies of the last axis) are ignored.
func (f *ND) Inverse(dst []float64, src []complex128) {
	L, h := f.last, f.half
	spec := src
	if len(f.axR2) > 0 {
		copy(f.spec, src)
		spec = f.spec
		for a := range f.axR2 {
			f.alongAxis(spec, a, true)
		}
	}
	if f.rowR2 == nil {
		for r := 0; r < f.rows; r++ {
			f.rfft.Sequence(dst[r*L:(r+1)*L], spec[r*h:(r+1)*h])
		}
	} else {
		z := f.z
		for r := 0; r < f.rows; r += 2 {
			s0 := spec[r*h : (r+1)*h]
			var s1 []complex128
			if r+1 < f.rows {
				s1 = spec[(r+1)*h : (r+2)*h]
			}
			// Z(k) = X0(k) + i X1(k) over the full range of k, with
			// X(L−k) = X̄(k).
			for k := range h {
				a := s0[k]
				var b complex128
				if s1 != nil {
					b = s1[k]
				}
				if k == 0 || 2*k == L {
					a = complex(real(a), 0)
					b = complex(real(b), 0)
				}
				z[k] = complex(real(a)-imag(b), imag(a)+real(b))
				if k > 0 && 2*k < L {
					z[L-k] = complex(real(a)+imag(b), real(b)-imag(a))
				}
			}
			f.rowR2.inverse(z)
			d0 := dst[r*L : (r+1)*L]
			for j := range d0 {
				d0[j] = real(z[j])
			}
			if s1 != nil {
				d1 := dst[(r+1)*L : (r+2)*L]
				for j := range d1 {
					d1[j] = imag(z[j])
				}
			}
		}
	}
	inv := 1 / float64(f.n)
	for i := range dst[:f.n] {
		dst[i] *= inv
	}
}

// alongAxis transforms every line of the spectrum along axis a (< d−1).
func (f *ND) alongAxis(spec []complex128, a int, inverse bool) {
	l := f.shape[a]
	st := f.strides[a]
	if r2 := f.axR2[a]; r2 != nil {
		for outer := 0; outer < f.m; outer += l * st {
			r2.lines(spec[outer:outer+l*st], st, inverse)
		}
		return
	}
	col := f.col[:l]
	// Lines along axis a start at every index whose axis-a coordinate is 0:
	// outer blocks of size l·st, inner offsets 0 … st−1.
	for outer := 0; outer < f.m; outer += l * st {
		for in := 0; in < st; in++ {
			base := outer + in
			for i := range col {
				col[i] = spec[base+i*st]
			}
			if inverse {
				f.cfft[a].Sequence(col, col)
			} else {
				f.cfft[a].Coefficients(col, col)
			}
			for i, v := range col {
				spec[base+i*st] = v
			}
		}
	}
}

// radix2 is an unnormalised in-place radix-2 decimation-in-time complex
// FFT of a power-of-two length n.
type radix2 struct {
	n       int
	rev     []int
	tw, itw []complex128 // e^{∓2πij/n}, j < n/2
}

func newRadix2(n int) *radix2 {
	f := &radix2{n: n, rev: make([]int, n), tw: make([]complex128, n/2), itw: make([]complex128, n/2)}
	nb := bits.Len(uint(n)) - 1
	for i := range n {
		if nb > 0 {
			f.rev[i] = int(bits.Reverse(uint(i)) >> (bits.UintSize - nb))
		}
	}
	for j := range f.tw {
		s, c := math.Sincos(2 * math.Pi * float64(j) / float64(n))
		f.tw[j] = complex(c, -s)
		f.itw[j] = complex(c, s)
	}
	return f
}

func (f *radix2) forward(x []complex128) { f.do(x, f.tw) }
func (f *radix2) inverse(x []complex128) { f.do(x, f.itw) }

// do transforms x (length n) with the twiddles tw.
func (f *radix2) do(x []complex128, tw []complex128) {
	n := f.n
	x = x[:n]
	for i, r := range f.rev {
		if i < r {
			x[i], x[r] = x[r], x[i]
		}
	}
	for i := 0; i+1 < n; i += 2 {
		a, b := x[i], x[i+1]
		x[i], x[i+1] = a+b, a-b
	}
	for size := 4; size <= n; size <<= 1 {
		half := size / 2
		step := n / size
		for start := 0; start < n; start += size {
			lo := x[start : start+half]
			hi := x[start+half : start+size]
			for j := range lo {
				b := hi[j] * tw[j*step]
				a := lo[j]
				lo[j] = a + b
				hi[j] = a - b
			}
		}
	}
}

// lines transforms the n rows of length st of x (n·st entries, row-major)
// along the row index: st independent sequences, processed a row at a time.
func (f *radix2) lines(x []complex128, st int, inverse bool) {
	n := f.n
	tw := f.tw
	if inverse {
		tw = f.itw
	}
	for i, r := range f.rev {
		if i < r {
			a := x[i*st : (i+1)*st]
			b := x[r*st : (r+1)*st]
			for k := range a {
				a[k], b[k] = b[k], a[k]
			}
		}
	}
	for size := 2; size <= n; size <<= 1 {
		half := size / 2
		step := n / size
		for start := 0; start < n; start += size {
			for j := range half {
				lo := x[(start+j)*st : (start+j+1)*st]
				hi := x[(start+j+half)*st : (start+j+half+1)*st]
				if j == 0 {
					for k, a := range lo {
						b := hi[k]
						lo[k] = a + b
						hi[k] = a - b
					}
					continue
				}
				w := tw[j*step]
				for k, a := range lo {
					b := hi[k] * w
					lo[k] = a + b
					hi[k] = a - b
				}
			}
		}
	}
}
