package flow

import (
	"fmt"
	"math"
	"math/rand/v2"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/gonum/mat"

	"github.com/isingflow/isingflow/internal/parallel"
)

// Shallow is the paper's single-hidden-layer potential
//
//	φ(x) = Σ_j w_j σ(a_j·x + b_j),   j = 1…H,
//
// with A (rows a_j) an H×N matrix, b, w ∈ R^H and σ an Activation. With
// u = A x + b and r_j = |a_j|²:
//
//	∇φ        = Aᵀ (w ⊙ σ'(u))
//	∇²φ       = Σ_j w_j σ''(u_j) r_j
//	H·λ       = Aᵀ (w ⊙ σ''(u) ⊙ A λ)
//	∇(∇²φ)    = Aᵀ (w ⊙ σ'''(u) ⊙ r)
//
// and, for incoming adjoints λ of ∇φ and μ of ∇²φ with g = A λ,
//
//	∂/∂x   = Aᵀ c,              c_j = w_j (σ''(u_j) g_j + μ σ'''(u_j) r_j)
//	∂/∂w_j = σ'(u_j) g_j + μ σ''(u_j) r_j
//	∂/∂b_j = c_j
//	∂/∂a_j = w_j σ'(u_j) λ + c_j x + 2 μ w_j σ''(u_j) a_j.
//
// On a batch every product is one GEMM on batch-sized matrices: U = X Aᵀ,
// ∇φ = (σ'(U) ⊙ w) A, the input adjoint C A, the matrix adjoint
// Cᵀ X + Dᵀ Λ with D = σ'(U) ⊙ w. GradLaplacian costs two GEMMs of
// 2·B·N·H flops, GradLaplacianVJP five (four without dx, three without
// dparams); the activation and its three derivatives come from one
// exponential per entry in a single fused pass.
//
// Parameter layout (Params): A row-major (H×N, entry (j, k) at j·N + k),
// then b (H entries, only when the potential has a bias), then w (H). The
// slice aliases the potential, and every call reads the parameters afresh,
// so they may be changed through it at any time.
//
// A Shallow keeps workspaces sized for the largest batch seen; after that
// its methods allocate nothing themselves (gonum's parallel GEMM and the
// parallel loops start goroutines on large problems). It is not safe for
// concurrent use.
type Shallow struct {
	n, h  int
	act   Activation
	bias  bool
	theta []float64 // [A | b | w]
	a     []float64 // A, H×N row-major, aliases theta
	b     []float64 // b, aliases theta; nil without bias
	w     []float64 // w, aliases theta

	r    []float64 // r_j = |a_j|², recomputed on every call
	capB int       // batch size the workspaces hold
	u    []float64 // [U; G] = [X; Λ] Aᵀ, 2B×H
	c    []float64 // D (GradLaplacian) or C (VJP), B×H
	pt   []float64 // [Cᵀ Dᵀ], H×2B, the left factor of the matrix adjoint
	q    []float64 // [X; Λ], 2B×N

	// State of the current call, read by the prebuilt loop bodies below
	// (prebuilt so that handing them to parallel.For allocates nothing).
	cur struct {
		batch        int
		dst, lap, mu []float64
		dparams      []float64
		needX        bool
	}
	normsFn, valueFn, gradLapFn, vjpFn func(lo, hi int)
}

