package plots

import (
	"image"
	"image/png"
	"math"
	"os"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"

	"github.com/isingflow/isingflow/internal/runio"
)

// Figure is a plot with the size it is drawn at.
type Figure struct {
	*plot.Plot
	Width, Height vg.Length
}

// The size of most figures.
const (
	Width  = 16 * vg.Centimeter
	Height = 10 * vg.Centimeter
)

// Image draws the figure at vgimg's default resolution (96 dots per inch)
// on white: the image that gonum/plot's Plot.Save writes to a .png file.
func (f *Figure) Image() image.Image {
	c := vgimg.New(f.Width, f.Height)
	f.Draw(draw.New(c))
	return c.Image()
}

// SavePNG writes the figure to path as a PNG image, atomically.
func (f *Figure) SavePNG(path string) error { return SavePNG(path, f.Image()) }

// SavePNG writes img to path as a PNG image, atomically: through a
// temporary file renamed into place, so that path holds either its old
// content or the whole image.
func SavePNG(path string, img image.Image) error {
	return runio.WriteFileAtomic(path, func(f *os.File) error { return png.Encode(f, img) })
}

// Ticks are the tick marks of the figures' axes.
//
// On a linear axis (Log false) they are gonum/plot's default ticks, whose
// labels are rounded ("-2.1" for the tick at −2.15), labelled with their
// exact values instead: every label with as many decimals as the value
// that needs the most (−2.10, −2.15, −2.20), or, with Trim, each with the
// fewest it needs (0, 2.5, 5).
//
// On a logarithmic axis (Log true) they mark the integer multiples
// m·10^e, m = 1, …, 9, of the powers of ten in the range: labelled for the
// m in Labels (1, 2 and 5 when Labels is nil), and for every m when the
// range spans less than a factor of two, so that a narrow range still has
// labels; the other multiples are unlabelled minor ticks when Minor is set
// and left out otherwise. A range of more than three decades is labelled
// at powers of ten only, every one of them up to eight decades and every
// k-th beyond, so that some eight labels remain however wide the range (a
// diverged run's KL/site spans thirty decades); the other powers are then
// the minor ticks, and the other multiples too up to six decades. Labels
// are plain numbers from 10⁻⁴ to 10⁵ ("0.002", "50000") and "1e-06",
// "1e+25" outside. A logarithmic range that is not positive has no ticks.
type Ticks struct {
	Log    bool
	Labels []float64
	Minor  bool
	Trim   bool
}

// Ticks returns the marks between lo and hi.
func (t Ticks) Ticks(lo, hi float64) []plot.Tick {
	if t.Log {
		return t.logTicks(lo, hi)
	}
	ticks := plot.DefaultTicks{}.Ticks(lo, hi)
	tol := 1e-9 * max(math.Abs(lo), math.Abs(hi))
	// exact formats v with the fewest decimals, up to 15, that represent
	// it within tol.
	exact := func(v float64) (int, bool) {
		for prec := 0; prec <= 15; prec++ {
			if p, _ := strconv.ParseFloat(strconv.FormatFloat(v, 'f', prec, 64), 64); math.Abs(p-v) <= tol {
				return prec, true
			}
		}
		return 0, false
	}
	common := 0
	for _, tk := range ticks {
		if tk.Label == "" {
			continue
		}
		prec, ok := exact(tk.Value)
		if !ok {
			return ticks
		}
		common = max(common, prec)
	}
	for i, tk := range ticks {
		if tk.Label == "" {
			continue
		}
		prec := common
		if t.Trim {
			prec, _ = exact(tk.Value)
		}
		ticks[i].Label = strconv.FormatFloat(tk.Value, 'f', prec, 64)
	}
	return ticks
}

func (t Ticks) logTicks(lo, hi float64) []plot.Tick {
	var ticks []plot.Tick
	if !(lo > 0) || !(hi > lo) || math.IsInf(hi, 0) {
		return ticks
	}
	labels := t.Labels
	if labels == nil {
		labels = []float64{1, 2, 5}
	}
	e0, e1 := math.Floor(math.Log10(lo)), math.Ceil(math.Log10(hi))
	decades := math.Log10(hi / lo)
	wide := decades > 3
	every := max(1, int(math.Ceil(decades/8))) // label every this many powers of ten
	if wide {
		labels = []float64{1}
	}
	for e := e0; e <= e1; e++ {
		base := math.Pow(10, e)
		for m := 1; m <= 9; m++ {
			v := float64(m) * base
			if v < lo*(1-1e-12) || v > hi*(1+1e-12) {
				continue
			}
			tk := plot.Tick{Value: v}
			labelled := hi/lo < 2
			for _, l := range labels {
				labelled = labelled || l == float64(m)
			}
			if wide && m == 1 && int(e)%every != 0 {
				labelled = false
			}
			minor := t.Minor || wide
			if wide && m > 1 && (decades > 6 || !t.Minor) {
				minor = false
			}
			switch {
			case labelled:
				tk.Label = logLabel(v)
			case !minor:
				continue
			}
			ticks = append(ticks, tk)
		}
	}
	return ticks
}

