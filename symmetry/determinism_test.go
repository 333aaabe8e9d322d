package symmetry

import (
	"math/rand/v2"
	"runtime"
	"slices"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/isingflow/isingflow/flow"
	"github.com/isingflow/isingflow/lattice"
)

// TestVJPIsDeterministic checks that the parameter adjoints of the
// multiscale and symmetric potentials are the same bit for bit on every
// call with four goroutines: each chunk of the batch sums into a work of
// its own, reduced in the order of the chunks, whatever the scheduling
// (a work reused by a second chunk once made the sums, and so a resumed
// run, differ in the last bits).
func TestVJPIsDeterministic(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(4))
	lat, err := lattice.NewHypercubic(2, 16, lattice.Periodic)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(7, 8))
	ms, err := NewMultiscale(lat, DefaultMultiscaleOptions(), rng)
	if err != nil {
		t.Fatal(err)
	}
	conv, err := NewConv(lat, 2, ConvOptions{}, rng)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		p    flow.Potential
	}{{"multiscale", ms}, {"symmetric", conv}} {
		const B = 64
		n := tc.p.Dim()
		x := randDense(rng, B, n, 1.5)
		lambda := randDense(rng, B, n, 1)
		mu := make([]float64, B)
		for b := range mu {
			mu[b] = rng.NormFloat64()
		}
		var first []float64
		for i := range 40 {
			dx := mat.NewDense(B, n, nil)
			dp := make([]float64, len(tc.p.Params()))
			tc.p.GradLaplacianVJP(dx, dp, x, lambda, mu)
			if i == 0 {
				first = dp
				continue
			}
			if !slices.Equal(dp, first) {
				t.Fatalf("%s: call %d gave other parameter adjoints than the first", tc.name, i)
			}
		}
	}
}
