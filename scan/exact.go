package scan

import (
	"math"

	"github.com/isingflow/isingflow/ising"
	"github.com/isingflow/isingflow/lattice"
	"github.com/isingflow/isingflow/validation"
)

// Exact is everything known exactly about the Ising model on a lattice at
// one temperature (validation.Exact: Kaufman's finite torus or
// enumeration, the magnetisation moments where enumerable, Onsager's
// infinite lattice in two dimensions), with the constants of its
// Hubbard-Stratonovich relaxation. A nil value is one that is not known.
// Its JSON keys are those of "isingflow exact --json".
type Exact struct {
	Lattice string  `json:"lattice"`
	L       int     `json:"L"`
	Dim     int     `json:"dim"`
	T       float64 `json:"T"`
	Beta    float64 `json:"beta"`

	// Finite lattice: Kaufman on the square torus, enumeration otherwise.
	LnZPerSite           *float64 `json:"lnz_per_site,omitempty"`
	FreeEnergyPerSite    *float64 `json:"free_energy_per_site,omitempty"`
	EnergyPerSite        *float64 `json:"energy_per_site,omitempty"`
	SpecificHeatPerSite  *float64 `json:"specific_heat_per_site,omitempty"`
	FiniteLatticeMethod  string   `json:"finite_lattice_method,omitempty"`
	AbsMagnetization     *float64 `json:"abs_magnetization,omitempty"`
	MagnetizationSq      *float64 `json:"magnetization_sq,omitempty"`
	Magnetization4       *float64 `json:"magnetization_4,omitempty"`
	Binder               *float64 `json:"binder,omitempty"`
	Susceptibility       *float64 `json:"susceptibility,omitempty"`
	OnsagerLnZPerSite    *float64 `json:"onsager_lnz_per_site,omitempty"`
	OnsagerFreeEnergy    *float64 `json:"onsager_free_energy_per_site,omitempty"`
	OnsagerEnergy        *float64 `json:"onsager_energy_per_site,omitempty"`
	OnsagerSpecificHeat  *float64 `json:"onsager_specific_heat_per_site,omitempty"`
	OnsagerMagnetization *float64 `json:"onsager_spontaneous_magnetization,omitempty"`

	// The Hubbard-Stratonovich relaxation.
	RelaxationDelta      float64  `json:"relaxation_delta"`
	RelaxationConstant   float64  `json:"relaxation_constant_per_site"`
	RelaxationFreeEnergy *float64 `json:"relaxation_free_energy_per_site,omitempty"`
}

// NewExact returns the exact values on lat at temperature T, with the
// constants of the relaxation of shift delta.
func NewExact(lat *lattice.Lattice, T, delta float64) (*Exact, error) {
	x, err := validation.NewExact(lat)
	if err != nil {
		return nil, err
	}
	ref, err := x.At(T)
	if err != nil {
		return nil, err
	}
	r := &Exact{Lattice: lat.String(), L: lat.Len(0), Dim: lat.Dim(), T: T, Beta: 1 / T, RelaxationDelta: delta}
	if ref.Method != validation.MethodNone {
		r.FiniteLatticeMethod = string(ref.Method)
		r.LnZPerSite, r.FreeEnergyPerSite = known(ref.LnZPerSite), known(ref.FreeEnergyPerSite)
		r.EnergyPerSite, r.SpecificHeatPerSite = known(ref.EnergyPerSite), known(ref.SpecificHeatPerSite)
	}
	if ref.Moments {
		r.AbsMagnetization, r.MagnetizationSq = known(ref.AbsMagnetization), known(ref.MagnetizationSq)
		r.Magnetization4, r.Binder = known(ref.Magnetization4), known(ref.Binder)
		r.Susceptibility = known(ref.Susceptibility)
	}
	if ref.Onsager {
		r.OnsagerLnZPerSite = known(ref.OnsagerLnZPerSite)
		r.OnsagerFreeEnergy = known(ref.OnsagerFreeEnergyPerSite)
		r.OnsagerEnergy = known(ref.OnsagerEnergyPerSite)
		r.OnsagerSpecificHeat = known(ref.OnsagerSpecificHeatPerSite)
		r.OnsagerMagnetization = known(ref.OnsagerMagnetization)
	}
	rel, err := ising.NewRelaxation(lat, T, delta)
	if err != nil {
		return nil, err
	}
	r.RelaxationConstant = rel.Constant() / float64(lat.N())
	if r.LnZPerSite != nil {
		// ln Z_Ising = ln Z_cont + c.
		r.RelaxationFreeEnergy = known(-(*r.LnZPerSite - r.RelaxationConstant))
	}
	return r, nil
}

// known returns a pointer to v, or nil when v is not finite.
func known(v float64) *float64 {
	if math.IsInf(v, 0) || math.IsNaN(v) {
		return nil
	}
	return &v
}
