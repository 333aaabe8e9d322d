package main

import (
	"fmt"
	"math"
	"path/filepath"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"

	"github.com/isingflow/isingflow/model"
	"github.com/isingflow/isingflow/scan"
)

// Plot files of a run directory.
const (
	trainingPlotFile  = "training.png"
	logWeightPlotFile = "logweights.png"
)

// writePlots draws the training curve with the exact line and the
// histogram of the evaluation's log-weights into the run directory.
func writePlots(dir string, res *scan.Result) error {
	ref, est := res.Exact, res.Estimates
	recs, err := model.ReadLog(dir)
	if err != nil {
		return err
	}
	p := plot.New()
	p.Title.Text = fmt.Sprintf("%s, T = %.4g: variational free energy per site", ref.Lattice, res.Config.T)
	p.X.Label.Text = "training step"
	p.Y.Label.Text = "f_var (batch estimate)"
	var pts plotter.XYs
	for _, r := range recs {
		if !r.Rejected && !math.IsNaN(r.VariationalFreeEnergyPerSite) {
			pts = append(pts, plotter.XY{X: float64(r.Step), Y: r.VariationalFreeEnergyPerSite})
		}
	}
	if len(pts) > 0 {
		line, err := plotter.NewLine(pts)
		if err != nil {
			return err
		}
		p.Add(line)
		p.Legend.Add("flow", line)
		if ref.FreeEnergyPerSite != nil {
			exact := plotter.NewFunction(func(float64) float64 { return *ref.FreeEnergyPerSite })
			exact.Dashes = []vg.Length{vg.Points(4), vg.Points(2)}
			exact.Width = vg.Points(1.5)
			p.Add(exact)
			p.Legend.Add(fmt.Sprintf("exact %.6f", *ref.FreeEnergyPerSite), exact)
			lo := pts[len(pts)/10:]
			ymax := lo[0].Y
			for _, q := range lo {
				ymax = max(ymax, q.Y)
			}
			// Zoom on the converged part, with the exact line a tenth of
			// the range above the bottom.
			exactF := *ref.FreeEnergyPerSite
			ymax = max(ymax, exactF+1e-3*abs(exactF))
			p.Y.Min, p.Y.Max = exactF-(ymax-exactF)/9, ymax
			p.Y.Tick.Marker = exactTicks{}
		}
		p.Legend.Top = true
		if err := p.Save(16*vg.Centimeter, 10*vg.Centimeter, filepath.Join(dir, trainingPlotFile)); err != nil {
			return err
		}
	}
	if len(est.LogWeights) > 0 {
		h := plot.New()
		h.Title.Text = fmt.Sprintf("log importance weights, ESS/M = %.3g", est.ESSFraction)
		h.X.Label.Text = "ln w = ln q̃(x) − ln p(x)"
		h.Y.Label.Text = "samples"
		hist, err := plotter.NewHist(plotter.Values(est.LogWeights), 60)
		if err != nil {
			return err
		}
		h.Add(hist)
		h.X.Tick.Marker, h.Y.Tick.Marker = exactTicks{}, exactTicks{}
		if err := h.Save(16*vg.Centimeter, 10*vg.Centimeter, filepath.Join(dir, logWeightPlotFile)); err != nil {
			return err
		}
	}
	return nil
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}

// exactTicks are gonum/plot's default ticks labelled with as many decimals
// as their values need: the default labels of a narrow range round the
// values ("-2.1" for the tick at -2.15, "-2" for -2.05).
type exactTicks struct{}

// Ticks returns the marks between lo and hi.
func (exactTicks) Ticks(lo, hi float64) []plot.Tick {
	ticks := plot.DefaultTicks{}.Ticks(lo, hi)
	tol := 1e-9 * max(math.Abs(lo), math.Abs(hi))
	for prec := 0; prec <= 15; prec++ {
		ok := true
		for _, t := range ticks {
			if t.Label == "" {
				continue
			}
			v, _ := strconv.ParseFloat(strconv.FormatFloat(t.Value, 'f', prec, 64), 64)
			ok = ok && math.Abs(v-t.Value) <= tol
		}
		if ok {
			for i := range ticks {
				if ticks[i].Label != "" {
					ticks[i].Label = strconv.FormatFloat(ticks[i].Value, 'f', prec, 64)
				}
			}
			break
		}
	}
	return ticks
}
