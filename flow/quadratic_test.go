package flow_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/isingflow/isingflow/flow"
	"github.com/isingflow/isingflow/flow/flowtest"
)

var _ flow.Potential = (*flow.Quadratic)(nil)

func TestQuadraticCheckPotential(t *testing.T) {
	for _, n := range []int{1, 2, 5} {
		for _, linear := range []bool{false, true} {
			for _, batch := range []int{1, 3} {
				t.Run(fmt.Sprintf("N=%d/linear=%t/B=%d", n, linear, batch), func(t *testing.T) {
					rng := rand.New(rand.NewPCG(uint64(n), uint64(batch)))
					q := newRandomQuadratic(rng, n, linear, 1)
					flowtest.CheckPotential(t, q, batch, rng, 1e-8)
				})
			}
		}
	}
}

// TestQuadraticClosedForm checks Value, GradLaplacian and the accessors
// against direct evaluation with a non-symmetric S.
func TestQuadraticClosedForm(t *testing.T) {
	s := mat.NewDense(2, 2, []float64{1, 2, -4, 3})
	c := []float64{0.5, -1}
	q := flow.NewQuadratic(s, c)
	x := mat.NewDense(2, 2, []float64{1, 2, -3, 0.5})
	v := make([]float64, 2)
	q.Value(v, x)
	g := mat.NewDense(2, 2, nil)
	lap := make([]float64, 2)
	q.GradLaplacian(g, lap, x)
	for b := range 2 {
		x0, x1 := x.At(b, 0), x.At(b, 1)
		// xᵀSx = x0² + (2−4) x0 x1 + 3 x1².
		want := 0.5*(x0*x0-2*x0*x1+3*x1*x1) + c[0]*x0 + c[1]*x1
		if math.Abs(v[b]-want) > 1e-14 {
			t.Errorf("Value[%d] = %v, want %v", b, v[b], want)
		}
		// S̄ = [[1, −1], [−1, 3]].
		g0, g1 := x0-x1+c[0], -x0+3*x1+c[1]
		if math.Abs(g.At(b, 0)-g0) > 1e-14 || math.Abs(g.At(b, 1)-g1) > 1e-14 {
			t.Errorf("grad[%d] = %v, want [%v %v]", b, g.RawRowView(b), g0, g1)
		}
		if lap[b] != 4 {
			t.Errorf("lap[%d] = %v, want 4", b, lap[b])
		}
	}
	sym := q.Symmetric()
	if sym.At(0, 1) != -1 || sym.At(1, 1) != 3 {
		t.Errorf("Symmetric = %v", mat.Formatted(sym))
	}
	if !q.HasLinear() || q.Linear()[1] != -1 || len(q.Params()) != 6 {
		t.Errorf("HasLinear %v Linear %v len(Params) %d", q.HasLinear(), q.Linear(), len(q.Params()))
	}
	if q2 := flow.NewQuadratic(s, nil); q2.HasLinear() || q2.Linear() != nil || len(q2.Params()) != 4 {
		t.Error("quadratic without linear term has one")
	}
}

func TestQuadraticPanics(t *testing.T) {
	for name, fn := range map[string]func(){
		"non-square": func() { flow.NewQuadratic(mat.NewDense(2, 3, nil), nil) },
		"len(c)":     func() { flow.NewQuadratic(mat.NewDense(2, 2, nil), []float64{1}) },
		"columns": func() {
			q := flow.NewQuadratic(mat.NewDense(2, 2, nil), nil)
			q.GradLaplacian(mat.NewDense(1, 3, nil), []float64{0}, mat.NewDense(1, 3, nil))
		},
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Error("no panic")
				}
			}()
			fn()
		})
	}
}
