package mnist_test

import (
	"bytes"
	"fmt"
	"log"
	"math"
	"math/rand/v2"

	"gonum.org/v1/gonum/mat"

	"github.com/isingflow/isingflow/mnist"
)

// An IDX image file: magic 0x00000803, dimensions 2 × 2 × 3, then the
// pixels. ReadImages accepts it raw or gzip-compressed; a broken file gives
// an error naming it.
func ExampleReadImages() {
	file := []byte{
		0, 0, 8, 3, // magic: unsigned bytes, 3 dimensions
		0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 3, // 2 images of 2×3
		0, 255, 0, 0, 255, 0, // image 0
		9, 9, 9, 0, 0, 0, // image 1
	}
	im, err := mnist.ReadImages(bytes.NewReader(file), "tiny-images-idx3-ubyte")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(im.N, im.Rows, im.Cols, im.Image(1))

	_, err = mnist.ReadImages(bytes.NewReader(file[:len(file)-2]), "tiny-images-idx3-ubyte")
	fmt.Println(err)
	// Output:
	// 2 2 3 [9 9 9 0 0 0]
	// mnist: tiny-images-idx3-ubyte: truncated after 1 images (header declares 2)
}

// The MAF protocol on a batch: dequantise, map to logit space, keep the log
// Jacobian per image. A model's negative log-density in logit space then
// converts to bits per dimension of the 8-bit images; a model that is
// uniform on [0,1]^D (p_Y = exp(−logJac)) scores exactly 8 bits.
func ExampleLogitBatch() {
	im := &mnist.Images{N: 2, Rows: 2, Cols: 2, Pixels: []uint8{0, 0, 128, 255, 7, 7, 7, 7}}
	y := mat.NewDense(2, im.Dim(), nil)
	logJac := make([]float64, 2)
	mnist.LogitBatch(y, logJac, im, []int{0, 1}, rand.New(rand.NewPCG(1, 2)))

	for b := range 2 {
		nllUniform := logJac[b] // −ln p_Y(y) of the uniform model
		fmt.Printf("image %d: bits/dim %.3f\n", b, mnist.BitsPerDim(nllUniform, logJac[b], im.Dim()))
	}
	// Back to pixels, as for a sample of the flow.
	x := make([]float64, im.Dim())
	mnist.InverseLogit(x, y.RawRowView(0))
	p := make([]uint8, im.Dim())
	mnist.Quantize(p, x)
	fmt.Println(p)
	// Output:
	// image 0: bits/dim 8.000
	// image 1: bits/dim 8.000
	// [0 0 128 255]
}

// The conversion between the paper's logit-space nats and bits/dim needs
// the mean log Jacobian of the test images.
func ExampleBitsPerDim() {
	const d = 784
	// A standard normal model in logit space at y = 0 (all pixels grey):
	// −ln p_Y = (D/2) ln 2π, and ln|dy/dx| = D ln 4 (1−2α) there.
	nll := d / 2 * math.Log(2*math.Pi)
	logJac := d * (math.Log(4) + math.Log1p(-2*mnist.Alpha))
	fmt.Printf("%.1f nats in logit space = %.3f bits/dim\n", nll, mnist.BitsPerDim(nll, logJac, d))
	// Output:
	// 720.4 nats in logit space = 7.326 bits/dim
}
