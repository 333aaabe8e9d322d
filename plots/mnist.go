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

	"github.com/isingflow/isingflow/mnist"
	"github.com/isingflow/isingflow/stats"
)

// MNISTCurve draws the training curve of an MNIST run named name from its
// log recs (mnist.ReadLog): the NLL of every training batch, the training
// NLL averaged over each whole epoch (at the epoch's middle batch) and the
// validation NLL with its standard error as error bars, against the batch. The NLL axis is
// logarithmic, widened to labelled ticks, when the NLL is positive and
// spans more than a factor of three (the first batches of a run start far
// above where it ends). The legend goes to the corner the curves leave
// free. It returns nil when the log holds no training or validation
// record.
func MNISTCurve(name string, recs []mnist.Record) (*Figure, error) {
	var train, trainEpoch plotter.XYs
	var val errorPoints
	epochStart := 0 // the batch the current epoch started after
	for _, rec := range recs {
		switch rec := rec.(type) {
		case *mnist.BatchRecord:
			train = append(train, plotter.XY{X: float64(rec.Batch), Y: rec.NLL})
		case *mnist.EpochRecord:
			if rec.TrainNLL != nil && !rec.Partial {
				// The mean of the epoch's batches, at their middle.
				trainEpoch = append(trainEpoch, plotter.XY{X: 0.5 * float64(epochStart+rec.Batch), Y: *rec.TrainNLL})
			}
			if !rec.Partial {
				epochStart = rec.Batch
			}
			if rec.ValNLL != nil {
				e := stats.Estimate{Mean: *rec.ValNLL}
				if rec.ValNLLErr != nil {
					e.Err = *rec.ValNLLErr
				}
				val.add(float64(rec.Batch), e)
			}
		}
	}
	if len(train) == 0 && len(val.XYs) == 0 {
		return nil, nil
	}
	p := plot.New()
	p.Title.Text = "Monge-Ampère flow on MNIST: " + name
	p.X.Label.Text = "batch"
	p.X.Tick.Marker = Ticks{Trim: true}
	p.Y.Label.Text = "NLL (nats, logit space)"
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, s := range []plotter.XYs{train, trainEpoch, val.XYs} {
		for _, v := range s {
			lo, hi = math.Min(lo, v.Y), math.Max(hi, v.Y)
		}
	}
	for k, v := range val.XYs {
		lo, hi = math.Min(lo, v.Y-val.YErrors[k].Low), math.Max(hi, v.Y+val.YErrors[k].High)
	}
	// y maps an NLL to the axis: its log10 on a logarithmic axis (see
	// log10Ticks).
	y := func(v float64) float64 { return v }
	if lo > 0 && hi > 3*lo {
		y = math.Log10
		p.Y.Tick.Marker = log10Ticks{Ticks{Log: true, Labels: []float64{1, 2, 3, 5}, Minor: true}}
		// Widen the axis to labelled ticks, so both ends carry a number.
		p.Y.Min, p.Y.Max = y(niceLog(lo, false)), y(niceLog(hi, true))
		for _, s := range []plotter.XYs{train, trainEpoch} {
			for i := range s {
				s[i].Y = y(s[i].Y)
			}
		}
		for k := range val.XYs {
			v, e := val.XYs[k].Y, val.YErrors[k]
			val.XYs[k].Y = y(v)
			val.YErrors[k].Low, val.YErrors[k].High = y(v)-y(max(v-e.Low, math.Pow(10, p.Y.Min))), y(v+e.High)-y(v)
		}
	}
	p.Add(plotter.NewGrid())
	if len(train) > 0 {
		l, err := plotter.NewLine(train)
		if err != nil {
			return nil, err
		}
		l.Color = color.Gray{Y: 160}
		p.Add(l)
		p.Legend.Add("train (batch)", l)
	}
	for _, s := range []struct {
		name  string
		pts   plotter.XYs
		color color.Color
		glyph draw.GlyphDrawer
		errs  *errorPoints
	}{
		{"train (mean of each epoch, at its middle)", trainEpoch, color.RGBA{B: 200, A: 255}, draw.CircleGlyph{}, nil},
		{"validation (± standard error)", val.XYs, color.RGBA{R: 210, A: 255}, draw.BoxGlyph{}, &val},
	} {
		if len(s.pts) == 0 {
			continue
		}
		l, sc, err := plotter.NewLinePoints(s.pts)
		if err != nil {
			return nil, err
		}
		l.Color, sc.Color = s.color, s.color
		sc.Shape = s.glyph
		p.Add(l, sc)
		if s.errs != nil {
			eb, err := plotter.NewYErrorBars(s.errs)
			if err != nil {
				return nil, err
			}
			eb.LineStyle.Color = s.color
			eb.CapWidth = vg.Points(5)
			p.Add(eb)
		}
		p.Legend.Add(s.name, l, sc)
	}
	placeLegend(p, Width, Height, train, trainEpoch, val.XYs)
	return &Figure{p, Width, Height}, nil
}

