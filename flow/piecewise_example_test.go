package flow_test

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"

	"github.com/isingflow/isingflow/flow"
)

// ExampleNewPiecewise builds a potential that changes halfway through the
// flow time: φ = ½x₁² on t ∈ [0, ½) stretches the first coordinate, then
// φ = ½x₂² on [½, 1) the second. The sample of z = (1, 1) is close to
// (e^{1/2}, e^{1/2}), and ℓ = ∫∇²φ dt = ½ + ½ = 1; the density direction
// undoes the two pieces in reverse order.
func ExampleNewPiecewise() {
	p := flow.NewPiecewise(
		flow.NewQuadratic(mat.NewDiagDense(2, []float64{1, 0}), nil),
		flow.NewQuadratic(mat.NewDiagDense(2, []float64{0, 1}), nil),
	)
	f, err := flow.New(p, 10, 0.1) // T = 1, five RK4 steps per piece
	if err != nil {
		fmt.Println(err)
		return
	}
	z := mat.NewDense(1, 2, []float64{1, 1})
	x := mat.NewDense(1, 2, nil)
	logp := make([]float64, 1)
	if err := f.Forward(x, logp, z); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("x = (%.6f, %.6f), e^{1/2} = %.6f\n", x.At(0, 0), x.At(0, 1), math.Exp(0.5))
	fmt.Printf("ℓ = %.6f\n", flow.BaseLogDensity(z.RawRowView(0))-logp[0])

	back := mat.NewDense(1, 2, nil)
	if err := f.Backward(back, nil, x); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("back to z = (%.6f, %.6f)\n", back.At(0, 0), back.At(0, 1))

	// An odd number of steps cannot be split into the two pieces.
	_, err = flow.New(p, 9, 0.1)
	fmt.Println(err)
	// Output:
	// x = (1.648721, 1.648721), e^{1/2} = 1.648721
	// ℓ = 1.000000
	// back to z = (1.000000, 1.000000)
	// flow: 9 steps do not split evenly into the potential's 2 time intervals
}
