package main

import (
	"fmt"
	"io"
	"math"
	"path/filepath"

	percentile "github.com/montanaflynn/stats"

	"github.com/isingflow/isingflow/internal/bytesize"
	"github.com/isingflow/isingflow/internal/cli"
	"github.com/isingflow/isingflow/model"
	"github.com/isingflow/isingflow/observables"
	"github.com/isingflow/isingflow/plots"
	"github.com/isingflow/isingflow/validation"
)

// samplesPrefix is the default name of the sample files in a run directory.
const samplesPrefix = "samples"

// maxSamplePNG is the largest number of configurations drawn in the PNG;
// the .npz file holds them all.
const maxSamplePNG = 400

func runSample(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("sample", stderr)
	dir := fs.String("run", "", "run directory written by \"isingflow train\" (required)")
	n := fs.IntP("n", "n", 16, "number of samples")
	seed := fs.Uint64("seed", 1, "seed of the samples x and of the spins s ~ p(s|x)")
	out := fs.String("out", "", "prefix of the output files PREFIX.png and PREFIX.npz (default: RUN/samples)")
	wolff := fs.Bool("wolff", false, "compare |m| with as many configurations of an exact Wolff chain (PREFIX_magnetization.png)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *dir == "" {
		return usagef("--run DIR is required")
	}
	if *n < 1 {
		return usagef("-n %d: need at least one sample", *n)
	}
	if *wolff && *n < observables.MinExactPerGroup {
		return usagef("-n %d: --wolff compares the distributions of |m| and needs at least %d samples", *n, observables.MinExactPerGroup)
	}
	// Refuse too many samples, or a run too large for the machine, before
	// loading (building) the run.
	if rc, err := model.ReadConfig(*dir); err == nil && rc.Model.Validate() == nil {
		if err := checkSamples(&rc.Model, *n); err != nil {
			return err
		}
	}
	run, err := loadRun(*dir)
	if err != nil {
		return err
	}
	m := run.Model
	if err := checkSamples(&m.Config, *n); err != nil {
		return err
	}
	prefix := *out
	if prefix == "" {
		prefix = filepath.Join(*dir, samplesPrefix)
	}

	m.Reseed(model.StreamSamples)
	s, err := observables.DrawSpins(m.Flow, m.Target, *n, *seed)
	if err != nil {
		return err
	}
	npzPath := prefix + ".npz"
	if err := s.WriteNPZ(npzPath); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%d samples of the %s lattice at T = %.6g: x, spins s ~ p(s|x), ln p, ln w in %s\n",
		*n, m.Lattice, m.Config.T, npzPath)
	if m.Lattice.Dim() != 2 {
		fmt.Fprintf(stdout, "no picture: the %d-dimensional lattice has no 2D image (the spins are in the .npz file)\n", m.Lattice.Dim())
	} else {
		pngPath := prefix + ".png"
		shown := min(*n, maxSamplePNG)
		img, err := plots.SpinGrid(m.Lattice, s.Spins[:shown*m.Lattice.N()])
		if err == nil {
			err = plots.SavePNG(pngPath, img)
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%d spin configurations (black: s = +1, white: s = −1) in %s\n", shown, pngPath)
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, w := range s.LogW {
		lo, hi = min(lo, w), max(hi, w)
	}
	flowAbs := s.AbsMagnetization()
	var mAbs float64
	for _, v := range flowAbs {
		mAbs += v
	}
	fmt.Fprintf(stdout, "ln w = ln q̃ − ln p in [%.4g, %.4g]; unweighted mean |m| of the drawn spins %.4f\n",
		lo, hi, mAbs/float64(*n))
	if !*wolff {
		return nil
	}
	chain, err := validation.NewWolffSampler(m.Lattice, m.Config.T, 0, *seed)
	if err != nil {
		return err
	}
	wolffAbs := chain.AbsMagnetizations(*n)
	if err := printMagnetizationPercentiles(stdout, flowAbs, wolffAbs); err != nil {
		return err
	}
	kl, groups, err := observables.MagnetizationKL(flowAbs, wolffAbs, m.Lattice.N())
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "KL(p‖q) of the distribution of |m| alone: %.3f ± %.3f nats (%d groups of values), %.5f per site: a lower bound on the flow's KL/site\n",
		kl.Mean, kl.Err, groups, kl.Mean/float64(m.Lattice.N()))
	plotPath := prefix + "_magnetization.png"
	fig, err := plots.Magnetization(m.Lattice, m.Config.T, flowAbs, wolffAbs)
	if err := save(fig, err, plotPath); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "histograms of |m| in %s\n", plotPath)
	return nil
}

// maxSampleSites bounds the sites of all the samples of one file (2²⁸:
// their fields x and spins take 2.4 GB).
const maxSampleSites = 1 << 28

// sampleBatch is the batch in which observables.DrawSpins draws.
const sampleBatch = 256

// checkSamples refuses n samples of the model c that are too many for one
// file (a usage error) or for the machine's memory.
func checkSamples(c *model.Config, n int) error {
	sites := c.Sites()
	if bytesize.Mul(int64(n), sites) > maxSampleSites {
		return usagef("-n %d: %d samples of %d sites are too many for one file (at most %d values)", n, n, sites, maxSampleSites)
	}
	// The fields and spins of every sample, and their copies as the
	// .npz file is written; a few values per sample.
	need := bytesize.Add(c.MemoryEstimate(nil, sampleBatch), bytesize.Mul(int64(n), sites, 2*(8+1)), bytesize.Mul(int64(n), 8*8))
	return cli.CheckMemory("drawing the samples", need)
}

// magnetizationPercentiles are the percentiles of |m| that sample --wolff
// prints for the flow and for the exact chain.
var magnetizationPercentiles = []float64{1, 10, 50, 90, 99}

// printMagnetizationPercentiles writes the percentiles of |m| of the flow's
// samples (unweighted) and of the exact chain's, one line each.
func printMagnetizationPercentiles(w io.Writer, flowAbs, wolffAbs []float64) error {
	fmt.Fprintf(w, "|m| percentiles")
	for _, p := range magnetizationPercentiles {
		fmt.Fprintf(w, " %8s", fmt.Sprintf("%g %%", p))
	}
	fmt.Fprintf(w, "      mean\n")
	for _, row := range []struct {
		name string
		v    []float64
	}{{"flow (unweighted)", flowAbs}, {"exact (Wolff)", wolffAbs}} {
		fmt.Fprintf(w, "%-17s", row.name)
		for _, p := range magnetizationPercentiles {
			q, err := percentile.Percentile(row.v, p)
			if err != nil {
				return err
			}
			fmt.Fprintf(w, " %8.4f", q)
		}
		mean, err := percentile.Mean(row.v)
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "  %8.4f\n", mean)
	}
	return nil
}
