package flow

import "math"

// Constants of the exponential of the activations' hot loops
// (expNonPositive and its vector twin in vec_simd_amd64.go).
const (
	expLn2Hi   = 6.93147180369123816490e-01 // ln 2 rounded to 32 bits, so that k·expLn2Hi is exact
	expLn2Lo   = 1.90821492927058770002e-10 // ln 2 − expLn2Hi
	expShifter = 0x1.8p52                   // adding it rounds to an integer held in the low bits
	expFloor   = -700                       // arguments below are raised to it
)

// expNonPositive returns e^x for −700 ≤ x ≤ 0 within 2⁻⁵¹ (4.4e−16)
// relative to math.Exp, and e^−700 (1e−304, negligible beside the 1 it is
// added to everywhere here) for x below; NaN stays NaN. It is the one
// exponential of the activations' hot loops, where math.Exp cost more than
// all the rest of the arithmetic: x = k ln 2 + y with |y| ≤ ln 2 / 2, k
// rounded by the 1.5·2⁵² shift, e^y − 1 from its Taylor polynomial of
// degree 13 (remainder below 2⁻⁵⁷ on that interval) by Estrin's scheme,
// the 1 added last, and 2^k set in the exponent bits.
func expNonPositive(x float64) float64 {
	x = max(x, expFloor)
	k := (x*math.Log2E + expShifter) - expShifter
	y := x - k*expLn2Hi - k*expLn2Lo
	y2 := y * y
	y4 := y2 * y2
	s0 := y + y2*(1.0/2+y*(1.0/6)) + y4*((1.0/24+y*(1.0/120))+y2*(1.0/720+y*(1.0/5040)))
	s1 := (1.0/40320 + y*(1.0/362880)) + y2*(1.0/3628800+y*(1.0/39916800)) + y4*(1.0/479001600+y*(1.0/6227020800))
	return (1 + (s0 + y4*y4*s1)) * math.Float64frombits(uint64(int64(k)+1023)<<52)
}

// Elementwise describes, for a command to print, how the training step's
// elementwise loops run in this build on this CPU: "AVX2+FMA, 4 lanes"
// when built with GOEXPERIMENT=simd on a CPU that has both, else "scalar".
func Elementwise() string {
	if vectorRows {
		return "AVX2+FMA, 4 lanes"
	}
	return "scalar"
}
