package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"

	"github.com/isingflow/isingflow/internal/runio"
	"github.com/isingflow/isingflow/mnist"
)

// maxSamples bounds -n.
const maxSamples = 1024

func runSample(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("sample", stderr)
	runDir := fs.String("run", "", "run directory written by mnistflow train")
	which := fs.String("checkpoint", "best", "which checkpoint: best (lowest validation NLL) or last")
	n := fs.IntP("n", "n", 64, "number of samples")
	seed := fs.Uint64("seed", 1, "seed of the latent samples z ~ N(0, I)")
	out := fs.String("out", "", "PNG of the samples (default RUN/samples.png)")
	curve := fs.String("curve", "", "PNG of the training curve (default RUN/curve.png; \"-\": none)")
	scale := fs.Int("scale", 2, "pixels per image pixel in the PNG")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	switch {
	case *n < 1 || *n > maxSamples:
		return usagef("-n %d: want 1 … %d", *n, maxSamples)
	case *scale < 1 || *scale > 16:
		return usagef("--scale %d: want 1 … 16", *scale)
	}
	path, err := runCheckpoint(*runDir, *which)
	if err != nil {
		return err
	}
	m, st, err := loadModel(path)
	if err != nil {
		return err
	}
	if *out == "" {
		*out = filepath.Join(*runDir, sampleFile)
	}
	if *curve == "" {
		*curve = filepath.Join(*runDir, curveFile)
	}
	c := &st.Config
	fmt.Fprintf(stderr, "mnistflow sample: %d samples of %s (batch %d)\n", *n, path, st.Batch)
	im, err := mnist.SampleImages(m.flow, *n, c.Rows, c.Cols, rand.New(rand.NewPCG(*seed, 0)))
	if err != nil {
		return err
	}
	grid := imageGrid(im, int(math.Ceil(math.Sqrt(float64(*n)))), *scale)
	if err := writePNG(*out, grid); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "samples  %s (%d images of %d×%d, batch %d)\n", *out, *n, c.Rows, c.Cols, st.Batch)
	if *curve != "-" {
		if err := plotCurve(*curve, *runDir); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "curve    %s\n", *curve)
	}
	return nil
}

func runPlot(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("plot", stderr)
	runDir := fs.String("run", "", "run directory written by mnistflow train")
	out := fs.String("out", "", "PNG of the training curve (default RUN/curve.png)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if _, err := runCheckpoint(*runDir, "last"); err != nil {
		return err
	}
	if *out == "" {
		*out = filepath.Join(*runDir, curveFile)
	}
	if err := plotCurve(*out, *runDir); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "curve  %s\n", *out)
	return nil
}

// imageGrid lays the images out in rows of cols, each pixel a scale×scale
// block, one pixel of grey between images, ink white on black.
func imageGrid(im *mnist.Images, cols, scale int) *image.Gray {
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

func writePNG(path string, img image.Image) error {
	return runio.WriteFileAtomic(path, func(f *os.File) error {
		return png.Encode(f, img)
	})
}

// curveData is what the training curve shows, read from a run's log.
type curveData struct {
	train, trainEpoch, val plotter.XYs
}

func readCurve(path string) (*curveData, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, usageError{Msg: oneLine(err.Error())}
	}
	var cd curveData
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 1<<16), 1<<24)
	for line := 1; sc.Scan(); line++ {
		var rec struct {
			Kind     string   `json:"kind"`
			Batch    int      `json:"batch"`
			NLL      float64  `json:"nll"`
			TrainNLL *float64 `json:"train_nll"`
			ValNLL   *float64 `json:"val_nll"`
		}
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			return nil, usagef("%s:%d: not a log record (%v)", path, line, err)
		}
		switch rec.Kind {
		case "batch":
			cd.train = append(cd.train, plotter.XY{X: float64(rec.Batch), Y: rec.NLL})
		case "epoch":
			if rec.TrainNLL != nil && !bytes.Contains(sc.Bytes(), []byte(`"partial":true`)) {
				cd.trainEpoch = append(cd.trainEpoch, plotter.XY{X: float64(rec.Batch), Y: *rec.TrainNLL})
			}
			if rec.ValNLL != nil {
				cd.val = append(cd.val, plotter.XY{X: float64(rec.Batch), Y: *rec.ValNLL})
			}
		}
	}
	return &cd, nil
}

