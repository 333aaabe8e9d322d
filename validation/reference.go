package validation

import (
	"fmt"
	"math"
	"sync"

	"github.com/isingflow/isingflow/lattice"
)

// Method names how the finite-lattice values of a Reference are computed.
type Method string

const (
	// MethodKaufman is Kaufman's exact solution of the two-dimensional
	// periodic lattice (see Kaufman).
	MethodKaufman Method = "kaufman"
	// MethodEnumeration is the exact sum over the 2^N configurations of a
	// lattice with N ≤ MaxEnumerationSites (see NewDensityOfStates).
	MethodEnumeration Method = "enumeration"
	// MethodNone means no exact finite-lattice value is known.
	MethodNone Method = "none"
)

// Reference is everything known exactly about the Ising model (J = 1) on one
// lattice at one temperature, as returned by Exact.At. A value that is not
// known is NaN, and the fields Method, Moments and Onsager say which are.
type Reference struct {
	T      float64 // temperature
	Method Method  // how the four finite-lattice values below are computed

	// The finite lattice: Kaufman on a two-dimensional periodic lattice,
	// enumeration on other lattices of at most MaxEnumerationSites sites;
	// NaN when Method is MethodNone.
	LnZPerSite          float64 // ln Z / N = −βf
	FreeEnergyPerSite   float64 // f = −T ln Z / N
	EnergyPerSite       float64 // u = ⟨E⟩/N
	SpecificHeatPerSite float64 // c = β²(⟨E²⟩ − ⟨E⟩²)/N

	// Moments reports whether the magnetisation moments below are known:
	// they come from enumeration only (N ≤ MaxEnumerationSites), also on
	// a torus whose other values come from Kaufman. NaN when not known.
	Moments          bool
	AbsMagnetization float64 // ⟨|m|⟩, m = Σ_i s_i / N
	MagnetizationSq  float64 // ⟨m²⟩
	Magnetization4   float64 // ⟨m⁴⟩
	Binder           float64 // U = 1 − ⟨m⁴⟩/(3⟨m²⟩²)
	Susceptibility   float64 // χ = βN(⟨m²⟩ − ⟨|m|⟩²)

	// Onsager reports whether the infinite-lattice values below are given:
	// on every two-dimensional lattice, periodic or open, as the L = ∞
	// limit to compare with; NaN on other lattices. The specific heat is
	// +Inf at T_c and the spontaneous magnetisation 0 at and above T_c.
	Onsager                    bool
	OnsagerLnZPerSite          float64 // −βf_∞ (OnsagerLnZPerSite)
	OnsagerFreeEnergyPerSite   float64 // f_∞ (OnsagerFreeEnergyPerSite)
	OnsagerEnergyPerSite       float64 // u_∞ (OnsagerEnergyPerSite)
	OnsagerSpecificHeatPerSite float64 // c_∞ (OnsagerSpecificHeatPerSite)
	OnsagerMagnetization       float64 // m₀ (SpontaneousMagnetization)
}

// Exact is the choice of exact methods for one lattice, made once by
// NewExact, from which Reference values follow at any temperature:
//
//   - a two-dimensional periodic lattice (an L×M torus) has Kaufman's ln Z,
//     f, u and c at every size;
//   - any other lattice of at most MaxEnumerationSites sites has them by
//     enumeration;
//   - every lattice of at most MaxEnumerationSites sites, torus included,
//     has the magnetisation moments ⟨|m|⟩, ⟨m²⟩, ⟨m⁴⟩, U and χ by
//     enumeration;
//   - every two-dimensional lattice, periodic or open, has Onsager's
//     infinite-lattice values beside them;
//   - a larger lattice that is not a two-dimensional torus has no
//     finite-lattice value (MethodNone): in two dimensions only Onsager's
//     limit, in others nothing at all.
//
// The density of states is enumerated once, at the first call that needs
// it, and then serves every temperature. An Exact is safe for concurrent
// use.
type Exact struct {
	method  Method
	kaufman [2]int // L, M of the torus when method is MethodKaufman
	onsager bool

	lat     *lattice.Lattice // enumerated when moments
	moments bool
	once    sync.Once
	dos     *DensityOfStates
	dosErr  error
}

// NewExact chooses the exact methods that apply to lat (see Exact). It
// computes nothing yet; the enumeration, when one applies, is done at the
// first call that needs it.
func NewExact(lat *lattice.Lattice) (*Exact, error) {
	if lat == nil {
		return nil, fmt.Errorf("validation: exact reference: nil lattice")
	}
	x := &Exact{method: MethodNone, lat: lat, onsager: lat.Dim() == 2}
	x.moments = lat.N() <= MaxEnumerationSites
	switch {
	case lat.Dim() == 2 && lat.Boundary() == lattice.Periodic:
		// lattice.New([]int{M, L}, Periodic) is Kaufman's L×M torus.
		x.method, x.kaufman = MethodKaufman, [2]int{lat.Len(1), lat.Len(0)}
	case x.moments:
		x.method = MethodEnumeration
	}
	return x, nil
}

// Method returns the method of the finite-lattice ln Z, f, u and c.
func (x *Exact) Method() Method { return x.method }

