package plots

import (
	"fmt"
	"image"
	"image/color"
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"

	"github.com/isingflow/isingflow/model"
	"github.com/isingflow/isingflow/observables"
	"github.com/isingflow/isingflow/scan"
	"github.com/isingflow/isingflow/stats"
	"github.com/isingflow/isingflow/validation"
)

// CompareKL draws the training curves of runs side by side: the windowed
// batch estimate of KL/site (scan.RunSummary.Curve) against the training
// time, in seconds, minutes or hours as the longest run needs, one line
// per run labelled with its name and its evaluated KL/site, on a
// logarithmic axis (windows whose mean is not positive are left out), the
// legend in the corner the curves leave free. It returns nil when no run
// has a point to draw.
func CompareKL(runs []*scan.RunSummary) (*Figure, error) {
	p := plot.New()
	p.Title.Text = "KL(p‖q)/N against training time\n(window means of the batch estimates; in brackets each run's evaluation)"
	p.Y.Label.Text = "KL/site (nats)"
	p.Y.Tick.Marker = log10Ticks{Ticks{Log: true, Minor: true}}
	longest := 0.0
	for _, s := range runs {
		for _, c := range s.Curve {
			longest = max(longest, c.Seconds)
		}
	}
	unit, per := timeUnit(longest)
	p.X.Label.Text = "training time (" + unit + ")"
	p.X.Tick.Marker = Ticks{Trim: true}
	var all []plotter.XYs
	lo, hi := math.Inf(1), 0.0
	for i, s := range runs {
		var pts plotter.XYs
		for _, c := range s.Curve {
			if c.KL > 0 && !math.IsInf(c.KL, 0) {
				pts = append(pts, plotter.XY{X: c.Seconds / per, Y: math.Log10(c.KL)})
				lo, hi = min(lo, c.KL), max(hi, c.KL)
			}
		}
		if len(pts) == 0 {
			continue
		}
		line, err := plotter.NewLine(pts)
		if err != nil {
			return nil, err
		}
		line.Color = plotutil.Color(i)
		line.Dashes = plotutil.Dashes(i / 7)
		line.Width = vg.Points(1.2)
		p.Add(line)
		kl := math.NaN()
		if s.Result != nil && s.Result.Estimates != nil {
			kl = s.Result.Estimates.KLPerSite.Mean
		}
		p.Legend.Add(fmt.Sprintf("%s (%.4f)", s.Name, kl), line)
		all = append(all, pts)
	}
	if len(all) == 0 {
		return nil, nil
	}
	p.Y.Min, p.Y.Max = math.Log10(niceLog(lo, false)), math.Log10(niceLog(hi, true))
	if !(p.Y.Max > p.Y.Min) {
		p.Y.Max = p.Y.Min + 1
	}
	return comparisonFigure(p, all), nil
}

// comparisonFigure finishes a plot of runs side by side against the
// training time: the axis from 0, a grid, the legend where the curves
// leave room, 18 × 12 cm.
func comparisonFigure(p *plot.Plot, curves []plotter.XYs) *Figure {
	p.X.Min = 0
	p.Add(plotter.NewGrid())
	const w, h = 18 * vg.Centimeter, 12 * vg.Centimeter
	p.Legend.TextStyle.Font.Size = vg.Points(10)
	placeLegend(p, w, h, curves...)
	return &Figure{p, w, h}
}

// timeUnit is the unit, and its length in seconds, of a time axis up to
// longest seconds: seconds up to 10 minutes, minutes up to 3 hours, hours
// beyond.
func timeUnit(longest float64) (unit string, seconds float64) {
	switch {
	case longest > 3*3600:
		return "h", 3600
	case longest > 600:
		return "min", 60
	}
	return "s", 1
}

// errorPoints are estimates with symmetric error bars.
type errorPoints struct {
	plotter.XYs
	plotter.YErrors
}

// add appends a finite estimate (a non-finite error drawn as none).
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
	method                   string // finite-lattice method: Kaufman, enumeration or ""
	energy, heat, absMag     plotter.XYs
	onsagerU, onsagerC, onsM plotter.XYs
}

