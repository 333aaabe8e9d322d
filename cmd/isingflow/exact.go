package main

import (
	"fmt"
	"io"
	"math"
	"text/tabwriter"

	"github.com/isingflow/isingflow/internal/cli"
	"github.com/isingflow/isingflow/ising"
	"github.com/isingflow/isingflow/scan"
	"github.com/isingflow/isingflow/validation"
)

// maxEnumerationSites is the largest lattice the exact command enumerates.
const maxEnumerationSites = validation.MaxEnumerationSites

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
	if err := g.validate(); err != nil {
		return err
	}
	if err := g.checkTemperature(*delta); err != nil {
		return err
	}
	if g.dim != 2 && g.sites() > maxEnumerationSites {
		return usagef("no exact solution for the %v lattice: Kaufman and Onsager need two dimensions, enumeration N ≤ %d; try \"isingflow mc\"", g.describe(), maxEnumerationSites)
	}
	if err := cli.CheckMemory("computing the exact references", ising.RelaxationMemory(g.dim, g.L, g.open)); err != nil {
		return err
	}
	lat, err := g.lattice()
	if err != nil {
		return err
	}
	r, err := scan.NewExact(lat, float64(g.T), *delta)
	if err != nil {
		return err
	}
	if *asJSON {
		return cli.WriteJSON(stdout, r)
	}
	printExact(stdout, r)
	return nil
}

func printExact(w io.Writer, r *scan.Exact) {
	fmt.Fprintf(w, "Ising model on the %s lattice, T = %.9g (β = %.9g), J = 1\n\n", r.Lattice, r.T, r.Beta)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	finite := "finite lattice (" + r.FiniteLatticeMethod + ")"
	if r.FiniteLatticeMethod == "" {
		finite = "finite lattice"
	}
	fmt.Fprintf(tw, "per site\t%s\tinfinite lattice (Onsager)\n", finite)
	fmt.Fprintf(tw, "ln Z / N\t%s\t%s\n", fmtOpt(r.LnZPerSite, 10), fmtOpt(r.OnsagerLnZPerSite, 10))
	fmt.Fprintf(tw, "free energy f\t%s\t%s\n", fmtOpt(r.FreeEnergyPerSite, 10), fmtOpt(r.OnsagerFreeEnergy, 10))
	fmt.Fprintf(tw, "energy u\t%s\t%s\n", fmtOpt(r.EnergyPerSite, 10), fmtOpt(r.OnsagerEnergy, 10))
	fmt.Fprintf(tw, "specific heat c\t%s\t%s\n", fmtOpt(r.SpecificHeatPerSite, 10), fmtOpt(r.OnsagerSpecificHeat, 10))
	fmt.Fprintf(tw, "<|m|>\t%s\t%s (spontaneous)\n", fmtOpt(r.AbsMagnetization, 10), fmtOpt(r.OnsagerMagnetization, 10))
	if r.MagnetizationSq != nil {
		fmt.Fprintf(tw, "<m²>\t%s\t\n", fmtOpt(r.MagnetizationSq, 10))
		fmt.Fprintf(tw, "<m⁴>\t%s\t\n", fmtOpt(r.Magnetization4, 10))
		fmt.Fprintf(tw, "Binder 1 − <m⁴>/3<m²>²\t%s\t\n", fmtOpt(r.Binder, 10))
		fmt.Fprintf(tw, "susceptibility χ\t%s\t\n", fmtOpt(r.Susceptibility, 10))
	}
	tw.Flush()
	fmt.Fprintf(w, "\nHubbard-Stratonovich relaxation, δ = %g:\n", r.RelaxationDelta)
	fmt.Fprintf(w, "  constant c/N          %.10f   (ln Z_Ising = ln Z_cont + c)\n", r.RelaxationConstant)
	fmt.Fprintf(w, "  −ln Z_cont / N        %s\n", fmtOpt(r.RelaxationFreeEnergy, 10))
	if r.MagnetizationSq == nil {
		fmt.Fprintln(w, "\n<|m|> and the other magnetisation moments have no closed form at this size: run \"isingflow mc\".")
	}
}
