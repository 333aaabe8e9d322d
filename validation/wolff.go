package validation

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"

	"github.com/isingflow/isingflow/internal/parallel"
	"github.com/isingflow/isingflow/lattice"
	"github.com/isingflow/isingflow/stats"
)

// MinWolffSweeps is the smallest number of measured sweeps per chain Wolff
// accepts: enough for the autocorrelation analysis and a few dozen bins.
const MinWolffSweeps = 100

// Binning of the measurements for the error analysis (see Wolff).
const (
	binTauFactor = 50   // bins are at least this many τ_int long
	minBins      = 32   // total bins, pooled over chains, at the least
	maxBins      = 1024 // total bins at the most
)

// WolffSettings are the run parameters of Wolff. The zero value of every
// field but Sweeps selects a default.
type WolffSettings struct {
	// Sweeps is the number of measured sweeps per chain, at least
	// MinWolffSweeps. A sweep is a fixed number of cluster flips,
	// ClustersPerSweep, chosen so that a sweep flips N spins on average;
	// the observables are measured once per sweep.
	Sweeps int

	// Thermalize is the number of sweeps discarded at the start of each
	// chain; zero means max(Sweeps/10, 100). During thermalisation a sweep
	// grows clusters until at least N spins have been flipped.
	Thermalize int

	// Chains is the number of independent chains, run in parallel;
	// zero means runtime.GOMAXPROCS(0).
	Chains int

	// ClustersPerSweep, if positive, fixes the number of clusters per
	// sweep. Zero means max(1, round(N/⟨|C|⟩)), with the mean cluster size
	// ⟨|C|⟩ measured over the second half of the thermalisation of all
	// chains.
	ClustersPerSweep int

	// Seed selects the random streams: chain c draws from a PCG generator
	// seeded from (Seed, c), so results depend on Seed and Chains but not
	// on how many goroutines run the chains.
	Seed uint64
}

// WolffResult holds the estimates of a Wolff run. Per-site quantities are
// divided by N; m = Σ_i s_i / N. Every estimate carries a jackknife error
// over bins pooled from all chains (see Wolff).
type WolffResult struct {
	Lattice    string  // the lattice, as its String method prints it
	N          int     // number of sites
	T          float64 // temperature
	Sweeps     int     // measured sweeps per chain
	Thermalize int     // discarded sweeps per chain
	Chains     int     // independent chains

	ClustersPerSweep int     // cluster flips per sweep
	MeanClusterSize  float64 // mean number of spins per cluster over the measured sweeps
	Bins             int     // bins used for the errors, pooled over chains
	BinLength        int     // sweeps per bin

	EnergyPerSite       stats.Estimate // u = ⟨E⟩/N
	SpecificHeatPerSite stats.Estimate // c = β²(⟨E²⟩ − ⟨E⟩²)/N
	AbsMagnetization    stats.Estimate // ⟨|m|⟩
	MagnetizationSq     stats.Estimate // ⟨m²⟩
	Magnetization4      stats.Estimate // ⟨m⁴⟩
	Binder              stats.Estimate // U = 1 − ⟨m⁴⟩/(3⟨m²⟩²)
	Susceptibility      stats.Estimate // χ = βN(⟨m²⟩ − ⟨|m|⟩²)

	// Integrated autocorrelation times in sweeps (Sokal's windowing, see
	// stats.IntegratedAutocorrelationTime), from the chains of E, |m| and m².
	TauIntEnergy, TauIntAbsMagnetization, TauIntMagnetizationSq float64
}

