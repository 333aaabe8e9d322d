package flow_test

import (
	"math/rand/v2"
	"testing"

	"github.com/isingflow/isingflow/flow"
	"github.com/isingflow/isingflow/flow/flowtest"
)

func TestCirculantQuadraticCheckPotential(t *testing.T) {
	for _, shape := range [][]int{{5}, {3, 4}, {4, 4}} {
		q := flow.NewCirculantQuadratic(shape)
		rng := rand.New(rand.NewPCG(1, 2))
		for i := range q.Params() {
			q.Params()[i] = rng.NormFloat64()
		}
		flowtest.CheckPotential(t, q, 3, rng, 1e-6)
	}
}
