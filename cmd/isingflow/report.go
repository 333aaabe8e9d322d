package main

import (
	"fmt"
	"io"
	"math"
	"strconv"
	"text/tabwriter"

	"github.com/isingflow/isingflow/scan"
	"github.com/isingflow/isingflow/stats"
)

// row is one line of the results table.
type row struct {
	name    string
	est     stats.Estimate
	exact   *float64
	onsager *float64
	bound   bool // a variational upper bound: its distance is the KL, not a check
}

func resultRows(r *scan.Result) []row {
	e, ref := r.Estimates, r.Exact
	return []row{
		{"F_var(cont)/N  (paper's figure)", e.ContinuousFreeEnergyPerSite, ref.RelaxationFreeEnergy, nil, true},
		{"variational free energy f_var", e.VariationalFreeEnergyPerSite, ref.FreeEnergyPerSite, ref.OnsagerFreeEnergy, true},
		{"importance-sampled free energy f", e.FreeEnergyPerSite, ref.FreeEnergyPerSite, ref.OnsagerFreeEnergy, false},
		{"energy per site u", e.EnergyPerSite, ref.EnergyPerSite, ref.OnsagerEnergy, false},
		{"specific heat per site c", e.SpecificHeatPerSite, ref.SpecificHeatPerSite, ref.OnsagerSpecificHeat, false},
		{"<|m|>", e.AbsMagnetization, ref.AbsMagnetization, nil, false},
		{"<m²>", e.MagnetizationSq, ref.MagnetizationSq, nil, false},
		{"<m⁴>", e.Magnetization4, ref.Magnetization4, nil, false},
		{"Binder 1 − <m⁴>/3<m²>²", e.Binder, ref.Binder, nil, false},
		{"susceptibility χ", e.Susceptibility, ref.Susceptibility, nil, false},
	}
}

// printResult writes the table of a run's estimates beside the exact
// values.
func printResult(w io.Writer, r *scan.Result) {
	e, ref := r.Estimates, r.Exact
	fmt.Fprintf(w, "Monge-Ampère flow for the Ising model on the %s lattice, T = %.9g, δ = %g\n", ref.Lattice, r.Config.T, r.Config.Delta)
	training := fmt.Sprintf("%d training steps in %.0f s", r.Steps, r.Seconds)
	switch {
	case r.FirstStep > 0 && r.FirstStep >= r.Steps:
		training = fmt.Sprintf("%d training steps, none in this run (resumed at step %d)", r.Steps, r.FirstStep)
	case r.FirstStep > 0:
		training = fmt.Sprintf("%d training steps, the last %d in %.0f s (resumed at step %d)", r.Steps, r.Steps-r.FirstStep, r.Seconds, r.FirstStep)
	}
	fmt.Fprintf(w, "%s; %s; %d samples, ESS/M = %.3g\n\n", r.Config.Describe(), training, e.Samples, e.ESSFraction)
	finite := "exact (" + ref.FiniteLatticeMethod + ")"
	if ref.FiniteLatticeMethod == "" {
		finite = "exact (finite L)"
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "per site\tflow estimate\t%s\tdeviation\tOnsager (L = ∞)\t\n", finite)
	for _, q := range resultRows(r) {
		dev := "—"
		switch {
		case q.exact != nil && q.bound:
			dev = "bound"
		case q.exact != nil && q.est.Err > 0:
			dev = fmt.Sprintf("%+.1fσ", q.est.Deviation(*q.exact))
		}
		fmt.Fprintf(tw, "%s\t%v\t%s\t%s\t%s\t\n", q.name, q.est, fmtOpt(q.exact, 6), dev, fmtOpt(q.onsager, 6))
	}
	tw.Flush()
	if kl := e.KLPerSite; !math.IsNaN(kl.Mean) {
		fmt.Fprintf(w, "\nKL(p‖q)/N = βf_var − βf = %v nats per site\n", kl)
	}
	if fm := e.FlowAbsMagnetization; fm.Err > 0 {
		fmt.Fprintf(w, "the flow's own samples, unweighted: <|m|> = %v", fm)
		if ref.AbsMagnetization != nil {
			fmt.Fprintf(w, " (target %.4f: a larger value is the reverse KL's collapse onto ordered states)", *ref.AbsMagnetization)
		}
		fmt.Fprintln(w)
	}
	if d := e.LogDensityDiscretisation; d != nil {
		fmt.Fprintf(w, "RK4 error of ln p (ε against ε/2): %v per site", *d)
		if e.FreeEnergyStatErr > 0 {
			fmt.Fprintf(w, "; folded into the error of f (statistical alone: %.2g)", e.FreeEnergyStatErr)
		}
		fmt.Fprintln(w)
	}
	if g := r.LogDetGap; g != nil {
		fmt.Fprintf(w, "RK4 check: ln p(integrated Laplacian) − ln p(discrete map) = %v per site; the KL of the discrete map is KL − this\n", *g)
	}
	if e.MCMC != nil {
		c := e.MCMC
		fmt.Fprintf(w, "\nflow-MCMC: %d proposals, acceptance %.3f, τ_int %.2f (asymptotically exact)\n", c.Proposals, c.Acceptance, c.TauInt)
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		for _, q := range []row{
			{"energy per site u", c.EnergyPerSite, ref.EnergyPerSite, nil, false},
			{"specific heat per site c", c.SpecificHeatPerSite, ref.SpecificHeatPerSite, nil, false},
			{"<|m|>", c.AbsMagnetization, ref.AbsMagnetization, nil, false},
			{"<m²>", c.MagnetizationSq, ref.MagnetizationSq, nil, false},
			{"Binder", c.Binder, ref.Binder, nil, false},
			{"susceptibility χ", c.Susceptibility, ref.Susceptibility, nil, false},
		} {
			dev := "—"
			if q.exact != nil && q.est.Err > 0 {
				dev = fmt.Sprintf("%+.1fσ", q.est.Deviation(*q.exact))
			}
			fmt.Fprintf(tw, "%s\t%v\t%s\t%s\t\n", q.name, q.est, fmtOpt(q.exact, 6), dev)
		}
		tw.Flush()
		for _, s := range c.Warnings {
			fmt.Fprintf(w, "WARNING: %s\n", s)
		}
	}
	for _, s := range e.Warnings {
		fmt.Fprintf(w, "\nWARNING: %s\n", s)
	}
}

// fmtOpt formats a value that may not be known with prec decimals, or as
// a dash.
func fmtOpt(v *float64, prec int) string {
	if v == nil {
		return "—"
	}
	return strconv.FormatFloat(*v, 'f', prec, 64)
}
