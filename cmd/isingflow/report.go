package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"text/tabwriter"

	"github.com/isingflow/isingflow/model"
	"github.com/isingflow/isingflow/observables"
)

// report is the result of training and evaluating one model: the
// estimates beside the exact values. Its JSON form is one flat object (the
// keys are listed in the README).
type report struct {
	cfg          model.Config
	ref          *exactReport
	est          *observables.IsingEstimates
	steps        int
	trainSeconds float64 // of this process's training, from firstStep
	// firstStep is the step this process's training started from: 0, or
	// the checkpoint's step after --resume.
	firstStep int
	// logdetGap is ln p(integrated Laplacian) − ln p(discrete RK4 map) per
	// site, when --logdet-check asked for it.
	logdetGap *observables.Estimate
	// warmStartT is the temperature whose trained flow this run started
	// from, in a scan; nil for a flow trained from its initialisation.
	warmStartT *float64
	// params are the trained parameters (a scan warm-starts from them).
	params []float64
}

// newReport returns the report of a flow trained for steps steps, the last
// process from firstStep (0 unless resumed) in trainSeconds.
func newReport(m *model.Model, ref *exactReport, est *observables.IsingEstimates, firstStep, steps int, trainSeconds float64) *report {
	if ref.LnZPerSite != nil {
		est.SetExactLnZPerSite(*ref.LnZPerSite)
	}
	return &report{cfg: m.Config, ref: ref, est: est, firstStep: firstStep, steps: steps, trainSeconds: trainSeconds}
}

// MarshalJSON flattens the estimates and the exact values into one object.
func (r *report) MarshalJSON() ([]byte, error) {
	b, err := json.Marshal(r.est)
	if err != nil {
		return nil, err
	}
	out := map[string]any{}
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, err
	}
	out["L"] = r.cfg.L
	out["dim"] = r.cfg.Dim
	out["open"] = r.cfg.Open
	out["T"] = r.cfg.T
	out["delta"] = r.cfg.Delta
	out["steps"] = r.steps
	out["seconds"] = r.trainSeconds
	if r.firstStep > 0 {
		out["resumed_from_step"] = r.firstStep
	}
	out["model"] = r.cfg
	if r.warmStartT != nil {
		out["warm_start_T"] = *r.warmStartT
	}
	if r.logdetGap != nil {
		out["logdet_gap_per_site"] = r.logdetGap.Mean
		out["logdet_gap_per_site_err"] = r.logdetGap.Err
	}
	put := func(k string, v *float64) {
		if v != nil {
			out[k] = *v
		}
	}
	put("exact_free_energy_per_site", r.ref.FreeEnergyPerSite)
	put("exact_energy_per_site", r.ref.EnergyPerSite)
	put("exact_specific_heat_per_site", r.ref.SpecificHeatPerSite)
	put("exact_abs_magnetization", r.ref.AbsMagnetization)
	put("exact_magnetization_sq", r.ref.MagnetizationSq)
	put("exact_magnetization_4", r.ref.Magnetization4)
	put("exact_binder", r.ref.Binder)
	put("exact_susceptibility", r.ref.Susceptibility)
	put("exact_relaxation_free_energy_per_site", r.ref.RelaxationFreeEnergy)
	put("onsager_free_energy_per_site", r.ref.OnsagerFreeEnergy)
	put("onsager_energy_per_site", r.ref.OnsagerEnergy)
	put("onsager_specific_heat_per_site", r.ref.OnsagerSpecificHeat)
	return json.Marshal(out)
}

// row is one line of the results table.
type row struct {
	name    string
	est     observables.Estimate
	exact   *float64
	onsager *float64
}

func (r *report) rows() []row {
	e, ref := r.est, r.ref
	return []row{
		{"F_var(cont)/N  (paper's figure)", e.ContinuousFreeEnergyPerSite, ref.RelaxationFreeEnergy, nil},
		{"variational free energy f_var", e.VariationalFreeEnergyPerSite, ref.FreeEnergyPerSite, ref.OnsagerFreeEnergy},
		{"importance-sampled free energy f", e.FreeEnergyPerSite, ref.FreeEnergyPerSite, ref.OnsagerFreeEnergy},
		{"energy per site u", e.EnergyPerSite, ref.EnergyPerSite, ref.OnsagerEnergy},
		{"specific heat per site c", e.SpecificHeatPerSite, ref.SpecificHeatPerSite, ref.OnsagerSpecificHeat},
		{"<|m|>", e.AbsMagnetization, ref.AbsMagnetization, nil},
		{"<m²>", e.MagnetizationSq, ref.MagnetizationSq, nil},
		{"<m⁴>", e.Magnetization4, ref.Magnetization4, nil},
		{"Binder 1 − <m⁴>/3<m²>²", e.Binder, ref.Binder, nil},
		{"susceptibility χ", e.Susceptibility, ref.Susceptibility, nil},
	}
}

