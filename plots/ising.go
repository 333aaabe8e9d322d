package plots

import (
	"fmt"
	"image"
	"image/color"
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"

	"github.com/isingflow/isingflow/lattice"
	"github.com/isingflow/isingflow/observables"
	"github.com/isingflow/isingflow/scan"
	"github.com/isingflow/isingflow/vmc"
)

// Training draws the training curve of a run: the batch estimate of the
// variational free energy per site at every accepted step of its log
// recs, against the step. Where the result res knows the exact free
// energy, the figure draws it as a dashed line and zooms on the converged
// part of the curve, the last nine tenths of the steps, with the exact line
// a tenth of the range above the bottom. It returns nil when the log has no
// step to draw.
func Training(recs []vmc.Record, res *scan.Result) (*Figure, error) {
	lat, err := res.Config.Lattice()
	if err != nil {
		return nil, err
	}
	p := plot.New()
	p.Title.Text = fmt.Sprintf("%s, T = %.4g: variational free energy per site", lat, res.Config.T)
	p.X.Label.Text = "training step"
	p.Y.Label.Text = "f_var (batch estimate)"
	var pts plotter.XYs
	for _, r := range recs {
		if !r.Rejected && !math.IsNaN(r.VariationalFreeEnergyPerSite) {
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
	if res.Exact != nil && res.Exact.FreeEnergyPerSite != nil {
		f := *res.Exact.FreeEnergyPerSite
		exact := plotter.NewFunction(func(float64) float64 { return f })
		exact.Dashes = []vg.Length{vg.Points(4), vg.Points(2)}
		exact.Width = vg.Points(1.5)
		p.Add(exact)
		p.Legend.Add(fmt.Sprintf("exact %.6f", f), exact)
		ymax := pts[len(pts)/10].Y
		for _, q := range pts[len(pts)/10:] {
			ymax = max(ymax, q.Y)
		}
		ymax = max(ymax, f+1e-3*math.Abs(f))
		p.Y.Min, p.Y.Max = f-(ymax-f)/9, ymax
		p.Y.Tick.Marker = Ticks{}
	}
	p.Legend.Top = true
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
// chain's) on the lattice lat at temperature T. On N sites |m| takes the
// values 2k/N (N even) or (2k+1)/N, so each bin holds the same number of
// them (about 40 bins), which keeps the histograms free of aliasing.
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
	for _, h := range []struct {
		name string
		v    []float64
		c    color.Color
	}{
		{"exact (Wolff)", exactAbs, color.RGBA{R: 40, G: 90, B: 200, A: 255}},
		{"flow (unweighted)", flowAbs, color.RGBA{R: 210, G: 60, B: 40, A: 255}},
	} {
		counts := make([]float64, bins)
		for _, x := range h.v {
			counts[min(bins-1, int(math.Round(x/step))/per)]++
		}
		var pts plotter.XYs
		for b, c := range counts {
			d := c / float64(len(h.v)) / width
			x0 := float64(b)*width - step/2
			pts = append(pts, plotter.XY{X: max(0, x0), Y: d}, plotter.XY{X: x0 + width, Y: d})
		}
		line, err := plotter.NewLine(pts)
		if err != nil {
			return nil, err
		}
		line.Color = h.c
		line.Width = vg.Points(1.5)
		p.Add(line)
		p.Legend.Add(h.name, line)
	}
	p.Legend.Top = true
	p.Legend.Left = true
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
