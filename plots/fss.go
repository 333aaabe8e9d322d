package plots

import (
	"fmt"
	"image/color"
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/isingflow/isingflow/scan"
	"github.com/isingflow/isingflow/stats"
)

// fssSeries gets one quantity of a finite-size-scaling point.
type fssSeries func(p scan.FSSPoint) (est stats.Estimate, exact *float64)

// Binder draws the Binder cumulant U_L(T) of every size of a
// finite-size-scaling analysis (the seeds combined): the estimates with
// their error bars and a band of ±1σ between them, the exact values of the
// lattice where enumeration gives them (dashed), the crossing of each pair
// of successive sizes with its error, T_c and the L = ∞ value U* (dotted).
// It returns nil when there is nothing to draw.
func Binder(f *scan.FSS) (*Figure, error) {
	p, drawn, err := fssCurves(f, "Binder cumulant U = 1 − <m⁴>/(3<m²>²) against T", "U",
		func(q scan.FSSPoint) (stats.Estimate, *float64) { return q.Binder, q.ExactBinder }, 1)
	if err != nil || !drawn {
		return nil, err
	}
	var cross xErrorPoints
	for _, c := range f.Crossings {
		if finite(c.T.Mean) && finite(c.U) {
			cross.XYs = append(cross.XYs, plotter.XY{X: c.T.Mean, Y: c.U})
			cross.XErrors = append(cross.XErrors, struct{ Low, High float64 }{c.T.Err, c.T.Err})
		}
	}
	if len(cross.XYs) > 0 {
		sc, err := plotter.NewScatter(cross.XYs)
		if err != nil {
			return nil, err
		}
		sc.GlyphStyle.Shape = draw.CrossGlyph{}
		sc.GlyphStyle.Radius = vg.Points(5)
		eb, err := plotter.NewXErrorBars(&cross)
		if err != nil {
			return nil, err
		}
		eb.CapWidth = vg.Points(5)
		xmin, xmax := p.X.Min, p.X.Max
		p.Add(eb, sc)
		p.X.Min, p.X.Max = xmin, xmax // a wide error bar is cut at the scanned range
		p.Legend.Add("crossing of successive sizes (±1σ)", sc)
	}
	u := hline(scan.CriticalBinder)
	p.Add(u)
	p.Legend.Add(fmt.Sprintf("U* = %g (L = ∞)", scan.CriticalBinder), u)
	return &Figure{p, 18 * vg.Centimeter, 12 * vg.Centimeter}, nil
}

// ScaledMagnetization draws ⟨|m|⟩·L^{1/8} against T for every size (the
// seeds combined), with error bars and bands, the exact values where
// enumeration gives them (dashed) and T_c, where the curves of all sizes
// meet. It returns nil when there is nothing to draw.
func ScaledMagnetization(f *scan.FSS) (*Figure, error) {
	p, drawn, err := fssCurves(f, "<|m|>·L^(1/8) against T", "<|m|>·L^(1/8)",
		func(q scan.FSSPoint) (stats.Estimate, *float64) {
			if q.ExactAbsMagnetization == nil || q.AbsMagnetization.Mean == 0 {
				return q.ScaledMagnetization, nil
			}
			v := *q.ExactAbsMagnetization * q.ScaledMagnetization.Mean / q.AbsMagnetization.Mean
			return q.ScaledMagnetization, &v
		}, 0)
	if err != nil || !drawn {
		return nil, err
	}
	return &Figure{p, 18 * vg.Centimeter, 12 * vg.Centimeter}, nil
}

