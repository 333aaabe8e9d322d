package plots

import (
	"fmt"
	"image"
	"image/color"
	"maps"
	"math"
	"slices"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/isingflow/isingflow/lattice"
	"github.com/isingflow/isingflow/model"
	"github.com/isingflow/isingflow/observables"
	"github.com/isingflow/isingflow/scan"
	"github.com/isingflow/isingflow/stats"
	"github.com/isingflow/isingflow/vmc"
)

// Training draws the training curve of a run from its log recs: the batch
// estimate of KL(p‖q)/N — the distance of the variational free energy from
// the exact one at the step's temperature, in nats per site — at every
// step, on a logarithmic axis against the step, each step label carrying
// the training time up to it (summed over the processes of a resumed run),
// with the median of every few steps as a line, the evaluation's KL/site ±
// its error (res.Estimates) as a dashed line, and the annealed stretch
// (the steps whose temperature is not the run's) shaded and labelled with
// its temperatures. A step redone after a rejection shows the estimate of
// its last accepted try. The axis holds the bulk of the estimates: those
// above it (a diverging run's, up to 10²⁵ and beyond) and those below it
// (the noise of a small KL, zero and negative estimates among them) are
// drawn on its edges and counted in the legend, so one wild step cannot
// squash the curve. Where the exact free energy is unknown (no KL/site in
// the log) the figure is the batch variational free energy per site
// instead, on a linear axis. It returns nil when the log has no accepted
// step.
func Training(recs []vmc.Record, res *scan.Result) (*Figure, error) {
	lat, err := res.Config.Lattice()
	if err != nil {
		return nil, err
	}
	kept := lastTries(recs)
	if len(kept) == 0 {
		return nil, nil
	}
	var positive []float64
	for _, k := range kept {
		if finite(k.KLPerSite) && k.KLPerSite > 0 {
			positive = append(positive, k.KLPerSite)
		}
	}
	if len(positive) == 0 {
		return freeEnergyFigure(lat, res, kept)
	}
	p := plot.New()
	p.Title.Text = fmt.Sprintf("%s, T = %.4g: KL(p‖q)/N in training", lat, res.Config.T)
	p.X.Label.Text = "training step (below it: training time)"
	p.Y.Label.Text = "KL(p‖q)/N (nats per site)"
	p.Y.Tick.Marker = log10Ticks{Ticks{Log: true, Minor: true}}
	ly := math.Log10 // the y axis holds log10 KL (see log10Ticks)

	// The median of each window of steps.
	window := max(1, len(kept)/40)
	var median plotter.XYs
	for i := 0; i < len(kept); i += window {
		var v []float64
		var x float64
		chunk := kept[i:min(i+window, len(kept))]
		for _, k := range chunk {
			if finite(k.KLPerSite) {
				v = append(v, k.KLPerSite)
			}
			x += float64(k.Step)
		}
		if len(v) == 0 {
			continue
		}
		slices.Sort(v)
		m := v[len(v)/2]
		if len(v)%2 == 0 {
			m = 0.5 * (v[len(v)/2-1] + v[len(v)/2])
		}
		if m > 0 {
			median = append(median, plotter.XY{X: x / float64(len(chunk)), Y: ly(m)})
		}
	}
	var final *stats.Estimate
	if e := res.Estimates; e != nil && finite(e.KLPerSite.Mean) && e.KLPerSite.Mean > 0 {
		final = &e.KLPerSite
	}

	// The axis: the bulk of the estimates, the medians and the evaluation.
	sorted := slices.Sorted(slices.Values(positive))
	quantile := func(q float64) float64 { return sorted[int(q*float64(len(sorted)-1))] }
	lo, hi := sorted[0], sorted[len(sorted)-1]
	if len(sorted) >= 20 {
		lo, hi = max(lo, quantile(0.05)/10), min(hi, 30*quantile(0.9))
	}
	for _, m := range median {
		v := math.Pow(10, m.Y)
		lo, hi = min(lo, v/2), max(hi, v)
	}
	if final != nil {
		lo = min(lo, max(final.Mean-final.Err, final.Mean/2))
		hi = max(hi, final.Mean+final.Err)
	}
	lo, hi = niceLog(lo, false), niceLog(hi, true)
	if !(hi > lo) {
		hi = 10 * lo
	}
	p.Y.Min, p.Y.Max = ly(lo), ly(hi)
	first, lastStep := float64(kept[0].Step), float64(kept[len(kept)-1].Step)
	p.X.Min, p.X.Max = first, max(lastStep, first+1)
	p.X.Tick.Marker = clockTicks(kept, model.TrainingClock(recs), recs)

	// The annealed stretch, beneath everything, labelled in its bottom or
	// top corner, whichever the curve leaves free.
	var occupied []plotter.XYs // what the legend should not hide
	if a, b, ok := annealed(kept, res.Config.T); ok {
		x0, x1 := max(p.X.Min, float64(kept[a].Step)-0.5), min(p.X.Max, float64(kept[b].Step)+0.5)
		y0, y1 := ly(lo), ly(hi)
		shade, err := plotter.NewPolygon(plotter.XYs{{X: x0, Y: y0}, {X: x1, Y: y0}, {X: x1, Y: y1}, {X: x0, Y: y1}})
		if err != nil {
			return nil, err
		}
		shade.Color = color.Gray{Y: 228}
		shade.LineStyle.Width = 0
		p.Add(shade)
		defer func() {
			// The legend may have widened the axis: shade all of it.
			ring := shade.XYs[0]
			ring[0].Y, ring[1].Y, ring[2].Y, ring[3].Y = p.Y.Min, p.Y.Min, p.Y.Max, p.Y.Max
		}()
		levels := map[float64]bool{}
		for _, k := range kept[a : b+1] {
			levels[k.Temperature] = true
		}
		text := fmt.Sprintf("annealed in %d levels\nT = %.4g → %.4g", len(levels), kept[a].Temperature, kept[b].Temperature)
		// The label's box, a quarter of the width and an eighth of the height.
		w, h := 0.25*(p.X.Max-p.X.Min), 0.13*(y1-y0)
		inBox := func(yb float64) int {
			n := 0
			for _, k := range kept {
				if v := k.KLPerSite; finite(v) && v > 0 {
					if x, y := float64(k.Step), ly(min(max(v, lo), hi)); x >= x0 && x <= x0+w && y >= yb && y <= yb+h {
						n++
					}
				}
			}
			if final != nil && ly(final.Mean) >= yb && ly(final.Mean) <= yb+h {
				n += 10 // the evaluation's line crosses the box
			}
			return n
		}
		yl, off := y0, vg.Points(4)
		if inBox(y1-h) < inBox(y0) {
			yl, off = y1-h, -vg.Points(4)
		}
		lab, err := plotter.NewLabels(plotter.XYLabels{XYs: plotter.XYs{{X: x0, Y: yl}}, Labels: []string{text}})
		if err != nil {
			return nil, err
		}
		lab.TextStyle[0].Font.Size = vg.Points(10)
		lab.Offset = vg.Point{X: vg.Points(4), Y: off}
		if off < 0 {
			// From the top: the text hangs below its point.
			lab.XYs[0].Y = y1
			lab.TextStyle[0].YAlign = draw.YTop
		}
		p.Add(lab)
		occupied = append(occupied, plotter.XYs{{X: x0, Y: yl}, {X: x0 + w/2, Y: yl + h/2}, {X: x0 + w, Y: yl + h}})
	}
	p.Add(plotter.NewGrid())

	var batch, above, below plotter.XYs
	nonPositive, top := 0, 0.0
	for _, k := range kept {
		v := k.KLPerSite
		switch {
		case !finite(v):
		case v > hi:
			above = append(above, plotter.XY{X: float64(k.Step), Y: ly(hi)})
			top = max(top, v)
		case v < lo:
			below = append(below, plotter.XY{X: float64(k.Step), Y: ly(lo)})
			if v <= 0 {
				nonPositive++
			}
		default:
			batch = append(batch, plotter.XY{X: float64(k.Step), Y: ly(v)})
		}
	}
	var rejected plotter.XYs
	for _, r := range recs {
		if r.Rejected {
			rejected = append(rejected, plotter.XY{X: float64(r.Step), Y: ly(hi)})
		}
	}
	occupied = append(occupied, batch, median)
	if window > 1 && len(batch) > 0 {
		sc, err := plotter.NewScatter(batch)
		if err != nil {
			return nil, err
		}
		sc.GlyphStyle.Color = color.Gray{Y: 150}
		sc.GlyphStyle.Radius = vg.Points(0.8)
		p.Add(sc)
		p.Legend.Add("batch estimate", sc)
	}
	if len(median) > 0 {
		line, err := plotter.NewLine(median)
		if err != nil {
			return nil, err
		}
		line.Color = color.RGBA{R: 30, G: 80, B: 190, A: 255}
		line.Width = vg.Points(1.5)
		p.Add(line)
		if window > 1 {
			p.Legend.Add(fmt.Sprintf("median of %d steps", window), line)
		} else {
			p.Legend.Add("batch estimate", line)
		}
	}
	if final != nil {
		f := *final
		line := plotter.NewFunction(func(float64) float64 { return ly(f.Mean) })
		line.Color = color.RGBA{R: 200, G: 30, B: 30, A: 255}
		line.Dashes = []vg.Length{vg.Points(5), vg.Points(3)}
		line.Width = vg.Points(1.2)
		p.Add(line)
		p.Legend.Add(fmt.Sprintf("evaluation: %.3g ± %.2g (%d samples)", f.Mean, f.Err, res.Estimates.Samples), line)
		occupied = append(occupied, plotter.XYs{{X: p.X.Min, Y: ly(f.Mean)}, {X: (p.X.Min + p.X.Max) / 2, Y: ly(f.Mean)}, {X: p.X.Max, Y: ly(f.Mean)}})
	}
	for _, edge := range []struct {
		pts   plotter.XYs
		name  string
		glyph draw.GlyphDrawer
		color color.Color
	}{
		{above, fmt.Sprintf("%d above %s, drawn there (up to %.2g)", len(above), logLabel(hi), top), draw.TriangleGlyph{}, color.RGBA{R: 200, G: 30, B: 30, A: 255}},
		{below, belowText(len(below), nonPositive, lo), draw.RingGlyph{}, color.Gray{Y: 120}},
		{rejected, fmt.Sprintf("%d rejected (not finite), rolled back", len(rejected)), draw.CrossGlyph{}, color.RGBA{R: 120, G: 0, B: 160, A: 255}},
	} {
		if len(edge.pts) == 0 {
			continue
		}
		sc, err := plotter.NewScatter(edge.pts)
		if err != nil {
			return nil, err
		}
		sc.GlyphStyle.Shape, sc.GlyphStyle.Color, sc.GlyphStyle.Radius = edge.glyph, edge.color, vg.Points(2)
		p.Add(sc)
		p.Legend.Add(edge.name, sc)
		occupied = append(occupied, edge.pts)
	}
	p.Legend.TextStyle.Font.Size = vg.Points(10)
	placeLegend(p, Width, Height, occupied...)
	return &Figure{p, Width, Height}, nil
}

