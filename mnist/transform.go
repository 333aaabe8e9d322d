package mnist

import (
	"fmt"
	"math"
	"math/rand/v2"

	"gonum.org/v1/gonum/mat"

	"github.com/isingflow/isingflow/internal/parallel"
)

// Alpha is the margin α of MAF's logit transform for MNIST,
// y = logit(α + (1−2α)x), which keeps y finite at x = 0 and x = 1.
const Alpha = 1e-6

// Levels is the number of intensity levels of an 8-bit pixel.
const Levels = 256

// Dequantize writes x_i = (pixels_i + u_i)/256 into dst, with u_i uniform
// on [0, 1) drawn from rng in order: the uniform dequantisation of MAF,
// which spreads each of the 256 levels over an interval of width 1/256 so
// that x has a density on [0, 1). x_i stays in [p/256, (p+1)/256) exactly,
// even when p + u rounds up. dst and pixels must have the same length.
func Dequantize(dst []float64, pixels []uint8, rng *rand.Rand) {
	if len(dst) != len(pixels) {
		panic(fmt.Sprintf("mnist: Dequantize: len(dst) = %d, len(pixels) = %d", len(dst), len(pixels)))
	}
	for i, p := range pixels {
		v := float64(p) + rng.Float64()
		if v >= float64(p)+1 { // p + u rounded up: stay inside [p, p+1)
			v = math.Nextafter(float64(p)+1, 0)
		}
		dst[i] = v / Levels
	}
}

// Logit writes y_i = logit(s_i) = ln(s_i/(1−s_i)), s_i = α + (1−2α)x_i, into
// dst: MAF's map from intensities x ∈ [0, 1] to the unbounded logit space
// in which the flow models the density. dst may be x.
func Logit(dst, x []float64) {
	if len(dst) != len(x) {
		panic(fmt.Sprintf("mnist: Logit: len(dst) = %d, len(x) = %d", len(dst), len(x)))
	}
	for i, v := range x {
		// 1 − s = α + (1−2α)(1−x) keeps full precision near x = 1 (1 − x
		// is exact there) and makes y(1−x) = −y(x) exactly.
		dst[i] = math.Log(Alpha+(1-2*Alpha)*v) - math.Log(Alpha+(1-2*Alpha)*(1-v))
	}
}

// InverseLogit writes x_i = (σ(y_i) − α)/(1−2α) into dst, σ the logistic
// function: the inverse of Logit, taking a sample of the flow back to pixel
// intensities. It does not clamp: a y of large magnitude maps to x within
// α/(1−2α) ≈ 1e-6 outside [0, 1] (Quantize clamps). dst may be y.
func InverseLogit(dst, y []float64) {
	if len(dst) != len(y) {
		panic(fmt.Sprintf("mnist: InverseLogit: len(dst) = %d, len(y) = %d", len(dst), len(y)))
	}
	for i, v := range y {
		dst[i] = (sigmoid(v) - Alpha) / (1 - 2*Alpha)
	}
}

// Quantize writes the 8-bit pixels of intensities x into dst: x clamped to
// [0, 1], then ⌊256x⌋ capped at 255, the level whose dequantisation interval
// [p/256, (p+1)/256) holds x. Quantize(Dequantize(p)) = p.
func Quantize(dst []uint8, x []float64) {
	if len(dst) != len(x) {
		panic(fmt.Sprintf("mnist: Quantize: len(dst) = %d, len(x) = %d", len(dst), len(x)))
	}
	for i, v := range x {
		switch {
		case !(v > 0): // also NaN
			dst[i] = 0
		case v >= 1:
			dst[i] = Levels - 1
		default:
			dst[i] = uint8(min(math.Floor(v*Levels), Levels-1))
		}
	}
}

