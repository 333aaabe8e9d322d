package flow

import (
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// TestToFloat32Flush checks the rounding of float32 operands: values of
// magnitude below flushBelow = 2⁻⁶³ become zero, so that no product of two
// operands is a subnormal float32, and every other value is rounded to
// nearest as a plain conversion does.
func TestToFloat32Flush(t *testing.T) {
	tiny := math.SmallestNonzeroFloat64
	for _, tc := range []struct {
		in   float64
		want float32
	}{
		{0, 0},
		{1, 1},
		{-2.5, -2.5},
		{flushBelow, 0x1p-63},
		{-flushBelow, -0x1p-63},
		{math.Nextafter(flushBelow, 0), 0},
		{-math.Nextafter(flushBelow, 0), 0},
		{math.Exp(-96), 0}, // σ” of a saturated unit: subnormal as a float32
		{1e-40, 0},         // a float32 subnormal
		{tiny, 0},          // a float64 subnormal
		{0.1, float32(0.1)},
		{-1.0 / 3, float32(-1.0 / 3)},
		{math.Inf(-1), float32(math.Inf(-1))},
	} {
		dst := make([]float32, 1)
		toFloat32(dst, []float64{tc.in})
		if dst[0] != tc.want {
			t.Errorf("toFloat32(%g) = %g, want %g", tc.in, dst[0], tc.want)
		}
	}
	// The least product of two operands that are not flushed is normal.
	least := float32(flushBelow) * float32(flushBelow)
	if least < 0x1p-126 {
		t.Errorf("flushBelow² = %g, below the least normal float32 2⁻¹²⁶", least)
	}
	dst := make([]float32, 1)
	toFloat32(dst, []float64{math.NaN()})
	if !math.IsNaN(float64(dst[0])) {
		t.Errorf("toFloat32(NaN) = %g, want NaN", dst[0])
	}
}

// TestFloat32OperandsNormal runs the float32 products of a Shallow
// potential whose units are half saturated (biases ±96: σ', σ” and σ”' of
// the units at −96, σ” and σ”' of those at +96, below the least normal
// float32) and checks that no float32 buffer of the products holds a value
// of magnitude in (0, flushBelow): every operand went through toFloat32.
func TestFloat32OperandsNormal(t *testing.T) {
	const B, N, H = 16, 30, 40
	rng := rand.New(rand.NewPCG(7, 7))
	p := NewShallow(N, H, Softplus, true, rng)
	saturateHalf(p)
	p.SetPrecision(Float32)
	x, lambda := mat.NewDense(B, N, nil), mat.NewDense(B, N, nil)
	for i := range x.RawMatrix().Data {
		x.RawMatrix().Data[i] = rng.NormFloat64()
		lambda.RawMatrix().Data[i] = rng.NormFloat64()
	}
	mu := make([]float64, B)
	for b := range mu {
		mu[b] = rng.NormFloat64()
	}
	g, dx := mat.NewDense(B, N, nil), mat.NewDense(B, N, nil)
	lap, memo := make([]float64, B), make([]float64, p.MemoLen(B))
	dp := make([]float64, len(p.Params()))
	check := func(after string) {
		t.Helper()
		for _, buf := range []struct {
			name string
			v    []float32
		}{{"a32", p.a32}, {"q32", p.q32}, {"u32", p.u32}} {
			for i, v := range buf.v {
				if v != 0 && math.Abs(float64(v)) < flushBelow {
					t.Fatalf("after %s: %s[%d] = %g, below 2⁻⁶³", after, buf.name, i, v)
				}
			}
		}
	}
	p.GradLaplacianMemo(g, lap, x, memo)
	check("GradLaplacianMemo")
	p.GradLaplacianVJPMemo(dx, dp, x, lambda, mu, memo)
	check("GradLaplacianVJPMemo")
	p.GradLaplacianVJP(dx, dp, x, lambda, mu)
	check("GradLaplacianVJP")
}

// saturateHalf sets the biases of every other unit of s, which must have
// biases, to +96 and −96 in turn: σ”(u) ≈ e^−96 ≈ 2e−42 there, below the
// least normal float32, as for the saturated units of a trained potential.
func saturateHalf(s *Shallow) {
	bias := s.theta[s.h*s.n : s.h*s.n+s.h]
	for j := 0; j < s.h; j += 2 {
		bias[j] = 96 * float64(1-2*(j/2%2))
	}
}
