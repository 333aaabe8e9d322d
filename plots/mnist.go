package plots

import (
	"image"
	"image/color"
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg/draw"

	"github.com/isingflow/isingflow/mnist"
)

// MNISTCurve draws the training curve of an MNIST run named name from its
// log recs (mnist.ReadLog): the NLL of every training batch, the training
// NLL averaged over each whole epoch and the validation NLL, against the
// batch. The NLL axis is logarithmic, widened to labelled ticks, when the
// NLL is positive and spans more than a factor of three (the first batches
// of a run start far above where it ends). It returns nil when the log
// holds no training or validation record.
func MNISTCurve(name string, recs []mnist.Record) (*Figure, error) {
	var train, trainEpoch, val plotter.XYs
	for _, rec := range recs {
		switch rec := rec.(type) {
		case *mnist.BatchRecord:
			train = append(train, plotter.XY{X: float64(rec.Batch), Y: rec.NLL})
		case *mnist.EpochRecord:
			if rec.TrainNLL != nil && !rec.Partial {
				trainEpoch = append(trainEpoch, plotter.XY{X: float64(rec.Batch), Y: *rec.TrainNLL})
			}
			if rec.ValNLL != nil {
				val = append(val, plotter.XY{X: float64(rec.Batch), Y: *rec.ValNLL})
			}
		}
	}
	if len(train) == 0 && len(val) == 0 {
		return nil, nil
	}
	p := plot.New()
	p.Title.Text = "Monge-Ampère flow on MNIST: " + name
	p.X.Label.Text = "batch"
	p.X.Tick.Marker = Ticks{Trim: true}
	p.Y.Label.Text = "NLL (nats, logit space)"
	p.Add(plotter.NewGrid())
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, s := range []plotter.XYs{train, trainEpoch, val} {
		for _, v := range s {
			lo, hi = math.Min(lo, v.Y), math.Max(hi, v.Y)
		}
	}
	if lo > 0 && hi > 3*lo {
		p.Y.Scale = plot.LogScale{}
		p.Y.Tick.Marker = Ticks{Log: true, Labels: []float64{1, 2, 3, 5}, Minor: true}
		// Widen the axis to labelled ticks, so both ends carry a number.
		p.Y.Min, p.Y.Max = niceLog(lo, false), niceLog(hi, true)
	}
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
	}{
		{"train (epoch mean)", trainEpoch, color.RGBA{B: 200, A: 255}, draw.CircleGlyph{}},
		{"validation", val, color.RGBA{R: 210, A: 255}, draw.BoxGlyph{}},
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
		p.Legend.Add(s.name, l, sc)
	}
	p.Legend.Top = true
	return &Figure{p, Width, Height}, nil
}

// ImageGrid lays the images out in rows of cols, each pixel a scale×scale
// block, one pixel of grey between images, ink white on black.
func ImageGrid(im *mnist.Images, cols, scale int) *image.Gray {
	rows := (im.N + cols - 1) / cols
	const pad = 1
	cw, ch := im.Cols*scale+pad, im.Rows*scale+pad
	g := image.NewGray(image.Rect(0, 0, cols*cw+pad, rows*ch+pad))
	for i := range g.Pix {
		g.Pix[i] = 96
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
