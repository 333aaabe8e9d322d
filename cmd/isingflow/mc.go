package main

import (
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/isingflow/isingflow/internal/cli"
	"github.com/isingflow/isingflow/stats"
	"github.com/isingflow/isingflow/validation"
)

// estimateJSON flattens named estimates into "key" and "key_err" entries.
func estimateJSON(dst map[string]any, key string, mean, err float64) {
	dst[key] = mean
	dst[key+"_err"] = err
}

func runMC(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("mc", stderr)
	var g geometry
	g.register(fs)
	sweeps := fs.Int("sweeps", 20000, "measured Wolff sweeps per chain (a sweep flips about N spins)")
	therm := fs.Int("thermalize", 0, "discarded sweeps per chain (0: max(sweeps/10, 100))")
	chains := fs.Int("chains", 0, "independent chains run in parallel (0: one per core)")
	seed := fs.Uint64("seed", 1, "random seed")
	asJSON := fs.Bool("json", false, "print one JSON object instead of the table")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := g.validate(); err != nil {
		return err
	}
	if *sweeps < validation.MinWolffSweeps {
		return usagef("--sweeps %d: need at least %d for error bars", *sweeps, validation.MinWolffSweeps)
	}
	if *therm < 0 || *chains < 0 {
		return usagef("--thermalize and --chains must not be negative")
	}
	if err := g.checkTemperature(0); err != nil {
		return err
	}
	settings := validation.WolffSettings{Sweeps: *sweeps, Thermalize: *therm, Chains: *chains, Seed: *seed}
	if err := cli.CheckMemory("the Monte Carlo run", settings.MemoryEstimate(g.dim, g.L)); err != nil {
		return err
	}
	lat, err := g.lattice()
	if err != nil {
		return err
	}
	start := time.Now()
	res, err := validation.Wolff(lat, float64(g.T), settings)
	if err != nil {
		return err
	}
	secs := time.Since(start).Seconds()
	if *asJSON {
		out := map[string]any{
			"lattice": res.Lattice, "L": g.L, "dim": g.dim, "T": res.T, "sweeps": res.Sweeps, "chains": res.Chains,
			"thermalize": res.Thermalize, "seed": *seed, "seconds": secs,
			"clusters_per_sweep": res.ClustersPerSweep, "mean_cluster_size": res.MeanClusterSize,
			"tau_int_energy": res.TauIntEnergy, "tau_int_abs_magnetization": res.TauIntAbsMagnetization,
		}
		for _, q := range []struct {
			key string
			e   stats.Estimate
		}{
			{"energy_per_site", res.EnergyPerSite},
			{"specific_heat_per_site", res.SpecificHeatPerSite},
			{"abs_magnetization", res.AbsMagnetization},
			{"magnetization_sq", res.MagnetizationSq},
			{"magnetization_4", res.Magnetization4},
			{"binder", res.Binder},
			{"susceptibility", res.Susceptibility},
		} {
			estimateJSON(out, q.key, q.e.Mean, q.e.Err)
		}
		return cli.WriteJSON(stdout, out)
	}
	fmt.Fprintf(stdout, "Wolff cluster Monte Carlo, %s lattice, T = %.9g\n", res.Lattice, res.T)
	fmt.Fprintf(stdout, "%d chains × %d sweeps (%d thermalisation), %d clusters/sweep of mean size %.1f, seed %d, %.1f s\n\n",
		res.Chains, res.Sweeps, res.Thermalize, res.ClustersPerSweep, res.MeanClusterSize, *seed, secs)
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "observable\testimate\tτ_int (sweeps)")
	fmt.Fprintf(tw, "energy per site u\t%v\t%.2f\n", res.EnergyPerSite, res.TauIntEnergy)
	fmt.Fprintf(tw, "specific heat per site c\t%v\t\n", res.SpecificHeatPerSite)
	fmt.Fprintf(tw, "<|m|>\t%v\t%.2f\n", res.AbsMagnetization, res.TauIntAbsMagnetization)
	fmt.Fprintf(tw, "<m²>\t%v\t%.2f\n", res.MagnetizationSq, res.TauIntMagnetizationSq)
	fmt.Fprintf(tw, "<m⁴>\t%v\t\n", res.Magnetization4)
	fmt.Fprintf(tw, "Binder 1 − <m⁴>/3<m²>²\t%v\t\n", res.Binder)
	fmt.Fprintf(tw, "susceptibility χ\t%v\t\n", res.Susceptibility)
	return tw.Flush()
}
