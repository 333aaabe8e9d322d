package fft

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestRoundTrip checks the d-dimensional real transform against a direct
// DFT and its inverse.
func TestRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 3))
	for _, shape := range [][]int{{8}, {7}, {1}, {2}, {4, 4}, {3, 5}, {5, 3}, {3, 4}, {16, 16}, {6, 8}, {8, 6}, {2, 3, 4}, {4, 2, 8}} {
		f := New(shape)
		x := make([]float64, f.Len())
		for i := range x {
			x[i] = rng.NormFloat64()
		}
		spec := make([]complex128, f.SpectrumLen())
		f.Forward(spec, x)
		coords := func(i int, c []int) {
			for a := len(shape) - 1; a >= 0; a-- {
				c[a] = i % shape[a]
				i /= shape[a]
			}
		}
		// Direct DFT at every stored frequency.
		kc := make([]int, len(shape))
		rc := make([]int, len(shape))
		for idx := range f.SpectrumLen() {
			rem := idx
			kc[len(shape)-1] = rem % f.Half()
			rem /= f.Half()
			for a := len(shape) - 2; a >= 0; a-- {
				kc[a] = rem % shape[a]
				rem /= shape[a]
			}
			var want complex128
			for i := range f.Len() {
				coords(i, rc)
				ph := 0.0
				for a := range shape {
					ph += float64(kc[a]*rc[a]) / float64(shape[a])
				}
				want += complex(x[i], 0) * complex(math.Cos(2*math.Pi*ph), -math.Sin(2*math.Pi*ph))
			}
			if d := spec[idx] - want; math.Hypot(real(d), imag(d)) > 1e-12 {
				t.Fatalf("%v: coefficient %v = %v, want %v", shape, kc, spec[idx], want)
			}
		}
		back := make([]float64, f.Len())
		f.Inverse(back, spec)
		var e float64
		for i, v := range back {
			e = math.Max(e, math.Abs(v-x[i]))
		}
		if e > 1e-14 {
			t.Errorf("%v: round trip error %g", shape, e)
		}
	}
}

// TestNewPanics checks that New refuses an empty shape and a side below 1.
func TestNewPanics(t *testing.T) {
	for _, shape := range [][]int{nil, {0}, {4, -1}} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("New(%v) did not panic", shape)
				}
			}()
			New(shape)
		}()
	}
}
