package flow_test

import (
	"slices"

	"gonum.org/v1/gonum/mat"

	"github.com/isingflow/isingflow/flow"
)

// reversed is a flow.Wrapper for the tests: its inner potential evaluated
// at the sample with its coordinates in reverse order (an orthogonal map),
// φ_r(x) = φ(Rx), ∇φ_r = R∇φ(Rx), ∇²φ_r = ∇²φ(Rx).
type reversed struct {
	inner flow.Potential
}

var _ flow.Wrapper = reversed{}

func (r reversed) Inner() flow.Potential { return r.inner }
func (r reversed) Dim() int              { return r.inner.Dim() }
func (r reversed) Params() []float64     { return r.inner.Params() }

// rev returns a copy of m with every row reversed.
func rev(m *mat.Dense) *mat.Dense {
	if m == nil {
		return nil
	}
	out := mat.DenseCopyOf(m)
	B, _ := out.Dims()
	for b := range B {
		slices.Reverse(out.RawRowView(b))
	}
	return out
}

func (r reversed) Value(dst []float64, x *mat.Dense) { r.inner.Value(dst, rev(x)) }

func (r reversed) GradLaplacian(grad *mat.Dense, lap []float64, x *mat.Dense) {
	g := mat.DenseCopyOf(grad)
	r.inner.GradLaplacian(g, lap, rev(x))
	grad.Copy(rev(g))
}

func (r reversed) GradLaplacianVJP(dx *mat.Dense, dparams []float64, x, lambda *mat.Dense, mu []float64) {
	var d *mat.Dense
	if dx != nil {
		d = mat.NewDense(dx.RawMatrix().Rows, dx.RawMatrix().Cols, nil)
	}
	r.inner.GradLaplacianVJP(d, dparams, rev(x), rev(lambda), mu)
	if dx != nil {
		dx.Add(dx, rev(d))
	}
}
