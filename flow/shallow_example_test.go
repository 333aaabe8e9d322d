package flow_test

import (
	"fmt"
	"math"
	"math/rand/v2"

	"gonum.org/v1/gonum/mat"

	"github.com/isingflow/isingflow/flow"
)

// ExampleNewShallow builds the paper's potential for the 16×16 Ising model:
// 512 hidden units with σ = ln cosh and no bias, so that φ is even and the
// flow commutes with the spin flip. At x = 0 the velocity ∇φ vanishes and
// the Laplacian is Σ_j w_j |a_j|² (σ”(0) = 1).
func ExampleNewShallow() {
	const n, hidden = 16 * 16, 512
	p := flow.NewShallow(n, hidden, flow.LogCosh, false, rand.New(rand.NewPCG(1, 2)))
	fmt.Println("activation:", p.Activation(), "bias:", p.HasBias())
	fmt.Println("parameters:", len(p.Params()), "= H·N + H =", hidden*n+hidden)

	x := mat.NewDense(1, n, nil) // one sample, x = 0
	grad := mat.NewDense(1, n, nil)
	lap := make([]float64, 1)
	p.GradLaplacian(grad, lap, x)

	a, _, w := p.Weights()
	var want float64
	for j := range hidden {
		row := a.RawRowView(j)
		want += w[j] * mat.Dot(mat.NewVecDense(n, row), mat.NewVecDense(n, row))
	}
	fmt.Printf("|∇φ(0)| = %g, ∇²φ(0) = Σ w_j |a_j|²: %t\n", mat.Norm(grad, 2), math.Abs(lap[0]-want) < 1e-12)

	// Output:
	// activation: lncosh bias: false
	// parameters: 131584 = H·N + H = 131584
	// |∇φ(0)| = 0, ∇²φ(0) = Σ w_j |a_j|²: true
}
