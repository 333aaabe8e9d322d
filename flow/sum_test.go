package flow_test

import (
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/isingflow/isingflow/flow"
	"github.com/isingflow/isingflow/flow/flowtest"
)

func TestSumDerivatives(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	const n = 5
	s := mat.NewDense(n, n, nil)
	for i := range n {
		for j := range n {
			s.Set(i, j, rng.NormFloat64())
		}
	}
	sum := flow.NewSum(
		flow.NewQuadratic(s, nil),
		flow.NewShallow(n, 4, flow.LogCosh, false, rng),
		flow.NewShallow(n, 3, flow.Softplus, true, rng),
	)
	flowtest.CheckPotential(t, sum, 3, rng, 1e-7)
}

func TestSumEqualsTermByTerm(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	const n, b = 6, 4
	a := flow.NewShallow(n, 5, flow.LogCosh, false, rng)
	c := flow.NewShallow(n, 7, flow.Softplus, true, rng)
	sum := flow.NewSum(a, c)
	x := mat.NewDense(b, n, nil)
	for i := range b {
		for j := range n {
			x.Set(i, j, rng.NormFloat64())
		}
	}
	got := make([]float64, b)
	sum.Value(got, x)
	va, vc := make([]float64, b), make([]float64, b)
	a.Value(va, x)
	c.Value(vc, x)
	for i := range got {
		if d := got[i] - va[i] - vc[i]; d > 1e-12 || d < -1e-12 {
			t.Fatalf("sample %d: Sum %v, terms %v + %v", i, got[i], va[i], vc[i])
		}
	}
	// Parameters written through the Sum reach the terms.
	sum.Params()[0] += 1
	sum.Value(got, x)
	if a.Params()[0] != sum.Params()[0] {
		t.Error("parameter written through Sum did not reach its term")
	}
}