// fssCurves draws one quantity of every size against T with T_c; the
// legend goes to corner (0: top right, 1: bottom left). drawn is false
// when no size has a finite estimate.
func fssCurves(f *scan.FSS, title, ylabel string, get fssSeries, corner int) (p *plot.Plot, drawn bool, err error) {
	p = plot.New()
	p.Title.Text = title
	p.X.Label.Text = "T"
	p.Y.Label.Text = ylabel
	p.X.Tick.Marker = Ticks{}
	p.Y.Tick.Marker = Ticks{}
	p.Add(plotter.NewGrid())
	lo, hi := math.Inf(1), math.Inf(-1)
	exactNamed := false
	for i, s := range f.Sizes {
		var pts errorPoints
		var band plotter.XYs
		var exact plotter.XYs
		for _, q := range s.Points {
			e, x := get(q)
			pts.add(q.T, e)
			if finite(e.Mean) && finite(e.Err) {
				band = append(band, plotter.XY{X: q.T, Y: e.Mean - e.Err})
			}
			if x != nil && finite(*x) {
				exact = append(exact, plotter.XY{X: q.T, Y: *x})
			}
			lo, hi = min(lo, q.T), max(hi, q.T)
		}
		if len(pts.XYs) == 0 {
			continue
		}
		drawn = true
		col := plotutil.Color(i)
		if len(band) > 1 {
			upper := make(plotter.XYs, 0, len(band))
			for k := len(pts.XYs) - 1; k >= 0; k-- {
				if e := pts.YErrors[k].High; finite(e) {
					upper = append(upper, plotter.XY{X: pts.XYs[k].X, Y: pts.XYs[k].Y + e})
				}
			}
			poly, err := plotter.NewPolygon(append(band, upper...))
			if err != nil {
				return nil, false, err
			}
			r, g, b, _ := col.RGBA()
			poly.Color = color.NRGBA{R: uint8(r >> 8), G: uint8(g >> 8), B: uint8(b >> 8), A: 50}
			poly.LineStyle.Width = 0
			p.Add(poly)
		}
		line, sc, err := linePoints(pts.XYs)
		if err != nil {
			return nil, false, err
		}
		line.Color, sc.GlyphStyle.Color = col, col
		eb, err := plotter.NewYErrorBars(&pts)
		if err != nil {
			return nil, false, err
		}
		eb.LineStyle.Color = col
		eb.CapWidth = vg.Points(3)
		p.Add(line, eb, sc)
		seeds := "seeds"
		if maxSeeds(s) == 1 {
			seeds = "seed"
		}
		p.Legend.Add(fmt.Sprintf("L = %d (%d %s)", s.L, maxSeeds(s), seeds), line, sc)
		if len(exact) > 1 {
			ex, err := plotter.NewLine(exact)
			if err != nil {
				return nil, false, err
			}
			ex.Color = col
			ex.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
			p.Add(ex)
			if !exactNamed {
				p.Legend.Add("exact (enumeration)", ex)
				exactNamed = true
			}
		}
	}
	if !drawn {
		return nil, false, nil
	}
	pad := 0.03 * (hi - lo)
	if pad == 0 {
		pad = 0.05
	}
	p.X.Min, p.X.Max = min(lo-pad, f.Tc-pad), max(hi+pad, f.Tc+pad)
	tc := newVLine(f.Tc)
	p.Add(tc)
	p.Legend.Add(fmt.Sprintf("T_c = %.6f", f.Tc), tc)
	if corner == 1 {
		p.Legend.Left, p.Legend.Top = true, false
	} else {
		p.Legend.Top = true
	}
	return p, true, nil
}

// maxSeeds returns the largest number of seeds combined at one point.
func maxSeeds(s scan.SizeSeries) int {
	n := 0
	for _, q := range s.Points {
		n = max(n, q.Seeds)
	}
	return n
}

