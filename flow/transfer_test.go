package flow_test

import (
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/isingflow/isingflow/flow"
)

func randomize(p []float64, rng *rand.Rand) {
	for i := range p {
		p[i] = rng.NormFloat64()
	}
}

// TestTransferCopies checks that potentials of the same layout take each
// other's parameters exactly, blocks and terms included.
func TestTransferCopies(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	build := func() flow.Potential {
		return flow.NewPiecewise(
			flow.NewSum(flow.NewSpectralQuadratic([]int{4, 4}, 10), flow.NewShallow(16, 8, flow.LogCosh, false, rng)),
			flow.NewSum(flow.NewSpectralQuadratic([]int{4, 4}, 10), flow.NewShallow(16, 8, flow.LogCosh, false, rng)),
		)
	}
	src, dst := build(), build()
	randomize(src.Params(), rng)
	if slices.Equal(src.Params(), dst.Params()) {
		t.Fatal("the two potentials start equal")
	}
	if err := flow.Transfer(dst, src); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(src.Params(), dst.Params()) {
		t.Error("the parameters differ after Transfer")
	}
}

// TestTransferRefuses checks that arrays that depend on the lattice, or
// that one potential lacks, are refused by name and leave dst unchanged.
func TestTransferRefuses(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, c := range []struct {
		name     string
		dst, src flow.Potential
		want     string
	}{
		{"a dense potential of another size",
			flow.NewSum(flow.NewSpectralQuadratic([]int{8, 8}, 1), flow.NewShallow(64, 8, flow.LogCosh, false, rng)),
			flow.NewSum(flow.NewSpectralQuadratic([]int{4, 4}, 1), flow.NewShallow(16, 8, flow.LogCosh, false, rng)),
			"shallow/A [8 64] has shape [8 16]"},
		{"a kernel of another size",
			flow.NewCirculantQuadratic([]int{8, 8}), flow.NewCirculantQuadratic([]int{4, 4}), "quadratic/kernel"},
		{"a spectrum of another dimension",
			flow.NewSpectralQuadratic([]int{4, 4, 4}, 1), flow.NewSpectralQuadratic([]int{4, 4}, 1), "quadratic/spectrum"},
		{"a missing array",
			flow.NewSum(flow.NewSpectralQuadratic([]int{4, 4}, 1), flow.NewShallow(16, 8, flow.LogCosh, false, rng)),
			flow.NewShallow(16, 8, flow.LogCosh, false, rng), "no parameter array quadratic/spectrum"},
		{"an extra array",
			flow.NewShallow(16, 8, flow.LogCosh, false, rng),
			flow.NewSum(flow.NewSpectralQuadratic([]int{4, 4}, 1), flow.NewShallow(16, 8, flow.LogCosh, false, rng)),
			"quadratic/spectrum [4 4] has no counterpart"},
		{"another number of blocks",
			flow.NewPiecewise(flow.NewSpectralQuadratic([]int{4, 4}, 1), flow.NewSpectralQuadratic([]int{4, 4}, 1)),
			flow.NewPiecewise(flow.NewSpectralQuadratic([]int{4, 4}, 1)), "block1/quadratic/spectrum"},
	} {
		t.Run(c.name, func(t *testing.T) {
			randomize(c.src.Params(), rng)
			randomize(c.dst.Params(), rng)
			before := slices.Clone(c.dst.Params())
			err := flow.Transfer(c.dst, c.src)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Transfer: %v, want an error naming %q", err, c.want)
			}
			if !slices.Equal(before, c.dst.Params()) {
				t.Error("a refused Transfer changed dst")
			}
		})
	}
}