func (r *report) print(w io.Writer) {
	e, ref := r.est, r.ref
	fmt.Fprintf(w, "Monge-Ampère flow for the Ising model on the %s lattice, T = %.9g, δ = %g\n", ref.Lattice, r.cfg.T, r.cfg.Delta)
	training := fmt.Sprintf("%d training steps in %.0f s", r.steps, r.trainSeconds)
	switch {
	case r.firstStep > 0 && r.firstStep >= r.steps:
		training = fmt.Sprintf("%d training steps, none in this run (resumed at step %d)", r.steps, r.firstStep)
	case r.firstStep > 0:
		training = fmt.Sprintf("%d training steps, the last %d in %.0f s (resumed at step %d)", r.steps, r.steps-r.firstStep, r.trainSeconds, r.firstStep)
	}
	fmt.Fprintf(w, "%s; %s; %d samples, ESS/M = %.3g\n\n", r.cfg.Describe(), training, e.Samples, e.ESSFraction)
	finite := "exact (" + ref.FiniteLatticeMethod + ")"
	if ref.FiniteLatticeMethod == "" {
		finite = "exact (finite L)"
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "per site\tflow estimate\t%s\tdeviation\tOnsager (L = ∞)\t\n", finite)
	for _, q := range r.rows() {
		dev := "—"
		if q.exact != nil && q.est.Err > 0 {
			dev = fmt.Sprintf("%+.1fσ", q.est.Deviation(*q.exact))
		}
		fmt.Fprintf(tw, "%s\t%v\t%s\t%s\t%s\t\n", q.name, q.est, fmtShort(q.exact), dev, fmtShort(q.onsager))
	}
	tw.Flush()
	if kl := e.KLPerSite; !math.IsNaN(kl.Mean) {
		fmt.Fprintf(w, "\nKL(p‖q)/N = βf_var − βf = %v nats per site (the paper reaches about 0.022 at L = 16, T_c)\n", kl)
	}
	if fm := e.FlowAbsMagnetization; fm.Err > 0 {
		fmt.Fprintf(w, "the flow's own samples, unweighted: <|m|> = %v", fm)
		if ref.AbsMagnetization != nil {
			fmt.Fprintf(w, " (target %.4f: a larger value is the reverse KL's collapse onto ordered states)", *ref.AbsMagnetization)
		}
		fmt.Fprintln(w)
	}
	if g := r.logdetGap; g != nil {
		fmt.Fprintf(w, "RK4 check: ln p(integrated Laplacian) − ln p(discrete map) = %v per site; the KL of the discrete map is KL − this\n", *g)
	}
	if e.MCMC != nil {
		c := e.MCMC
		fmt.Fprintf(w, "\nflow-MCMC: %d proposals, acceptance %.3f, τ_int %.2f (asymptotically exact)\n", c.Proposals, c.Acceptance, c.TauInt)
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		for _, q := range []row{
			{"energy per site u", c.EnergyPerSite, ref.EnergyPerSite, nil},
			{"specific heat per site c", c.SpecificHeatPerSite, ref.SpecificHeatPerSite, nil},
			{"<|m|>", c.AbsMagnetization, ref.AbsMagnetization, nil},
			{"<m²>", c.MagnetizationSq, ref.MagnetizationSq, nil},
			{"Binder", c.Binder, ref.Binder, nil},
			{"susceptibility χ", c.Susceptibility, ref.Susceptibility, nil},
		} {
			dev := "—"
			if q.exact != nil && q.est.Err > 0 {
				dev = fmt.Sprintf("%+.1fσ", q.est.Deviation(*q.exact))
			}
			fmt.Fprintf(tw, "%s\t%v\t%s\t%s\t\n", q.name, q.est, fmtShort(q.exact), dev)
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

func fmtShort(v *float64) string {
	if v == nil {
		return "—"
	}
	return fmt.Sprintf("%.6f", *v)
}