// SpecificHeatMax draws the maximum of the specific heat c_max(L) of every
// size against ln L: the flow's (a parabola through its largest estimates,
// scan.FitPeak) with error bars, a bound at the end of the temperature
// range drawn as a triangle, the same fit applied to Kaufman's exact
// values at the same temperatures (open circles), and Kaufman's exact
// maximum over all T for every L between the smallest and the largest
// size (the line; scan.KaufmanMax), which grows as (8/π)K_c² ln L. It
// returns nil when there is nothing to draw.
func SpecificHeatMax(f *scan.FSS) (*Figure, error) {
	p := plot.New()
	p.Title.Text = "maximum of the specific heat c_max(L) against ln L"
	p.X.Label.Text = "L (on a logarithmic axis)"
	p.Y.Label.Text = "c_max per site"
	var xticks plot.ConstantTicks
	for _, pk := range f.Peaks {
		xticks = append(xticks, plot.Tick{Value: math.Log(float64(pk.L)), Label: fmt.Sprint(pk.L)})
	}
	p.X.Tick.Marker = xticks
	p.Y.Tick.Marker = Ticks{}
	p.Add(plotter.NewGrid())
	var fit, edge errorPoints
	var exactFit plotter.XYs
	lmin, lmax := math.MaxInt, 0
	torus := false
	for _, pk := range f.Peaks {
		x := math.Log(float64(pk.L))
		if pk.Edge {
			edge.add(x, pk.C)
		} else {
			fit.add(x, pk.C)
		}
		if finite(pk.ExactFitC) {
			exactFit = append(exactFit, plotter.XY{X: x, Y: pk.ExactFitC})
		}
		if finite(pk.ExactC) {
			torus = true
		}
		lmin, lmax = min(lmin, pk.L), max(lmax, pk.L)
	}
	if len(fit.XYs)+len(edge.XYs) == 0 {
		return nil, nil
	}
	if torus {
		var exact plotter.XYs
		for L := lmin; L <= lmax; L++ {
			if _, c, err := scan.KaufmanMax(L); err == nil {
				exact = append(exact, plotter.XY{X: math.Log(float64(L)), Y: c})
			}
		}
		if len(exact) > 0 {
			line, err := plotter.NewLine(exact)
			if err != nil {
				return nil, err
			}
			line.Width = vg.Points(1.2)
			p.Add(line)
			p.Legend.Add("Kaufman, exact maximum", line)
		}
		if len(exactFit) > 0 {
			sc, err := plotter.NewScatter(exactFit)
			if err != nil {
				return nil, err
			}
			sc.GlyphStyle.Shape = draw.RingGlyph{}
			sc.GlyphStyle.Radius = vg.Points(4)
			p.Add(sc)
			p.Legend.Add("Kaufman at the scanned T, same fit", sc)
		}
	}
	for _, set := range []struct {
		pts   errorPoints
		glyph draw.GlyphDrawer
		name  string
	}{
		{fit, draw.CircleGlyph{}, "flow (parabola through the largest c)"},
		{edge, draw.TriangleGlyph{}, "flow, largest c at the end of the T range"},
	} {
		if len(set.pts.XYs) == 0 {
			continue
		}
		sc, err := plotter.NewScatter(set.pts.XYs)
		if err != nil {
			return nil, err
		}
		sc.GlyphStyle.Shape = set.glyph
		sc.GlyphStyle.Radius = vg.Points(3)
		sc.GlyphStyle.Color = plotutil.Color(0)
		eb, err := plotter.NewYErrorBars(&set.pts)
		if err != nil {
			return nil, err
		}
		eb.LineStyle.Color = plotutil.Color(0)
		eb.CapWidth = vg.Points(4)
		p.Add(eb, sc)
		p.Legend.Add(set.name, sc)
	}
	p.Legend.Top, p.Legend.Left = true, true
	pad := 0.1 * (math.Log(float64(lmax)) - math.Log(float64(lmin)))
	if pad == 0 {
		pad = 0.2
	}
	p.X.Min, p.X.Max = math.Log(float64(lmin))-pad, math.Log(float64(lmax))+pad
	return &Figure{p, 16 * vg.Centimeter, 12 * vg.Centimeter}, nil
}

// xErrorPoints are points with horizontal error bars.
type xErrorPoints struct {
	plotter.XYs
	plotter.XErrors
}

// linePoints returns a line through pts and their markers.
func linePoints(pts plotter.XYs) (*plotter.Line, *plotter.Scatter, error) {
	line, err := plotter.NewLine(pts)
	if err != nil {
		return nil, nil, err
	}
	line.Width = vg.Points(1)
	sc, err := plotter.NewScatter(pts)
	if err != nil {
		return nil, nil, err
	}
	sc.GlyphStyle.Shape = draw.CircleGlyph{}
	sc.GlyphStyle.Radius = vg.Points(2.5)
	return line, sc, nil
}

// vLine is a vertical line across the whole plot at X.
type vLine struct {
	X float64
	draw.LineStyle
}

// newVLine returns a dotted vertical line at x.
func newVLine(x float64) *vLine {
	return &vLine{X: x, LineStyle: draw.LineStyle{Color: color.Gray{Y: 60}, Width: vg.Points(1.2),
		Dashes: []vg.Length{vg.Points(1), vg.Points(2)}}}
}

// Plot implements plot.Plotter.
func (v *vLine) Plot(c draw.Canvas, plt *plot.Plot) {
	trX, _ := plt.Transforms(&c)
	x := trX(v.X)
	c.StrokeLine2(v.LineStyle, x, c.Min.Y, x, c.Max.Y)
}

// Thumbnail implements plot.Thumbnailer.
func (v *vLine) Thumbnail(c *draw.Canvas) {
	y := c.Center().Y
	c.StrokeLine2(v.LineStyle, c.Min.X, y, c.Max.X, y)
}

// hline is a dotted horizontal line at y.
func hline(y float64) *plotter.Function {
	fn := plotter.NewFunction(func(float64) float64 { return y })
	fn.Dashes = []vg.Length{vg.Points(1), vg.Points(2)}
	fn.Color = color.Gray{Y: 90}
	return fn
}