// belowText is the legend of the estimates below lo, drawn at lo, n of
// them, of which nonPositive are zero or negative.
func belowText(n, nonPositive int, lo float64) string {
	if nonPositive == 0 {
		return fmt.Sprintf("%d below %s, drawn there (noise)", n, logLabel(lo))
	}
	return fmt.Sprintf("%d below %s, drawn there (noise; %d ≤ 0)", n, logLabel(lo), nonPositive)
}

// lastTries returns the accepted records of a training log, one per step in
// the order of the steps: of a step done again after a rejection rolled
// it back, its last try.
func lastTries(recs []vmc.Record) []vmc.Record {
	last := map[int]int{}
	for i, r := range recs {
		if !r.Rejected {
			last[r.Step] = i
		}
	}
	steps := slices.Sorted(maps.Keys(last))
	out := make([]vmc.Record, len(steps))
	for i, s := range steps {
		out[i] = recs[last[s]]
	}
	return out
}

// annealed returns the first and last index in kept of the steps at a
// temperature other than T, when there are any.
func annealed(kept []vmc.Record, T float64) (a, b int, ok bool) {
	a, b = -1, -1
	for i, k := range kept {
		if k.Temperature != 0 && math.Abs(k.Temperature-T) > 1e-9*T {
			if a < 0 {
				a = i
			}
			b = i
		}
	}
	return a, b, a >= 0
}

