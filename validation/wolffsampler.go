package validation

import (
	"fmt"
	"math"

	"github.com/isingflow/isingflow/lattice"
)

// WolffSampler draws Ising configurations (J = 1) at one temperature from a
// single Wolff chain, for uses that need the configurations themselves
// rather than the averages Wolff returns: training data for a flow, say.
// Successive configurations are separated by one sweep: a fixed number of
// cluster flips, round(N/⟨|C|⟩) with the mean cluster size ⟨|C|⟩ measured
// during thermalisation, so that a sweep flips N spins on average (at T_c
// about one autocorrelation time of the energy and of |m|). The number is
// fixed on purpose: flipping clusters until N spins have flipped would stop
// at a time that depends on the configuration, and the configurations seen
// at such times are biased towards large clusters — ordered states. A WolffSampler is not safe for concurrent use; give
// each goroutine its own, with its own seed.
type WolffSampler struct {
	ch       *wolffChain
	clusters int // cluster flips per sweep
}

// NewWolffSampler returns a chain on lat at temperature T, started from
// random spins drawn from seed and thermalised for thermalize sweeps (100
// when zero).
func NewWolffSampler(lat *lattice.Lattice, T float64, thermalize int, seed uint64) (*WolffSampler, error) {
	if lat == nil {
		return nil, fmt.Errorf("validation: NewWolffSampler: nil lattice")
	}
	if !(T > 0) || math.IsInf(T, 1) {
		return nil, fmt.Errorf("validation: NewWolffSampler: temperature %v, need a finite T > 0", T)
	}
	if thermalize < 0 {
		return nil, fmt.Errorf("validation: NewWolffSampler: negative number of thermalisation sweeps %d", thermalize)
	}
	if thermalize == 0 {
		thermalize = 100
	}
	thresh := bondThreshold(-math.Expm1(-2 / T))
	ch := newWolffChain(newWolffGraph(lat), thresh, seed, 0)
	ch.thermalize(thermalize)
	k := max(1, int(math.Round(float64(lat.N())*float64(ch.clusters)/float64(ch.flipped))))
	return &WolffSampler{ch: ch, clusters: k}, nil
}

// Sample advances the chain by one sweep and writes its spins (±1) to dst,
// which must have one entry per site.
func (s *WolffSampler) Sample(dst []float64) {
	if len(dst) != s.ch.g.n {
		panic(fmt.Sprintf("validation: WolffSampler.Sample: len(dst) = %d, want N = %d", len(dst), s.ch.g.n))
	}
	for range s.clusters {
		s.ch.cluster()
	}
	for i, v := range s.ch.spin {
		dst[i] = float64(v)
	}
}

// AbsMagnetizations advances the chain by n sweeps and returns |m| =
// |Σs|/N of each configuration: exact samples of the distribution of |m|
// to set beside a flow's (observables.MagnetizationKL).
func (s *WolffSampler) AbsMagnetizations(n int) []float64 {
	conf := make([]float64, s.ch.g.n)
	out := make([]float64, n)
	for k := range out {
		s.Sample(conf)
		sum := 0.0
		for _, v := range conf {
			sum += v
		}
		out[k] = math.Abs(sum) / float64(len(conf))
	}
	return out
}