// Wolff samples the Ising model (J = 1) on lat at temperature T with
// Wolff's single-cluster algorithm (U. Wolff, Phys. Rev. Lett. 62, 361
// (1989)) and returns estimates of the thermodynamic observables with error
// bars. It works on any lattice, periodic or open, of any dimension.
//
// One cluster update picks a random seed site, grows the cluster of equal
// spins by activating each bond to an aligned neighbour with probability
// p = 1 − exp(−2β) (with an explicit stack), and flips it. A pair joined by
// two bonds (periodic axis of length 2) tries both, so it is joined with
// probability 1 − exp(−4β), as its coupling 2 requires.
//
// Each chain starts from random spins, thermalises for s.Thermalize sweeps
// and then measures E and m once per sweep for s.Sweeps sweeps. The
// measurements of all chains are kept for the analysis, which holds about
// 7·Sweeps·Chains float64s at its peak.
//
// Errors: the integrated autocorrelation times τ_int of E, |m|, m² and m⁴
// are estimated with Sokal's automatic window over all chains; each chain is
// cut into bins of at least 50·max τ_int sweeps (fewer, shorter bins if the
// run is too short to give 32 bins in all; at most 1024 bins are used), and
// the bins of all chains are pooled. Means and their errors, including
// those of the nonlinear c, U and χ, come from the jackknife over the bins
// (bias-corrected).
func Wolff(lat *lattice.Lattice, T float64, s WolffSettings) (WolffResult, error) {
	if lat == nil {
		return WolffResult{}, fmt.Errorf("validation: Wolff: nil lattice")
	}
	if !(T > 0) || math.IsInf(T, 1) {
		return WolffResult{}, fmt.Errorf("validation: Wolff: temperature %v, need a finite T > 0", T)
	}
	if s.Sweeps < MinWolffSweeps {
		return WolffResult{}, fmt.Errorf("validation: Wolff: %d sweeps, need at least %d for an error bar", s.Sweeps, MinWolffSweeps)
	}
	if s.Thermalize < 0 {
		return WolffResult{}, fmt.Errorf("validation: Wolff: negative number of thermalisation sweeps %d", s.Thermalize)
	}
	if s.Chains < 0 {
		return WolffResult{}, fmt.Errorf("validation: Wolff: negative number of chains %d", s.Chains)
	}
	if s.ClustersPerSweep < 0 {
		return WolffResult{}, fmt.Errorf("validation: Wolff: negative number of clusters per sweep %d", s.ClustersPerSweep)
	}
	if s.Thermalize == 0 {
		s.Thermalize = max(s.Sweeps/10, 100)
	}
	if s.Chains == 0 {
		s.Chains = runtime.GOMAXPROCS(0)
	}
	n := lat.N()
	beta := 1 / T
	g := newWolffGraph(lat)
	thresh := bondThreshold(-math.Expm1(-2 * beta))

	// Cost per chain for parallel.For: large enough to always split.
	cost := min(s.Sweeps+s.Thermalize, 1<<20) * max(n, 1<<10)

	// Thermalisation.
	chains := make([]*wolffChain, s.Chains)
	parallel.For(s.Chains, cost, func(lo, hi int) {
		for c := lo; c < hi; c++ {
			ch := newWolffChain(g, thresh, s.Seed, c)
			ch.thermalize(s.Thermalize)
			chains[c] = ch
		}
	})
	k := s.ClustersPerSweep
	if k == 0 {
		var flipped, clusters int64
		for _, ch := range chains {
			flipped += ch.flipped
			clusters += ch.clusters
		}
		k = max(1, int(math.Round(float64(n)*float64(clusters)/float64(flipped))))
	}

	// Measurement.
	energy := make([][]float64, s.Chains) // E/N per sweep
	mag := make([][]float64, s.Chains)    // m per sweep
	parallel.For(s.Chains, cost, func(lo, hi int) {
		for c := lo; c < hi; c++ {
			energy[c], mag[c] = chains[c].measure(s.Sweeps, k)
		}
	})
	var flipped, clusters int64
	for _, ch := range chains {
		flipped += ch.flipped
		clusters += ch.clusters
	}

	// Primary time series: E/N, (E/N)², |m|, m², m⁴.
	const (
		qE = iota
		qE2
		qAbsM
		qM2
		qM4
		nq
	)
	series := make([][][]float64, nq)
	for q := range series {
		series[q] = make([][]float64, s.Chains)
	}
	for c := range s.Chains {
		e2 := make([]float64, s.Sweeps)
		am := make([]float64, s.Sweeps)
		m2 := make([]float64, s.Sweeps)
		m4 := make([]float64, s.Sweeps)
		for t, e := range energy[c] {
			m := mag[c][t]
			e2[t] = e * e
			am[t] = math.Abs(m)
			m2[t] = m * m
			m4[t] = m2[t] * m2[t]
		}
		series[qE][c] = energy[c]
		series[qE2][c] = e2
		series[qAbsM][c] = am
		series[qM2][c] = m2
		series[qM4][c] = m4
	}
	tau := make([]float64, nq)
	tauMax := 0.5
	for _, q := range []int{qE, qAbsM, qM2, qM4} {
		// A window that does not converge still gives a usable lower
		// bound; the binning below then uses the longest bins it can.
		tau[q], _, _ = stats.IntegratedAutocorrelationTime(series[q])
		tauMax = max(tauMax, tau[q])
	}

	// Bins: at least binTauFactor·τ_int long, at most maxBins in all, at
	// least minBins in all if the run allows it.
	b := max(int(math.Ceil(binTauFactor*tauMax)), (s.Sweeps*s.Chains+maxBins-1)/maxBins, 1)
	perChain := s.Sweeps / b
	if perChain*s.Chains < minBins {
		perChain = min(s.Sweeps, (minBins+s.Chains-1)/s.Chains)
		b = s.Sweeps / perChain
	}
	bins := make([][]float64, nq)
	for q := range bins {
		for c := range s.Chains {
			bins[q] = stats.BinMeans(bins[q], series[q][c], b)
		}
	}

	nf := float64(n)
	r := WolffResult{
		Lattice:          lat.String(),
		N:                n,
		T:                T,
		Sweeps:           s.Sweeps,
		Thermalize:       s.Thermalize,
		Chains:           s.Chains,
		ClustersPerSweep: k,
		MeanClusterSize:  float64(flipped) / float64(clusters),
		Bins:             len(bins[0]),
		BinLength:        b,

		EnergyPerSite:    stats.Jackknife(bins, func(x []float64) float64 { return x[qE] }),
		AbsMagnetization: stats.Jackknife(bins, func(x []float64) float64 { return x[qAbsM] }),
		MagnetizationSq:  stats.Jackknife(bins, func(x []float64) float64 { return x[qM2] }),
		Magnetization4:   stats.Jackknife(bins, func(x []float64) float64 { return x[qM4] }),
		SpecificHeatPerSite: stats.Jackknife(bins, func(x []float64) float64 {
			return beta * beta * nf * (x[qE2] - x[qE]*x[qE])
		}),
		Binder: stats.Jackknife(bins, func(x []float64) float64 {
			return 1 - x[qM4]/(3*x[qM2]*x[qM2])
		}),
		Susceptibility: stats.Jackknife(bins, func(x []float64) float64 {
			return beta * nf * (x[qM2] - x[qAbsM]*x[qAbsM])
		}),

		TauIntEnergy:           tau[qE],
		TauIntAbsMagnetization: tau[qAbsM],
		TauIntMagnetizationSq:  tau[qM2],
	}
	return r, nil
}

