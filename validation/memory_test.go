package validation

import (
	"math"
	"testing"
)

// TestWolffMemoryEstimate checks that the estimate grows with the chains
// and the sweeps, counts GOMAXPROCS chains for Chains zero, and saturates
// instead of overflowing.
func TestWolffMemoryEstimate(t *testing.T) {
	s := WolffSettings{Sweeps: 20000, Chains: 2}
	small := s.MemoryEstimate(2, 16)
	if small < 2*20000*8 || small > 16<<20 {
		t.Errorf("2 chains of 20000 sweeps at L = 16: estimate %d bytes", small)
	}
	for _, big := range []WolffSettings{{Sweeps: 20000, Chains: 1e9}, {Sweeps: 1e12, Chains: 2}} {
		if est := big.MemoryEstimate(2, 16); est < 1<<40 {
			t.Errorf("%+v: estimate %d, want more than 1 TiB", big, est)
		}
	}
	if est := (WolffSettings{Sweeps: math.MaxInt, Chains: math.MaxInt}).MemoryEstimate(4, math.MaxInt); est != math.MaxInt64 {
		t.Errorf("sizes of MaxInt: estimate %d, want it saturated", est)
	}
}
