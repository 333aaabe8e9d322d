package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"text/tabwriter"

	"github.com/isingflow/isingflow/ising"
	"github.com/isingflow/isingflow/lattice"
	"github.com/isingflow/isingflow/validation"
)

// maxEnumerationSites is the largest lattice the exact command enumerates.
const maxEnumerationSites = validation.MaxEnumerationSites

// exactReport is everything known exactly about one lattice at one
// temperature; the JSON keys are documented in the README.
type exactReport struct {
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

func ptr(v float64) *float64 {
	if math.IsInf(v, 0) || math.IsNaN(v) {
		return nil
	}
	return &v
}

// exactReference computes the exact report; it is shared with training,
// which prints its estimates beside these numbers.
func exactReference(g *geometry, lat *lattice.Lattice, delta float64) (*exactReport, error) {
	T := float64(g.T)
	r := &exactReport{Lattice: lat.String(), L: g.L, Dim: g.dim, T: T, Beta: 1 / T, RelaxationDelta: delta}
	n := float64(lat.N())
	if g.isSquareTorus() {
		k, err := validation.Kaufman(g.L, g.L, T)
		if err != nil {
			return nil, err
		}
		r.FiniteLatticeMethod = "kaufman"
		r.LnZPerSite, r.FreeEnergyPerSite = ptr(k.LnZPerSite), ptr(k.FreeEnergyPerSite)
		r.EnergyPerSite, r.SpecificHeatPerSite = ptr(k.EnergyPerSite), ptr(k.SpecificHeatPerSite)
	}
	if g.dim == 2 {
		r.OnsagerLnZPerSite = ptr(validation.OnsagerLnZPerSite(T))
		r.OnsagerFreeEnergy = ptr(validation.OnsagerFreeEnergyPerSite(T))
		r.OnsagerEnergy = ptr(validation.OnsagerEnergyPerSite(T))
		r.OnsagerSpecificHeat = ptr(validation.OnsagerSpecificHeatPerSite(T))
		r.OnsagerMagnetization = ptr(validation.SpontaneousMagnetization(T))
	}
	if lat.N() <= maxEnumerationSites {
		e, err := validation.Enumerate(lat, T)
		if err != nil {
			return nil, err
		}
		if r.LnZPerSite == nil {
			r.FiniteLatticeMethod = "enumeration"
			r.LnZPerSite, r.FreeEnergyPerSite = ptr(e.LnZPerSite), ptr(e.FreeEnergyPerSite)
			r.EnergyPerSite, r.SpecificHeatPerSite = ptr(e.EnergyPerSite), ptr(e.SpecificHeatPerSite)
		}
		r.AbsMagnetization, r.MagnetizationSq = ptr(e.AbsMagnetization), ptr(e.MagnetizationSq)
		r.Magnetization4, r.Binder = ptr(e.Magnetization4), ptr(e.Binder)
		r.Susceptibility = ptr(e.Susceptibility)
	}
	rel, err := ising.NewRelaxation(lat, T, delta)
	if err != nil {
		return nil, err
	}
	r.RelaxationConstant = rel.Constant() / n
	if r.LnZPerSite != nil {
		// ln Z_Ising = ln Z_cont + c.
		r.RelaxationFreeEnergy = ptr(-(*r.LnZPerSite - r.RelaxationConstant))
	}
	return r, nil
}

func runExact(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("exact", stderr)
	var g geometry
	g.register(fs)
	delta := fs.Float64("delta", ising.DefaultDelta, "shift δ of the Hubbard-Stratonovich relaxation")
	asJSON := fs.Bool("json", false, "print one JSON object instead of the table")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if !(*delta > 0) || math.IsInf(*delta, 0) {
		return usagef("--delta %v: must be positive", *delta)
	}
	lat, err := g.lattice()
	if err != nil {
		return err
	}
	if g.dim != 2 && lat.N() > maxEnumerationSites {
		return usagef("no exact solution for the %v lattice: Kaufman and Onsager need two dimensions, enumeration N ≤ %d; try \"isingflow mc\"", lat, maxEnumerationSites)
	}
	r, err := exactReference(&g, lat, *delta)
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(r)
	}
	printExact(stdout, r)
	return nil
}

