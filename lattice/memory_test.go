package lattice

import (
	"math"
	"testing"
	"unsafe"
)

// TestHypercubicMemory checks the sites and the bonds' memory of
// hypercubic lattices, and that sizes which overflow saturate.
func TestHypercubicMemory(t *testing.T) {
	lat, err := NewHypercubic(3, 6, Periodic)
	if err != nil {
		t.Fatal(err)
	}
	if n := HypercubicSites(3, 6); n != int64(lat.N()) {
		t.Errorf("HypercubicSites(3, 6) = %d, want %d", n, lat.N())
	}
	bonds := int64(lat.NumBonds()) * int64(unsafe.Sizeof(Bond{}))
	if m := HypercubicMemory(3, 6); m < bonds || m > 2*bonds {
		t.Errorf("HypercubicMemory(3, 6) = %d, want between %d and %d", m, bonds, 2*bonds)
	}
	for _, tc := range []struct{ d, L int }{{2, 1 << 40}, {4, 1 << 20}, {4, math.MaxInt}} {
		if n := HypercubicSites(tc.d, tc.L); n != math.MaxInt64 {
			t.Errorf("HypercubicSites(%d, %d) = %d, want it saturated", tc.d, tc.L, n)
		}
		if m := HypercubicMemory(tc.d, tc.L); m != math.MaxInt64 {
			t.Errorf("HypercubicMemory(%d, %d) = %d, want it saturated", tc.d, tc.L, m)
		}
	}
	if n := HypercubicSites(0, 5); n != 0 {
		t.Errorf("HypercubicSites(0, 5) = %d", n)
	}
}