// TestTransferSpectrum checks the resampled quadratic part on the torus of
// twice the side: a plane wave of a wave vector both tori have is an
// eigenvector of the same eigenvalue in both, and the potential's
// eigenvalues in between are the mean of their neighbours'.
func TestTransferSpectrum(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, shape := range [][]int{{6}, {4, 4}, {4, 6}, {2, 4, 2}} {
		src := flow.NewSpectralQuadratic(shape, 3)
		big := make([]int, len(shape))
		for a, l := range shape {
			big[a] = 2 * l
		}
		dst := flow.NewSpectralQuadratic(big, 3)
		randomize(src.Params(), rng) // c(k) ≠ c(−k): the symmetrised eigenvalue is what must carry over
		if err := flow.Transfer(dst, src); err != nil {
			t.Fatal(err)
		}
		eig := func(q *flow.CirculantQuadratic, shape, k []int) float64 {
			// ½ŝ(k)|x|² = φ(x) for x = cos(k·r) (k ≠ −k) or the constant.
			n := 1
			for _, l := range shape {
				n *= l
			}
			x := mat.NewDense(1, n, nil)
			norm := 0.0
			for i := range n {
				phase, rem := 0.0, i
				for a := len(shape) - 1; a >= 0; a-- {
					phase += 2 * math.Pi * float64(k[a]*(rem%shape[a])) / float64(shape[a])
					rem /= shape[a]
				}
				v := math.Cos(phase) + math.Sin(phase) // an eigenvector also where k = −k
				x.Set(0, i, v)
				norm += v * v
			}
			var phi [1]float64
			q.Value(phi[:], x)
			return 2 * phi[0] / norm
		}
		// Every wave vector of the small torus, k, is 2k on the big one.
		k, k2 := make([]int, len(shape)), make([]int, len(shape))
		for i := range src.Params() {
			rem := i
			for a := len(shape) - 1; a >= 0; a-- {
				k[a] = rem % shape[a]
				k2[a] = 2 * k[a]
				rem /= shape[a]
			}
			want, got := eig(src, shape, k), eig(dst, big, k2)
			if math.Abs(got-want) > 1e-12*(1+math.Abs(want)) {
				t.Errorf("shape %v, k = %v: eigenvalue %.15g on the big torus, %.15g on the small one", shape, k, got, want)
			}
		}
		// Between two wave vectors of the small torus along the first axis
		// the spectrum is their mean.
		sp, dp := src.Params(), dst.Params()
		stride, bigStride := 1, 1
		for a := 1; a < len(shape); a++ {
			stride *= shape[a]
			bigStride *= big[a]
		}
		for j := range shape[0] {
			next := (j + 1) % shape[0]
			want := 0.5 * (sp[j*stride] + sp[next*stride])
			if got := dp[(2*j+1)*bigStride]; math.Abs(got-want) > 1e-14 {
				t.Errorf("shape %v: the spectrum halfway after k_0 = %d is %g, want %g", shape, j, got, want)
			}
		}
	}
}

// TestResampleSpectrum checks the interpolation against its definition on
// sizes that are not multiples of each other, and its identity and
// restriction properties.
func TestResampleSpectrum(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	src := make([]float64, 15)
	randomize(src, rng)
	// The identity.
	same := make([]float64, 15)
	flow.ResampleSpectrum(same, []int{3, 5}, src, []int{3, 5})
	if !slices.Equal(same, src) {
		t.Error("resampling onto the same torus changed the values")
	}
	// Onto 4 × 7 and back to 3 × 5 by the definition: entry (i, j) of the
	// 4 × 7 torus lies at (3i/4, 5j/7) of the 3 × 5 one.
	dst := make([]float64, 28)
	flow.ResampleSpectrum(dst, []int{4, 7}, src, []int{3, 5})
	at := func(i, j int) float64 { return src[(i%3)*5+j%5] }
	for i := range 4 {
		for j := range 7 {
			p, q := 3*float64(i)/4, 5*float64(j)/7
			i0, j0 := int(p), int(q)
			fp, fq := p-float64(i0), q-float64(j0)
			want := (1-fp)*(1-fq)*at(i0, j0) + fp*(1-fq)*at(i0+1, j0) + (1-fp)*fq*at(i0, j0+1) + fp*fq*at(i0+1, j0+1)
			if got := dst[i*7+j]; math.Abs(got-want) > 1e-14 {
				t.Errorf("(%d, %d): %g, want %g", i, j, got, want)
			}
		}
	}
	// Onto 6 × 10 and back: the even entries are the original ones, and the
	// restriction recovers it.
	big := make([]float64, 60)
	flow.ResampleSpectrum(big, []int{6, 10}, src, []int{3, 5})
	back := make([]float64, 15)
	flow.ResampleSpectrum(back, []int{3, 5}, big, []int{6, 10})
	if !slices.Equal(back, src) {
		t.Error("resampling onto twice the sides and back changed the values")
	}
}