// logLabel formats a tick value of a logarithmic axis: the shortest plain
// number from 10⁻⁴ to 10⁵, exponent notation outside.
func logLabel(v float64) string {
	if v >= 1e-4 && v < 1e5 {
		return strconv.FormatFloat(v, 'g', 12, 64) // 12 digits: 3·10⁻⁴ is 0.00030000000000000003
	}
	mant, exp, _ := strings.Cut(strconv.FormatFloat(v, 'e', 11, 64), "e")
	if strings.Contains(mant, ".") {
		mant = strings.TrimRight(strings.TrimRight(mant, "0"), ".")
	}
	return mant + "e" + exp
}

// log10Ticks marks an axis that holds the base-10 logarithms of a
// quantity with the ticks of the quantity's logarithmic axis (Ticks with
// Log set), placed at their logarithms. The figures plot log10 of a
// quantity on a linear axis rather than use plot.LogScale, because
// gonum/plot pads the plot for the axis label as if the axis were linear,
// which on a range of many decades squashes the data area.
type log10Ticks struct{ marks Ticks }

// Ticks returns the marks between the logarithms lo and hi.
func (t log10Ticks) Ticks(lo, hi float64) []plot.Tick {
	ticks := t.marks.Ticks(math.Pow(10, lo), math.Pow(10, hi))
	for i := range ticks {
		ticks[i].Value = math.Log10(ticks[i].Value)
	}
	return ticks
}

// niceLog rounds v > 0 down (or up) to 1, 2, 3 or 5 times a power of ten.
func niceLog(v float64, up bool) float64 {
	base := math.Pow(10, math.Floor(math.Log10(v)))
	steps := []float64{1, 2, 3, 5, 10}
	if up {
		for _, m := range steps {
			if m*base >= v {
				return m * base
			}
		}
	}
	for i := len(steps) - 1; i >= 0; i-- {
		if steps[i]*base <= v {
			return steps[i] * base
		}
	}
	return base
}

// placeLegend puts the legend of p, drawn at the size w×h, in the corner
// of the data area where it hides the fewest of the points of pts (the top
// right when that is as good as any); when every corner would hide some,
// it widens the y axis at that corner's edge by the legend's height, so
// that the legend sits beside the data rather than on it. The axes' ranges
// must be final and the y axis linear (the figures plot logarithms on a
// linear axis; see log10Ticks).
func placeLegend(p *plot.Plot, w, h vg.Length, pts ...plotter.XYs) {
	r := p.Legend.Rectangle(draw.Canvas{Rectangle: vg.Rectangle{Max: vg.Point{X: w, Y: h}}})
	// The data area is about 85 % of the figure's width and 75 % of its
	// height.
	fw := float64(r.Max.X-r.Min.X)/float64(0.85*w) + 0.02
	fh := float64(r.Max.Y-r.Min.Y)/float64(0.75*h) + 0.02
	best, bestN := [2]bool{true, false}, -1 // {top, left}
	for _, c := range [][2]bool{{true, false}, {true, true}, {false, false}, {false, true}} {
		n := 0
		for _, s := range pts {
			for _, q := range s {
				x := p.X.Scale.Normalize(p.X.Min, p.X.Max, q.X)
				y := p.Y.Scale.Normalize(p.Y.Min, p.Y.Max, q.Y)
				if math.IsNaN(x) || math.IsNaN(y) {
					continue
				}
				inX := x >= 1-fw
				if c[1] {
					inX = x <= fw
				}
				inY := y <= fh
				if c[0] {
					inY = y >= 1-fh
				}
				if inX && inY {
					n++
				}
			}
		}
		if bestN < 0 || n < bestN {
			best, bestN = c, n
		}
	}
	p.Legend.Top, p.Legend.Left = best[0], best[1]
	if bestN > 0 && fh < 0.5 {
		extra := (p.Y.Max - p.Y.Min) * fh / (1 - fh)
		if best[0] {
			p.Y.Max += extra
		} else {
			p.Y.Min -= extra
		}
	}
}

// formatSeconds writes a duration in the unit that reads best: "2.5 s",
// "45 s", "7.5 min", "2.3 h".
func formatSeconds(s float64) string {
	switch {
	case s < 10:
		return strconv.FormatFloat(s, 'f', 1, 64) + " s"
	case s < 100:
		return strconv.FormatFloat(s, 'f', 0, 64) + " s"
	case s < 6000:
		return strconv.FormatFloat(s/60, 'f', 1, 64) + " min"
	}
	return strconv.FormatFloat(s/3600, 'f', 1, 64) + " h"
}
