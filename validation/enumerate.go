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
// NewDensityOfStates accept (2^24 ≈ 1.7·10⁷ configurations).
const MaxEnumerationSites = 24

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
// occupied energy, so no temperature overflows.
func (d *DensityOfStates) Thermal(T float64) (Enumeration, error) {
	if !(T > 0) || math.IsInf(T, 1) {
		return Enumeration{}, fmt.Errorf("validation: enumeration: temperature %v, need a finite T > 0", T)
	}
	beta := 1 / T
	n := d.N
	emin := -1
	for e := 0; e <= d.NumBonds && emin < 0; e++ {
		for m := 0; m <= n; m++ {
			if d.Count[e*(n+1)+m] != 0 {
				emin = e
				break
			}
		}
	}
	if emin < 0 {
		return Enumeration{}, fmt.Errorf("validation: enumeration: empty density of states")
	}
	// Weights p(e, m) ∝ Count·exp(−β(E − E_min)).
	z := 0.0
	var zE, zAbs, zM2, zM4 float64
	w := make([]float64, d.NumBonds+1) // Σ_m p(e, m), unnormalised
	for e := emin; e <= d.NumBonds; e++ {
		boltz := math.Exp(-beta * float64(2*(e-emin)))
		if boltz == 0 {
			break
		}
		for m := 0; m <= n; m++ {
			cnt := d.Count[e*(n+1)+m]
			if cnt == 0 {
				continue
			}
			pw := float64(cnt) * boltz
			mm := d.Magnetization(m) / float64(n)
			m2 := mm * mm
			w[e] += pw
			zAbs += pw * math.Abs(mm)
			zM2 += pw * m2
			zM4 += pw * m2 * m2
		}
		z += w[e]
		zE += w[e] * d.Energy(e)
	}
	meanE := zE / z
	varE := 0.0
	for e := emin; e <= d.NumBonds; e++ {
		de := d.Energy(e) - meanE
		varE += w[e] * de * de
	}
	varE /= z
	lnZ := -beta*d.Energy(emin) + math.Log(z)
	nf := float64(n)
	r := Enumeration{
		N: n, T: T,
		LnZ:                 lnZ,
		LnZPerSite:          lnZ / nf,
		FreeEnergyPerSite:   -T * lnZ / nf,
		EnergyPerSite:       meanE / nf,
		SpecificHeatPerSite: beta * beta * varE / nf,
		AbsMagnetization:    zAbs / z,
		MagnetizationSq:     zM2 / z,
		Magnetization4:      zM4 / z,
	}
	r.Binder = 1 - r.Magnetization4/(3*r.MagnetizationSq*r.MagnetizationSq)
	r.Susceptibility = beta * nf * (r.MagnetizationSq - r.AbsMagnetization*r.AbsMagnetization)
	return r, nil
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
