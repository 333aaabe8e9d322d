package flow

import (
	"math"
	"testing"
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
		{1e300, float32(math.Inf(1))},
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
