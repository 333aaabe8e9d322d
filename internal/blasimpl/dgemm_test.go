package blasimpl_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"

	"github.com/isingflow/isingflow/internal/blasimpl"
)

// naiveGemm computes C ← α op(A) op(B) + β C with a triple loop, and
// scale[i·ldc+j] = |α| Σ_k |op(A)_ik op(B)_kj| + |β| |C_ij|, the size of
// the terms that make up C_ij, against which rounding errors are measured.
func naiveGemm(tA, tB blas.Transpose, m, n, k int, alpha float64, a []float64, lda int,
	b []float64, ldb int, beta float64, c []float64, ldc int, scale []float64) {
	opA := func(i, l int) float64 {
		if tA == blas.Trans {
			return a[l*lda+i]
		}
		return a[i*lda+l]
	}
	opB := func(l, j int) float64 {
		if tB == blas.Trans {
			return b[j*ldb+l]
		}
		return b[l*ldb+j]
	}
	for i := range m {
		for j := range n {
			var sum, abs float64
			for l := range k {
				p := opA(i, l) * opB(l, j)
				sum += p
				abs += math.Abs(p)
			}
			cij := &c[i*ldc+j]
			scale[i*ldc+j] = math.Abs(alpha)*abs + math.Abs(beta)*math.Abs(*cij)
			*cij = alpha*sum + beta**cij
		}
	}
}

// TestDgemmMatchesNaive compares the Dgemm behind blas64, whichever the
// build selected, with a triple loop at odd sizes (some large enough for
// the parallel and blocked code paths), with every combination of
// transposes, strides wider than the rows, and α, β ≠ 0, 1. A wrong or
// miscompiled kernel (for example an OpenBLAS core type the processor
// mishandles) fails it.
func TestDgemmMatchesNaive(t *testing.T) {
	t.Logf("BLAS: %s", blasimpl.Name())
	rng := rand.New(rand.NewPCG(8, 1))
	sizes := [][3]int{ // m, n, k
		{1, 1, 1}, {1, 7, 3}, {5, 1, 9}, {3, 5, 7}, {17, 33, 9}, {31, 15, 64},
		{65, 127, 129}, {129, 97, 257}, {200, 131, 77},
	}
	if !testing.Short() {
		sizes = append(sizes, [3]int{257, 301, 263})
	}
	transposes := []blas.Transpose{blas.NoTrans, blas.Trans}
	const tol = 1e-12
	for _, sz := range sizes {
		m, n, k := sz[0], sz[1], sz[2]
		for _, tA := range transposes {
			for _, tB := range transposes {
				name := fmt.Sprintf("%dx%dx%d/%c%c", m, n, k, tA, tB)
				ar, ac := m, k
				if tA == blas.Trans {
					ar, ac = k, m
				}
				br, bc := k, n
				if tB == blas.Trans {
					br, bc = n, k
				}
				// Strides wider than the rows, so that a kernel that ignores
				// the leading dimension fails.
				lda, ldb, ldc := ac+3, bc+1, n+2
				a := randSlice(rng, ar*lda)
				b := randSlice(rng, br*ldb)
				c := randSlice(rng, m*ldc)
				want := append([]float64(nil), c...)
				scale := make([]float64, len(c))
				alpha, beta := -1.3, 0.7
				naiveGemm(tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, want, ldc, scale)
				blas64.Gemm(tA, tB, alpha,
					blas64.General{Rows: ar, Cols: ac, Stride: lda, Data: a},
					blas64.General{Rows: br, Cols: bc, Stride: ldb, Data: b},
					beta, blas64.General{Rows: m, Cols: n, Stride: ldc, Data: c})
				var worst float64
				for i := range m {
					for j := 0; j < ldc; j++ {
						idx := i*ldc + j
						if j >= n {
							if c[idx] != want[idx] {
								t.Fatalf("%s: wrote C[%d][%d] beyond column %d", name, i, j, n)
							}
							continue
						}
						worst = max(worst, math.Abs(c[idx]-want[idx])/scale[idx])
					}
				}
				if !(worst <= tol) { // max carries a NaN: it fails here
					t.Errorf("%s: max error %.3g of the terms' size, want ≤ %g", name, worst, tol)
				}
			}
		}
	}
}

// TestDgemmBetaZero checks that β = 0 overwrites C, NaNs included, as the
// reference BLAS specifies (the flow's workspaces are reused dirty).
func TestDgemmBetaZero(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 2))
	const m, n, k = 67, 45, 33
	a, b := randSlice(rng, m*k), randSlice(rng, k*n)
	c := make([]float64, m*n)
	for i := range c {
		c[i] = math.NaN()
	}
	blas64.Gemm(blas.NoTrans, blas.NoTrans, 1,
		blas64.General{Rows: m, Cols: k, Stride: k, Data: a},
		blas64.General{Rows: k, Cols: n, Stride: n, Data: b},
		0, blas64.General{Rows: m, Cols: n, Stride: n, Data: c})
	want, scale := make([]float64, m*n), make([]float64, m*n)
	naiveGemm(blas.NoTrans, blas.NoTrans, m, n, k, 1, a, k, b, n, 0, want, n, scale)
	for i := range c {
		if !(math.Abs(c[i]-want[i]) <= 1e-12*scale[i]) {
			t.Fatalf("C[%d] = %v, want %v", i, c[i], want[i])
		}
	}
}

func randSlice(rng *rand.Rand, n int) []float64 {
	s := make([]float64, n)
	for i := range s {
		s[i] = rng.NormFloat64()
	}
	return s
}