// NewShallow returns a Shallow potential on R^n with the given number of
// hidden units and activation, with the bias b when bias is true. The
// parameters are drawn from rng as in the paper's reference code
// (wangleiphy/MongeAmpereFlow, PyTorch's default nn.Linear initialisation):
//
//	A_jk, b_j ~ U(−1/√n, 1/√n),   w_j ~ U(−1/√hidden, 1/√hidden).
//
// Then u_j = a_j·x + b_j has variance about 1/3 for x ~ N(0, I), and the
// initial velocity ∇φ has entries of order 1/(6√n), so the initial flow
// is close to the identity and training starts from p ≈ N(0, I). With a
// nil rng every parameter is zero (φ = 0, the identity flow), for callers
// that set them through Params.
//
// NewShallow panics if n or hidden is less than one or act is unknown.
func NewShallow(n, hidden int, act Activation, bias bool, rng *rand.Rand) *Shallow {
	if n < 1 || hidden < 1 {
		panic(fmt.Sprintf("flow: NewShallow: dimension %d and hidden size %d must be positive", n, hidden))
	}
	if !act.valid() {
		panic(fmt.Sprintf("flow: NewShallow: unknown activation %d", int(act)))
	}
	size := hidden*n + hidden
	if bias {
		size += hidden
	}
	s := &Shallow{
		n: n, h: hidden, act: act, bias: bias,
		theta: make([]float64, size),
		r:     make([]float64, hidden),
	}
	s.a = s.theta[: hidden*n : hidden*n]
	off := hidden * n
	if bias {
		s.b = s.theta[off : off+hidden : off+hidden]
		off += hidden
	}
	s.w = s.theta[off : off+hidden : off+hidden]
	if rng != nil {
		ba := 1 / math.Sqrt(float64(n))
		for i := range s.a {
			s.a[i] = ba * (2*rng.Float64() - 1)
		}
		for i := range s.b {
			s.b[i] = ba * (2*rng.Float64() - 1)
		}
		bw := 1 / math.Sqrt(float64(hidden))
		for i := range s.w {
			s.w[i] = bw * (2*rng.Float64() - 1)
		}
	}
	s.normsFn = func(lo, hi int) { s.norms(lo, hi) }
	s.valueFn = func(lo, hi int) { s.valueRows(lo, hi) }
	s.gradLapFn = func(lo, hi int) { s.gradLapRows(lo, hi) }
	s.vjpFn = func(lo, hi int) { s.vjpBlocks(lo, hi) }
	return s
}

// Dim returns the input dimension N.
func (s *Shallow) Dim() int { return s.n }

// Hidden returns the number H of hidden units.
func (s *Shallow) Hidden() int { return s.h }

// Activation returns the hidden layer's activation σ.
func (s *Shallow) Activation() Activation { return s.act }

// HasBias reports whether the potential has the bias b.
func (s *Shallow) HasBias() bool { return s.bias }

// Params returns the parameters [A (row-major H×N), b (if HasBias), w]; the
// slice aliases the potential.
func (s *Shallow) Params() []float64 { return s.theta }

// Weights returns views of the parameters: A as an H×N matrix, b (nil
// without bias) and w. All alias Params.
func (s *Shallow) Weights() (a *mat.Dense, b, w []float64) {
	return mat.NewDense(s.h, s.n, s.a), s.b, s.w
}

// Costs per element handed to parallel.For: one exponential and a few
// multiply-adds are worth about this many multiply-adds.
const costActivation = 16

// Value writes φ(x_b) into dst[b] for every row x_b of x.
func (s *Shallow) Value(dst []float64, x *mat.Dense) {
	B := s.checkX("Value", x)
	if len(dst) != B {
		panic(fmt.Sprintf("flow: Shallow.Value: len(dst) = %d, want %d", len(dst), B))
	}
	s.grow(B)
	s.gemmU(x.RawMatrix(), B)
	s.cur.batch, s.cur.dst = B, dst
	parallel.For(B, s.h*costActivation, s.valueFn)
	s.cur.dst = nil
}

// GradLaplacian writes ∇φ(x_b) into row b of grad and ∇²φ(x_b) into lap[b].
func (s *Shallow) GradLaplacian(grad *mat.Dense, lap []float64, x *mat.Dense) {
	B := s.checkX("GradLaplacian", x)
	if r, c := grad.Dims(); r != B || c != s.n {
		panic(fmt.Sprintf("flow: Shallow.GradLaplacian: grad is %d×%d, want %d×%d", r, c, B, s.n))
	}
	if len(lap) != B {
		panic(fmt.Sprintf("flow: Shallow.GradLaplacian: len(lap) = %d, want %d", len(lap), B))
	}
	s.grow(B)
	parallel.For(s.h, s.n, s.normsFn)
	s.gemmU(x.RawMatrix(), B)
	s.cur.batch, s.cur.lap = B, lap
	parallel.For(B, s.h*costActivation, s.gradLapFn)
	s.cur.lap = nil
	// ∇φ = D A with D = σ'(U) ⊙ w.
	d := blas64.General{Rows: B, Cols: s.h, Stride: s.h, Data: s.c[:B*s.h]}
	blas64.Gemm(blas.NoTrans, blas.NoTrans, 1, d, s.matA(), 0, grad.RawMatrix())
}

