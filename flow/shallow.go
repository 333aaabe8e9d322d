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
// fused pass. Each call runs in two phases split over the cores
// (GOMAXPROCS): first the hidden units, one part per core (the products with
// Aᵀ, the elementwise pass and the matrix adjoint of those units, back to
// back on one core), then the coordinates (the products with A), so that
// each core packs only its share of A, the largest operand.
//
// Parameter layout (Params): A row-major (H×N, entry (j, k) at j·N + k),
// then b (H entries, only when the potential has a bias), then w (H). The
// slice aliases the potential, and every call reads the parameters afresh,
// so they may be changed through it between any two calls, except while
// they are held (see ParamHolder; the row norms are then computed once).
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
	held bool      // the parameters are held (see ParamHolder)
	rOK  bool      // r is up to date while held
	capB int       // batch size the workspaces hold
	u    []float64 // [U; G] = [X; Λ] Aᵀ, 2B×H
	c    []float64 // D (GradLaplacian), or [C; D] (VJP), 2B×H
	pt   []float64 // [Cᵀ Dᵀ], H×2B, the left factor of the matrix adjoint
	q    []float64 // [X; Λ], 2B×N
	acc  []float64 // sums over the batch of ∂w, ∂b and Σ μ σ'', 3H
	part []float64 // per part of the hidden units: each sample's partial ∇²φ or φ

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
		batch               int
		unitParts           int // parts of the hidden units in the first phase
		coordParts          int // parts of the coordinates in the second
		x, lambda, grad, dx blas64.General
		dst, lap, mu        []float64
		dparams, memo       []float64
	}
	normsFn, valueFn, gradLapUnitsFn, gradLapCoordsFn, vjpUnitsFn, vjpCoordsFn func(lo, hi int)
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
		acc:   make([]float64, 3*hidden),
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
	s.valueFn = func(lo, hi int) { s.valueUnits(lo, hi) }
	s.gradLapUnitsFn = func(lo, hi int) { s.gradLapUnits(lo, hi) }
	s.gradLapCoordsFn = func(lo, hi int) { s.gradLapCoords(lo, hi) }
	s.vjpUnitsFn = func(lo, hi int) { s.vjpUnits(lo, hi) }
	s.vjpCoordsFn = func(lo, hi int) { s.vjpCoords(lo, hi) }
	return s
}

// Dim returns the input dimension N.
func (s *Shallow) Dim() int { return s.n }

// BindParams moves the parameters into p, of length len(Params()), which
// Params returns from then on (see ParamBinder).
func (s *Shallow) BindParams(p []float64) {
	if len(p) != len(s.theta) {
		panic(fmt.Sprintf("flow: Shallow.BindParams: storage of length %d for %d parameters", len(p), len(s.theta)))
	}
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
	if B == 0 {
		return
	}
	s.begin(B)
	s.cur.x, s.cur.dst = x.RawMatrix(), dst
	s.roundInputs(s.cur.x, 0, false)
	forParts(s.cur.unitParts, s.valueFn)
	s.sumParts(dst)
	s.end()
}

// GradLaplacian writes ∇φ(x_b) into row b of grad and ∇²φ(x_b) into lap[b].
func (s *Shallow) GradLaplacian(grad *mat.Dense, lap []float64, x *mat.Dense) {
	s.gradLaplacian("GradLaplacian", grad, lap, x, nil)
}

// MemoLen returns the length B·H of the memo of a batch of B rows: one
// number for every hidden unit and sample (see MemoPotential).
func (s *Shallow) MemoLen(B int) int { return B * s.h }

// GradLaplacianMemo is GradLaplacian that also writes to memo, for each
// sample and hidden unit, the one exponential its derivatives came from
// (e^{−2|v|} for ln cosh, e^{−|v|} for softplus, v = u + b) with the sign
// of v, from which GradLaplacianVJPMemo recomputes σ'(v) and σ”(v) as
// this call computed them, bit for bit, without U or an exponential (see
// MemoPotential and Activation.fromMemo).
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
	if B == 0 {
		return
	}
	s.begin(B)
	s.cur.x, s.cur.grad, s.cur.lap, s.cur.memo = x.RawMatrix(), grad.RawMatrix(), lap, memo
	s.roundInputs(s.cur.x, 0, false)
	forParts(s.cur.unitParts, s.gradLapUnitsFn)
	forParts(s.cur.coordParts, s.gradLapCoordsFn)
	s.sumParts(lap)
	s.end()
}