// plotCurve draws the training and validation NLL of a run against the
// batch number into a PNG, on a logarithmic NLL axis when the NLL is
// positive and spans more than a factor of three (the first batches of a
// run start far above where it ends).
func plotCurve(out, runDir string) error {
	cd, err := readCurve(filepath.Join(runDir, logFile))
	if err != nil {
		return err
	}
	if len(cd.train) == 0 && len(cd.val) == 0 {
		return usagef("%s: the log holds no training or validation records yet", runDir)
	}
	p := plot.New()
	p.Title.Text = "Monge-Ampère flow on MNIST: " + filepath.Base(filepath.Clean(runDir))
	p.X.Label.Text = "batch"
	p.X.Tick.Marker = plainTicks{}
	p.Y.Label.Text = "NLL (nats, logit space)"
	p.Add(plotter.NewGrid())
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, s := range []plotter.XYs{cd.train, cd.trainEpoch, cd.val} {
		for _, v := range s {
			lo, hi = math.Min(lo, v.Y), math.Max(hi, v.Y)
		}
	}
	if lo > 0 && hi > 3*lo {
		p.Y.Scale = plot.LogScale{}
		p.Y.Tick.Marker = logTicks{}
		// Widen the axis to labelled ticks, so both ends carry a number.
		p.Y.Min, p.Y.Max = niceLog(lo, false), niceLog(hi, true)
	}
	if len(cd.train) > 0 {
		l, err := plotter.NewLine(cd.train)
		if err != nil {
			return err
		}
		l.Color = color.Gray{Y: 160}
		p.Add(l)
		p.Legend.Add("train (batch)", l)
	}
	if len(cd.trainEpoch) > 0 {
		l, s, err := plotter.NewLinePoints(cd.trainEpoch)
		if err != nil {
			return err
		}
		l.Color, s.Color = color.RGBA{B: 200, A: 255}, color.RGBA{B: 200, A: 255}
		s.Shape = draw.CircleGlyph{}
		p.Add(l, s)
		p.Legend.Add("train (epoch mean)", l, s)
	}
	if len(cd.val) > 0 {
		l, s, err := plotter.NewLinePoints(cd.val)
		if err != nil {
			return err
		}
		l.Color, s.Color = color.RGBA{R: 210, A: 255}, color.RGBA{R: 210, A: 255}
		s.Shape = draw.BoxGlyph{}
		p.Add(l, s)
		p.Legend.Add("validation", l, s)
	}
	p.Legend.Top = true
	img := vgimg.New(16*vg.Centimeter, 10*vg.Centimeter)
	p.Draw(draw.New(img))
	return runio.WriteFileAtomic(out, func(f *os.File) error {
		_, err := vgimg.PngCanvas{Canvas: img}.WriteTo(f)
		return err
	})
}

// logTicks marks 1, 2, 3 and 5 times the powers of ten, labelled, with
// unlabelled minor ticks at the other integers, so a range of less than a
// decade still gets labels.
type logTicks struct{}

func (logTicks) Ticks(min, max float64) []plot.Tick {
	var ticks []plot.Tick
	for e := math.Floor(math.Log10(min)); math.Pow(10, e) <= max; e++ {
		base := math.Pow(10, e)
		for i := 1; i < 10; i++ {
			v := float64(i) * base
			if v < min || v > max {
				continue
			}
			t := plot.Tick{Value: v}
			if i == 1 || i == 2 || i == 3 || i == 5 || max/min < 2 {
				t.Label = strconv.FormatFloat(v, 'g', -1, 64)
			}
			ticks = append(ticks, t)
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

// plainTicks are gonum's default ticks labelled without trailing zeros
// (250, not 250.00).
type plainTicks struct{}

func (plainTicks) Ticks(min, max float64) []plot.Tick {
	ticks := plot.DefaultTicks{}.Ticks(min, max)
	for i, t := range ticks {
		if t.Label != "" {
			ticks[i].Label = strconv.FormatFloat(t.Value, 'g', -1, 64)
		}
	}
	return ticks
}
