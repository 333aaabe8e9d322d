package flow

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"testing"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas32"
	"gonum.org/v1/gonum/blas/blas64"
)

// TestGemmSplits checks gemm and gemm32, which split a product over the
// cores by rows or by columns, against a triple loop, on shapes large
// enough to be split (with two cores) both ways, with op(A) = A and Aᵀ,
// β = 0 and 1, and C a view with a stride wider than its columns.
func TestGemmSplits(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
	for _, tc := range []struct{ m, n, k int }{
		{8, 300, 60},  // more columns than rows: split by columns
		{300, 8, 60},  // more rows: split by rows
		{64, 64, 64},  // square: rows
		{3, 5, 7},     // too small to split
		{40, 1500, 3}, // a short inner dimension
	} {
		for _, tA := range []blas.Transpose{blas.NoTrans, blas.Trans} {
			for _, beta := range []float64{0, 1} {
				name := fmt.Sprintf("%dx%dx%d/trans=%v/beta=%v", tc.m, tc.n, tc.k, tA == blas.Trans, beta)
				t.Run(name, func(t *testing.T) {
					rng := rand.New(rand.NewPCG(uint64(tc.m), uint64(tc.n)))
					ar, ac := tc.m, tc.k
					if tA == blas.Trans {
						ar, ac = tc.k, tc.m
					}
					a := randGeneral(rng, ar, ac, ac+2)
					b := randGeneral(rng, tc.k, tc.n, tc.n+1)
					c := randGeneral(rng, tc.m, tc.n, tc.n+3)
					want := naiveProduct(tA, 0.5, a, b, beta, c)
					gemm(tA, 0.5, a, b, beta, c)
					for i := range tc.m {
						for j := range tc.n {
							got, w := c.Data[i*c.Stride+j], want[i*tc.n+j]
							if !(math.Abs(got-w) <= 1e-12*(1+math.Abs(w))) { // NaN fails
								t.Fatalf("gemm: C[%d,%d] = %v, want %v", i, j, got, w)
							}
						}
					}
					if beta != 0 {
						return
					}
					a32, b32 := round32(a), round32(b)
					c32 := blas32.General{Rows: tc.m, Cols: tc.n, Stride: tc.n + 3, Data: make([]float32, tc.m*(tc.n+3))}
					gemm32(tA, a32, b32, c32)
					for i := range tc.m {
						for j := range tc.n {
							got, w := float64(c32.Data[i*c32.Stride+j]), 2*want[i*tc.n+j]
							if !(math.Abs(got-w) <= 1e-4*(1+math.Abs(w))) {
								t.Fatalf("gemm32: C[%d,%d] = %v, want %v", i, j, got, w)
							}
						}
					}
				})
			}
		}
	}
}

// randGeneral returns an r×c matrix with the given stride and entries
// uniform in [−1, 1); the padding holds NaN, which a product that reads it
// would spread.
func randGeneral(rng *rand.Rand, r, c, stride int) blas64.General {
	m := blas64.General{Rows: r, Cols: c, Stride: stride, Data: make([]float64, r*stride)}
	for i := range m.Data {
		if i%stride < c {
			m.Data[i] = 2*rng.Float64() - 1
		} else {
			m.Data[i] = math.NaN()
		}
	}
	return m
}

// round32 returns m rounded to float32, with the same layout.
func round32(m blas64.General) blas32.General {
	d := make([]float32, len(m.Data))
	for i, v := range m.Data {
		d[i] = float32(v)
	}
	return blas32.General{Rows: m.Rows, Cols: m.Cols, Stride: m.Stride, Data: d}
}

// naiveProduct returns α op(A) B + β C as a dense row-major slice, with a
// triple loop.
func naiveProduct(tA blas.Transpose, alpha float64, a, b blas64.General, beta float64, c blas64.General) []float64 {
	out := make([]float64, c.Rows*c.Cols)
	for i := range c.Rows {
		for j := range c.Cols {
			var s float64
			for l := range b.Rows {
				var av float64
				if tA == blas.Trans {
					av = a.Data[l*a.Stride+i]
				} else {
					av = a.Data[i*a.Stride+l]
				}
				s += av * b.Data[l*b.Stride+j]
			}
			out[i*c.Cols+j] = alpha*s + beta*c.Data[i*c.Stride+j]
		}
	}
	return out
}
