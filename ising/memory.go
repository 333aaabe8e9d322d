package ising

import (
	"github.com/isingflow/isingflow/internal/bytesize"
	"github.com/isingflow/isingflow/lattice"
)

// RelaxationMemory returns an estimate, in bytes, of the memory of the
// hypercubic lattice of d axes of length L, its relaxation (NewRelaxation:
// the spectrum, the FFT inverse, and a dense K'⁻¹ on open and small
// periodic lattices) and its conditional spin moments
// (NewConditionalMoments, built while they are collected). It saturates at
// math.MaxInt64, so that a caller can refuse a lattice too large for the
// machine before building it.
func RelaxationMemory(d, L int, open bool) int64 {
	n := lattice.HypercubicSites(d, L)
	dn := bytesize.Mul(int64(max(d, 0)), n) // bonds
	total := bytesize.Add(lattice.HypercubicMemory(d, L),
		bytesize.Mul(n, 6*8),   // the spectrum, the FFT's scales and workspaces
		bytesize.Mul(dn, 3*8),  // the pairs of sites of the conditional moments
		bytesize.Mul(dn, 3*16)) // and their index while they are collected
	if open || n < fftMinSites {
		// K'⁻¹ and, on open lattices, the Cholesky factor it comes from.
		total = bytesize.Add(total, bytesize.Mul(2, n, n, 8))
	}
	return total
}
