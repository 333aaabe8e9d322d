package main

import (
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"path/filepath"

	"github.com/isingflow/isingflow/mnist"
	"github.com/isingflow/isingflow/plots"
)

// maxSamples bounds -n.
const maxSamples = 1024

func runSample(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("sample", stderr)
	runDir := fs.String("run", "", "run directory written by mnistflow train")
	which := fs.String("checkpoint", "best", "which checkpoint: best (lowest validation NLL) or last")
	n := fs.IntP("n", "n", 64, "number of samples")
	seed := fs.Uint64("seed", 1, "seed of the latent samples z ~ N(0, T²I)")
	temperature := fs.Float64("temperature", 1, "standard deviation T of the latent z: 1 samples the model; below 1, typically cleaner, less varied images (Glow's reduced temperature)")
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
	case !(*temperature > 0) || math.IsInf(*temperature, 1):
		return usagef("--temperature %g: want a positive finite number", *temperature)
	}
	path, err := findCheckpoint(*runDir, *which)
	if err != nil {
		return err
	}
	if err := checkRunMemory(*runDir, *n, "sampling the run"); err != nil {
		return err
	}
	r, err := loadCheckpoint(path)
	if err != nil {
		return err
	}
	st := r.State()
	if *out == "" {
		*out = filepath.Join(*runDir, sampleFile)
	}
	if *curve == "" {
		*curve = filepath.Join(*runDir, curveFile)
	}
	c := &r.Config
	at := ""
	if *temperature != 1 {
		at = fmt.Sprintf(", temperature %g", *temperature)
	}
	fmt.Fprintf(stderr, "mnistflow sample: %d samples of %s (batch %d%s)\n", *n, path, st.Batch, at)
	im, err := mnist.SampleImagesAt(r.Flow, *n, c.Rows, c.Cols, *temperature, rand.New(rand.NewPCG(*seed, 0)))
	if err != nil {
		return err
	}
	grid := plots.ImageGrid(im, int(math.Ceil(math.Sqrt(float64(*n)))), *scale)
	if err := plots.SavePNG(*out, grid); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "samples  %s (%d images of %d×%d, batch %d%s)\n", *out, *n, c.Rows, c.Cols, st.Batch, at)
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
	if _, err := findCheckpoint(*runDir, "last"); err != nil {
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

// plotCurve draws the training curve of the run in runDir into a PNG.
func plotCurve(out, runDir string) error {
	recs, err := mnist.ReadLog(runDir)
	if err != nil {
		return usagef("%s", plain(err))
	}
	fig, err := plots.MNISTCurve(filepath.Base(filepath.Clean(runDir)), recs)
	if err != nil {
		return err
	}
	if fig == nil {
		return usagef("%s: the log holds no training or validation records yet", runDir)
	}
	return fig.SavePNG(out)
}
