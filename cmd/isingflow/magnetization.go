package main

import (
	"fmt"
	"image/color"
	"io"
	"math"

	percentile "github.com/montanaflynn/stats"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"

	"github.com/isingflow/isingflow/lattice"
	"github.com/isingflow/isingflow/stats"
	"github.com/isingflow/isingflow/validation"
)

// magnetizationPercentiles are the percentiles of |m| that sample --wolff
// prints for the flow and for the exact chain.
var magnetizationPercentiles = []float64{1, 10, 50, 90, 99}

// wolffAbsMagnetization returns |m| of n configurations of a Wolff chain on
// lat at temperature T (one sweep apart, after the default thermalisation):
// exact samples of the Ising model to set beside the flow's.
func wolffAbsMagnetization(lat *lattice.Lattice, T float64, n int, seed uint64) ([]float64, error) {
	chain, err := validation.NewWolffSampler(lat, T, 0, seed)
	if err != nil {
		return nil, err
	}
	conf := make([]float64, lat.N())
	out := make([]float64, n)
	for k := range out {
		chain.Sample(conf)
		sum := 0.0
		for _, v := range conf {
			sum += v
		}
		out[k] = math.Abs(sum) / float64(len(conf))
	}
	return out, nil
}

// absValues returns |v_k|.
func absValues(v []float64) []float64 {
	out := make([]float64, len(v))
	for k, x := range v {
		out[k] = math.Abs(x)
	}
	return out
}

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

// minExactPerGroup is the least number of exact samples a group of values
// of |m| holds in magnetizationKL, so that no group the flow visits has an
// empty (or nearly empty) exact frequency.
const minExactPerGroup = 5

// magnetizationKL estimates KL(p_|m| ‖ q_|m|), the divergence of the flow's
// distribution of |m| (samples flowAbs) from the exact one (samples
// wolffAbs of a chain), on N = sites sites. By the data-processing
// inequality it is a lower bound on the flow's KL(p‖q) per sample: the
// part of it that the magnetisation alone accounts for. The values of |m|
// (|Σs|/N, one of N+1) are grouped from |m| = 1 downwards so that each
// group holds at least minExactPerGroup exact samples, and the divergence
// of the group frequencies is returned with its delta-method standard
// error (the chain's samples counted as n/(2τ_int) independent ones) and
// the number of groups.
func magnetizationKL(flowAbs, wolffAbs []float64, sites int) (kl, klErr float64, groups int, err error) {
	if len(flowAbs) == 0 || len(wolffAbs) < minExactPerGroup {
		return 0, 0, 0, fmt.Errorf("magnetization KL: %d flow and %d exact samples, need at least 1 and %d",
			len(flowAbs), len(wolffAbs), minExactPerGroup)
	}
	index := func(m float64) int { return min(sites, max(0, int(math.Round(m*float64(sites))))) }
	pf := make([]float64, sites+1)
	pw := make([]float64, sites+1)
	for _, m := range flowAbs {
		pf[index(m)]++
	}
	for _, m := range wolffAbs {
		pw[index(m)]++
	}
	// Group from the top; an unfinished last group joins the one before.
	var f, w []float64
	var cf, cw float64
	for k := sites; k >= 0; k-- {
		cf += pf[k]
		cw += pw[k]
		if cw >= minExactPerGroup {
			f, w = append(f, cf), append(w, cw)
			cf, cw = 0, 0
		}
	}
	f[len(f)-1] += cf
	w[len(w)-1] += cw
	nf, nw := float64(len(flowAbs)), float64(len(wolffAbs))
	var mean, sq, ratio float64
	for g := range f {
		fg, wg := f[g]/nf, w[g]/nw
		ratio += fg * fg / wg
		if fg == 0 {
			continue
		}
		l := math.Log(fg / wg)
		kl += fg * l
		mean += fg * l
		sq += fg * l * l
	}
	tau, _, _ := stats.IntegratedAutocorrelationTime([][]float64{wolffAbs})
	varFlow := (sq - mean*mean) / nf
	varExact := (ratio - 1) / (nw / (2 * tau))
	return kl, math.Sqrt(max(0, varFlow) + max(0, varExact)), len(f), nil
}

// plotMagnetization draws the normalised histograms of |m| of the flow's
// samples and of the exact chain's into path. On N sites |m| takes the
// values 2k/N (N even) or (2k+1)/N, so each bin holds the same number of
// them (about 40 bins), which keeps the histograms free of aliasing.
func plotMagnetization(path, title string, sites int, flowAbs, wolffAbs []float64) error {
	p := plot.New()
	p.Title.Text = title
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
		{"exact (Wolff)", wolffAbs, color.RGBA{R: 40, G: 90, B: 200, A: 255}},
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
			return err
		}
		line.Color = h.c
		line.Width = vg.Points(1.5)
		p.Add(line)
		p.Legend.Add(h.name, line)
	}
	p.Legend.Top = true
	p.Legend.Left = true
	return p.Save(16*vg.Centimeter, 10*vg.Centimeter, path)
}