// GradLaplacianVJP adds to dx and dparams the vector-Jacobian products of
// (∇φ, ∇²φ) at x with the adjoints lambda and mu (see Potential); either
// destination may be nil.
func (s *Shallow) GradLaplacianVJP(dx *mat.Dense, dparams []float64, x, lambda *mat.Dense, mu []float64) {
	B := s.checkX("GradLaplacianVJP", x)
	if r, c := lambda.Dims(); r != B || c != s.n {
		panic(fmt.Sprintf("flow: Shallow.GradLaplacianVJP: lambda is %d×%d, want %d×%d", r, c, B, s.n))
	}
	if len(mu) != B {
		panic(fmt.Sprintf("flow: Shallow.GradLaplacianVJP: len(mu) = %d, want %d", len(mu), B))
	}
	if dx != nil {
		if r, c := dx.Dims(); r != B || c != s.n {
			panic(fmt.Sprintf("flow: Shallow.GradLaplacianVJP: dx is %d×%d, want %d×%d", r, c, B, s.n))
		}
	}
	if dparams != nil && len(dparams) != len(s.theta) {
		panic(fmt.Sprintf("flow: Shallow.GradLaplacianVJP: len(dparams) = %d, want %d", len(dparams), len(s.theta)))
	}
	if dx == nil && dparams == nil {
		return
	}
	s.grow(B)
	parallel.For(s.h, s.n, s.normsFn)

	// Q = [X; Λ] (2B×N) and [U; G] = Q Aᵀ in one GEMM.
	n, h := s.n, s.h
	q := blas64.General{Rows: 2 * B, Cols: n, Stride: n, Data: s.q[:2*B*n]}
	xr, lr := x.RawMatrix(), lambda.RawMatrix()
	for b := range B {
		copy(q.Data[b*n:(b+1)*n], xr.Data[b*xr.Stride:b*xr.Stride+n])
		copy(q.Data[(B+b)*n:(B+b+1)*n], lr.Data[b*lr.Stride:b*lr.Stride+n])
	}
	ug := blas64.General{Rows: 2 * B, Cols: h, Stride: h, Data: s.u[:2*B*h]}
	blas64.Gemm(blas.NoTrans, blas.Trans, 1, q, s.matA(), 0, ug)

	// Fused pass over blocks of hidden units: C, [Cᵀ Dᵀ], ∂w, ∂b and the
	// diagonal term of ∂A.
	s.cur.batch, s.cur.mu, s.cur.dparams, s.cur.needX = B, mu, dparams, dx != nil
	nblocks := (h + vjpBlock - 1) / vjpBlock
	parallel.For(nblocks, vjpBlock*B*costActivation, s.vjpFn)
	s.cur.mu, s.cur.dparams = nil, nil

	if dx != nil {
		c := blas64.General{Rows: B, Cols: h, Stride: h, Data: s.c[:B*h]}
		blas64.Gemm(blas.NoTrans, blas.NoTrans, 1, c, s.matA(), 1, dx.RawMatrix())
	}
	if dparams != nil {
		// ∂A += [Cᵀ Dᵀ] [X; Λ]: one GEMM with inner dimension 2B. The left
		// factor is stored transposed because gonum's Aᵀ·B kernel is 1.5–3×
		// slower than A·B (BenchmarkGemmTranspose); A·Bᵀ is as fast as A·B.
		pt := blas64.General{Rows: h, Cols: 2 * B, Stride: 2 * B, Data: s.pt[:2*B*h]}
		da := blas64.General{Rows: h, Cols: n, Stride: n, Data: dparams[:h*n]}
		blas64.Gemm(blas.NoTrans, blas.NoTrans, 1, pt, q, 1, da)
	}
}

// vjpBlock is the number of hidden units per block of the fused VJP pass:
// one cache line of each row of [U; G].
const vjpBlock = 8

func (s *Shallow) checkX(method string, x *mat.Dense) int {
	B, c := x.Dims()
	if c != s.n {
		panic(fmt.Sprintf("flow: Shallow.%s: x has %d columns, want %d", method, c, s.n))
	}
	return B
}

func (s *Shallow) matA() blas64.General {
	return blas64.General{Rows: s.h, Cols: s.n, Stride: s.n, Data: s.a}
}

// grow makes the workspaces hold a batch of B rows.
func (s *Shallow) grow(B int) {
	if B <= s.capB {
		return
	}
	s.capB = B
	s.u = make([]float64, 2*B*s.h)
	s.c = make([]float64, B*s.h)
	s.pt = make([]float64, 2*B*s.h)
	s.q = make([]float64, 2*B*s.n)
}

