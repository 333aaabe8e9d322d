package lattice

import (
	"unsafe"

	"github.com/isingflow/isingflow/internal/bytesize"
)

// HypercubicSites returns the number of sites L^d of a hypercubic lattice,
// saturated at math.MaxInt64 when the product overflows (New refuses more
// than math.MaxInt32 sites), and 0 for d or L below 1.
func HypercubicSites(d, L int) int64 {
	if d < 1 {
		return 0
	}
	n := int64(1)
	for range d {
		n = bytesize.Mul(n, int64(L))
	}
	return n
}

// HypercubicMemory returns an estimate, in bytes, of the memory of
// NewHypercubic(d, L, b): its d·N bonds, with room for the growth of the
// slice that collects them. It saturates at math.MaxInt64, so that a
// caller can refuse a lattice too large for the machine before building
// it.
func HypercubicMemory(d, L int) int64 {
	return bytesize.Mul(2, int64(max(d, 0)), HypercubicSites(d, L), int64(unsafe.Sizeof(Bond{})))
}
