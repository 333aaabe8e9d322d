package main

import (
	"path/filepath"

	"github.com/isingflow/isingflow/model"
	"github.com/isingflow/isingflow/plots"
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
	recs, err := model.ReadLog(dir)
	if err != nil {
		return err
	}
	fig, err := plots.Training(recs, res)
	if err := save(fig, err, filepath.Join(dir, trainingPlotFile)); err != nil {
		return err
	}
	fig, err = plots.LogWeights(res.Estimates)
	return save(fig, err, filepath.Join(dir, logWeightPlotFile))
}

// save writes the figure that a function of package plots returned, if it
// returned one, or returns its error.
func save(fig *plots.Figure, err error, path string) error {
	if err != nil || fig == nil {
		return err
	}
	return fig.SavePNG(path)
}
