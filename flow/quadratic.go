package flow

import (
	"fmt"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/gonum/mat"
)

// Quadratic is the potential
//
//	φ(x) = ½ xᵀ S̄ x + c·x,   S̄ = (S + Sᵀ)/2,
//
// whose flow is linear: ∇φ = S̄x + c, ∇²φ = tr S, and for c = 0
// x(t) = e^{tS̄} z, so the pushforward of N(0, I) at time T is
// N(0, e^{2TS̄}) and ln p(x_T) = ln p₀(z) − T tr S exactly. The tests use it
// as an exact solution, and it can serve as a learnable quadratic part of a
// potential.
//
// The parameters are the N² entries of S (row-major), followed by the N
// entries of c when the potential has a linear term. Only the symmetric
// part of S enters φ, so the parameter gradient is symmetric:
//
//	∂/∂S_ij [λ·∇φ(x) + μ ∇²φ(x)] = ½(λ_i x_j + λ_j x_i) + μ δ_ij,
//	∂/∂c_i  [λ·∇φ(x) + μ ∇²φ(x)] = λ_i,
//
// and the input adjoint is λ·∂∇φ/∂x = S̄λ (the Laplacian does not depend
// on x).
//
// A Quadratic keeps workspaces sized for the largest batch seen and is not
// safe for concurrent use.
type Quadratic struct {
	n     int
	theta []float64 // [S (n×n) | c (n, optional)]
	s     []float64 // S, aliases theta
	c     []float64 // c, aliases theta; nil without linear term
	sym   []float64 // S̄, recomputed on every call
	tmp   []float64 // B×n workspace of Value
}

// NewQuadratic returns the quadratic potential with matrix s (N×N, copied;
// only its symmetric part matters) and linear term c (copied), or no linear
// term when c is nil. It panics if s is not square or len(c) is not N.
func NewQuadratic(s mat.Matrix, c []float64) *Quadratic {
	r, k := s.Dims()
	if r != k || r < 1 {
		panic(fmt.Sprintf("flow: NewQuadratic: S is %d×%d, want square", r, k))
	}
	if c != nil && len(c) != r {
		panic(fmt.Sprintf("flow: NewQuadratic: len(c) = %d, want %d", len(c), r))
	}
	n := r
	size := n * n
	if c != nil {
		size += n
	}
	q := &Quadratic{n: n, theta: make([]float64, size), sym: make([]float64, n*n)}
	q.s = q.theta[: n*n : n*n]
	for i := range n {
		for j := range n {
			q.s[i*n+j] = s.At(i, j)
		}
	}
	if c != nil {
		q.c = q.theta[n*n:]
		copy(q.c, c)
	}
	return q
}

// Dim returns the input dimension N.
func (q *Quadratic) Dim() int { return q.n }

// Params returns the parameters [S (row-major N×N), c (if any)]; the slice
// aliases the potential.
func (q *Quadratic) Params() []float64 { return q.theta }

// HasLinear reports whether the potential has the linear term c.
func (q *Quadratic) HasLinear() bool { return q.c != nil }

// Symmetric returns a new matrix holding S̄ = (S + Sᵀ)/2.
func (q *Quadratic) Symmetric() *mat.SymDense {
	q.symmetrise()
	return mat.NewSymDense(q.n, append([]float64(nil), q.sym...))
}

// Linear returns the linear term c (aliasing Params), or nil.
func (q *Quadratic) Linear() []float64 { return q.c }

func (q *Quadratic) symmetrise() {
	n := q.n
	for i := range n {
		for j := i; j < n; j++ {
			v := 0.5 * (q.s[i*n+j] + q.s[j*n+i])
			q.sym[i*n+j], q.sym[j*n+i] = v, v
		}
	}
}

func (q *Quadratic) symGeneral() blas64.General {
	return blas64.General{Rows: q.n, Cols: q.n, Stride: q.n, Data: q.sym}
}

func (q *Quadratic) checkX(method string, x *mat.Dense) int {
	B, c := x.Dims()
	if c != q.n {
		panic(fmt.Sprintf("flow: Quadratic.%s: x has %d columns, want %d", method, c, q.n))
	}
	return B
}

