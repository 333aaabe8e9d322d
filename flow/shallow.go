package flow

import (
	"fmt"
	"math"
	"math/rand/v2"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas32"
	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/gonum/mat"

	"github.com/isingflow/isingflow/internal/blasimpl"
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
// ∇φ = (σ'(U) ⊙ w) A, G = Λ Aᵀ, the input adjoint C A, the matrix adjoint
// [Cᵀ Dᵀ] [X; Λ] with D = σ'(U) ⊙ w. GradLaplacian costs two GEMMs of
// 2·B·N·H flops; GradLaplacianVJP five (four without dx, three without
// dparams), and one fewer with the memo of GradLaplacianMemo (see
// MemoPotential), which also saves every exponential of the adjoint. The
// activation's derivatives come from one exponential per entry in a single
// fused pass. The batch is split into one slice per core (GOMAXPROCS), and
// the GEMMs and elementwise passes of a slice run back to back on its core;
// the matrix adjoint is split over the hidden units.
//
// Parameter layout (Params): A row-major (H×N, entry (j, k) at j·N + k),
// then b (H entries, only when the potential has a bias), then w (H). The
// slice aliases the potential, and every call reads the parameters afresh,
// so they may be changed through it at any time.
//
// A Shallow keeps workspaces sized for the largest batch seen; after that
// its methods allocate nothing themselves (the parallel loops, and gonum's
// pure-Go GEMM, start goroutines). It is not safe for concurrent use.
type Shallow struct {
	n, h  int
	act   Activation
	bias  bool
	theta []float64 // [A | b | w]
	a     []float64 // A, H×N row-major, aliases theta
	b     []float64 // b, aliases theta; nil without bias
	w     []float64 // w, aliases theta

	r    []float64 // r_j = |a_j|², recomputed on every call unless held
	held bool      // the parameters are held (see holder)
	rOK  bool      // r is up to date while held
	capB int       // batch size the workspaces hold
	u    []float64 // [U; G] = [X; Λ] Aᵀ, 2B×H
	c    []float64 // D (GradLaplacian), or [C; D] (VJP), 2B×H
	pt   []float64 // [Cᵀ Dᵀ], H×2B, the left factor of the matrix adjoint
	q    []float64 // [X; Λ], 2B×N
	acc  []float64 // per slice of the batch: partial sums of ∂w, ∂b, Σ μ σ''

	// Float32 products (see Precision): A rounded when r is computed, and
	// the float32 operands and results of the products.
	prec Precision
	a32  []float32 // A, H×N
	q32  []float32 // [X; Λ], 2B×N
	u32  []float32 // products with Aᵀ and their left factors, 2B×H
	o32  []float32 // products with A, B×N
	p32  []float32 // the matrix adjoint of one call, H×N

	// State of the current call, read by the prebuilt loop bodies below
	// (prebuilt so that handing them to parallel.For allocates nothing).
	cur struct {
		batch, slices       int
		x, lambda, grad, dx blas64.General
		dst, lap, mu        []float64
		dparams, memo       []float64
	}
	normsFn, valueFn, gradLapFn, vjpFn, vjpParamsFn func(lo, hi int)
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
	s.valueFn = func(lo, hi int) { s.valueSlices(lo, hi) }
	s.gradLapFn = func(lo, hi int) { s.gradLapSlices(lo, hi) }
	s.vjpFn = func(lo, hi int) { s.vjpSlices(lo, hi) }
	s.vjpParamsFn = func(lo, hi int) { s.vjpParams(lo, hi) }
	return s
}

// Dim returns the input dimension N.
func (s *Shallow) Dim() int { return s.n }

// bindParams moves the parameters into p (see binder).
func (s *Shallow) bindParams(p []float64) {
	copy(p, s.theta)
	s.theta = p
	hn := s.h * s.n
	s.a = p[:hn:hn]
	off := hn
	if s.bias {
		s.b = p[off : off+s.h : off+s.h]
		off += s.h
	}
	s.w = p[off : off+s.h : off+s.h]
}

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

// SetIndicatorRows sets row j of A, for j < min(H, len(sets)), to the
// indicator of the coordinates sets[j] scaled to the default
// initialisation's mean squared norm: a_jk = 1/√(3|sets[j]|) for k in
// sets[j], 0 elsewhere, so that u_j = a_j·x has variance 1/3 for
// x ~ N(0, I) as for a row drawn by NewShallow. It leaves the other rows, b
// and w as they are, and returns the number of rows set. For a lattice,
// the sets can be blocks of sites at several scales
// (lattice.MultiscaleBlocks): each such unit then feels, and its velocity
// moves, the mean field of one block, a block spin.
//
// SetIndicatorRows panics if a set is empty or holds a coordinate outside
// [0, N) or the same coordinate twice.
func (s *Shallow) SetIndicatorRows(sets [][]int) int {
	rows := min(s.h, len(sets))
	for j, set := range sets[:rows] {
		if len(set) == 0 {
			panic(fmt.Sprintf("flow: Shallow.SetIndicatorRows: set %d is empty", j))
		}
		row := s.a[j*s.n : (j+1)*s.n]
		clear(row)
		c := 1 / math.Sqrt(3*float64(len(set)))
		for _, k := range set {
			if k < 0 || k >= s.n || row[k] != 0 {
				panic(fmt.Sprintf("flow: Shallow.SetIndicatorRows: set %d: coordinate %d out of range [0, %d) or repeated", j, k, s.n))
			}
			row[k] = c
		}
	}
	s.rOK = false
	return rows
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
	s.begin(B)
	s.cur.x, s.cur.dst = x.RawMatrix(), dst
	s.forSlices(s.valueFn)
	s.end()
}

// GradLaplacian writes ∇φ(x_b) into row b of grad and ∇²φ(x_b) into lap[b].
func (s *Shallow) GradLaplacian(grad *mat.Dense, lap []float64, x *mat.Dense) {
	s.gradLaplacian("GradLaplacian", grad, lap, x, nil)
}

// MemoLen returns the length 2·B·H of the memo of a batch of B rows: σ'
// and σ” of every hidden unit and sample (see MemoPotential).
func (s *Shallow) MemoLen(B int) int { return 2 * B * s.h }

// GradLaplacianMemo is GradLaplacian that also writes σ'(U) and σ”(U) to
// memo, for GradLaplacianVJPMemo (see MemoPotential).
func (s *Shallow) GradLaplacianMemo(grad *mat.Dense, lap []float64, x *mat.Dense, memo []float64) {
	s.gradLaplacian("GradLaplacianMemo", grad, lap, x, memo)
}

func (s *Shallow) gradLaplacian(method string, grad *mat.Dense, lap []float64, x *mat.Dense, memo []float64) {
	B := s.checkX(method, x)
	if r, c := grad.Dims(); r != B || c != s.n {
		panic(fmt.Sprintf("flow: Shallow.%s: grad is %d×%d, want %d×%d", method, r, c, B, s.n))
	}
	if len(lap) != B {
		panic(fmt.Sprintf("flow: Shallow.%s: len(lap) = %d, want %d", method, len(lap), B))
	}
	s.checkMemo(method, memo, B)
	s.begin(B)
	s.cur.x, s.cur.grad, s.cur.lap, s.cur.memo = x.RawMatrix(), grad.RawMatrix(), lap, memo
	s.forSlices(s.gradLapFn)
	s.end()
}

// GradLaplacianVJP adds to dx and dparams the vector-Jacobian products of
// (∇φ, ∇²φ) at x with the adjoints lambda and mu (see Potential); either
// destination may be nil.
func (s *Shallow) GradLaplacianVJP(dx *mat.Dense, dparams []float64, x, lambda *mat.Dense, mu []float64) {
	s.gradLaplacianVJP("GradLaplacianVJP", dx, dparams, x, lambda, mu, nil)
}

// GradLaplacianVJPMemo is GradLaplacianVJP at an x whose memo
// GradLaplacianMemo wrote, with the parameters unchanged since: it reads σ'
// and σ” from the memo instead of recomputing U = X Aᵀ and the
// activation, saving one of its five GEMMs and every exponential.
func (s *Shallow) GradLaplacianVJPMemo(dx *mat.Dense, dparams []float64, x, lambda *mat.Dense, mu []float64, memo []float64) {
	s.gradLaplacianVJP("GradLaplacianVJPMemo", dx, dparams, x, lambda, mu, memo)
}

func (s *Shallow) gradLaplacianVJP(method string, dx *mat.Dense, dparams []float64, x, lambda *mat.Dense, mu []float64, memo []float64) {
	B := s.checkX(method, x)
	if r, c := lambda.Dims(); r != B || c != s.n {
		panic(fmt.Sprintf("flow: Shallow.%s: lambda is %d×%d, want %d×%d", method, r, c, B, s.n))
	}
	if len(mu) != B {
		panic(fmt.Sprintf("flow: Shallow.%s: len(mu) = %d, want %d", method, len(mu), B))
	}
	if dx != nil {
		if r, c := dx.Dims(); r != B || c != s.n {
			panic(fmt.Sprintf("flow: Shallow.%s: dx is %d×%d, want %d×%d", method, r, c, B, s.n))
		}
	}
	if dparams != nil && len(dparams) != len(s.theta) {
		panic(fmt.Sprintf("flow: Shallow.%s: len(dparams) = %d, want %d", method, len(dparams), len(s.theta)))
	}
	s.checkMemo(method, memo, B)
	if dx == nil && dparams == nil {
		return
	}
	s.begin(B)
	s.cur.x, s.cur.lambda, s.cur.mu, s.cur.memo = x.RawMatrix(), lambda.RawMatrix(), mu, memo
	s.cur.dparams = dparams
	if dx != nil {
		s.cur.dx = dx.RawMatrix()
	}
	// Slices of the batch: C, D, the rows of [X; Λ], dx and the partial sums
	// over the batch; then blocks of hidden units: the matrix adjoint.
	s.forSlices(s.vjpFn)
	if dparams != nil {
		parallel.For(s.h, 2*B*s.n, s.vjpParamsFn)
	}
	s.end()
}

func (s *Shallow) checkX(method string, x *mat.Dense) int {
	B, c := x.Dims()
	if c != s.n {
		panic(fmt.Sprintf("flow: Shallow.%s: x has %d columns, want %d", method, c, s.n))
	}
	return B
}

func (s *Shallow) checkMemo(method string, memo []float64, B int) {
	if memo != nil && len(memo) != s.MemoLen(B) {
		panic(fmt.Sprintf("flow: Shallow.%s: len(memo) = %d, want %d", method, len(memo), s.MemoLen(B)))
	}
}

// begin sizes the workspaces for a batch of B rows, computes r_j = |a_j|²
// (unless held and known) and splits the batch into slices.
func (s *Shallow) begin(B int) {
	if B > s.capB {
		s.capB = B
		s.u = make([]float64, 2*B*s.h)
		s.c = make([]float64, 2*B*s.h)
		s.pt = make([]float64, 2*B*s.h)
		s.q = make([]float64, 2*B*s.n)
	}
	// One slice of the batch per core, so that every GEMM, elementwise pass
	// and GEMM of a slice run back to back on one core, and each slice's
	// partial sums have their own row of acc.
	if s.prec == Float32 && len(s.q32) < 2*B*s.n {
		s.q32 = make([]float32, 2*B*s.n)
		s.u32 = make([]float32, 2*B*s.h)
		s.o32 = make([]float32, B*s.n)
	}
	slices := batchSlices(B, B*s.n*s.h)
	if len(s.acc) < 3*slices*s.h {
		s.acc = make([]float64, 3*slices*s.h)
	}
	s.cur.batch, s.cur.slices = B, slices
	if !s.rOK {
		parallel.For(s.h, s.n, s.normsFn)
		s.rOK = s.held
	}
}

// SetPrecision sets the arithmetic of the matrix products (see Precision).
func (s *Shallow) SetPrecision(p Precision) {
	if p != Float64 && p != Float32 {
		panic(fmt.Sprintf("flow: Shallow.SetPrecision: unknown precision %d", int(p)))
	}
	s.prec, s.rOK = p, false
	if p == Float32 && s.a32 == nil {
		s.a32 = make([]float32, s.h*s.n)
		s.p32 = make([]float32, s.h*s.n)
	}
}

// Precision returns the arithmetic of the matrix products.
func (s *Shallow) Precision() Precision { return s.prec }

// holdParams starts or ends a stretch of calls with fixed parameters, during
// which r is computed once (see holder).
func (s *Shallow) holdParams(hold bool) {
	s.held, s.rOK = hold, false
}

// end drops the references of the current call.
func (s *Shallow) end() {
	c := &s.cur
	c.x, c.lambda, c.grad, c.dx = blas64.General{}, blas64.General{}, blas64.General{}, blas64.General{}
	c.dst, c.lap, c.mu, c.dparams, c.memo = nil, nil, nil, nil, nil
}

// forSlices runs fn(k) for every slice k of the batch, in parallel.
func (s *Shallow) forSlices(fn func(lo, hi int)) {
	parallel.For(s.cur.slices, minSliceWork, fn)
}

// rows returns the rows [lo, hi) of slice k.
func (s *Shallow) rows(k int) (lo, hi int) {
	B, m := s.cur.batch, s.cur.slices
	return k * B / m, (k + 1) * B / m
}

func (s *Shallow) matA() blas64.General {
	return blas64.General{Rows: s.h, Cols: s.n, Stride: s.n, Data: s.a}
}

// rowsOf returns rows [lo, hi) of m as a matrix.
func rowsOf(m blas64.General, lo, hi int) blas64.General {
	return blas64.General{Rows: hi - lo, Cols: m.Cols, Stride: m.Stride, Data: m.Data[lo*m.Stride : (hi-1)*m.Stride+m.Cols]}
}

// block returns rows [lo, hi) of a dense row-major buffer with cols
// columns.
func block(data []float64, cols, lo, hi int) blas64.General {
	return blas64.General{Rows: hi - lo, Cols: cols, Stride: cols, Data: data[lo*cols : hi*cols]}
}

// gemmU computes U = X Aᵀ (without the bias) for rows [lo, hi) into the
// same rows of dst (B×H). With float32 products the rows of X are rounded
// into rows [off+lo, off+hi) of q32 (off is 0 for X, B for Λ, whose float32
// copies the matrix adjoint reads).
func (s *Shallow) gemmU(dst []float64, x blas64.General, lo, hi, off int) {
	if s.prec == Float64 {
		blas64.Gemm(blas.NoTrans, blas.Trans, 1, rowsOf(x, lo, hi), s.matA(), 0, block(dst, s.h, lo, hi))
		return
	}
	n, h := s.n, s.h
	roundRows(s.q32[off*n:], x, lo, hi)
	a32 := blas32.General{Rows: h, Cols: n, Stride: n, Data: s.a32}
	sgemm(blas.NoTrans, blas.Trans, rows32(s.q32, n, off+lo, off+hi), a32, rows32(s.u32, h, lo, hi))
	widen(dst[lo*h:hi*h], s.u32[lo*h:hi*h], false)
}

// gemmA computes rows [lo, hi) of dst = src A + β dst, β ∈ {0, 1}, for a
// B×H src.
func (s *Shallow) gemmA(dst blas64.General, src []float64, lo, hi int, beta float64) {
	if s.prec == Float64 {
		blas64.Gemm(blas.NoTrans, blas.NoTrans, 1, block(src, s.h, lo, hi), s.matA(), beta, rowsOf(dst, lo, hi))
		return
	}
	n, h := s.n, s.h
	toFloat32(s.u32[lo*h:hi*h], src[lo*h:hi*h])
	a32 := blas32.General{Rows: h, Cols: n, Stride: n, Data: s.a32}
	sgemm(blas.NoTrans, blas.NoTrans, rows32(s.u32, h, lo, hi), a32, rows32(s.o32, n, lo, hi))
	for b := lo; b < hi; b++ {
		widen(dst.Data[b*dst.Stride:b*dst.Stride+n], s.o32[b*n:(b+1)*n], beta != 0)
	}
}

// norms computes r_j = |a_j|² for j in [lo, hi), and rounds those rows of
// A to float32 for float32 products.
func (s *Shallow) norms(lo, hi int) {
	n := s.n
	for j := lo; j < hi; j++ {
		var r float64
		for _, v := range s.a[j*n : (j+1)*n] {
			r += v * v
		}
		s.r[j] = r
	}
	if s.prec == Float32 {
		toFloat32(s.a32[lo*n:hi*n], s.a[lo*n:hi*n])
	}
}

// biasAt returns b_j, or 0 without bias.
func (s *Shallow) biasAt(j int) float64 {
	if s.b == nil {
		return 0
	}
	return s.b[j]
}

func (s *Shallow) valueSlices(k0, k1 int) {
	h, w, act := s.h, s.w, s.act
	for k := k0; k < k1; k++ {
		lo, hi := s.rows(k)
		s.gemmU(s.u, s.cur.x, lo, hi, 0)
		for b := lo; b < hi; b++ {
			var v float64
			for j, uj := range s.u[b*h : (b+1)*h] {
				v += w[j] * act.Eval(uj+s.biasAt(j))
			}
			s.cur.dst[b] = v
		}
	}
}

// gradLapSlices computes, for the slices [k0, k1) of the batch, U = X Aᵀ,
// D = σ'(U) ⊙ w, ∇²φ = σ”(U) (w ⊙ r) and ∇φ = D A, and fills the memo
// if there is one.
func (s *Shallow) gradLapSlices(k0, k1 int) {
	B, h, w, r, act := s.cur.batch, s.h, s.w, s.r, s.act
	memo := s.cur.memo
	for k := k0; k < k1; k++ {
		lo, hi := s.rows(k)
		s.gemmU(s.u, s.cur.x, lo, hi, 0)
		for b := lo; b < hi; b++ {
			u := s.u[b*h : (b+1)*h]
			d := s.c[b*h : (b+1)*h]
			var m1, m2 []float64
			if memo != nil {
				m1, m2 = memo[b*h:(b+1)*h], memo[(B+b)*h:(B+b+1)*h]
			}
			s.cur.lap[b] = act.gradLapRow(d, m1, m2, u, s.b, w, r)
		}
		s.gemmA(s.cur.grad, s.c, lo, hi, 0)
	}
}

// vjpSlices runs the part of the adjoint that is local to the slices
// [k0, k1) of the batch. For each sample b and hidden unit j, with
// u = U_bj + b_j, g = G_bj = (Λ Aᵀ)_bj and (d1, d2, d3) = σ', σ”, σ”' at u:
//
//	c = w_j (d2 g + μ_b d3 r_j)  → C_bj, the row of dx is (C A)_b
//	w_j d1                        → D_bj
//	d1 g + μ_b d2 r_j             → the slice's partial sum of ∂w_j
//	c                             → … of ∂b_j
//	μ_b d2                        → … of Σ_b μ_b σ”(u_bj)
//
// and it copies the slice's rows of X and Λ into [X; Λ].
func (s *Shallow) vjpSlices(k0, k1 int) {
	B, h, n := s.cur.batch, s.h, s.n
	mu, memo := s.cur.mu, s.cur.memo
	needP := s.cur.dparams != nil
	w, r, act := s.w, s.r, s.act
	uu, gg := s.u[:B*h], s.u[B*h:2*B*h]
	cc, dd := s.c[:B*h], s.c[B*h:2*B*h]
	for k := k0; k < k1; k++ {
		lo, hi := s.rows(k)
		if memo == nil {
			s.gemmU(uu, s.cur.x, lo, hi, 0)
		} else if needP && s.prec == Float32 {
			roundRows(s.q32, s.cur.x, lo, hi)
		}
		s.gemmU(gg, s.cur.lambda, lo, hi, B)
		acc := s.acc[3*k*h : 3*(k+1)*h]
		clear(acc)
		dw, db, diag := acc[:h], acc[h:2*h], acc[2*h:]
		for b := lo; b < hi; b++ {
			mub := mu[b]
			g, c, d := gg[b*h:(b+1)*h], cc[b*h:(b+1)*h], dd[b*h:(b+1)*h]
			var m1, m2 []float64
			if memo != nil {
				m1, m2 = memo[b*h:(b+1)*h], memo[(B+b)*h:(B+b+1)*h]
			}
			for j := range h {
				var d1, d2, d3 float64
				if memo != nil {
					d1, d2 = m1[j], m2[j]
					d3 = act.third(d1, d2)
				} else {
					d1, d2, d3 = act.Derivatives(uu[b*h+j] + s.biasAt(j))
				}
				cv := w[j] * (d2*g[j] + mub*d3*r[j])
				c[j] = cv
				if needP {
					d[j] = w[j] * d1
					dw[j] += d1*g[j] + mub*d2*r[j]
					db[j] += cv
					diag[j] += mub * d2
				}
			}
			if needP && s.prec == Float64 {
				copy(s.q[b*n:(b+1)*n], s.cur.x.Data[b*s.cur.x.Stride:b*s.cur.x.Stride+n])
				copy(s.q[(B+b)*n:(B+b+1)*n], s.cur.lambda.Data[b*s.cur.lambda.Stride:b*s.cur.lambda.Stride+n])
			}
		}
		if s.cur.dx.Data != nil {
			s.gemmA(s.cur.dx, cc, lo, hi, 1)
		}
	}
}

// vjpParams adds the parameter adjoint of the hidden units [lo, hi):
// ∂a_j += [Cᵀ Dᵀ]_j [X; Λ] + 2 w_j (Σ_b μ_b σ”(u_bj)) a_j, and ∂b_j, ∂w_j
// from the slices' partial sums (added in slice order, so the result does
// not depend on the scheduling).
func (s *Shallow) vjpParams(lo, hi int) {
	B, h, n, slices := s.cur.batch, s.h, s.n, s.cur.slices
	dparams := s.cur.dparams
	q := blas64.General{Rows: 2 * B, Cols: n, Stride: n, Data: s.q[:2*B*n]}
	if s.prec == Float32 {
		// The columns [lo, hi) of [C; D], rounded, times [X; Λ] from the
		// slices' products.
		for b := range 2 * B {
			toFloat32(s.u32[b*h+lo:b*h+hi], s.c[b*h+lo:b*h+hi])
		}
		cd := blas32.General{Rows: 2 * B, Cols: hi - lo, Stride: h, Data: s.u32[lo : (2*B-1)*h+hi]}
		q32 := blas32.General{Rows: 2 * B, Cols: n, Stride: n, Data: s.q32[:2*B*n]}
		sgemm(blas.Trans, blas.NoTrans, cd, q32, rows32(s.p32, n, lo, hi))
		widen(dparams[lo*n:hi*n], s.p32[lo*n:hi*n], true)
	} else if blasimpl.OpenBLAS {
		// [C; D] is 2B×H: its columns [lo, hi) are the left factor,
		// transposed by OpenBLAS's packing at no extra cost.
		cd := blas64.General{Rows: 2 * B, Cols: hi - lo, Stride: h, Data: s.c[lo : (2*B-1)*h+hi]}
		blas64.Gemm(blas.Trans, blas.NoTrans, 1, cd, q, 1, block(dparams, n, lo, hi))
	} else {
		// [Cᵀ Dᵀ] for these units: the left factor is stored transposed
		// because gonum's Aᵀ·B kernel is 1.5–3× slower than A·B
		// (BenchmarkGemmTranspose); A·Bᵀ is as fast as A·B.
		cc, dd := s.c[:B*h], s.c[B*h:2*B*h]
		for j := lo; j < hi; j++ {
			row := s.pt[j*2*B : (j+1)*2*B]
			for b := range B {
				row[b] = cc[b*h+j]
				row[B+b] = dd[b*h+j]
			}
		}
		blas64.Gemm(blas.NoTrans, blas.NoTrans, 1, block(s.pt, 2*B, lo, hi), q, 1, block(dparams, n, lo, hi))
	}
	offB, offW := h*n, h*n
	if s.b != nil {
		offW += h
	}
	for j := lo; j < hi; j++ {
		var dw, db, diag float64
		for k := range slices {
			acc := s.acc[3*k*h : 3*(k+1)*h]
			dw += acc[j]
			db += acc[h+j]
			diag += acc[2*h+j]
		}
		if s.b != nil {
			dparams[offB+j] += db
		}
		dparams[offW+j] += dw
		// ∂a_j += 2 w_j (Σ_b μ_b σ”(u_bj)) a_j.
		coef := 2 * s.w[j] * diag
		da := dparams[j*n : (j+1)*n]
		for i, v := range s.a[j*n : (j+1)*n] {
			da[i] += coef * v
		}
	}
}
