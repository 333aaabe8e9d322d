package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"text/tabwriter"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"

	"github.com/isingflow/isingflow/internal/cli"
	"github.com/isingflow/isingflow/internal/runio"
	"github.com/isingflow/isingflow/model"
	"github.com/isingflow/isingflow/observables"
	"github.com/isingflow/isingflow/scan"
	"github.com/isingflow/isingflow/stats"
	"github.com/isingflow/isingflow/validation"
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
	fs := newFlagSet("scan", stderr)
	var g geometry
	fs.IntVarP(&g.L, "L", "L", 16, "linear size of the lattice (L^d sites)")
	temps := fs.StringP("T", "T", "", "temperatures (required): T values (or Tc) and ranges START:STOP:STEP")
	g.registerShape(fs)
	cli.Group(fs, "lattice")
	var mc model.Config
	registerModel(fs, &mc)
	var tc model.Training
	registerTraining(fs, &tc)
	warm := fs.Int("warm-iterations", -1, "steps at each warm-started temperature (-1: as --iterations)")
	cli.Group(fs, "training")
	var ev scan.Evaluation
	registerEvaluation(fs, &ev)
	out := fs.String("out", "", "scan directory (default: runs/scan_ named by the lattice, the temperatures and the model)")
	var rf runFlags
	rf.register(fs)
	asJSON := fs.Bool("json", false, "print the results as a JSON array, one object per temperature")
	cli.Group(fs, "run and output")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	settleModelDefaults(fs, &mc, &tc, g.open)
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
	if err := writeScanPlot(filepath.Join(dir, scanPlotFile), &mc, reports); err != nil {
		fmt.Fprintf(stderr, "isingflow scan: plot: %v\n", err)
	}
	if *asJSON {
		return writeJSON(stdout, reports)
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
			e.VariationalFreeEnergyPerSite, e.KLPerSite, e.EnergyPerSite, fmtShort(ref.EnergyPerSite),
			e.SpecificHeatPerSite, fmtShort(ref.SpecificHeatPerSite),
			e.AbsMagnetization, fmtShort(ref.AbsMagnetization), e.ESSFraction)
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

// errorPoints are estimates with symmetric error bars, for plotting.
type errorPoints struct {
	plotter.XYs
	plotter.YErrors
}

func (p *errorPoints) add(x float64, e stats.Estimate) {
	if math.IsNaN(e.Mean) || math.IsInf(e.Mean, 0) {
		return
	}
	err := e.Err
	if math.IsNaN(err) || math.IsInf(err, 0) {
		err = 0
	}
	p.XYs = append(p.XYs, plotter.XY{X: x, Y: e.Mean})
	p.YErrors = append(p.YErrors, struct{ Low, High float64 }{err, err})
}

// exactCurves are exact observables on a dense temperature grid; a nil
// slice is a curve that is not known.
type exactCurves struct {
	method                   string // finite-lattice method: kaufman, enumeration or ""
	energy, heat, absMag     plotter.XYs
	onsagerU, onsagerC, onsM plotter.XYs
}

