package flow

import (
	"fmt"

	"gonum.org/v1/gonum/mat"
)

// Sum is the potential φ = Σ_k φ_k of several potentials on the same
// space, for example a learnable quadratic part beside a single-hidden-layer
// network. Its parameters are the terms' parameters concatenated in order,
// held in one vector of the Sum's own. A term that is a ParamBinder (or a
// Wrapper of one), such as Shallow, Sum and Piecewise, moves its parameters
// into that vector, so the Sum and the term share them and a parameter
// slice taken from such a term before NewSum goes stale; any other term
// receives its part before every call that evaluates it (once per hold
// while the parameters are held). Write parameters through Sum.Params, not
// through the terms.
type Sum struct {
	Terms []Potential

	parts
	grad *mat.Dense
	lap  []float64
	val  []float64
}

// NewSum returns the sum of the terms, which must share one dimension and
// must not be time dependent (a Sum would hide their time dependence from
// the flow; put the sum inside every block of a Piecewise instead). The
// Sum's parameters start as the terms' current ones.
func NewSum(terms ...Potential) *Sum {
	if len(terms) == 0 {
		panic("flow: NewSum of no terms")
	}
	for k, t := range terms {
		if _, ok := t.(TimeDependent); ok {
			panic(fmt.Sprintf("flow: NewSum: term %d is time dependent; sum inside each of its blocks instead", k))
		}
		if t.Dim() != terms[0].Dim() {
			panic(fmt.Sprintf("flow: NewSum: term %d has dimension %d, term 0 has %d", k, t.Dim(), terms[0].Dim()))
		}
	}
	return &Sum{Terms: terms, parts: newParts(terms)}
}

// BindParams moves the parameters into p and binds the terms to their
// parts of it (see ParamBinder).
func (s *Sum) BindParams(p []float64) { s.bind(p) }

// SetPrecision sets the precision of every term that has one (see
// PrecisionSetter).
func (s *Sum) SetPrecision(prec Precision) {
	for _, t := range s.Terms {
		SetPrecision(t, prec)
	}
}

// HoldParams holds or releases the terms' parameters, copying them into
// the terms that do not share the Sum's storage first (see ParamHolder).
func (s *Sum) HoldParams(hold bool) { s.hold(hold) }

// Dim returns the input dimension N.
func (s *Sum) Dim() int { return s.Terms[0].Dim() }

// Params returns all parameters, term by term.
func (s *Sum) Params() []float64 { return s.params }

// syncAll hands the parameters to the terms that do not share them.
func (s *Sum) syncAll() {
	for k := range s.Terms {
		s.sync(k)
	}
}

// Value writes φ(x_b) = Σ_k φ_k(x_b) into dst[b].
func (s *Sum) Value(dst []float64, x *mat.Dense) {
	s.syncAll()
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
	s.syncAll()
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
	s.syncAll()
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