// clockTicks labels the steps of a training curve with the training time
// up to them: the time of each labelled step, interpolated between the
// steps of kept, under the step. clock is model.TrainingClock of recs.
func clockTicks(kept []vmc.Record, clock []float64, recs []vmc.Record) plot.Ticker {
	// The clock of each kept record: recs are matched in order.
	steps := make([]float64, 0, len(kept))
	secs := make([]float64, 0, len(kept))
	at := map[int]float64{}
	for i, r := range recs {
		if !r.Rejected {
			at[r.Step] = clock[i]
		}
	}
	for _, k := range kept {
		steps = append(steps, float64(k.Step))
		secs = append(secs, at[k.Step])
	}
	return plot.TickerFunc(func(lo, hi float64) []plot.Tick {
		ticks := stepTicks(lo, hi)
		for i, tk := range ticks {
			if tk.Label == "" {
				continue
			}
			j, _ := slices.BinarySearch(steps, tk.Value)
			var s float64
			switch {
			case j == 0:
				s = secs[0]
			case j == len(steps):
				s = secs[len(secs)-1]
			default:
				f := (tk.Value - steps[j-1]) / (steps[j] - steps[j-1])
				s = secs[j-1] + f*(secs[j]-secs[j-1])
			}
			ticks[i].Label += "\n" + formatSeconds(s)
		}
		return ticks
	})
}

