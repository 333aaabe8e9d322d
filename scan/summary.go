package scan

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"

	"github.com/isingflow/isingflow/model"
	"github.com/isingflow/isingflow/vmc"
)

// RunSummary is a finished run directory in brief, for setting runs side
// by side: its configuration, how long it trained, its result and its
// training curve.
type RunSummary struct {
	Name   string          // the directory's base name
	Config model.RunConfig // its config.json
	Result *Result         // its result.json
	// Steps is one past the last accepted training step, and Seconds the
	// training time up to it, summed over the processes that trained the
	// run (model.TrainingClock).
	Steps   int
	Seconds float64
	Curve   []CurvePoint // KLCurve of the training log
}

// CurvePoint is the mean of the batch estimates of KL/site over a window
// of training steps, at the window's last step and its training time.
type CurvePoint struct {
	Step    int
	Seconds float64
	KL      float64
}

// KLCurve averages the batch estimates of KL/site of a training log over
// consecutive windows of window steps (rejected steps and steps whose
// KL/site is not known left out); an unfinished last window is dropped.
// The time of a point is the training time summed over the processes that
// wrote the log.
func KLCurve(recs []vmc.Record, window int) []CurvePoint {
	var curve []CurvePoint
	var sum float64
	var n int
	clock := model.TrainingClock(recs)
	for i, r := range recs {
		if r.Rejected || math.IsNaN(r.KLPerSite) {
			continue
		}
		sum += r.KLPerSite
		n++
		if n == window {
			curve = append(curve, CurvePoint{Step: r.Step, Seconds: clock[i], KL: sum / float64(n)})
			sum, n = 0, 0
		}
	}
	return curve
}

// Summarize reads the run directory dir — its config.json, result.json and
// training log — into a RunSummary whose curve averages windows of window
// steps. A directory that is no run wraps model.ErrNotRun, and one whose
// run has not finished its evaluation (no result.json) wraps
// os.ErrNotExist.
func Summarize(dir string, window int) (*RunSummary, error) {
	if window < 1 {
		return nil, fmt.Errorf("scan: window of %d steps, need at least 1", window)
	}
	s := &RunSummary{Name: filepath.Base(filepath.Clean(dir))}
	var err error
	if s.Config, err = model.ReadConfig(dir); err != nil {
		return nil, err
	}
	if s.Result, err = ReadResult(dir); errors.Is(err, os.ErrNotExist) {
		return nil, noResultError{dir}
	} else if err != nil {
		return nil, err
	}
	recs, err := model.ReadLog(dir)
	if err != nil {
		return nil, err
	}
	clock := model.TrainingClock(recs)
	for i, r := range recs {
		if !r.Rejected {
			s.Steps, s.Seconds = r.Step+1, clock[i]
		}
	}
	s.Curve = KLCurve(recs, window)
	return s, nil
}

// noResultError names a run directory without result.json.
type noResultError struct{ dir string }

func (e noResultError) Error() string {
	return fmt.Sprintf("%s has no %s (the run did not finish its evaluation)", e.dir, model.ResultFile)
}

func (e noResultError) Unwrap() error { return os.ErrNotExist }
