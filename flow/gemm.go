package flow

import (
	"runtime"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas32"
	"gonum.org/v1/gonum/blas/blas64"

	"github.com/isingflow/isingflow/internal/parallel"
)

// gemm computes C ← α op(A) B + β C split over GOMAXPROCS goroutines, one
// BLAS call each: the columns of C when it has more columns than rows, so
// that each goroutine packs only its share of B, the larger operand, and
// otherwise the rows. The project's OpenBLAS build runs OpenBLAS
// single-threaded (see internal/blasimpl), so a product that is not split
// this way would run on one core; gonum's pure-Go Dgemm splits each call
// again on its own.
func gemm(tA blas.Transpose, alpha float64, a, b blas64.General, beta float64, c blas64.General) {
	if c.Cols > c.Rows {
		forSlices(c.Cols, c.Rows*c.Cols*b.Rows, func(lo, hi int) {
			blas64.Gemm(tA, blas.NoTrans, alpha, a, colsOf(b, lo, hi), beta, colsOf(c, lo, hi))
		})
		return
	}
	forSlices(c.Rows, c.Rows*c.Cols*b.Rows, func(lo, hi int) {
		var as blas64.General
		if tA == blas.NoTrans {
			as = rowsOf(a, lo, hi)
		} else {
			as = colsOf(a, lo, hi)
		}
		blas64.Gemm(tA, blas.NoTrans, alpha, as, b, beta, rowsOf(c, lo, hi))
	})
}

// gemm32 is gemm in float32 with α = 1 and β = 0.
func gemm32(tA blas.Transpose, a, b, c blas32.General) {
	if c.Cols > c.Rows {
		forSlices(c.Cols, c.Rows*c.Cols*b.Rows, func(lo, hi int) {
			blas32.Gemm(tA, blas.NoTrans, 1, a, colsOf32(b, lo, hi), 0, colsOf32(c, lo, hi))
		})
		return
	}
	forSlices(c.Rows, c.Rows*c.Cols*b.Rows, func(lo, hi int) {
		var as blas32.General
		if tA == blas.NoTrans {
			as = rowsOf32(a, lo, hi)
		} else {
			as = colsOf32(a, lo, hi)
		}
		blas32.Gemm(tA, blas.NoTrans, 1, as, b, 0, rowsOf32(c, lo, hi))
	})
}

// forSlices runs fn(lo, hi) on the slices of the indices [0, m) (rows or
// columns) of a product of the given work (multiply-adds): one slice per
// core, in parallel, or the whole when it is too small to split.
func forSlices(m, work int, fn func(lo, hi int)) {
	slices := batchSlices(m, work)
	if slices == 1 {
		fn(0, m)
		return
	}
	parallel.For(slices, minSliceWork, func(k0, k1 int) {
		for k := k0; k < k1; k++ {
			fn(k*m/slices, (k+1)*m/slices)
		}
	})
}

// batchSlices returns how many slices to split rows (or columns, or hidden
// units) into for work multiply-adds in all: one per core (GOMAXPROCS),
// but no more than rows and none with less than minSliceWork of the work.
func batchSlices(rows, work int) int {
	return max(1, min(runtime.GOMAXPROCS(0), rows, work/minSliceWork))
}

// minSliceWork is the least work (multiply-adds) per slice of a batch
// worth a goroutine of its own.
const minSliceWork = 1 << 16
