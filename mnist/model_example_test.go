package mnist_test

import (
	"fmt"
	"log"
	"math/rand/v2"

	"github.com/isingflow/isingflow/flow"
	"github.com/isingflow/isingflow/mnist"
)

// Evaluating a flow on images: with a zero potential the flow is the
// identity, p_Y is the standard normal, and the NLL of an image is
// ½|y|² + (D/2) ln 2π of its logit-space pixels. A blank image sits far out
// in logit space (y ≈ −6.5 per pixel), so the Gaussian gives it a large
// NLL, and bits/dim of the 8-bit image follow through the logit Jacobian.
func ExampleEvaluator() {
	im := &mnist.Images{N: 3, Rows: 2, Cols: 2, Pixels: []uint8{
		0, 0, 0, 0, // blank
		0, 255, 255, 0, // a diagonal stroke
		128, 127, 129, 128, // mid-grey: y ≈ 0, the Gaussian's favourite
	}}
	phi := flow.NewShallow(im.Dim(), 8, flow.Softplus, true, nil) // φ = 0
	f, err := flow.New(phi, 10, 0.1)
	if err != nil {
		log.Fatal(err)
	}
	ev := &mnist.Evaluator{Flow: f}
	nll, logJac := make([]float64, im.N), make([]float64, im.N)
	if _, err := ev.Evaluate(nll, logJac, im, rand.New(rand.NewPCG(1, 2))); err != nil {
		log.Fatal(err)
	}
	for n := range nll {
		fmt.Printf("image %d: NLL %6.2f nats, %5.2f bits/dim\n", n, nll[n], mnist.BitsPerDim(nll[n], logJac[n], im.Dim()))
	}
	s := mnist.Summarize(nll, logJac, im.Dim())
	fmt.Printf("mean: %.1f ± %.1f nats, %.2f ± %.2f bits/dim over %d images\n",
		s.NLL, s.NLLErr, s.BitsPerDim, s.BitsPerDimErr, s.Images)
	// Output:
	// image 0: NLL  80.96 nats, 28.23 bits/dim
	// image 1: NLL  86.78 nats, 30.03 bits/dim
	// image 2: NLL   3.68 nats,  7.33 bits/dim
	// mean: 57.1 ± 26.8 nats, 21.86 ± 7.29 bits/dim over 3 images
}
