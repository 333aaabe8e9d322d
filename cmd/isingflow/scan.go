package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"text/tabwriter"

	"github.com/spf13/pflag"

	"github.com/isingflow/isingflow/internal/cli"
	"github.com/isingflow/isingflow/model"
	"github.com/isingflow/isingflow/plots"
	"github.com/isingflow/isingflow/scan"
)

// Files of a scan directory; each temperature's run directory is a
// subdirectory named by scan.RunDir.
const (
	scanTableFile = "scan.json"
	scanPlotFile  = "scan.png"
)

// defaultScanDir names a scan by its lattice, temperatures and model.
func defaultScanDir(m *model.Config, t *model.Training, ts []float64) string {
	return filepath.Join("runs", fmt.Sprintf("scan_%s_T%s-%s_n%d_%s",
		model.LatticeTag(m), strconv.FormatFloat(ts[0], 'g', 6, 64), strconv.FormatFloat(ts[len(ts)-1], 'g', 6, 64),
		len(ts), model.Tag(m, t)))
}

func runScan(args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && scanVerbs[args[0]] != nil {
		return runScanVerb(args[0], args[1:], stdout, stderr)
	}
	fs := newFlagSet("scan", stderr)
	var g geometry
	fs.IntVarP(&g.L, "L", "L", 16, "linear size of the lattice (L^d sites)")
	temps := fs.StringP("T", "T", "", "temperatures (required): T values (or Tc) and ranges START:STOP:STEP")
	g.registerShape(fs)
	cli.Group(fs, "lattice")
	var mc model.Config
	var tc model.Training
	var ev scan.Evaluation
	warm := registerChain(fs, &mc, &tc, &ev)
	out := fs.String("out", "", "scan directory (default: runs/scan_ named by the lattice, the temperatures and the model)")
	var rf runFlags
	rf.register(fs)
	asJSON := fs.Bool("json", false, "print the results as a JSON array, one object per temperature")
	cli.Group(fs, "run and output")
	if err := parseFlags(fs, args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			fmt.Fprint(stdout, scanVerbsHelp)
		}
		return err
	}
	if err := settleModelDefaults(fs, &mc, &tc, g.open); err != nil {
		return err
	}
	if *temps == "" {
		return usagef("-T is required: a range START:STOP:STEP (e.g. 2.0:3.0:0.1) or a list T1,T2,...")
	}
	ts, err := scan.ParseTemperatures(*temps)
	if err != nil {
		return usagef("%v", err)
	}
	if err := tc.Validate(); err != nil {
		return usagef("%v", err)
	}
	if *warm < -1 {
		return usagef("--warm-iterations %d: must not be negative (or -1)", *warm)
	}
	warmTC := scan.WarmSettings(tc, *warm, fs.Changed)
	if err := validateEvaluation(&ev); err != nil {
		return err
	}
	if err := rf.validate(); err != nil {
		return err
	}
	mc.L, mc.Dim, mc.Open, mc.T = g.L, g.dim, g.open, ts[0]
	if err := checkScan(&g, mc, &tc, &ev, ts); err != nil {
		return err
	}
	// Build the first model now, so that bad model flags fail before any
	// directory is made.
	if _, err := g.lattice(); err != nil {
		return err
	}
	if _, err := mc.Build(); err != nil {
		return usagef("%v", err)
	}
	dir := *out
	if dir == "" {
		dir = defaultScanDir(&mc, &tc, ts)
	}
	if _, err := os.Stat(dir); err == nil {
		return usagef("scan directory %s already exists: choose another with --out", dir)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}

	ctx, stop := cli.StopContext(context.Background())
	defer stop()
	var reports []*scan.Result
	opt := pointOptions(runOptions{every: rf.every, limit: rf.limit, eval: ev}, stderr)
	started := opt.Started
	opt.Started = func(r *model.Run) {
		fmt.Fprintf(stderr, "isingflow scan: T = %.6g (%d of %d)", r.Config.Model.T, len(reports)+1, len(ts))
		if len(reports) > 0 {
			fmt.Fprintf(stderr, ", warm start from T = %.6g", ts[scan.NearestTemperature(ts[:len(reports)], r.Config.Model.T)])
		}
		fmt.Fprintln(stderr)
		started(r)
	}
	_, err = scan.Chain(ctx, model.RunConfig{Model: mc, Training: tc}, warmTC, ts, dir, opt, func(i int, _ *float64, r *scan.Result) {
		reports = append(reports, r)
		if err := writePlots(filepath.Join(dir, scan.RunDir(r.Config.T)), r); err != nil {
			fmt.Fprintf(stderr, "isingflow: plots: %v\n", err)
		}
		if ctx.Err() != nil {
			fmt.Fprintf(stderr, "isingflow scan: interrupted at T = %.6g; the scan stops here\n", r.Config.T)
		}
	})
	var bad *scan.ConfigError
	if errors.As(err, &bad) {
		return usagef("%v", bad.Err)
	}
	if err != nil {
		return err
	}
	img, err := plots.Scan(reports)
	if err == nil && img != nil {
		err = plots.SavePNG(filepath.Join(dir, scanPlotFile), img)
	}
	if err != nil {
		fmt.Fprintf(stderr, "isingflow scan: plot: %v\n", err)
	}
	if *asJSON {
		return cli.WriteJSON(stdout, reports)
	}
	printScan(stdout, reports)
	fmt.Fprintf(stdout, "\nscan directory: %s (%s, %s, one run directory per temperature)\n", dir, scanTableFile, scanPlotFile)
	return nil
}

