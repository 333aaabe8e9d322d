package flow

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas32"
	"gonum.org/v1/gonum/blas/blas64"
)

// Precision is the arithmetic of a potential's matrix products.
type Precision int

const (
	// Float64 runs every product in float64 (the default).
	Float64 Precision = iota
	// Float32 runs the matrix products in float32 (sgemm, about twice the
	// speed of dgemm): their operands are rounded to float32 and their
	// results widened back, while every elementwise operation, sum over the
	// batch and accumulation over the RK4 stages stays in float64. Products
	// then carry relative errors of order 1e-7 instead of 1e-16: enough for
	// the gradient of a training step, not for an evaluation, which should
	// go back to Float64. Operands below 2⁻⁶³ in magnitude are rounded to
	// zero, so that no product is a subnormal float32.
	Float32
)

// String returns "float64" or "float32".
func (p Precision) String() string {
	switch p {
	case Float64:
		return "float64"
	case Float32:
		return "float32"
	}
	return fmt.Sprintf("Precision(%d)", int(p))
}

// ParsePrecision returns the Precision named "float64" or "float32".
func ParsePrecision(s string) (Precision, error) {
	switch s {
	case "float64":
		return Float64, nil
	case "float32":
		return Float32, nil
	}
	return 0, fmt.Errorf("flow: precision %q: want float64 or float32", s)
}

// Set parses s as ParsePrecision does (for flag packages: Precision is a
// pflag.Value).
func (p *Precision) Set(s string) error {
	v, err := ParsePrecision(s)
	if err != nil {
		return err
	}
	*p = v
	return nil
}

// Type returns "precision", the flag type shown in usage messages.
func (p *Precision) Type() string { return "precision" }

// MarshalText encodes the precision by its name.
func (p Precision) MarshalText() ([]byte, error) {
	if p != Float64 && p != Float32 {
		return nil, fmt.Errorf("flow: unknown precision %d", int(p))
	}
	return []byte(p.String()), nil
}

// UnmarshalText decodes a precision from its name.
func (p *Precision) UnmarshalText(text []byte) error { return p.Set(string(text)) }

// PrecisionSetter is implemented by potentials whose matrix products can
// run in float32 (Shallow, and Sum and Piecewise, which pass the setting
// on to their terms).
type PrecisionSetter interface {
	SetPrecision(Precision)
}

// SetPrecision sets the precision of p's products if p is a
// PrecisionSetter, and reports whether it is.
func SetPrecision(p Potential, prec Precision) bool {
	ps, ok := p.(PrecisionSetter)
	if ok {
		ps.SetPrecision(prec)
	}
	return ok
}

// flushBelow is the magnitude below which toFloat32 rounds an operand to
// zero: 2⁻⁶³, so that a product of two operands that are not flushed is at
// least 2⁻¹²⁶, the least normal float32. Subnormal operands and products
// cost Intel cores a microcode assist each, and the saturated units of a
// trained potential supply them by the million: softplus's σ”(u) is below
// 2⁻¹²⁶ for |u| > 88, ln cosh's for |u| > 44
// (docs/performance.md#subnormal-numbers). The flush is absolute: what it
// drops lies 2⁻³⁹ below the float32 rounding of unit-sized terms.
const flushBelow = 0x1p-63

// toFloat32 rounds src into dst (of the same length), values below
// flushBelow in magnitude to zero.
func toFloat32(dst []float32, src []float64) {
	dst = dst[:len(src)]
	for i, v := range src {
		if math.Abs(v) < flushBelow {
			v = 0
		}
		dst[i] = float32(v)
	}
}

// roundRows rounds rows [lo, hi) of x into the same rows of dst, a dense
// row-major buffer with x.Cols columns.
func roundRows(dst []float32, x blas64.General, lo, hi int) {
	n := x.Cols
	for b := lo; b < hi; b++ {
		toFloat32(dst[b*n:(b+1)*n], x.Data[b*x.Stride:b*x.Stride+n])
	}
}

// widen writes src into dst (of the same length), or adds it when add.
func widen(dst []float64, src []float32, add bool) {
	dst = dst[:len(src)]
	if add {
		for i, v := range src {
			dst[i] += float64(v)
		}
		return
	}
	for i, v := range src {
		dst[i] = float64(v)
	}
}

// sgemm is blas32.Gemm on row-major float32 blocks.
func sgemm(tA, tB blas.Transpose, a, b, c blas32.General) {
	blas32.Gemm(tA, tB, 1, a, b, 0, c)
}

// block32 is block for float32: rows [lo, hi) of a dense row-major buffer with
// cols columns.
func block32(data []float32, cols, lo, hi int) blas32.General {
	return blas32.General{Rows: hi - lo, Cols: cols, Stride: cols, Data: data[lo*cols : hi*cols]}
}