func fmtOpt(v *float64) string {
	if v == nil {
		return "—"
	}
	return fmt.Sprintf("%.10f", *v)
}

func printExact(w io.Writer, r *exactReport) {
	fmt.Fprintf(w, "Ising model on the %s lattice, T = %.9g (β = %.9g), J = 1\n\n", r.Lattice, r.T, r.Beta)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	finite := "finite lattice (" + r.FiniteLatticeMethod + ")"
	if r.FiniteLatticeMethod == "" {
		finite = "finite lattice"
	}
	fmt.Fprintf(tw, "per site\t%s\tinfinite lattice (Onsager)\n", finite)
	fmt.Fprintf(tw, "ln Z / N\t%s\t%s\n", fmtOpt(r.LnZPerSite), fmtOpt(r.OnsagerLnZPerSite))
	fmt.Fprintf(tw, "free energy f\t%s\t%s\n", fmtOpt(r.FreeEnergyPerSite), fmtOpt(r.OnsagerFreeEnergy))
	fmt.Fprintf(tw, "energy u\t%s\t%s\n", fmtOpt(r.EnergyPerSite), fmtOpt(r.OnsagerEnergy))
	fmt.Fprintf(tw, "specific heat c\t%s\t%s\n", fmtOpt(r.SpecificHeatPerSite), fmtOpt(r.OnsagerSpecificHeat))
	fmt.Fprintf(tw, "<|m|>\t%s\t%s (spontaneous)\n", fmtOpt(r.AbsMagnetization), fmtOpt(r.OnsagerMagnetization))
	if r.MagnetizationSq != nil {
		fmt.Fprintf(tw, "<m²>\t%s\t\n", fmtOpt(r.MagnetizationSq))
		fmt.Fprintf(tw, "<m⁴>\t%s\t\n", fmtOpt(r.Magnetization4))
		fmt.Fprintf(tw, "Binder 1 − <m⁴>/3<m²>²\t%s\t\n", fmtOpt(r.Binder))
		fmt.Fprintf(tw, "susceptibility χ\t%s\t\n", fmtOpt(r.Susceptibility))
	}
	tw.Flush()
	fmt.Fprintf(w, "\nHubbard-Stratonovich relaxation, δ = %g:\n", r.RelaxationDelta)
	fmt.Fprintf(w, "  constant c/N          %.10f   (ln Z_Ising = ln Z_cont + c)\n", r.RelaxationConstant)
	fmt.Fprintf(w, "  −ln Z_cont / N        %s\n", fmtOpt(r.RelaxationFreeEnergy))
	if r.MagnetizationSq == nil {
		fmt.Fprintln(w, "\n<|m|> and the other magnetisation moments have no closed form at this size: run \"isingflow mc\".")
	}
}

// exactLnZFunc returns the exact ln Z/N of the lattice as a function of
// temperature (Kaufman on the square torus, enumeration for small
// lattices), or nil when there is none.
func exactLnZFunc(g *geometry, lat *lattice.Lattice) func(T float64) float64 {
	if g.isSquareTorus() {
		return func(T float64) float64 {
			k, err := validation.Kaufman(g.L, g.L, T)
			if err != nil {
				return math.NaN()
			}
			return k.LnZPerSite
		}
	}
	if lat.N() <= maxEnumerationSites {
		dos, err := validation.NewDensityOfStates(lat)
		if err != nil {
			return nil
		}
		return func(T float64) float64 {
			e, err := dos.Thermal(T)
			if err != nil {
				return math.NaN()
			}
			return e.LnZPerSite
		}
	}
	return nil
}