// Value writes φ(x_b) into dst[b] for every row x_b of x.
func (q *Quadratic) Value(dst []float64, x *mat.Dense) {
	B := q.checkX("Value", x)
	if len(dst) != B {
		panic(fmt.Sprintf("flow: Quadratic.Value: len(dst) = %d, want %d", len(dst), B))
	}
	n := q.n
	if len(q.tmp) < B*n {
		q.tmp = make([]float64, B*n)
	}
	q.symmetrise()
	y := blas64.General{Rows: B, Cols: n, Stride: n, Data: q.tmp[:B*n]}
	xr := x.RawMatrix()
	gemm(blas.NoTrans, 1, xr, q.symGeneral(), 0, y)
	for b := range B {
		xb := xr.Data[b*xr.Stride : b*xr.Stride+n]
		yb := y.Data[b*n : (b+1)*n]
		var v float64
		for k, xk := range xb {
			v += 0.5 * xk * yb[k]
			if q.c != nil {
				v += q.c[k] * xk
			}
		}
		dst[b] = v
	}
}

// GradLaplacian writes ∇φ(x_b) = S̄x_b + c into row b of grad and
// ∇²φ = tr S into lap[b].
func (q *Quadratic) GradLaplacian(grad *mat.Dense, lap []float64, x *mat.Dense) {
	B := q.checkX("GradLaplacian", x)
	if r, c := grad.Dims(); r != B || c != q.n {
		panic(fmt.Sprintf("flow: Quadratic.GradLaplacian: grad is %d×%d, want %d×%d", r, c, B, q.n))
	}
	if len(lap) != B {
		panic(fmt.Sprintf("flow: Quadratic.GradLaplacian: len(lap) = %d, want %d", len(lap), B))
	}
	n := q.n
	q.symmetrise()
	g := grad.RawMatrix()
	gemm(blas.NoTrans, 1, x.RawMatrix(), q.symGeneral(), 0, g)
	var tr float64
	for i := range n {
		tr += q.s[i*n+i]
	}
	for b := range B {
		lap[b] = tr
		if q.c != nil {
			gb := g.Data[b*g.Stride : b*g.Stride+n]
			for k, ck := range q.c {
				gb[k] += ck
			}
		}
	}
}

// GradLaplacianVJP adds the vector-Jacobian products of (∇φ, ∇²φ) at x with
// the adjoints lambda and mu to dx and dparams (see Potential); either may
// be nil.
func (q *Quadratic) GradLaplacianVJP(dx *mat.Dense, dparams []float64, x, lambda *mat.Dense, mu []float64) {
	B := q.checkX("GradLaplacianVJP", x)
	if r, c := lambda.Dims(); r != B || c != q.n {
		panic(fmt.Sprintf("flow: Quadratic.GradLaplacianVJP: lambda is %d×%d, want %d×%d", r, c, B, q.n))
	}
	if len(mu) != B {
		panic(fmt.Sprintf("flow: Quadratic.GradLaplacianVJP: len(mu) = %d, want %d", len(mu), B))
	}
	if dx != nil {
		if r, c := dx.Dims(); r != B || c != q.n {
			panic(fmt.Sprintf("flow: Quadratic.GradLaplacianVJP: dx is %d×%d, want %d×%d", r, c, B, q.n))
		}
	}
	if dparams != nil && len(dparams) != len(q.theta) {
		panic(fmt.Sprintf("flow: Quadratic.GradLaplacianVJP: len(dparams) = %d, want %d", len(dparams), len(q.theta)))
	}
	n := q.n
	lr, xr := lambda.RawMatrix(), x.RawMatrix()
	if dx != nil {
		q.symmetrise()
		gemm(blas.NoTrans, 1, lr, q.symGeneral(), 1, dx.RawMatrix())
	}
	if dparams == nil {
		return
	}
	ds := blas64.General{Rows: n, Cols: n, Stride: n, Data: dparams[:n*n]}
	gemm(blas.Trans, 0.5, lr, xr, 1, ds)
	gemm(blas.Trans, 0.5, xr, lr, 1, ds)
	var m float64
	for _, v := range mu {
		m += v
	}
	for i := range n {
		dparams[i*n+i] += m
	}
	if q.c != nil {
		dc := dparams[n*n:]
		for b := range B {
			for k, v := range lr.Data[b*lr.Stride : b*lr.Stride+n] {
				dc[k] += v
			}
		}
	}
}
