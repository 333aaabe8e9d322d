package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"

	"github.com/isingflow/isingflow/internal/cli"
	"github.com/isingflow/isingflow/internal/runio"
	"github.com/isingflow/isingflow/model"
	"github.com/isingflow/isingflow/plots"
	"github.com/isingflow/isingflow/scan"
)

// Files written by isingflow compare.
const (
	compareSummaryFile = "summary.csv"
	compareCurvesFile  = "curves.csv"
	comparePlotFile    = "kl_vs_time.png"
)

// runCompare summarises finished runs side by side: a CSV row per run
// (configuration and final estimates), their training curves (KL/site
// averaged over windows of steps, against wall-clock time) as a small CSV,
// and a plot of KL/site against time. It is how the ablation in
// docs/ablation.md was made from the runs' directories.
func runCompare(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("compare", stderr)
	out := fs.String("out", "", "directory for summary.csv, curves.csv and kl_vs_time.png (required)")
	window := fs.Int("window", 25, "training steps averaged into one point of the curves")
	if err := cli.ParseFlagsAndArgs(fs, args); err != nil {
		return err
	}
	runs := fs.Args()
	if len(runs) == 0 {
		return usagef("compare: name at least one run directory (isingflow compare --out DIR RUN_DIR...)")
	}
	if *out == "" {
		return usagef("compare: --out is required")
	}
	if *window < 1 {
		return usagef("compare: --window must be at least 1, got %d", *window)
	}
	var sums []*scan.RunSummary
	for _, dir := range runs {
		s, err := scan.Summarize(dir, *window)
		if err != nil {
			return usagef("%v", err)
		}
		sums = append(sums, s)
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return err
	}
	if err := runio.WriteCSVAtomic(filepath.Join(*out, compareSummaryFile), summaryRows(sums)); err != nil {
		return err
	}
	if err := runio.WriteCSVAtomic(filepath.Join(*out, compareCurvesFile), curveRows(sums)); err != nil {
		return err
	}
	fig, err := plots.CompareKL(sums)
	if err := save(fig, err, filepath.Join(*out, comparePlotFile)); err != nil {
		return err
	}
	for _, s := range sums {
		kl := s.Result.Estimates.KLPerSite
		fmt.Fprintf(stdout, "%-24s %5d steps %7.0f s  KL/site %.5f ± %.5f  ESS/M %.3g\n",
			s.Name, s.Steps, s.Seconds, kl.Mean, kl.Err, s.Result.Estimates.ESSFraction)
	}
	if fig == nil {
		fmt.Fprintf(stdout, "wrote %s and %s in %s; no %s: no run has a window of --window %d steps with a known KL/site "+
			"(the runs are shorter, or their lattices have no exact free energy)\n",
			compareSummaryFile, compareCurvesFile, *out, comparePlotFile, *window)
		return nil
	}
	fmt.Fprintf(stdout, "wrote %s, %s and %s in %s\n", compareSummaryFile, compareCurvesFile, comparePlotFile, *out)
	return nil
}

func summaryRows(sums []*scan.RunSummary) [][]string {
	f := func(v float64) string { return strconv.FormatFloat(v, 'g', 6, 64) }
	rows := [][]string{{"run", "L", "T", "potential", "hidden", "channels", "blocks", "flow_steps", "epsilon", "quadratic",
		"quadratic_basis", "quadratic_scale", "batch", "lr", "final_lr_fraction", "anneal_from", "anneal_fraction", "data_steps", "precision", "gradient", "steps", "train_seconds",
		"kl_per_site", "kl_per_site_err", "ess_fraction", "abs_magnetization"}}
	for _, s := range sums {
		m, t, e := s.Config.Model, s.Config.Training, s.Result.Estimates
		potential := m.Potential
		if m.RandomGroup != "" {
			potential += " (" + m.RandomGroup + " group)"
		}
		basis, scale := "", ""
		if m.Quadratic && !m.Open {
			basis = model.BasisKernel
			if m.QuadraticBasis == model.BasisSpectral {
				basis, scale = model.BasisSpectral, f(m.SpectralScale())
			}
		}
		hidden, channels := strconv.Itoa(m.Hidden), "" // the size that the potential has
		if m.Potential == model.PotentialSymmetric || m.Potential == model.PotentialMultiscale {
			hidden, channels = "", strconv.Itoa(m.Channels)
		}
		rows = append(rows, []string{s.Name, strconv.Itoa(m.L), strconv.FormatFloat(m.T, 'g', -1, 64),
			potential, hidden, channels,
			strconv.Itoa(m.NumBlocks()), strconv.Itoa(m.FlowSteps), f(m.Epsilon), strconv.FormatBool(m.Quadratic),
			basis, scale, strconv.Itoa(t.Batch), f(t.LR), f(t.FinalLR), f(t.AnnealFrom), f(t.AnnealFrac),
			strconv.Itoa(t.DataSteps), t.Precision.String(), t.Gradient,
			strconv.Itoa(s.Steps), f(s.Seconds), f(e.KLPerSite.Mean), f(e.KLPerSite.Err), f(e.ESSFraction), f(e.AbsMagnetization.Mean)})
	}
	return rows
}

func curveRows(sums []*scan.RunSummary) [][]string {
	rows := [][]string{{"run", "step", "seconds", "kl_per_site_batch_mean"}}
	for _, s := range sums {
		for _, p := range s.Curve {
			rows = append(rows, []string{s.Name, strconv.Itoa(p.Step),
				strconv.FormatFloat(p.Seconds, 'f', 1, 64), strconv.FormatFloat(p.KL, 'g', 4, 64)})
		}
	}
	return rows
}
