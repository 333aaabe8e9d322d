package validation

import (
	"fmt"
	"math"
	"math/bits"
	"sync"

	"github.com/isingflow/isingflow/internal/parallel"
	"github.com/isingflow/isingflow/lattice"
)

// MaxEnumerationSites is the largest number of sites Enumerate and
// NewDensityOfStates accept (2^25 ≈ 3.4·10⁷ configurations, about a second).
const MaxEnumerationSites = 25

// Enumeration holds the exact thermodynamics of the Ising model (J = 1) on a
// small lattice at temperature T, by summing over all 2^N configurations.
// m = Σ_i s_i / N is the magnetisation per site.
type Enumeration struct {
	N int     // number of sites
	T float64 // temperature

	LnZ                 float64 // ln Z
	LnZPerSite          float64 // ln Z / N = −βf
	FreeEnergyPerSite   float64 // f = −T ln Z / N
	EnergyPerSite       float64 // u = ⟨E⟩/N
	SpecificHeatPerSite float64 // c = β²(⟨E²⟩ − ⟨E⟩²)/N
	AbsMagnetization    float64 // ⟨|m|⟩
	MagnetizationSq     float64 // ⟨m²⟩
	Magnetization4      float64 // ⟨m⁴⟩
	Binder              float64 // U = 1 − ⟨m⁴⟩/(3⟨m²⟩²)
	Susceptibility      float64 // χ = βN(⟨m²⟩ − ⟨|m|⟩²)
}

// DensityOfStates is the joint density of states of the Ising model on a
// lattice: the exact number of spin configurations with each energy
// E = −Σ_bonds s_i s_j and total magnetisation Σ_i s_i. One enumeration
// serves every temperature (see Thermal).
type DensityOfStates struct {
	N        int // number of sites
	NumBonds int // number of bonds (a pair joined twice counts twice)

	// Count[e*(N+1)+m] is the number of configurations with e unsatisfied
	// bonds, that is energy E = −NumBonds + 2e (J = 1), and magnetisation
	// Σ_i s_i = −N + 2m; 0 ≤ e ≤ NumBonds, 0 ≤ m ≤ N.
	Count []int64
}

// Energy returns the energy −NumBonds + 2e of energy level e (J = 1).
func (d *DensityOfStates) Energy(e int) float64 { return float64(2*e - d.NumBonds) }

// Magnetization returns the total magnetisation −N + 2m of level m.
func (d *DensityOfStates) Magnetization(m int) float64 { return float64(2*m - d.N) }

// NewDensityOfStates enumerates the 2^N spin configurations of lat
// (N ≤ MaxEnumerationSites) in Gray-code order, flipping one spin per step
// and updating the energy from its local field, and returns the exact joint
// histogram of energy and magnetisation. It works for any lattice, periodic
// or open, of any dimension; a neighbour joined by two bonds (periodic axis
// of length 2) counts twice. The enumeration is split over the available
// cores.
func NewDensityOfStates(lat *lattice.Lattice) (*DensityOfStates, error) {
	if lat == nil {
		return nil, fmt.Errorf("validation: density of states: nil lattice")
	}
	n := lat.N()
	if n > MaxEnumerationSites {
		return nil, fmt.Errorf("validation: density of states: %v has %d sites, at most %d can be enumerated", lat, n, MaxEnumerationSites)
	}
	// Neighbour lists in compressed-row form.
	off := make([]int32, n+1)
	var nbr []int32
	var buf []int
	for i := 0; i < n; i++ {
		buf = lat.Neighbors(i, buf)
		for _, j := range buf {
			nbr = append(nbr, int32(j))
		}
		off[i+1] = int32(len(nbr))
	}
	nb := lat.NumBonds()
	d := &DensityOfStates{N: n, NumBonds: nb, Count: make([]int64, (nb+1)*(n+1))}

	// The high `split` spins are fixed per chunk; the low ones run through
	// a Gray code.
	split := min(n, 6)
	low := n - split
	chunks := 1 << split
	var mu sync.Mutex
	parallel.For(chunks, 1<<low, func(lo, hi int) {
		hist := make([]int64, len(d.Count))
		s := make([]int32, n)
		for c := lo; c < hi; c++ {
			// Spin i is bit i of the state; the chunk fixes bits low..n−1.
			mag := 0
			for i := 0; i < n; i++ {
				s[i] = -1
				if i >= low && (c>>(i-low))&1 == 1 {
					s[i] = 1
				}
				mag += int(s[i])
			}
			unsat := 0 // unsatisfied bonds, each counted from both ends
			for i := 0; i < n; i++ {
				for _, j := range nbr[off[i]:off[i+1]] {
					if s[i] != s[j] {
						unsat++
					}
				}
			}
			e := unsat / 2
			m := (mag + n) / 2
			hist[e*(n+1)+m]++
			for step := uint64(1); step < 1<<low; step++ {
				i := bits.TrailingZeros64(step)
				h := int32(0)
				for _, j := range nbr[off[i]:off[i+1]] {
					h += s[j]
				}
				// Flipping s_i changes E by 2 s_i h, so e by s_i h.
				e += int(s[i] * h)
				m -= int(s[i])
				s[i] = -s[i]
				hist[e*(n+1)+m]++
			}
		}
		mu.Lock()
		for k, v := range hist {
			d.Count[k] += v
		}
		mu.Unlock()
	})
	return d, nil
}

