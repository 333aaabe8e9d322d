package validation

import (
	"runtime"

	"github.com/isingflow/isingflow/internal/bytesize"
	"github.com/isingflow/isingflow/lattice"
)

// wolffSweepBytes is the memory a Wolff run keeps per measured sweep of a
// chain at the peak of its analysis: seven float64 series (see Wolff) and
// the pooled copy of the autocorrelation estimate.
const wolffSweepBytes = 8 * 8

// MemoryEstimate returns an estimate, in bytes, of the memory of a Wolff
// run with these settings on the hypercubic lattice of d axes of length L:
// the lattice, the cluster graph, each chain's spins and stack, and the
// measurements of every sweep of every chain (Chains zero counts
// runtime.GOMAXPROCS chains, as Wolff runs). It saturates at
// math.MaxInt64, so that a caller can refuse a run too large for the
// machine before it starts.
func (s WolffSettings) MemoryEstimate(d, L int) int64 {
	n := lattice.HypercubicSites(d, L)
	chains := int64(s.Chains)
	if chains == 0 {
		chains = int64(runtime.GOMAXPROCS(0))
	}
	dn := bytesize.Mul(int64(max(d, 0)), n)
	graph := bytesize.Add(bytesize.Mul(n, 4), bytesize.Mul(dn, 2*4+2*4)) // offsets, neighbours, bonds
	chain := bytesize.Add(bytesize.Mul(n, 1+4), 256, bytesize.Mul(int64(s.Sweeps), wolffSweepBytes))
	return bytesize.Add(lattice.HypercubicMemory(d, L), graph, bytesize.Mul(chains, chain))
}
