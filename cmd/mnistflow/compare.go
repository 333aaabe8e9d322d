package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"

	"github.com/isingflow/isingflow/internal/cli"
	"github.com/isingflow/isingflow/internal/runio"
	"github.com/isingflow/isingflow/mnist"
	"github.com/isingflow/isingflow/plots"
)

// Files written by mnistflow compare.
const (
	compareSummaryFile = "summary.csv"
	compareCurvesFile  = "curves.csv"
	comparePlotFile    = "nll_vs_time.png"
)

// runCompare puts runs side by side: a CSV row per run (configuration,
// batches, training time, last validation), their curves (training NLL
// over windows of batches and every validation, against training time) as
// a CSV, and a plot of both against time.
func runCompare(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("compare", stderr)
	out := fs.String("out", "", "directory for summary.csv, curves.csv and nll_vs_time.png (required)")
	window := fs.Int("window", 50, "training batches averaged into one point of the training curves")
	if err := cli.ParseFlagsAndArgs(fs, args); err != nil {
		return err
	}
	dirs := fs.Args()
	switch {
	case len(dirs) == 0:
		return usagef("compare: name at least one run directory (mnistflow compare --out DIR RUN_DIR...)")
	case *out == "":
		return usagef("compare: --out is required")
	case *window < 1:
		return usagef("compare: --window %d: want at least 1", *window)
	}
	var runs []*mnist.History
	for _, dir := range dirs {
		h, err := mnist.ReadHistory(dir, *window)
		if err != nil {
			return usagef("%s is not a mnistflow run: %s", dir, plain(err))
		}
		runs = append(runs, h)
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return err
	}
	if err := runio.WriteCSVAtomic(filepath.Join(*out, compareSummaryFile), compareSummaryRows(runs)); err != nil {
		return err
	}
	if err := runio.WriteCSVAtomic(filepath.Join(*out, compareCurvesFile), compareCurveRows(runs)); err != nil {
		return err
	}
	fig, err := plots.CompareMNIST(runs)
	if err != nil {
		return err
	}
	if fig != nil {
		if err := fig.SavePNG(filepath.Join(*out, comparePlotFile)); err != nil {
			return err
		}
	}
	for _, h := range runs {
		val := "no validation"
		if n := len(h.Validation); n > 0 {
			v := h.Validation[n-1]
			val = fmt.Sprintf("validation NLL %.2f ± %.2f (%d images)", v.NLL, v.Err, h.ValidationImages)
		}
		fmt.Fprintf(stdout, "%-32s %6d batches %7.0f s  %s\n", h.Name, h.Batches, h.Seconds, val)
	}
	if fig == nil {
		fmt.Fprintf(stdout, "wrote %s and %s in %s; no %s: the runs have no batch or validation yet\n",
			compareSummaryFile, compareCurvesFile, *out, comparePlotFile)
		return nil
	}
	fmt.Fprintf(stdout, "wrote %s, %s and %s in %s\n", compareSummaryFile, compareCurvesFile, comparePlotFile, *out)
	return nil
}

func compareSummaryRows(runs []*mnist.History) [][]string {
	f := func(v float64) string { return strconv.FormatFloat(v, 'g', 6, 64) }
	rows := [][]string{{"run", "hidden", "activation", "blocks", "steps", "step_size", "batch", "lr", "final_lr",
		"weight_decay", "kinetic", "precision", "seed", "batches", "train_seconds", "seconds_per_batch",
		"val_nll", "val_nll_err", "val_images"}}
	for _, h := range runs {
		c := h.Config
		perBatch, val, valErr := "", "", ""
		if h.Batches > 0 {
			perBatch = f(h.Seconds / float64(h.Batches))
		}
		if n := len(h.Validation); n > 0 {
			val, valErr = f(h.Validation[n-1].NLL), f(h.Validation[n-1].Err)
		}
		rows = append(rows, []string{h.Name, strconv.Itoa(c.Hidden), c.Activation.String(), strconv.Itoa(c.NumBlocks()),
			strconv.Itoa(c.Steps), f(c.StepSize), strconv.Itoa(c.Batch), f(c.LearningRate), f(c.FinalLR),
			f(c.WeightDecay), f(c.Kinetic), c.Precision.String(), strconv.FormatUint(c.Seed, 10),
			strconv.Itoa(h.Batches), f(h.Seconds), perBatch, val, valErr, strconv.Itoa(h.ValidationImages)})
	}
	return rows
}

func compareCurveRows(runs []*mnist.History) [][]string {
	rows := [][]string{{"run", "curve", "batch", "seconds", "nll", "nll_err"}}
	for _, h := range runs {
		for _, s := range []struct {
			name string
			pts  []mnist.CurvePoint
		}{{"train", h.Train}, {"validation", h.Validation}} {
			for _, p := range s.pts {
				rows = append(rows, []string{h.Name, s.name, strconv.Itoa(p.Batch),
					strconv.FormatFloat(p.Seconds, 'f', 1, 64), strconv.FormatFloat(p.NLL, 'f', 3, 64),
					strconv.FormatFloat(p.Err, 'f', 3, 64)})
			}
		}
	}
	return rows
}
