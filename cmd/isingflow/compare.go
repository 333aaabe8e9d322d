package main

import (
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"

	"github.com/isingflow/isingflow/internal/cli"
	"github.com/isingflow/isingflow/internal/runio"
	"github.com/isingflow/isingflow/model"
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
	var sums []runSummary
	for _, dir := range runs {
		s, err := summariseRun(dir, *window)
		if err != nil {
			return err
		}
		sums = append(sums, s)
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return err
	}
	if err := writeCompareCSV(filepath.Join(*out, compareSummaryFile), summaryRows(sums)); err != nil {
		return err
	}
	if err := writeCompareCSV(filepath.Join(*out, compareCurvesFile), curveRows(sums)); err != nil {
		return err
	}
	drawn, err := plotCompare(filepath.Join(*out, comparePlotFile), sums)
	if err != nil {
		return err
	}
	for _, s := range sums {
		fmt.Fprintf(stdout, "%-24s %5d steps %7.0f s  KL/site %.5f ± %.5f  ESS/M %.3g\n",
			s.name, s.steps, s.seconds, s.kl, s.klErr, s.ess)
	}
	if !drawn {
		fmt.Fprintf(stdout, "wrote %s and %s in %s; no %s: no run has a window of --window %d steps with a known KL/site "+
			"(the runs are shorter, or their lattices have no exact free energy)\n",
			compareSummaryFile, compareCurvesFile, *out, comparePlotFile, *window)
		return nil
	}
	fmt.Fprintf(stdout, "wrote %s, %s and %s in %s\n", compareSummaryFile, compareCurvesFile, comparePlotFile, *out)
	return nil
}

// runSummary is one run of a comparison.
type runSummary struct {
	name                 string
	cfg                  model.RunConfig
	steps                int
	seconds              float64 // training time
	kl, klErr, ess, absM float64
	curve                []curvePoint
}

// curvePoint is the mean batch KL/site over a window of training steps.
type curvePoint struct {
	step    int
	seconds float64
	kl      float64
}

func summariseRun(dir string, window int) (runSummary, error) {
	s := runSummary{name: filepath.Base(filepath.Clean(dir))}
	b, err := os.ReadFile(filepath.Join(dir, model.ConfigFile))
	if errors.Is(err, os.ErrNotExist) {
		return s, usagef("%s is not an isingflow run directory (no %s)", dir, model.ConfigFile)
	}
	if err != nil {
		return s, err
	}
	if err := json.Unmarshal(b, &s.cfg); err != nil {
		return s, usagef("%s: %v", filepath.Join(dir, model.ConfigFile), err)
	}
	b, err = os.ReadFile(filepath.Join(dir, model.ResultFile))
	if err != nil {
		return s, usagef("%s has no %s (the run did not finish its evaluation)", dir, model.ResultFile)
	}
	var res map[string]any
	if err := json.Unmarshal(b, &res); err != nil {
		return s, usagef("%s: %v", filepath.Join(dir, model.ResultFile), err)
	}
	num := func(k string) float64 {
		if v, ok := res[k].(float64); ok {
			return v
		}
		return math.NaN()
	}
	s.kl, s.klErr, s.ess, s.absM = num("kl_per_site"), num("kl_per_site_err"), num("ess_fraction"), num("abs_magnetization")
	recs, err := model.ReadLog(dir)
	if err != nil {
		return s, usagef("%v", err)
	}
	var sum, n float64
	var last curvePoint
	clock := model.TrainingClock(recs)
	for i, r := range recs {
		if r.Rejected {
			continue
		}
		sec := clock[i]
		s.steps, s.seconds = r.Step+1, sec
		if math.IsNaN(r.KLPerSite) {
			continue
		}
		sum += r.KLPerSite
		n++
		last = curvePoint{step: r.Step, seconds: sec}
		if int(n) == window {
			last.kl = sum / n
			s.curve = append(s.curve, last)
			sum, n = 0, 0
		}
	}
	return s, nil
}

