package symmetry_test

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/isingflow/isingflow/flow"
	"github.com/isingflow/isingflow/lattice"
	"github.com/isingflow/isingflow/symmetry"
)

// BenchmarkMultiscaleStage times one RK4 stage's worth of potential work
// (GradLaplacian + GradLaplacianVJP, B = 64) of the Multiscale potential
// with the default options at L = 8 … 64, beside the dense H = 512
// potential and one channel of Conv at L = 16: the cost per site should
// stay flat with L.
func BenchmarkMultiscaleStage(b *testing.B) {
	for _, L := range []int{8, 16, 32, 64} {
		lat, err := lattice.NewHypercubic(2, L, lattice.Periodic)
		if err != nil {
			b.Fatal(err)
		}
		m, err := symmetry.NewMultiscale(lat, symmetry.DefaultMultiscaleOptions(), rand.New(rand.NewPCG(1, 1)))
		if err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("multiscale/L%d", L), func(b *testing.B) { benchStage(b, m, benchB) })
	}
	lat := benchLattice(b)
	b.Run("dense/H512/L16", func(b *testing.B) {
		benchStage(b, flow.NewShallow(lat.N(), benchH, flow.LogCosh, false, rand.New(rand.NewPCG(1, 1))), benchB)
	})
}