// densityOfStates enumerates the lattice once.
func (x *Exact) densityOfStates() (*DensityOfStates, error) {
	x.once.Do(func() { x.dos, x.dosErr = NewDensityOfStates(x.lat) })
	return x.dos, x.dosErr
}

// At returns the exact values at temperature T > 0 (see Reference): the
// numbers of Kaufman, DensityOfStates.Thermal (equal to Enumerate) and the
// Onsager functions, unchanged.
func (x *Exact) At(T float64) (Reference, error) {
	if !(T > 0) || math.IsInf(T, 1) {
		return Reference{}, fmt.Errorf("validation: exact reference: temperature %v, need a finite T > 0", T)
	}
	nan := math.NaN()
	r := Reference{
		T: T, Method: x.method,
		LnZPerSite: nan, FreeEnergyPerSite: nan, EnergyPerSite: nan, SpecificHeatPerSite: nan,
		AbsMagnetization: nan, MagnetizationSq: nan, Magnetization4: nan, Binder: nan, Susceptibility: nan,
		OnsagerLnZPerSite: nan, OnsagerFreeEnergyPerSite: nan, OnsagerEnergyPerSite: nan,
		OnsagerSpecificHeatPerSite: nan, OnsagerMagnetization: nan,
	}
	if x.method == MethodKaufman {
		k, err := Kaufman(x.kaufman[0], x.kaufman[1], T)
		if err != nil {
			return Reference{}, err
		}
		r.LnZPerSite, r.FreeEnergyPerSite = k.LnZPerSite, k.FreeEnergyPerSite
		r.EnergyPerSite, r.SpecificHeatPerSite = k.EnergyPerSite, k.SpecificHeatPerSite
	}
	if x.moments {
		dos, err := x.densityOfStates()
		if err != nil {
			return Reference{}, err
		}
		e, err := dos.Thermal(T)
		if err != nil {
			return Reference{}, err
		}
		if x.method == MethodEnumeration {
			r.LnZPerSite, r.FreeEnergyPerSite = e.LnZPerSite, e.FreeEnergyPerSite
			r.EnergyPerSite, r.SpecificHeatPerSite = e.EnergyPerSite, e.SpecificHeatPerSite
		}
		r.Moments = true
		r.AbsMagnetization, r.MagnetizationSq = e.AbsMagnetization, e.MagnetizationSq
		r.Magnetization4, r.Binder, r.Susceptibility = e.Magnetization4, e.Binder, e.Susceptibility
	}
	if x.onsager {
		r.Onsager = true
		r.OnsagerLnZPerSite = OnsagerLnZPerSite(T)
		r.OnsagerFreeEnergyPerSite = OnsagerFreeEnergyPerSite(T)
		r.OnsagerEnergyPerSite = OnsagerEnergyPerSite(T)
		r.OnsagerSpecificHeatPerSite = OnsagerSpecificHeatPerSite(T)
		r.OnsagerMagnetization = SpontaneousMagnetization(T)
	}
	return r, nil
}

// LnZPerSite returns the exact finite-lattice ln Z/N at temperature T, the
// value of At(T).LnZPerSite without the other observables: NaN when Method
// is MethodNone or T is not a finite positive temperature. On a torus it
// costs one Kaufman evaluation and enumerates nothing.
func (x *Exact) LnZPerSite(T float64) float64 {
	switch x.method {
	case MethodKaufman:
		k, err := Kaufman(x.kaufman[0], x.kaufman[1], T)
		if err != nil {
			return math.NaN()
		}
		return k.LnZPerSite
	case MethodEnumeration:
		dos, err := x.densityOfStates()
		if err != nil {
			return math.NaN()
		}
		e, err := dos.Thermal(T)
		if err != nil {
			return math.NaN()
		}
		return e.LnZPerSite
	}
	return math.NaN()
}

// Curves returns the exact values on a temperature grid for plotting: points
// temperatures evenly spaced from lo to hi, both included
// (lo + (hi−lo)·i/(points−1)), and T_c inserted in order when it lies
// strictly between lo and hi, where Onsager's curves have their cusp and
// singularity. It needs 0 < lo < hi finite and points ≥ 2.
func (x *Exact) Curves(lo, hi float64, points int) ([]Reference, error) {
	if !(lo > 0) || !(hi > lo) || math.IsInf(hi, 1) || points < 2 {
		return nil, fmt.Errorf("validation: exact curves: %d points from %v to %v, need 0 < lo < hi finite and at least 2 points", points, lo, hi)
	}
	grid := make([]float64, points)
	for i := range grid {
		grid[i] = lo + (hi-lo)*float64(i)/float64(points-1)
	}
	if tc := CriticalTemperature; tc > lo && tc < hi {
		grid = append(grid, tc)
		for i := len(grid) - 1; i > 0 && grid[i] < grid[i-1]; i-- {
			grid[i], grid[i-1] = grid[i-1], grid[i]
		}
	}
	refs := make([]Reference, len(grid))
	for i, T := range grid {
		r, err := x.At(T)
		if err != nil {
			return nil, err
		}
		refs[i] = r
	}
	return refs, nil
}