func summaryRows(sums []runSummary) [][]string {
	f := func(v float64) string { return strconv.FormatFloat(v, 'g', 6, 64) }
	rows := [][]string{{"run", "L", "T", "potential", "hidden", "channels", "blocks", "flow_steps", "epsilon", "quadratic",
		"quadratic_basis", "quadratic_scale", "batch", "lr", "final_lr_fraction", "anneal_from", "anneal_fraction", "data_steps", "precision", "gradient", "steps", "train_seconds",
		"kl_per_site", "kl_per_site_err", "ess_fraction", "abs_magnetization"}}
	for _, s := range sums {
		m, t := s.cfg.Model, s.cfg.Training
		potential := m.Potential
		if m.RandomGroup != "" {
			potential += " (" + m.RandomGroup + " group)"
		}
		gradient := t.Gradient
		if gradient == "" {
			gradient = model.GradientFull // written before --gradient existed
		}
		basis, scale := "", ""
		if m.Quadratic && !m.Open {
			basis = model.BasisKernel
			if m.QuadraticBasis == model.BasisSpectral {
				basis, scale = model.BasisSpectral, f(m.SpectralScale())
			}
		}
		hidden, channels := strconv.Itoa(m.Hidden), "" // the size that the potential has
		if m.Potential == model.PotentialSymmetric {
			hidden, channels = "", strconv.Itoa(m.Channels)
		}
		rows = append(rows, []string{s.name, strconv.Itoa(m.L), strconv.FormatFloat(m.T, 'g', -1, 64),
			potential, hidden, channels,
			strconv.Itoa(m.NumBlocks()), strconv.Itoa(m.FlowSteps), f(m.Epsilon), strconv.FormatBool(m.Quadratic),
			basis, scale, strconv.Itoa(t.Batch), f(t.LR), f(t.FinalLR), f(t.AnnealFrom), f(t.AnnealFrac),
			strconv.Itoa(t.DataSteps), t.Precision.String(), gradient,
			strconv.Itoa(s.steps), f(s.seconds), f(s.kl), f(s.klErr), f(s.ess), f(s.absM)})
	}
	return rows
}

func curveRows(sums []runSummary) [][]string {
	rows := [][]string{{"run", "step", "seconds", "kl_per_site_batch_mean"}}
	for _, s := range sums {
		for _, p := range s.curve {
			rows = append(rows, []string{s.name, strconv.Itoa(p.step),
				strconv.FormatFloat(p.seconds, 'f', 1, 64), strconv.FormatFloat(p.kl, 'g', 4, 64)})
		}
	}
	return rows
}

func writeCompareCSV(path string, rows [][]string) error {
	return runio.WriteFileAtomic(path, func(w *os.File) error {
		cw := csv.NewWriter(w)
		if err := cw.WriteAll(rows); err != nil {
			return err
		}
		cw.Flush()
		return cw.Error()
	})
}

// plotCompare draws KL/site against wall-clock time, one line per run, on
// a logarithmic axis (windows whose mean is not positive are left out). It
// writes nothing and returns false when no run has a point to draw.
func plotCompare(path string, sums []runSummary) (drawn bool, err error) {
	p := plot.New()
	p.Title.Text = "KL(p‖q)/N against training time (batch estimates, window means)"
	p.X.Label.Text = "wall-clock seconds"
	p.Y.Label.Text = "KL/site"
	p.Y.Scale = plot.LogScale{}
	p.Y.Tick.Marker = ticks125{}
	for i, s := range sums {
		var pts plotter.XYs
		for _, c := range s.curve {
			if c.kl > 0 {
				pts = append(pts, plotter.XY{X: c.seconds, Y: c.kl})
			}
		}
		if len(pts) == 0 {
			continue
		}
		line, err := plotter.NewLine(pts)
		if err != nil {
			return false, err
		}
		drawn = true
		line.Color = plotutil.Color(i)
		line.Dashes = plotutil.Dashes(i / 7)
		line.Width = vg.Points(1.2)
		p.Add(line)
		p.Legend.Add(fmt.Sprintf("%s (%.4f)", s.name, s.kl), line)
	}
	if !drawn {
		return false, nil
	}
	p.Legend.Top = true
	p.X.Min = 0
	p.Add(plotter.NewGrid())
	return true, p.Save(18*vg.Centimeter, 12*vg.Centimeter, path)
}

// ticks125 marks 1, 2 and 5 times every power of ten in the range, for a
// logarithmic axis that spans less than a few decades.
type ticks125 struct{}

// Ticks returns the marks between lo and hi.
func (ticks125) Ticks(lo, hi float64) []plot.Tick {
	var ts []plot.Tick
	if !(lo > 0) || !(hi > lo) {
		return ts
	}
	for e := math.Floor(math.Log10(lo)); e <= math.Ceil(math.Log10(hi)); e++ {
		for _, m := range []float64{1, 2, 5} {
			v := m * math.Pow(10, e)
			if v >= lo && v <= hi {
				ts = append(ts, plot.Tick{Value: v, Label: strconv.FormatFloat(v, 'g', -1, 64)})
			}
		}
	}
	return ts
}