// Thermal returns the exact thermodynamics at temperature T > 0 from the
// density of states. Boltzmann weights are taken relative to the lowest
// occupied energy E_min, so no temperature overflows, and moments are
// formed without cancellation: the mean energy pairs the levels E and −E,
//
//	Z⟨E⟩e^{βE_min} = Σ_{E>0} E [Δg e^{βE_min} expm1(−βE) + g(−E) e^{β(E+E_min)} expm1(−2βE)],
//
// Δg = g(E) − g(−E), using the exact integer identity Σ_{E>0} E Δg = 0
// (⟨E⟩ = 0 at β = 0), so that ⟨E⟩ ≈ −βJ·(number of bonds) keeps its
// relative accuracy at high T; variances are centred sums.
func (d *DensityOfStates) Thermal(T float64) (Enumeration, error) {
	if !(T > 0) || math.IsInf(T, 1) {
		return Enumeration{}, fmt.Errorf("validation: enumeration: temperature %v, need a finite T > 0", T)
	}
	beta := 1 / T
	n, nb := d.N, d.NumBonds
	g := make([]int64, nb+1) // g[e]: configurations with e unsatisfied bonds
	for e := range g {
		for m := 0; m <= n; m++ {
			g[e] += d.Count[e*(n+1)+m]
		}
	}
	emin := -1
	for e, c := range g {
		if c != 0 {
			emin = e
			break
		}
	}
	if emin < 0 {
		return Enumeration{}, fmt.Errorf("validation: enumeration: empty density of states")
	}
	eMin := d.Energy(emin)
	// w[e] = g(E) e^{−β(E − E_min)}, Z e^{βE_min} = Σ w.
	w := make([]float64, nb+1)
	z := 0.0
	for e := emin; e <= nb; e++ {
		w[e] = float64(g[e]) * math.Exp(-beta*(d.Energy(e)-eMin))
		z += w[e]
	}
	// Mean energy by pairing level e (E > 0) with level nb − e (−E).
	var zE float64
	var exact int64 // Σ_{E>0} E Δg, zero for every lattice
	for e := 0; e <= nb; e++ {
		E := d.Energy(e)
		if E <= 0 {
			continue
		}
		dg := g[e] - g[nb-e]
		exact += int64(2*e-nb) * dg
		zE += E * (float64(dg)*math.Exp(beta*eMin)*math.Expm1(-beta*E) +
			float64(g[nb-e])*math.Exp(beta*(E+eMin))*math.Expm1(-2*beta*E))
	}
	zE += float64(exact) * math.Exp(beta*eMin)
	meanE := zE / z
	varE := 0.0
	for e := emin; e <= nb; e++ {
		de := d.Energy(e) - meanE
		varE += w[e] * de * de
	}
	varE /= z
	// Distribution of the magnetisation.
	pm := make([]float64, n+1)
	for e := emin; e <= nb; e++ {
		if w[e] == 0 {
			continue
		}
		boltz := w[e] / float64(g[e]) / z
		for m := 0; m <= n; m++ {
			pm[m] += float64(d.Count[e*(n+1)+m]) * boltz
		}
	}
	nf := float64(n)
	var absM, m2, m4 float64
	for m, p := range pm {
		mm := d.Magnetization(m) / nf
		absM += p * math.Abs(mm)
		m2 += p * mm * mm
		m4 += p * mm * mm * mm * mm
	}
	varAbs := 0.0
	for m, p := range pm {
		dm := math.Abs(d.Magnetization(m)/nf) - absM
		varAbs += p * dm * dm
	}
	lnZ := -beta*eMin + math.Log(z)
	return Enumeration{
		N: n, T: T,
		LnZ:                 lnZ,
		LnZPerSite:          lnZ / nf,
		FreeEnergyPerSite:   -T * lnZ / nf,
		EnergyPerSite:       meanE / nf,
		SpecificHeatPerSite: beta * beta * varE / nf,
		AbsMagnetization:    absM,
		MagnetizationSq:     m2,
		Magnetization4:      m4,
		Binder:              1 - m4/(3*m2*m2),
		Susceptibility:      beta * nf * varAbs,
	}, nil
}

// Enumerate returns the exact thermodynamics of the Ising model (J = 1) on
// lat at temperature T by summing over all 2^N configurations
// (N ≤ MaxEnumerationSites). To evaluate many temperatures, call
// NewDensityOfStates once and its Thermal method per temperature.
func Enumerate(lat *lattice.Lattice, T float64) (Enumeration, error) {
	if !(T > 0) || math.IsInf(T, 1) {
		return Enumeration{}, fmt.Errorf("validation: enumeration: temperature %v, need a finite T > 0", T)
	}
	d, err := NewDensityOfStates(lat)
	if err != nil {
		return Enumeration{}, err
	}
	return d.Thermal(T)
}