// ImageGrid lays the images out in rows of cols, each pixel a scale×scale
// block, ink white on black, the images set apart by grey separators
// (GridSeparator) max(2, scale) pixels wide, which also frame the grid: a
// digit that touches its image's edge, or a sample that is noise all over,
// still reads as one image.
func ImageGrid(im *mnist.Images, cols, scale int) *image.Gray {
	rows := (im.N + cols - 1) / cols
	pad := max(2, scale)
	cw, ch := im.Cols*scale+pad, im.Rows*scale+pad
	g := image.NewGray(image.Rect(0, 0, cols*cw+pad, rows*ch+pad))
	for i := range g.Pix {
		g.Pix[i] = GridSeparator
	}
	for k := range im.N {
		x0, y0 := pad+(k%cols)*cw, pad+(k/cols)*ch
		px := im.Image(k)
		for r := range im.Rows * scale {
			for c := range im.Cols * scale {
				g.SetGray(x0+c, y0+r, color.Gray{Y: px[(r/scale)*im.Cols+c/scale]})
			}
		}
	}
	return g
}

// GridSeparator is the grey of ImageGrid's separators: half way between
// the black background and the white ink.
const GridSeparator = 128

// CompareMNIST draws the training curves of MNIST runs side by side
// against the training time (validations left out), in seconds, minutes
// or hours as the longest run needs: each run's validation NLL with its
// standard error as points joined by a line, and its training NLL
// (mnist.History.Train, window means) as a thin line of the same colour,
// labelled with the run's name and its last validation NLL. A positive NLL
// axis starts below the lowest point and is cut at 1.5 times it, so that the
// first batches, far above, leave the end of training readable. It
// returns nil when no run has a point to draw.
func CompareMNIST(runs []*mnist.History) (*Figure, error) {
	p := plot.New()
	p.Title.Text = "Monge-Ampère flow on MNIST: NLL against training time\n(points: validation ± standard error; thin lines: training, window means)"
	p.Y.Label.Text = "NLL (nats, logit space)"
	longest, lo := 0.0, math.Inf(1)
	for _, h := range runs {
		for _, s := range [][]mnist.CurvePoint{h.Train, h.Validation} {
			for _, c := range s {
				longest, lo = max(longest, c.Seconds), min(lo, c.NLL-c.Err)
			}
		}
	}
	if math.IsInf(lo, 1) {
		return nil, nil
	}
	unit, per := timeUnit(longest)
	p.X.Label.Text = "training time (" + unit + ")"
	p.X.Tick.Marker = Ticks{Trim: true}
	p.Y.Tick.Marker = Ticks{Trim: true}
	var all []plotter.XYs
	for i, h := range runs {
		xy := func(s []mnist.CurvePoint) plotter.XYs {
			pts := make(plotter.XYs, len(s))
			for k, c := range s {
				pts[k] = plotter.XY{X: c.Seconds / per, Y: c.NLL}
			}
			return pts
		}
		col := plotutil.Color(i)
		if train := xy(h.Train); len(train) > 1 {
			l, err := plotter.NewLine(train)
			if err != nil {
				return nil, err
			}
			l.Color, l.Width = col, vg.Points(0.6)
			p.Add(l)
			all = append(all, train)
		}
		if len(h.Validation) == 0 {
			continue
		}
		var val errorPoints
		for _, c := range h.Validation {
			val.add(c.Seconds/per, stats.Estimate{Mean: c.NLL, Err: c.Err})
		}
		l, sc, err := plotter.NewLinePoints(val.XYs)
		if err != nil {
			return nil, err
		}
		l.Color, l.Width, sc.Color = col, vg.Points(1.4), col
		sc.Shape = draw.BoxGlyph{}
		eb, err := plotter.NewYErrorBars(&val)
		if err != nil {
			return nil, err
		}
		eb.LineStyle.Color, eb.CapWidth = col, vg.Points(4)
		p.Add(l, sc, eb)
		last := h.Validation[len(h.Validation)-1]
		p.Legend.Add(fmt.Sprintf("%s (%.1f ± %.1f)", h.Name, last.NLL, last.Err), l, sc)
		all = append(all, val.XYs)
	}
	if len(all) == 0 {
		return nil, nil
	}
	if lo > 0 {
		p.Y.Min, p.Y.Max = 0.98*lo, 1.5*lo
	}
	return comparisonFigure(p, all), nil
}