// newExactCurves computes the exact curves of the model's lattice between
// lo and hi (validation.Exact.Curves): the finite lattice's energy and
// specific heat (Kaufman on the square torus, enumeration on small
// lattices), the enumerated ⟨|m|⟩, and Onsager's infinite-lattice values in
// two dimensions.
func newExactCurves(mc *model.Config, lo, hi float64) (*exactCurves, error) {
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

// logRange returns the range of a logarithmic axis of the positive
// estimates that gets return of the results, with their error bars (those
// reaching down to zero end at half the estimate), rounded out to 1, 2, 3
// or 5 times powers of ten; 0, 0 when no estimate is positive.
func logRange(results []*scan.Result, gets []func(*scan.Result) stats.Estimate) (lo, hi float64) {
	lo, hi = math.Inf(1), 0
	for _, get := range gets {
		for _, r := range results {
			e := get(r)
			if !(e.Mean > 0) || math.IsInf(e.Mean, 0) {
				continue
			}
			err := e.Err
			if !finite(err) {
				err = 0
			}
			l := e.Mean - err
			if l <= 0 {
				l = e.Mean / 2
			}
			lo, hi = min(lo, l), max(hi, e.Mean+err)
		}
	}
	if hi == 0 {
		return 0, 0
	}
	return niceLog(lo, false), niceLog(hi, true)
}

// Scan draws the results of a temperature scan (one model at several
// temperatures, as scan.Chain makes): the energy, the specific heat, ⟨|m|⟩
// and the KL divergence per site (on a logarithmic axis, without the
// estimates that are not positive) against T, the importance-weighted and
// flow-MCMC estimates with their error bars beside the exact curves of the
// lattice and Onsager's infinite lattice, in a 2×2 grid with one legend
// below, 26×19 cm at 100 dots per inch. It returns nil for no results.
func Scan(results []*scan.Result) (image.Image, error) {
	if len(results) == 0 {
		return nil, nil
	}
	mc := &results[0].Config
	lo, hi := mc.T, mc.T
	for _, r := range results {
		lo, hi = min(lo, r.Config.T), max(hi, r.Config.T)
	}
	pad := 0.05 * (hi - lo)
	if pad == 0 {
		pad = 0.1
	}
	lo, hi = max(lo-pad, 0.05*lo), hi+pad
	curves, err := newExactCurves(mc, lo, hi)
	if err != nil {
		return nil, err
	}
	l, err := mc.Lattice()
	if err != nil {
		return nil, err
	}
	lat := l.String()

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
		log            bool    // a logarithmic axis, of the positive estimates (see log10Ticks)
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
			log: true},
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
		grid := plotter.NewGrid()
		grid.Vertical.Color, grid.Horizontal.Color = color.Gray{Y: 215}, color.Gray{Y: 215}
		p.Add(grid)
		yMax := math.Inf(-1)
		if pn.exact != nil {
			line, err := plotter.NewLine(pn.exact)
			if err != nil {
				return nil, err
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
				return nil, err
			}
			line.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
			p.Add(line)
			addLegend("Onsager, L = ∞", line)
		}
		var logLo, logHi float64 // the logarithmic axis's range
		if pn.log {
			var gets []func(*scan.Result) stats.Estimate
			for _, set := range pn.data {
				gets = append(gets, set.get)
			}
			logLo, logHi = logRange(results, gets)
			if !(logHi > logLo) {
				p.Title.Text += " (none positive)"
			} else {
				p.Y.Min, p.Y.Max = math.Log10(logLo), math.Log10(logHi)
				p.Y.Tick.Marker = log10Ticks{Ticks{Log: true, Minor: true}}
			}
		}
		for _, set := range pn.data {
			var pts errorPoints
			for _, r := range results {
				e := set.get(r)
				if pn.log {
					// log10 of the estimate, the error bar clipped at the
					// axis's bottom; estimates ≤ 0 are left out.
					if !(e.Mean > 0) || !(logHi > logLo) {
						continue
					}
					err := e.Err
					if !finite(err) {
						err = 0
					}
					bottom := max(e.Mean-err, logLo)
					pts.XYs = append(pts.XYs, plotter.XY{X: r.Config.T + set.shift*(hi-lo), Y: math.Log10(e.Mean)})
					pts.YErrors = append(pts.YErrors, struct{ Low, High float64 }{
						math.Log10(e.Mean) - math.Log10(bottom), math.Log10(e.Mean+err) - math.Log10(e.Mean)})
					continue
				}
				pts.add(r.Config.T+set.shift*(hi-lo), e)
			}
			if len(pts.XYs) == 0 {
				continue
			}
			for k, q := range pts.XYs {
				yMax = max(yMax, q.Y+pts.YErrors[k].High)
			}
			sc, err := plotter.NewScatter(pts.XYs)
			if err != nil {
				return nil, err
			}
			sc.GlyphStyle.Shape = set.glyph
			sc.GlyphStyle.Radius = vg.Points(2.5)
			sc.GlyphStyle.Color = plotutil.Color(set.color)
			eb, err := plotter.NewYErrorBars(&pts)
			if err != nil {
				return nil, err
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
	return img.Image(), nil
}