// stepTicks marks an axis of training steps: about five labels at the
// multiples of 1, 2 or 5 times a power of ten (at least 1), and unlabelled
// ticks at fifths of that spacing where those are whole.
func stepTicks(lo, hi float64) []plot.Tick {
	if !(hi > lo) {
		return nil
	}
	raw := (hi - lo) / 5
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	step, minor := mag, mag/5
	for _, m := range []float64{1, 2, 5, 10} {
		if m*mag >= raw {
			step, minor = m*mag, m*mag/5
			break
		}
	}
	step = max(1, math.Round(step))
	if minor < 1 || minor != math.Round(minor) {
		minor = step
	}
	var ticks []plot.Tick
	for v := math.Ceil(lo/minor) * minor; v <= hi; v += minor {
		if v == 0 {
			v = 0 // not −0, which would be labelled "-0"
		}
		tk := plot.Tick{Value: v}
		if math.Mod(v, step) == 0 {
			tk.Label = strconv.FormatFloat(v, 'f', 0, 64)
		}
		ticks = append(ticks, tk)
	}
	return ticks
}

// finite reports whether v is neither NaN nor infinite.
func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// freeEnergyFigure is Training where the KL/site is unknown: the batch
// variational free energy per site against the step, on a linear axis,
// with the exact free energy as a dashed line when res knows it, zoomed on
// the last nine tenths of the steps.
func freeEnergyFigure(lat *lattice.Lattice, res *scan.Result, kept []vmc.Record) (*Figure, error) {
	p := plot.New()
	p.Title.Text = fmt.Sprintf("%s, T = %.4g: variational free energy per site", lat, res.Config.T)
	p.X.Label.Text = "training step"
	p.X.Tick.Marker = Ticks{Trim: true}
	p.Y.Label.Text = "f_var (batch estimate)"
	var pts plotter.XYs
	for _, r := range kept {
		if finite(r.VariationalFreeEnergyPerSite) {
			pts = append(pts, plotter.XY{X: float64(r.Step), Y: r.VariationalFreeEnergyPerSite})
		}
	}
	if len(pts) == 0 {
		return nil, nil
	}
	line, err := plotter.NewLine(pts)
	if err != nil {
		return nil, err
	}
	p.Add(line)
	p.Legend.Add("flow", line)
	// The converged part: the last nine tenths, without its wildest tenth.
	tail := slices.Sorted(func(yield func(float64) bool) {
		for _, q := range pts[len(pts)/10:] {
			if !yield(q.Y) {
				return
			}
		}
	})
	lo, hi := tail[0], tail[min(len(tail)-1, len(tail)*95/100)]
	if res.Exact != nil && res.Exact.FreeEnergyPerSite != nil {
		f := *res.Exact.FreeEnergyPerSite
		exact := plotter.NewFunction(func(float64) float64 { return f })
		exact.Dashes = []vg.Length{vg.Points(4), vg.Points(2)}
		exact.Width = vg.Points(1.5)
		p.Add(exact)
		p.Legend.Add(fmt.Sprintf("exact %.6f", f), exact)
		lo = min(lo, f)
		hi = max(hi, f+1e-3*math.Abs(f))
	}
	pad := 0.1 * (hi - lo)
	if pad == 0 {
		pad = 1e-3 * max(1, math.Abs(hi))
	}
	p.Y.Min, p.Y.Max = lo-pad, hi+pad
	p.Y.Tick.Marker = Ticks{}
	placeLegend(p, Width, Height, pts)
	return &Figure{p, Width, Height}, nil
}