// scanCurves computes the exact curves of the scan's lattice between lo and
// hi (validation.Exact.Curves): the finite lattice's energy and specific
// heat (Kaufman on the square torus, enumeration on small lattices), the
// enumerated ⟨|m|⟩, and Onsager's infinite-lattice values in two
// dimensions.
func scanCurves(mc *model.Config, lo, hi float64) (*exactCurves, error) {
	const points = 241
	lat, err := mc.Lattice()
	if err != nil {
		return nil, err
	}
	x, err := validation.NewExact(lat)
	if err != nil {
		return nil, err
	}
	refs, err := x.Curves(lo, hi, points)
	if err != nil {
		return nil, err
	}
	finite := func(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
	c := &exactCurves{}
	switch x.Method() {
	case validation.MethodKaufman:
		c.method = "Kaufman"
	case validation.MethodEnumeration:
		c.method = "enumeration"
	}
	for _, r := range refs {
		T := r.T
		if r.Method != validation.MethodNone {
			c.energy = append(c.energy, plotter.XY{X: T, Y: r.EnergyPerSite})
			c.heat = append(c.heat, plotter.XY{X: T, Y: r.SpecificHeatPerSite})
		}
		if r.Moments {
			c.absMag = append(c.absMag, plotter.XY{X: T, Y: r.AbsMagnetization})
		}
		if r.Onsager {
			if v := r.OnsagerEnergyPerSite; finite(v) {
				c.onsagerU = append(c.onsagerU, plotter.XY{X: T, Y: v})
			}
			if v := r.OnsagerSpecificHeatPerSite; finite(v) {
				c.onsagerC = append(c.onsagerC, plotter.XY{X: T, Y: v})
			}
			if v := r.OnsagerMagnetization; finite(v) {
				c.onsM = append(c.onsM, plotter.XY{X: T, Y: v})
			}
		}
	}
	return c, nil
}

// writeScanPlot draws the energy, the specific heat, ⟨|m|⟩ and the KL
// divergence per site against T, the estimates with error bars beside the
// exact curves, in a 2×2 grid with one legend below.
func writeScanPlot(path string, mc *model.Config, reports []*scan.Result) error {
	if len(reports) == 0 {
		return nil
	}
	lo, hi := reports[0].Config.T, reports[0].Config.T
	for _, r := range reports {
		lo, hi = min(lo, r.Config.T), max(hi, r.Config.T)
	}
	pad := 0.05 * (hi - lo)
	if pad == 0 {
		pad = 0.1
	}
	lo, hi = max(lo-pad, 0.05*lo), hi+pad
	curves, err := scanCurves(mc, lo, hi)
	if err != nil {
		return err
	}
	lat := reports[0].Exact.Lattice

	type series struct {
		name  string
		get   func(*scan.Result) stats.Estimate
		glyph draw.GlyphDrawer
		color int
		shift float64 // in units of the T range, so that the series do not hide each other
	}
	importance := func(f func(*observables.IsingEstimates) stats.Estimate) series {
		return series{"flow, importance-weighted", func(r *scan.Result) stats.Estimate { return f(r.Estimates) },
			draw.CircleGlyph{}, 0, 0}
	}
	chain := func(f func(*observables.MCMCEstimates) stats.Estimate) series {
		return series{"flow-MCMC", func(r *scan.Result) stats.Estimate {
			if r.Estimates.MCMC == nil {
				return stats.Estimate{Mean: math.NaN()}
			}
			return f(r.Estimates.MCMC)
		}, draw.BoxGlyph{}, 1, 0.008}
	}
	type panel struct {
		title          string
		data           []series
		exact, onsager plotter.XYs
		exactName      string
		positive       bool    // the quantity is ≥ 0: the axis starts at 0
		yMax           float64 // the top of the axis; 0 scales it on the data and the finite lattice
	}
	panels := []panel{
		{title: "energy per site u",
			data: []series{
				importance(func(e *observables.IsingEstimates) stats.Estimate { return e.EnergyPerSite }),
				chain(func(c *observables.MCMCEstimates) stats.Estimate { return c.EnergyPerSite })},
			exact: curves.energy, exactName: curves.method, onsager: curves.onsagerU},
		{title: "specific heat per site c",
			data: []series{
				importance(func(e *observables.IsingEstimates) stats.Estimate { return e.SpecificHeatPerSite }),
				chain(func(c *observables.MCMCEstimates) stats.Estimate { return c.SpecificHeatPerSite })},
			exact: curves.heat, exactName: curves.method, onsager: curves.onsagerC, positive: true},
		{title: "<|m|>",
			data: []series{
				importance(func(e *observables.IsingEstimates) stats.Estimate { return e.AbsMagnetization }),
				chain(func(c *observables.MCMCEstimates) stats.Estimate { return c.AbsMagnetization })},
			exact: curves.absMag, exactName: "enumeration", onsager: curves.onsM, positive: true, yMax: 1.02},
		{title: "KL(p‖q) per site (nats)",
			data: []series{
				importance(func(e *observables.IsingEstimates) stats.Estimate { return e.KLPerSite })},
			positive: true},
	}

	// One legend for the four panels, its entries in the order met.
	legend := map[string]plot.Thumbnailer{}
	var legendOrder []string
	addLegend := func(name string, t plot.Thumbnailer) {
		if _, ok := legend[name]; !ok {
			legend[name] = t
			legendOrder = append(legendOrder, name)
		}
	}
	exactLabel := func(method string) string { return fmt.Sprintf("exact %s (%s)", lat, method) }
	if curves.energy != nil && curves.absMag != nil && curves.method != "enumeration" {
		exactLabel = func(string) string {
			return fmt.Sprintf("exact %s (u, c: %s; <|m|>: enumeration)", lat, curves.method)
		}
	}

	plots := make([][]*plot.Plot, 2)
	for i, pn := range panels {
		p := plot.New()
		p.Title.Text = pn.title
		p.X.Label.Text = "T"
		p.X.Min, p.X.Max = lo, hi
		yMax := math.Inf(-1)
		if pn.exact != nil {
			line, err := plotter.NewLine(pn.exact)
			if err != nil {
				return err
			}
			line.Width = vg.Points(1.2)
			p.Add(line)
			addLegend(exactLabel(pn.exactName), line)
			for _, q := range pn.exact {
				yMax = max(yMax, q.Y)
			}
		}
		if pn.onsager != nil {
			line, err := plotter.NewLine(pn.onsager)
			if err != nil {
				return err
			}
			line.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
			p.Add(line)
			addLegend("Onsager, L = ∞", line)
		}
		for _, set := range pn.data {
			var pts errorPoints
			for _, r := range reports {
				pts.add(r.Config.T+set.shift*(hi-lo), set.get(r))
			}
			if len(pts.XYs) == 0 {
				continue
			}
			for k, q := range pts.XYs {
				yMax = max(yMax, q.Y+pts.YErrors[k].High)
			}
			sc, err := plotter.NewScatter(pts.XYs)
			if err != nil {
				return err
			}
			sc.GlyphStyle.Shape = set.glyph
			sc.GlyphStyle.Radius = vg.Points(2.5)
			sc.GlyphStyle.Color = plotutil.Color(set.color)
			eb, err := plotter.NewYErrorBars(&pts)
			if err != nil {
				return err
			}
			eb.LineStyle.Color = plotutil.Color(set.color)
			eb.CapWidth = vg.Points(4)
			p.Add(eb, sc)
			addLegend(set.name, sc)
		}
		// Onsager's specific heat diverges at T_c: scale the axis on the
		// finite lattice and the estimates.
		if pn.positive {
			p.Y.Min = 0
			if !math.IsInf(yMax, 0) && yMax > 0 {
				p.Y.Max = 1.1 * yMax
			}
		}
		if pn.yMax > 0 {
			p.Y.Max = pn.yMax
		}
		plots[i/2] = append(plots[i/2], p)
	}

	const w, h = 26 * vg.Centimeter, 19 * vg.Centimeter
	const titleHeight, legendHeight = 20, 22 // points
	img := vgimg.NewWith(vgimg.UseWH(w, h), vgimg.UseDPI(100))
	dc := draw.New(img)
	sty := plot.New().Title.TextStyle
	sty.Font.Size = vg.Points(13)
	sty.XAlign, sty.YAlign = draw.XCenter, draw.YTop
	dc.FillText(sty, vg.Point{X: w / 2, Y: h - vg.Points(4)}, fmt.Sprintf("Monge-Ampère flow, %s lattice, δ = %g", lat, mc.Delta))

	// The legend strip at the bottom, the entries side by side.
	x := dc.Min.X + vg.Points(10)
	for _, name := range legendOrder {
		cell := dc
		cell.Min.X = x
		cell.Max.Y = cell.Min.Y + vg.Points(legendHeight)
		l := plot.NewLegend()
		l.Left, l.Top = true, true
		l.TextStyle.Font.Size = vg.Points(9)
		l.Add(name, legend[name])
		l.Draw(cell)
		x += l.ThumbnailWidth + l.TextStyle.Width(name) + vg.Points(24)
	}
	body := dc
	body.Max.Y -= vg.Points(titleHeight)
	body.Min.Y += vg.Points(legendHeight)
	tiles := draw.Tiles{Rows: 2, Cols: 2, PadX: vg.Millimeter * 6, PadY: vg.Millimeter * 6,
		PadTop: vg.Millimeter * 2, PadBottom: vg.Millimeter * 2, PadLeft: vg.Millimeter * 2, PadRight: vg.Millimeter * 4}
	canvases := plot.Align(plots, tiles, body)
	for i := range plots {
		for j := range plots[i] {
			plots[i][j].Draw(canvases[i][j])
		}
	}
	return runio.WriteFileAtomic(path, func(f *os.File) error {
		_, err := vgimg.PngCanvas{Canvas: img}.WriteTo(f)
		return err
	})
}