// bondThreshold returns the integer threshold t with P(u < t) = p for a
// uniform 64-bit u.
func bondThreshold(p float64) uint64 {
	if p >= 1 {
		return math.MaxUint64
	}
	return uint64(math.Ldexp(p, 64))
}

// wolffGraph is the lattice in the compact form the cluster update reads,
// shared read-only by all chains.
type wolffGraph struct {
	n      int
	off    []int32 // neighbours of site i: nbr[off[i]:off[i+1]], one entry per bond
	nbr    []int32
	bi, bj []int32 // the bonds, each once
}

func newWolffGraph(lat *lattice.Lattice) *wolffGraph {
	n := lat.N()
	g := &wolffGraph{n: n, off: make([]int32, n+1)}
	var buf []int
	for i := 0; i < n; i++ {
		buf = lat.Neighbors(i, buf)
		for _, j := range buf {
			g.nbr = append(g.nbr, int32(j))
		}
		g.off[i+1] = int32(len(g.nbr))
	}
	for _, b := range lat.Bonds() {
		g.bi = append(g.bi, int32(b.I))
		g.bj = append(g.bj, int32(b.J))
	}
	return g
}

// wolffChain is one Markov chain: its spins, random stream and workspace.
type wolffChain struct {
	g      *wolffGraph
	thresh uint64 // bond activation: pcg.Uint64() < thresh
	pcg    *rand.PCG
	rng    *rand.Rand // over pcg, for unbiased site choice
	spin   []int8
	stack  []int32

	flipped, clusters int64 // cluster statistics since the last reset
}