// GradLaplacianVJP adds to dx and dparams the vector-Jacobian products of
// (∇φ, ∇²φ) at x with the adjoints lambda and mu (see Potential); either
// destination may be nil.
func (s *Shallow) GradLaplacianVJP(dx *mat.Dense, dparams []float64, x, lambda *mat.Dense, mu []float64) {
	s.gradLaplacianVJP("GradLaplacianVJP", dx, dparams, x, lambda, mu, nil)
}

// GradLaplacianVJPMemo is GradLaplacianVJP at an x whose memo
// GradLaplacianMemo wrote, with the parameters unchanged since: it
// recomputes σ' and σ” from the memo instead of from U = X Aᵀ, saving one
// of its five GEMMs and every exponential.
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
	if B == 0 || dx == nil && dparams == nil {
		return
	}
	s.begin(B)
	s.cur.x, s.cur.lambda, s.cur.mu, s.cur.memo = x.RawMatrix(), lambda.RawMatrix(), mu, memo
	s.cur.dparams = dparams
	if dx != nil {
		s.cur.dx = dx.RawMatrix()
	}
	// [X; Λ] for the products (float32) and the matrix adjoint; then the
	// hidden units: G, C, D, the sums over the batch and the parameter
	// adjoint; then the coordinates: dx.
	if memo == nil || dparams != nil {
		s.roundInputs(s.cur.x, 0, dparams != nil)
	}
	s.roundInputs(s.cur.lambda, B, dparams != nil)
	forParts(s.cur.unitParts, s.vjpUnitsFn)
	if dx != nil {
		forParts(s.cur.coordParts, s.vjpCoordsFn)
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
// (unless held and known) and chooses how to split the call's two phases
// over the cores: the hidden units, then the coordinates (see part).
func (s *Shallow) begin(B int) {
	if B > s.capB {
		s.capB = B
		s.u = make([]float64, 2*B*s.h)
		s.c = make([]float64, 2*B*s.h)
		s.pt = make([]float64, 2*B*s.h)
		s.q = make([]float64, 2*B*s.n)
	}
	if s.prec == Float32 && len(s.q32) < 2*B*s.n {
		s.q32 = make([]float32, 2*B*s.n)
		s.u32 = make([]float32, 2*B*s.h)
		s.o32 = make([]float32, B*s.n)
	}
	work := B * s.n * s.h
	s.cur.batch = B
	s.cur.unitParts, s.cur.coordParts = batchSlices(s.h, work), batchSlices(s.n, work)
	if len(s.part) < s.cur.unitParts*B {
		s.part = make([]float64, s.cur.unitParts*B)
	}
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

// HoldParams starts or ends a stretch of calls with fixed parameters, during
// which the row norms |a_j|² (and A rounded to float32) are computed once,
// at the first call (see ParamHolder).
func (s *Shallow) HoldParams(hold bool) {
	s.held, s.rOK = hold, false
}

// end drops the references of the current call.
func (s *Shallow) end() {
	c := &s.cur
	c.x, c.lambda, c.grad, c.dx = blas64.General{}, blas64.General{}, blas64.General{}, blas64.General{}
	c.dst, c.lap, c.mu, c.dparams, c.memo = nil, nil, nil, nil, nil
}

// forParts runs fn(k0, k1) over the parts [0, m) of a phase, in parallel.
func forParts(m int, fn func(k0, k1 int)) {
	parallel.For(m, minSliceWork, fn)
}

// part returns the range [lo, hi) of part k of m of the indices [0, size).
func part(size, m, k int) (lo, hi int) {
	return k * size / m, (k + 1) * size / m
}

// sumParts writes into dst[b] the sum over the unit parts of their partial
// sums for sample b, added in part order, so that the result does not
// depend on the scheduling.
func (s *Shallow) sumParts(dst []float64) {
	B := s.cur.batch
	copy(dst, s.part[:B])
	for k := 1; k < s.cur.unitParts; k++ {
		for b, v := range s.part[k*B : (k+1)*B] {
			dst[b] += v
		}
	}
}

func (s *Shallow) matA() blas64.General {
	return blas64.General{Rows: s.h, Cols: s.n, Stride: s.n, Data: s.a}
}

// rowsOf returns rows [lo, hi) of m as a matrix.
func rowsOf(m blas64.General, lo, hi int) blas64.General {
	return blas64.General{Rows: hi - lo, Cols: m.Cols, Stride: m.Stride, Data: m.Data[lo*m.Stride : (hi-1)*m.Stride+m.Cols]}
}

// colsOf returns columns [lo, hi) of m as a matrix.
func colsOf(m blas64.General, lo, hi int) blas64.General {
	return blas64.General{Rows: m.Rows, Cols: hi - lo, Stride: m.Stride, Data: m.Data[lo : (m.Rows-1)*m.Stride+hi]}
}

// rowsOf32 is rowsOf for float32.
func rowsOf32(m blas32.General, lo, hi int) blas32.General {
	return blas32.General{Rows: hi - lo, Cols: m.Cols, Stride: m.Stride, Data: m.Data[lo*m.Stride : (hi-1)*m.Stride+m.Cols]}
}

// colsOf32 is colsOf for float32.
func colsOf32(m blas32.General, lo, hi int) blas32.General {
	return blas32.General{Rows: m.Rows, Cols: hi - lo, Stride: m.Stride, Data: m.Data[lo : (m.Rows-1)*m.Stride+hi]}
}

// block returns rows [lo, hi) of a dense row-major buffer with cols
// columns.
func block(data []float64, cols, lo, hi int) blas64.General {
	return blas64.General{Rows: hi - lo, Cols: cols, Stride: cols, Data: data[lo*cols : hi*cols]}
}

// roundInputs rounds x into rows [off, off+B) of q32 for float32 products
// (off is 0 for X and B for Λ); with float64 products it copies x into
// those rows of q when copyQ, for the matrix adjoint's right factor
// [X; Λ].
func (s *Shallow) roundInputs(x blas64.General, off int, copyQ bool) {
	B, n := s.cur.batch, s.n
	switch {
	case s.prec == Float32:
		roundRows(s.q32[off*n:], x, 0, B)
	case copyQ:
		for b := range B {
			copy(s.q[(off+b)*n:(off+b+1)*n], x.Data[b*x.Stride:b*x.Stride+n])
		}
	}
}

// gemmUnits computes the columns [lo, hi) of Y = X Aᵀ (without the bias),
// the hidden units [lo, hi), into rows [off, off+B) of dst (2B×H), with X
// = x, or with float32 products its copy in rows [off, off+B) of q32 (see
// roundInputs).
func (s *Shallow) gemmUnits(dst []float64, x blas64.General, off, lo, hi int) {
	B, n, h := s.cur.batch, s.n, s.h
	y := block(dst, h, off, off+B)
	if s.prec == Float64 {
		blas64.Gemm(blas.NoTrans, blas.Trans, 1, x, rowsOf(s.matA(), lo, hi), 0, colsOf(y, lo, hi))
		return
	}
	a32 := blas32.General{Rows: h, Cols: n, Stride: n, Data: s.a32}
	y32 := block32(s.u32, h, off, off+B)
	sgemm(blas.NoTrans, blas.Trans, block32(s.q32, n, off, off+B), block32(a32.Data, n, lo, hi), colsOf32(y32, lo, hi))
	for b := range B {
		widen(y.Data[b*h+lo:b*h+hi], y32.Data[b*h+lo:b*h+hi], false)
	}
}

// roundUnits rounds the columns [lo, hi) of rows [0, rows) of src (a B×H
// or 2B×H buffer) into the same entries of u32, the left factor of
// gemmCoords and of the float32 matrix adjoint.
func (s *Shallow) roundUnits(src []float64, rows, lo, hi int) {
	h := s.h
	for b := range rows {
		toFloat32(s.u32[b*h+lo:b*h+hi], src[b*h+lo:b*h+hi])
	}
}

// gemmCoords computes the columns [lo, hi) of dst = S A + β dst, β ∈ {0, 1},
// the coordinates [lo, hi), for the B×H matrix S = src, or with float32
// products its rounding in u32 (see roundUnits).
func (s *Shallow) gemmCoords(dst blas64.General, src []float64, lo, hi int, beta float64) {
	B, n, h := s.cur.batch, s.n, s.h
	if s.prec == Float64 {
		blas64.Gemm(blas.NoTrans, blas.NoTrans, 1, block(src, h, 0, B), colsOf(s.matA(), lo, hi), beta, colsOf(dst, lo, hi))
		return
	}
	a32 := blas32.General{Rows: h, Cols: n, Stride: n, Data: s.a32}
	o32 := blas32.General{Rows: B, Cols: n, Stride: n, Data: s.o32[:B*n]}
	sgemm(blas.NoTrans, blas.NoTrans, block32(s.u32, h, 0, B), colsOf32(a32, lo, hi), colsOf32(o32, lo, hi))
	for b := range B {
		widen(dst.Data[b*dst.Stride+lo:b*dst.Stride+hi], s.o32[b*n+lo:b*n+hi], beta != 0)
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

// biasOf returns b_j for j in [lo, hi), or nil without bias.
func (s *Shallow) biasOf(lo, hi int) []float64 {
	if s.b == nil {
		return nil
	}
	return s.b[lo:hi]
}

// valueUnits computes, for the unit parts [k0, k1), U = X Aᵀ in the part's
// columns and each sample's partial sum Σ_j w_j σ(u_bj + b_j).
func (s *Shallow) valueUnits(k0, k1 int) {
	B, h, w, act := s.cur.batch, s.h, s.w, s.act
	for k := k0; k < k1; k++ {
		lo, hi := part(h, s.cur.unitParts, k)
		s.gemmUnits(s.u, s.cur.x, 0, lo, hi)
		for b := range B {
			var v float64
			for j, uj := range s.u[b*h+lo : b*h+hi] {
				v += w[lo+j] * act.Eval(uj+s.biasAt(lo+j))
			}
			s.part[k*B+b] = v
		}
	}
}

// gradLapUnits computes, for the unit parts [k0, k1), the part's columns
// of U = X Aᵀ and D = σ'(U) ⊙ w, each sample's partial sum of ∇²φ =
// σ”(U) (w ⊙ r), and the part's columns of the memo if there is one.
func (s *Shallow) gradLapUnits(k0, k1 int) {
	B, h, w, r, act := s.cur.batch, s.h, s.w, s.r, s.act
	memo := s.cur.memo
	for k := k0; k < k1; k++ {
		lo, hi := part(h, s.cur.unitParts, k)
		s.gemmUnits(s.u, s.cur.x, 0, lo, hi)
		bias := s.biasOf(lo, hi)
		for b := range B {
			row := b * h
			var m []float64
			if memo != nil {
				m = memo[row+lo : row+hi]
			}
			s.part[k*B+b] = act.gradLapRow(s.c[row+lo:row+hi], m, s.u[row+lo:row+hi], bias, w[lo:hi], r[lo:hi])
		}
		if s.prec == Float32 {
			s.roundUnits(s.c, B, lo, hi)
		}
	}
}

// gradLapCoords computes, for the coordinate parts [k0, k1), the part's
// columns of ∇φ = D A.
func (s *Shallow) gradLapCoords(k0, k1 int) {
	for k := k0; k < k1; k++ {
		lo, hi := part(s.n, s.cur.coordParts, k)
		s.gemmCoords(s.cur.grad, s.c, lo, hi, 0)
	}
}

// vjpUnits runs the part of the adjoint that is local to the hidden units
// of the unit parts [k0, k1): the parts' columns of U = X Aᵀ (without a
// memo) and G = Λ Aᵀ, and for each sample b and hidden unit j, with
// u = U_bj + b_j, g = G_bj and (d1, d2, d3) = σ', σ”, σ”' at u:
//
//	c = w_j (d2 g + μ_b d3 r_j)  → C_bj, the row of dx is (C A)_b
//	w_j d1                        → D_bj
//	d1 g + μ_b d2 r_j             → the sum over b of ∂w_j
//	c                             → … of ∂b_j
//	μ_b d2                        → … of Σ_b μ_b σ”(u_bj)
//
// (with a memo, vjpRowVec does a row's first entries in vectors when the
// build has them; see vec_simd_amd64.go) and then the units' parameter
// adjoint (vjpParams).
func (s *Shallow) vjpUnits(k0, k1 int) {
	B, h := s.cur.batch, s.h
	mu, memo := s.cur.mu, s.cur.memo
	needP := s.cur.dparams != nil
	w, r, act := s.w, s.r, s.act
	uu, gg := s.u[:B*h], s.u[B*h:2*B*h]
	cc, dd := s.c[:B*h], s.c[B*h:2*B*h]
	dw, db, diag := s.acc[:h], s.acc[h:2*h], s.acc[2*h:3*h]
	for k := k0; k < k1; k++ {
		lo, hi := part(h, s.cur.unitParts, k)
		if memo == nil {
			s.gemmUnits(s.u, s.cur.x, 0, lo, hi)
		}
		s.gemmUnits(s.u, s.cur.lambda, B, lo, hi)
		clear(dw[lo:hi])
		clear(db[lo:hi])
		clear(diag[lo:hi])
		for b := range B {
			mub := mu[b]
			row := b * h
			j := lo
			if memo != nil {
				j += act.vjpRowVec(cc[row+lo:row+hi], dd[row+lo:row+hi], dw[lo:hi], db[lo:hi], diag[lo:hi],
					memo[row+lo:row+hi], gg[row+lo:row+hi], w[lo:hi], r[lo:hi], mub, needP)
			}
			for ; j < hi; j++ {
				var d1, d2, d3 float64
				if memo != nil {
					d1, d2 = act.fromMemo(memo[row+j])
					d3 = act.third(d1, d2)
				} else {
					d1, d2, d3 = act.Derivatives(uu[row+j] + s.biasAt(j))
				}
				g := gg[row+j]
				cv := w[j] * (d2*g + mub*d3*r[j])
				cc[row+j] = cv
				if needP {
					dd[row+j] = w[j] * d1
					dw[j] += d1*g + mub*d2*r[j]
					db[j] += cv
					diag[j] += mub * d2
				}
			}
		}
		if s.prec == Float32 {
			rows := B
			if needP {
				rows = 2 * B
			}
			s.roundUnits(s.c, rows, lo, hi)
		}
		if needP {
			s.vjpParams(lo, hi)
		}
	}
}

// vjpCoords adds, for the coordinate parts [k0, k1), the part's columns of
// the input adjoint C A to dx.
func (s *Shallow) vjpCoords(k0, k1 int) {
	for k := k0; k < k1; k++ {
		lo, hi := part(s.n, s.cur.coordParts, k)
		s.gemmCoords(s.cur.dx, s.c, lo, hi, 1)
	}
}

// vjpParams adds the parameter adjoint of the hidden units [lo, hi):
// ∂a_j += [Cᵀ Dᵀ]_j [X; Λ] + 2 w_j (Σ_b μ_b σ”(u_bj)) a_j, and ∂b_j, ∂w_j
// from the sums of vjpUnits.
func (s *Shallow) vjpParams(lo, hi int) {
	B, h, n := s.cur.batch, s.h, s.n
	dparams := s.cur.dparams
	q := blas64.General{Rows: 2 * B, Cols: n, Stride: n, Data: s.q[:2*B*n]}
	if s.prec == Float32 {
		// The columns [lo, hi) of [C; D], rounded by vjpUnits, times
		// [X; Λ], rounded by roundInputs.
		cd := blas32.General{Rows: 2 * B, Cols: hi - lo, Stride: h, Data: s.u32[lo : (2*B-1)*h+hi]}
		q32 := blas32.General{Rows: 2 * B, Cols: n, Stride: n, Data: s.q32[:2*B*n]}
		sgemm(blas.Trans, blas.NoTrans, cd, q32, block32(s.p32, n, lo, hi))
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
		if s.b != nil {
			dparams[offB+j] += s.acc[h+j]
		}
		dparams[offW+j] += s.acc[j]
		// ∂a_j += 2 w_j (Σ_b μ_b σ”(u_bj)) a_j.
		coef := 2 * s.w[j] * s.acc[2*h+j]
		da := dparams[j*n : (j+1)*n]
		for i, v := range s.a[j*n : (j+1)*n] {
			da[i] += coef * v
		}
	}
}
