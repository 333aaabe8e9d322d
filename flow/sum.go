package flow

import (
	"fmt"

	"gonum.org/v1/gonum/mat"
)

// Sum is the potential φ = Σ_k φ_k of several potentials on the same
// space, for example a learnable quadratic part beside a single-hidden-layer
// network. Its parameters are the terms' parameters concatenated in order,
// held in one vector of the Sum's own. The potentials of this package
// (Shallow, Sum, Piecewise) move their parameters into that vector, so the
// Sum and the term share them and a parameter slice taken from such a term
// before NewSum goes stale; other terms receive their part at the start of
// every call. Write parameters through Sum.Params, not through the terms.
type Sum struct {
	Terms  []Potential
	params []float64
	offs   []int
	bound  []bool // terms whose parameters alias params (see binder)
	grad   *mat.Dense
	lap    []float64
	val    []float64
}

// NewSum returns the sum of the terms, which must share one dimension and
// must not be time dependent (a Sum would hide their time dependence from
// the flow; put the sum inside every block of a Piecewise instead). The
// Sum's parameters start as the terms' current ones.
func NewSum(terms ...Potential) *Sum {
	if len(terms) == 0 {
		panic("flow: NewSum of no terms")
	}
	s := &Sum{Terms: terms, offs: make([]int, len(terms)+1)}
	for k, t := range terms {
		if _, ok := t.(TimeDependent); ok {
			panic(fmt.Sprintf("flow: NewSum: term %d is time dependent; sum inside each of its blocks instead", k))
		}
		if t.Dim() != terms[0].Dim() {
			panic(fmt.Sprintf("flow: NewSum: term %d has dimension %d, term 0 has %d", k, t.Dim(), terms[0].Dim()))
		}
		s.params = append(s.params, t.Params()...)
		s.offs[k+1] = len(s.params)
	}
	s.bound = bindTerms(terms, s.params, s.offs)
	return s
}

// bindParams moves the parameters into p (see binder).
func (s *Sum) bindParams(p []float64) {
	copy(p, s.params)
	s.params = p
	s.bound = bindTerms(s.Terms, p, s.offs)
}

// SetPrecision sets the precision of every term that has one (see
// PrecisionSetter).
func (s *Sum) SetPrecision(prec Precision) {
	for _, t := range s.Terms {
		SetPrecision(t, prec)
	}
}

// holdParams holds the terms' parameters (see holder).
func (s *Sum) holdParams(hold bool) {
	for _, t := range s.Terms {
		holdParams(t, hold)
	}
}

// Dim returns the input dimension N.
func (s *Sum) Dim() int { return s.Terms[0].Dim() }

// Params returns all parameters, term by term.
func (s *Sum) Params() []float64 { return s.params }

// sync hands the parameters to the terms that do not share them.
func (s *Sum) sync() {
	for k, t := range s.Terms {
		if !s.bound[k] {
			copy(t.Params(), s.params[s.offs[k]:s.offs[k+1]])
		}
	}
}

// Value writes φ(x_b) = Σ_k φ_k(x_b) into dst[b].
func (s *Sum) Value(dst []float64, x *mat.Dense) {
	s.sync()
	b, _ := x.Dims()
	s.val = reuse(s.val, b)
	s.Terms[0].Value(dst, x)
	for _, t := range s.Terms[1:] {
		t.Value(s.val, x)
		for i := range dst[:b] {
			dst[i] += s.val[i]
		}
	}
}

// GradLaplacian writes the summed gradients and Laplacians.
func (s *Sum) GradLaplacian(grad *mat.Dense, lap []float64, x *mat.Dense) {
	s.GradLaplacianMemo(grad, lap, x, nil)
}

// MemoLen returns the total length of the terms' memos (see MemoPotential);
// terms that are not MemoPotentials keep none.
func (s *Sum) MemoLen(B int) int {
	var n int
	for _, t := range s.Terms {
		if mt, ok := t.(MemoPotential); ok {
			n += mt.MemoLen(B)
		}
	}
	return n
}

// GradLaplacianMemo is GradLaplacian that also writes the terms' memos,
// one after the other, into memo (nil: none).
func (s *Sum) GradLaplacianMemo(grad *mat.Dense, lap []float64, x *mat.Dense, memo []float64) {
	s.sync()
	b, n := x.Dims()
	s.grad = reuseDense(s.grad, b, n)
	s.lap = reuse(s.lap, b)
	memo = gradLaplacianWith(s.Terms[0], grad, lap, x, memo)
	for _, t := range s.Terms[1:] {
		memo = gradLaplacianWith(t, s.grad, s.lap, x, memo)
		grad.Add(grad, s.grad)
		for i := range lap[:b] {
			lap[i] += s.lap[i]
		}
	}
}

// GradLaplacianVJPMemo is GradLaplacianVJP with the memos GradLaplacianMemo
// wrote (nil: none).
func (s *Sum) GradLaplacianVJPMemo(dx *mat.Dense, dparams []float64, x, lambda *mat.Dense, mu []float64, memo []float64) {
	s.sync()
	for k, t := range s.Terms {
		var dp []float64
		if dparams != nil {
			dp = dparams[s.offs[k]:s.offs[k+1]]
		}
		memo = gradLaplacianVJPWith(t, dx, dp, x, lambda, mu, memo)
	}
}

// GradLaplacianVJP adds every term's vector-Jacobian products.
func (s *Sum) GradLaplacianVJP(dx *mat.Dense, dparams []float64, x, lambda *mat.Dense, mu []float64) {
	s.GradLaplacianVJPMemo(dx, dparams, x, lambda, mu, nil)
}