// LogWeights draws the histogram of the log importance weights
// ln w = ln q̃(x) − ln p(x) of an evaluation's samples, in 60 bins, with
// ESS/M in the title. It returns nil when est holds no log-weights (as
// estimates read back from JSON).
func LogWeights(est *observables.IsingEstimates) (*Figure, error) {
	if len(est.LogWeights) == 0 {
		return nil, nil
	}
	h := plot.New()
	h.Title.Text = fmt.Sprintf("log importance weights, ESS/M = %.3g", est.ESSFraction)
	h.X.Label.Text = "ln w = ln q̃(x) − ln p(x)"
	h.Y.Label.Text = "samples"
	hist, err := plotter.NewHist(plotter.Values(est.LogWeights), 60)
	if err != nil {
		return nil, err
	}
	h.Add(hist)
	h.X.Tick.Marker, h.Y.Tick.Marker = Ticks{}, Ticks{}
	return &Figure{h, Width, Height}, nil
}

// Magnetization draws the normalised histograms of |m| of the flow's
// samples (flowAbs, unweighted) and of exact samples (exactAbs, a Wolff
// chain's) on the lattice lat at temperature T: the exact one filled, the
// flow's as a line over it, so that both show where they agree. On N sites
// |m| takes the values 2k/N (N even) or (2k+1)/N, so each bin holds the
// same number of them (about 40 bins), which keeps the histograms free of
// aliasing; the bins are centred on those values, and the axis ends at
// |m| = 1.
func Magnetization(lat *lattice.Lattice, T float64, flowAbs, exactAbs []float64) (*Figure, error) {
	sites := lat.N()
	p := plot.New()
	p.Title.Text = fmt.Sprintf("%s, T = %.4g: |m| of %d samples", lat, T, len(flowAbs))
	p.X.Label.Text = "|m|"
	p.Y.Label.Text = "probability density"
	step := 2 / float64(sites)
	per := max(1, (sites/2+39)/40) // values of |m| per bin
	width := float64(per) * step
	bins := sites/2/per + 1
	hist := func(v []float64) plotter.XYs {
		counts := make([]float64, bins)
		for _, x := range v {
			counts[min(bins-1, int(math.Round(x/step))/per)]++
		}
		var pts plotter.XYs
		for b, c := range counts {
			d := c / float64(len(v)) / width
			x0 := float64(b)*width - step/2
			pts = append(pts, plotter.XY{X: max(0, x0), Y: d}, plotter.XY{X: min(1, x0+width), Y: d})
		}
		return pts
	}
	exact, flowPts := hist(exactAbs), hist(flowAbs)
	blue := color.RGBA{R: 40, G: 90, B: 200, A: 255}
	area := append(plotter.XYs{{X: exact[0].X, Y: 0}}, exact...)
	area = append(area, plotter.XY{X: exact[len(exact)-1].X, Y: 0})
	fill, err := plotter.NewPolygon(area)
	if err != nil {
		return nil, err
	}
	fill.Color = color.RGBA{R: 190, G: 208, B: 240, A: 255}
	fill.LineStyle.Color, fill.LineStyle.Width = blue, vg.Points(1)
	p.Add(fill)
	p.Legend.Add("exact (Wolff)", fill)
	line, err := plotter.NewLine(flowPts)
	if err != nil {
		return nil, err
	}
	line.Color = color.RGBA{R: 210, G: 60, B: 40, A: 255}
	line.Width = vg.Points(1.5)
	p.Add(line)
	p.Legend.Add("flow (unweighted)", line)
	p.X.Min, p.X.Max, p.Y.Min = 0, 1, 0
	p.X.Tick.Marker = Ticks{Trim: true}
	placeLegend(p, Width, Height, exact, flowPts)
	return &Figure{p, Width, Height}, nil
}