// LogitJacobian returns ln|det ∂y/∂x| = Σ_i ln|dy_i/dx_i| for one image of
// intensities x ∈ [0, 1]^D mapped by Logit, where
//
//	dy/dx = (1−2α) / (s(1−s)),   s = α + (1−2α)x.
//
// The density of x is p_X(x) = p_Y(y)·exp(LogitJacobian(x)).
func LogitJacobian(x []float64) float64 {
	c := math.Log1p(-2 * Alpha)
	var sum float64
	for _, v := range x {
		sum += c - math.Log(Alpha+(1-2*Alpha)*v) - math.Log(Alpha+(1-2*Alpha)*(1-v))
	}
	return sum
}

// LogitJacobianFromLogit returns the same sum as LogitJacobian, computed from
// the logit-space image y = Logit(x): with s = σ(y),
//
//	ln dy/dx = ln(1−2α) − ln σ(y) − ln σ(−y) = ln(1−2α) + |y| + 2 ln(1 + e^{−|y|}).
func LogitJacobianFromLogit(y []float64) float64 {
	c := math.Log1p(-2 * Alpha)
	var sum float64
	for _, v := range y {
		a := math.Abs(v)
		sum += c + a + 2*math.Log1p(math.Exp(-a))
	}
	return sum
}

// LogitBatch fills row b of dst (len(idx) × im.Dim()) with image idx[b] of
// im, dequantised with noise from rng (drawn row by row, so the result
// depends only on rng's state, not on parallelism) and mapped to logit
// space; if logJac is not nil it also writes LogitJacobian of row b into
// logJac[b]. It panics if the shapes disagree or an index is out of range.
func LogitBatch(dst *mat.Dense, logJac []float64, im *Images, idx []int, rng *rand.Rand) {
	r, c := dst.Dims()
	d := im.Dim()
	if r != len(idx) || c != d {
		panic(fmt.Sprintf("mnist: LogitBatch: dst is %d×%d, want %d×%d", r, c, len(idx), d))
	}
	if logJac != nil && len(logJac) != r {
		panic(fmt.Sprintf("mnist: LogitBatch: len(logJac) = %d, want %d", len(logJac), r))
	}
	for b, i := range idx {
		if i < 0 || i >= im.N {
			panic(fmt.Sprintf("mnist: LogitBatch: image index %d out of [0, %d)", i, im.N))
		}
		Dequantize(dst.RawRowView(b), im.Image(i), rng)
	}
	parallel.For(r, 16*d, func(lo, hi int) {
		for b := lo; b < hi; b++ {
			row := dst.RawRowView(b)
			if logJac != nil {
				logJac[b] = LogitJacobian(row)
			}
			Logit(row, row)
		}
	})
}

// PixelNLL converts the negative log-density of one image in logit space,
// nllLogit = −ln p_Y(y) in nats, with its LogitJacobian logJac, into the
// dequantisation bound on the negative log-probability of the 8-bit image,
// in nats:
//
//	−ln P(pixels) ≤ −ln p_X(x) + D ln 256 = nllLogit − logJac + D ln 256,
//
// since P(pixels) = ∫ p_X over the cube of side 1/256 ≥ 256^{−D} exp E_u[ln p_X]
// (Jensen), p_X(x) = p_Y(y)·|dy/dx| and D = d is the number of pixels.
// Averaged over dequantisation noise the bound is the quantity reported by
// MAF and Real NVP. The map is affine, so means and standard errors over
// images convert with it.
func PixelNLL(nllLogit, logJac float64, d int) float64 {
	return nllLogit - logJac + float64(d)*math.Log(Levels)
}

// BitsPerDim converts nllLogit (nats, logit space) and logJac of one image
// of d pixels to bits per dimension of the 8-bit image:
//
//	bits/dim = (nllLogit − logJac + D ln 256) / (D ln 2) = PixelNLL/(D ln 2).
//
// A model uniform on [0, 1]^D gives exactly 8.
func BitsPerDim(nllLogit, logJac float64, d int) float64 {
	return PixelNLL(nllLogit, logJac, d) / (float64(d) * math.Ln2)
}

// sigmoid returns 1/(1+e^{−y}) without overflow.
func sigmoid(y float64) float64 {
	if y >= 0 {
		return 1 / (1 + math.Exp(-y))
	}
	e := math.Exp(y)
	return e / (1 + e)
}