// splitmix64 is the SplitMix64 output function, used to turn (Seed, chain)
// into well-separated PCG states.
func splitmix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

func newWolffChain(g *wolffGraph, thresh, seed uint64, chain int) *wolffChain {
	pcg := rand.NewPCG(splitmix64(seed), splitmix64(splitmix64(uint64(chain))^seed))
	ch := &wolffChain{
		g:      g,
		thresh: thresh,
		pcg:    pcg,
		rng:    rand.New(pcg),
		spin:   make([]int8, g.n),
		stack:  make([]int32, 0, g.n),
	}
	for i := range ch.spin {
		ch.spin[i] = int8(2*int(ch.pcg.Uint64()>>63) - 1)
	}
	return ch
}

// cluster grows one Wolff cluster from a random seed site, flipping each
// spin as it joins, and returns the cluster size. It does not allocate.
func (ch *wolffChain) cluster() int {
	g := ch.g
	spin := ch.spin
	i0 := int32(ch.rng.IntN(g.n))
	sigma := spin[i0]
	spin[i0] = -sigma
	stack := append(ch.stack[:0], i0)
	size := 1
	for len(stack) > 0 {
		i := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		for _, j := range g.nbr[g.off[i]:g.off[i+1]] {
			// A neighbour still equal to sigma is outside the cluster:
			// try the bond. Each bond is tried at most once, from the
			// first of its ends to join.
			if spin[j] == sigma && ch.pcg.Uint64() < ch.thresh {
				spin[j] = -sigma
				stack = append(stack, j)
				size++
			}
		}
	}
	ch.stack = stack
	ch.flipped += int64(size)
	ch.clusters++
	return size
}

// thermalize runs sweeps sweeps of clusters, each until at least N spins
// have been flipped, and leaves in flipped and clusters the statistics of
// the second half.
func (ch *wolffChain) thermalize(sweeps int) {
	for t := 0; t < sweeps; t++ {
		if t == sweeps/2 {
			ch.flipped, ch.clusters = 0, 0
		}
		for f := 0; f < ch.g.n; {
			f += ch.cluster()
		}
	}
}

// measure runs sweeps sweeps of k clusters each and returns E/N and m after
// every sweep; flipped and clusters hold the statistics of these sweeps.
func (ch *wolffChain) measure(sweeps, k int) (energy, mag []float64) {
	ch.flipped, ch.clusters = 0, 0
	energy = make([]float64, sweeps)
	mag = make([]float64, sweeps)
	g := ch.g
	nf := float64(g.n)
	for t := range sweeps {
		for range k {
			ch.cluster()
		}
		m := 0
		for _, v := range ch.spin {
			m += int(v)
		}
		e := 0
		for b, i := range g.bi {
			e -= int(ch.spin[i]) * int(ch.spin[g.bj[b]])
		}
		energy[t] = float64(e) / nf
		mag[t] = float64(m) / nf
	}
	return energy, mag
}