// gemmU computes U = X Aᵀ (without the bias) into the first B rows of s.u.
func (s *Shallow) gemmU(x blas64.General, B int) {
	u := blas64.General{Rows: B, Cols: s.h, Stride: s.h, Data: s.u[:B*s.h]}
	blas64.Gemm(blas.NoTrans, blas.Trans, 1, x, s.matA(), 0, u)
}

// norms computes r_j = |a_j|² for j in [lo, hi).
func (s *Shallow) norms(lo, hi int) {
	n := s.n
	for j := lo; j < hi; j++ {
		var r float64
		for _, v := range s.a[j*n : (j+1)*n] {
			r += v * v
		}
		s.r[j] = r
	}
}

// biasAt returns b_j, or 0 without bias.
func (s *Shallow) biasAt(j int) float64 {
	if s.b == nil {
		return 0
	}
	return s.b[j]
}

func (s *Shallow) valueRows(lo, hi int) {
	h, w, act := s.h, s.w, s.act
	for b := lo; b < hi; b++ {
		u := s.u[b*h : (b+1)*h]
		var v float64
		for j, uj := range u {
			v += w[j] * act.Eval(uj+s.biasAt(j))
		}
		s.cur.dst[b] = v
	}
}

// gradLapRows computes D = σ'(U) ⊙ w into s.c and ∇²φ into cur.lap for
// rows [lo, hi).
func (s *Shallow) gradLapRows(lo, hi int) {
	h, w, r, act := s.h, s.w, s.r, s.act
	for b := lo; b < hi; b++ {
		u := s.u[b*h : (b+1)*h]
		d := s.c[b*h : (b+1)*h]
		var l float64
		for j, uj := range u {
			d1, d2, _ := act.Derivatives(uj + s.biasAt(j))
			d[j] = w[j] * d1
			l += w[j] * d2 * r[j]
		}
		s.cur.lap[b] = l
	}
}

// vjpBlocks runs the fused adjoint pass over the blocks [lo, hi) of
// vjpBlock hidden units. For each hidden unit j and sample b, with
// u = U_bj + b_j, g = G_bj and (d1, d2, d3) = σ', σ”, σ”' at u:
//
//	c = w_j (d2 g + μ_b d3 r_j)  → C_bj (for dx) and [Cᵀ]_jb
//	w_j d1                        → [Dᵀ]_jb
//	Σ_b d1 g + μ_b d2 r_j         → ∂w_j
//	Σ_b c                         → ∂b_j
//	Σ_b 2 μ_b w_j d2              → the coefficient of a_j in ∂a_j.
func (s *Shallow) vjpBlocks(lo, hi int) {
	B, h, n := s.cur.batch, s.h, s.n
	mu, dparams, needX := s.cur.mu, s.cur.dparams, s.cur.needX
	needP := dparams != nil
	w, r, act := s.w, s.r, s.act
	ug, c, pt := s.u, s.c, s.pt
	for blk := lo; blk < hi; blk++ {
		j0 := blk * vjpBlock
		j1 := min(j0+vjpBlock, h)
		var dw, db, diag, bj [vjpBlock]float64
		for j := j0; j < j1; j++ {
			bj[j-j0] = s.biasAt(j)
		}
		for b := range B {
			mub := mu[b]
			urow := ug[b*h : (b+1)*h]
			grow := ug[(B+b)*h : (B+b+1)*h]
			for j := j0; j < j1; j++ {
				k := j - j0
				d1, d2, d3 := act.Derivatives(urow[j] + bj[k])
				g, wj, rj := grow[j], w[j], r[j]
				cv := wj * (d2*g + mub*d3*rj)
				if needX {
					c[b*h+j] = cv
				}
				if needP {
					pt[j*2*B+b] = cv
					pt[j*2*B+B+b] = wj * d1
					dw[k] += d1*g + mub*d2*rj
					db[k] += cv
					diag[k] += mub * d2
				}
			}
		}
		if !needP {
			continue
		}
		off := h * n
		if s.b != nil {
			for j := j0; j < j1; j++ {
				dparams[off+j] += db[j-j0]
			}
			off += h
		}
		for j := j0; j < j1; j++ {
			k := j - j0
			dparams[off+j] += dw[k]
			// ∂a_j += 2 w_j (Σ_b μ_b σ''(u_bj)) a_j.
			coef := 2 * w[j] * diag[k]
			da := dparams[j*n : (j+1)*n]
			for i, v := range s.a[j*n : (j+1)*n] {
				da[i] += coef * v
			}
		}
	}
}
