package flow

import (
	"fmt"
	"slices"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/gonum/mat"

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
// Parameters: the kernel s, indexed by the site whose coordinates are r.
// The products use the dense S̄ (B·N² per call), rebuilt (O(N²)) when
// the kernel has changed since the last call, so this is meant for N up to
// a few thousand.
type CirculantQuadratic struct {
	n     int
	s     []float64
	idx   []int // idx[i*n+r] = site of r_i + r
	neg   []int // neg[r] = site of −r
	dense []float64
	built []float64 // the kernel dense was built from; nil before the first build
	corr  []float64
	acc   []float64 // partial sums of the kernel's gradient, per chunk of rows
	tmp   []float64
}

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
	coords := func(i int, c []int) {
		for a := d - 1; a >= 0; a-- {
			c[a] = i % shape[a]
			i /= shape[a]
		}
	}
	index := func(c []int) int {
		i := 0
		for a := range d {
			i = i*shape[a] + ((c[a]%shape[a])+shape[a])%shape[a]
		}
		return i
	}
	q := &CirculantQuadratic{n: n, s: make([]float64, n), idx: make([]int, n*n), neg: make([]int, n),
		dense: make([]float64, n*n), corr: make([]float64, n*n)}
	ci, cr, cs := make([]int, d), make([]int, d), make([]int, d)
	for r := range n {
		coords(r, cr)
		for a := range d {
			cs[a] = -cr[a]
		}
		q.neg[r] = index(cs)
	}
	for i := range n {
		coords(i, ci)
		for r := range n {
			coords(r, cr)
			for a := range d {
				cs[a] = ci[a] + cr[a]
			}
			q.idx[i*n+r] = index(cs)
		}
	}
	return q
}

// Dim returns N.
func (q *CirculantQuadratic) Dim() int { return q.n }

// Params returns the kernel s (aliasing the potential).
func (q *CirculantQuadratic) Params() []float64 { return q.s }

// Matrix writes the dense S̄ into dst (N×N).
func (q *CirculantQuadratic) Matrix(dst *mat.Dense) {
	q.build()
	n := q.n
	for i := range n {
		for j := range n {
			dst.Set(i, j, q.dense[i*n+j])
		}
	}
}

func (q *CirculantQuadratic) build() {
	if q.built != nil && slices.Equal(q.built, q.s) {
		return
	}
	q.built = append(q.built[:0], q.s...)
	n := q.n
	for i := range n {
		row := q.dense[i*n : (i+1)*n]
		for r := range n {
			row[q.idx[i*n+r]] = 0.5 * (q.s[r] + q.s[q.neg[r]])
		}
	}
}

func (q *CirculantQuadratic) general() blas64.General {
	return blas64.General{Rows: q.n, Cols: q.n, Stride: q.n, Data: q.dense}
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
	gemm(blas.NoTrans, 1, xr, q.general(), 0, y)
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
	gemm(blas.NoTrans, 1, x.RawMatrix(), q.general(), 0, grad.RawMatrix())
	tr := float64(q.n) * q.s[0]
	for b := range B {
		lap[b] = tr
	}
}

// GradLaplacianVJP adds the vector-Jacobian products (see Potential).
func (q *CirculantQuadratic) GradLaplacianVJP(dx *mat.Dense, dparams []float64, x, lambda *mat.Dense, mu []float64) {
	n := q.n
	if dx != nil {
		q.build()
		gemm(blas.NoTrans, 1, lambda.RawMatrix(), q.general(), 1, dx.RawMatrix())
	}
	if dparams == nil {
		return
	}
	c := blas64.General{Rows: n, Cols: n, Stride: n, Data: q.corr}
	gemm(blas.Trans, 1, lambda.RawMatrix(), x.RawMatrix(), 0, c)
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
				row, idx := q.corr[i*n:(i+1)*n], q.idx[i*n:(i+1)*n]
				for r, j := range idx {
					acc[r] += row[j]
				}
			}
		}
	})
	for k := 1; k < chunks; k++ {
		for r, v := range q.acc[k*n : (k+1)*n] {
			q.acc[r] += v
		}
	}
	for r := range n {
		dparams[r] += 0.5 * (q.acc[r] + q.acc[q.neg[r]])
	}
	var m float64
	for _, v := range mu {
		m += v
	}
	dparams[0] += float64(n) * m
}
