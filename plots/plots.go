package plots

import (
	"image"
	"image/png"
	"math"
	"os"
	"strconv"

	"gonum.org/v1/plot"
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
// and left out otherwise. A logarithmic range that is not positive has no
// ticks.
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
	if !(lo > 0) || !(hi > lo) {
		return ticks
	}
	labels := t.Labels
	if labels == nil {
		labels = []float64{1, 2, 5}
	}
	for e := math.Floor(math.Log10(lo)); e <= math.Ceil(math.Log10(hi)); e++ {
		base := math.Pow(10, e)
		for m := 1; m <= 9; m++ {
			v := float64(m) * base
			if v < lo || v > hi {
				continue
			}
			tk := plot.Tick{Value: v}
			labelled := hi/lo < 2
			for _, l := range labels {
				labelled = labelled || l == float64(m)
			}
			switch {
			case labelled:
				tk.Label = strconv.FormatFloat(v, 'g', -1, 64)
			case !t.Minor:
				continue
			}
			ticks = append(ticks, tk)
		}
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