// printScan prints one line per temperature, in the order trained: the
// temperature its flow was warm-started from and the estimates beside the
// exact finite-lattice values.
func printScan(w io.Writer, reports []*scan.Result) {
	if len(reports) == 0 {
		return
	}
	r0 := reports[0]
	fmt.Fprintf(w, "Monge-Ampère flow temperature scan, %s lattice, δ = %g; %s\n", r0.Exact.Lattice, r0.Config.Delta, r0.Config.Describe())
	method := r0.Exact.FiniteLatticeMethod
	if method == "" {
		method = "none"
	}
	fmt.Fprintf(w, "exact finite-lattice values: %s\n\n", method)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "T\tfrom\tf_var\tKL/N\tu\texact u\tc\texact c\t<|m|>\texact <|m|>\tESS/M\t")
	for _, r := range reports {
		e, ref := r.Estimates, r.Exact
		from := "—"
		if r.WarmStartT != nil {
			from = strconv.FormatFloat(*r.WarmStartT, 'g', 6, 64)
		}
		fmt.Fprintf(tw, "%.6g\t%s\t%v\t%v\t%v\t%s\t%v\t%s\t%v\t%s\t%.3g\t\n", r.Config.T, from,
			e.VariationalFreeEnergyPerSite, e.KLPerSite, e.EnergyPerSite, fmtOpt(ref.EnergyPerSite, 6),
			e.SpecificHeatPerSite, fmtOpt(ref.SpecificHeatPerSite, 6),
			e.AbsMagnetization, fmtOpt(ref.AbsMagnetization, 6), e.ESSFraction)
	}
	tw.Flush()
	for _, r := range reports {
		if n := len(r.Estimates.Warnings); n > 0 {
			fmt.Fprintf(w, "\nWARNING at T = %.6g: %s", r.Config.T, r.Estimates.Warnings[0])
			if n > 1 {
				fmt.Fprintf(w, " (and %d more warnings in its result.json)", n-1)
			}
			fmt.Fprintln(w)
		}
	}
}

// checkScan checks the lattice and the model at every temperature of a
// scan without building them, and refuses a scan whose runs need more
// memory than the limit.
func checkScan(g *geometry, mc model.Config, tc *model.Training, ev *scan.Evaluation, ts []float64) error {
	if err := g.validate(); err != nil {
		return err
	}
	for _, T := range ts {
		mc.T = T
		if err := mc.Validate(); err != nil {
			return usagef("%v", err)
		}
	}
	return cli.CheckMemory("each run of the scan", ev.MemoryEstimate(&mc, tc))
}

// registerChain adds the model, training and evaluation flags of a
// temperature chain (scan, scan plan), with --warm-iterations, and returns
// the latter.
func registerChain(fs *pflag.FlagSet, mc *model.Config, tc *model.Training, ev *scan.Evaluation) *int {
	registerModel(fs, mc)
	registerTraining(fs, tc)
	warm := fs.Int("warm-iterations", -1, "steps at each warm-started temperature (-1: as --iterations)")
	cli.Group(fs, "training")
	registerEvaluation(fs, ev)
	return warm
}
