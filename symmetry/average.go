package symmetry

import (
	"errors"
	"fmt"

	"gonum.org/v1/gonum/mat"

	"github.com/isingflow/isingflow/flow"
	"github.com/isingflow/isingflow/internal/parallel"
)

// maxAverageFloats bounds the size (in float64s) of the stacked batch of
// images that Average hands to its inner potential in one call. It is a
// variable so that tests can exercise the chunking.
var maxAverageFloats = 1 << 22

// Average is the group average of a potential,
//
//	φ_G(x) = (1/|G|) Σ_g φ(g x),
//
// which is exactly G-invariant whatever φ is. Every g is orthogonal, so
//
//	∇φ_G(x)  = (1/|G|) Σ_g gᵀ ∇φ(g x),
//	∇²φ_G(x) = (1/|G|) Σ_g ∇²φ(g x),
//
// and the vector-Jacobian product with adjoints (λ, μ) is the inner one at
// the images g x with adjoints (g λ/|G|, μ/|G|), its input part mapped back
// by gᵀ. Average evaluates the images of a batch of B rows as one stacked
// batch of up to |G|·B rows (in chunks of whole elements when that would
// exceed 32 MB) and costs |G| inner evaluations: it is the slow oracle
// against which faster structured forms (Conv) are tested, correct for any
// group and any potential.
//
// Params returns the inner potential's parameters. Average is not safe for
// concurrent use.
type Average struct {
	inner flow.Potential
	group *Group
	chunk int // group elements per inner call

	xs, gs, ls, dxs *mat.Dense
	lap, mu, val    []float64
	rows            int
}

var _ flow.Potential = (*Average)(nil)

// NewAverage returns the average of p over G. G must act on p.Dim() sites.
func NewAverage(p flow.Potential, G *Group) (*Average, error) {
	if p == nil || G == nil {
		return nil, errors.New("symmetry: NewAverage: nil potential or group")
	}
	if p.Dim() != G.N() {
		return nil, fmt.Errorf("symmetry: NewAverage: potential has dimension %d, group acts on %d sites", p.Dim(), G.N())
	}
	return &Average{inner: p, group: G}, nil
}

// Inner returns the potential being averaged.
func (a *Average) Inner() flow.Potential { return a.inner }

// Group returns the group averaged over.
func (a *Average) Group() *Group { return a.group }

// Dim returns N.
func (a *Average) Dim() int { return a.inner.Dim() }

// Params returns the inner potential's parameters (aliased).
func (a *Average) Params() []float64 { return a.inner.Params() }

// reserve sizes the workspaces for batches of B rows.
func (a *Average) reserve(B int) {
	n := a.Dim()
	order := a.group.Order()
	if a.rows == B && a.xs != nil {
		return
	}
	// The largest divisor of |G| whose stacked batch fits, so every inner
	// call sees the same batch size.
	m := 1
	for d := 1; d <= order; d++ {
		if order%d == 0 && d*B*n <= maxAverageFloats {
			m = d
		}
	}
	a.chunk = m
	a.rows = B
	a.xs = mat.NewDense(m*B, n, nil)
	a.gs = mat.NewDense(m*B, n, nil)
	a.ls = mat.NewDense(m*B, n, nil)
	a.dxs = mat.NewDense(m*B, n, nil)
	a.lap = make([]float64, m*B)
	a.mu = make([]float64, m*B)
	a.val = make([]float64, m*B)
}

// images writes g_{k0+j} y_b into row j·B+b of dst for the chunk of
// elements starting at k0.
func (a *Average) images(dst, y *mat.Dense, k0 int, scale float64) {
	B, n := y.Dims()
	parallel.For(a.chunk*B, n, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			g := a.group.elems[k0+r/B]
			d := dst.RawRowView(r)
			x := y.RawRowView(r % B)
			s := scale * g.sign
			for i, p := range g.perm {
				d[i] = s * x[p]
			}
		}
	})
}

func (a *Average) checkBatch(x *mat.Dense) int {
	B, n := x.Dims()
	if n != a.Dim() {
		panic(fmt.Sprintf("symmetry: Average: batch has %d columns, want %d", n, a.Dim()))
	}
	a.reserve(B)
	return B
}

// Value writes φ_G(x_b) into dst[b].
func (a *Average) Value(dst []float64, x *mat.Dense) {
	B := a.checkBatch(x)
	if len(dst) != B {
		panic("symmetry: Average.Value: dst has wrong length")
	}
	clear(dst)
	order := a.group.Order()
	for k0 := 0; k0 < order; k0 += a.chunk {
		a.images(a.xs, x, k0, 1)
		a.inner.Value(a.val, a.xs)
		for r, v := range a.val {
			dst[r%B] += v
		}
	}
	for b := range dst {
		dst[b] /= float64(order)
	}
}

// GradLaplacian writes ∇φ_G(x_b) into row b of grad and ∇²φ_G(x_b) into
// lap[b].
func (a *Average) GradLaplacian(grad *mat.Dense, lap []float64, x *mat.Dense) {
	B := a.checkBatch(x)
	n := a.Dim()
	if r, c := grad.Dims(); r != B || c != n || len(lap) != B {
		panic("symmetry: Average.GradLaplacian: destination has wrong shape")
	}
	grad.Zero()
	clear(lap)
	order := a.group.Order()
	inv := 1 / float64(order)
	for k0 := 0; k0 < order; k0 += a.chunk {
		a.images(a.xs, x, k0, 1)
		a.inner.GradLaplacian(a.gs, a.lap, a.xs)
		a.foldBack(grad, a.gs, k0, inv)
		for r, v := range a.lap {
			lap[r%B] += v * inv
		}
	}
}

// foldBack adds scale·g_{k0+j}ᵀ src_{j·B+b} to row b of dst.
func (a *Average) foldBack(dst, src *mat.Dense, k0 int, scale float64) {
	B, n := dst.Dims()
	parallel.For(B, a.chunk*n, func(lo, hi int) {
		for b := lo; b < hi; b++ {
			d := dst.RawRowView(b)
			for j := 0; j < a.chunk; j++ {
				g := a.group.elems[k0+j]
				s := scale * g.sign
				row := src.RawRowView(j*B + b)
				for i, p := range g.perm {
					d[p] += s * row[i]
				}
			}
		}
	})
}

// GradLaplacianVJP adds the vector-Jacobian products of (∇φ_G, ∇²φ_G) at x
// with adjoints (lambda, mu) to dx and dparams (see flow.Potential).
func (a *Average) GradLaplacianVJP(dx *mat.Dense, dparams []float64, x, lambda *mat.Dense, mu []float64) {
	B := a.checkBatch(x)
	n := a.Dim()
	if r, c := lambda.Dims(); r != B || c != n || len(mu) != B {
		panic("symmetry: Average.GradLaplacianVJP: adjoints have wrong shape")
	}
	if dx == nil && dparams == nil {
		return
	}
	order := a.group.Order()
	inv := 1 / float64(order)
	for r := range a.mu {
		a.mu[r] = mu[r%B] * inv
	}
	var dxs *mat.Dense
	if dx != nil {
		dxs = a.dxs
	}
	for k0 := 0; k0 < order; k0 += a.chunk {
		a.images(a.xs, x, k0, 1)
		a.images(a.ls, lambda, k0, inv)
		if dxs != nil {
			dxs.Zero()
		}
		a.inner.GradLaplacianVJP(dxs, dparams, a.xs, a.ls, a.mu)
		if dx != nil {
			a.foldBack(dx, dxs, k0, 1)
		}
	}
}