// SpinGrid draws spin configurations of the two-dimensional lattice lat
// (spins: one configuration of ±1 after another, each in the lattice's
// row-major order) in a grid of panels, as nearly square as their number
// allows: black for s = +1 and white for s = −1, max(4, 96/L) pixels a site,
// on a grey background that separates the panels.
func SpinGrid(lat *lattice.Lattice, spins []int8) (*image.Gray, error) {
	if lat.Dim() != 2 {
		return nil, fmt.Errorf("plots: the %d-dimensional lattice %v has no picture", lat.Dim(), lat)
	}
	sites := lat.N()
	if len(spins) == 0 || len(spins)%sites != 0 {
		return nil, fmt.Errorf("plots: %d spins are no whole number of configurations of %d sites", len(spins), sites)
	}
	n := len(spins) / sites
	rows, cols := lat.Len(0), lat.Len(1)
	scale := max(4, 96/max(rows, cols)) // pixels per site
	gap := max(6, scale/2)
	gridCols := int(math.Ceil(math.Sqrt(float64(n))))
	gridRows := (n + gridCols - 1) / gridCols
	pw, ph := cols*scale, rows*scale
	img := image.NewGray(image.Rect(0, 0, gap+gridCols*(pw+gap), gap+gridRows*(ph+gap)))
	for i := range img.Pix {
		img.Pix[i] = 128
	}
	for k := range n {
		x0 := gap + (k%gridCols)*(pw+gap)
		y0 := gap + (k/gridCols)*(ph+gap)
		for i := range sites {
			c := color.Gray{Y: 255}
			if spins[k*sites+i] > 0 {
				c = color.Gray{Y: 0}
			}
			r, q := i/cols, i%cols
			for dy := range scale {
				for dx := range scale {
					img.SetGray(x0+q*scale+dx, y0+r*scale+dy, c)
				}
			}
		}
	}
	return img, nil
}
