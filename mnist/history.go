package mnist

import (
	"fmt"
	"path/filepath"
)

// CurvePoint is one point of a training curve: the NLL (nats, logit space)
// after Batch batches and Seconds of training.
type CurvePoint struct {
	Batch   int
	Seconds float64 // training time up to the batch: the sum of the step times, validations left out
	NLL     float64
	Err     float64 // standard error of a validation over its images; 0 for the training curve
}

// History is a run's training curve, read from its log: what runs are
// compared by (mnistflow compare).
type History struct {
	Dir    string
	Name   string // the directory's base name
	Config Config
	// Batches is the last batch of the log, Seconds the sum of the logged
	// step times up to it (validations and rejected steps left out).
	Batches int
	Seconds float64
	// Train holds the means of the batch NLL over windows of accepted
	// batches, each at the window's last batch.
	Train []CurvePoint
	// Validation holds every finite validation, with its images.
	Validation []CurvePoint
	// ValidationImages is the number of images of the last validation.
	ValidationImages int
}

// ReadHistory reads the configuration and the log of the run in dir and
// returns its curves, the training NLL averaged over windows of window
// accepted batches (a last, shorter window included).
func ReadHistory(dir string, window int) (*History, error) {
	if window < 1 {
		return nil, fmt.Errorf("mnist: a window of %d batches: want at least 1", window)
	}
	cfg, err := ReadConfig(dir)
	if err != nil {
		return nil, err
	}
	recs, err := ReadLog(dir)
	if err != nil {
		return nil, err
	}
	h := &History{Dir: dir, Name: filepath.Base(filepath.Clean(dir)), Config: cfg}
	var sum float64
	var n, last int
	flush := func() {
		if n > 0 {
			h.Train = append(h.Train, CurvePoint{Batch: last, Seconds: h.Seconds, NLL: sum / float64(n)})
		}
		sum, n = 0, 0
	}
	for _, rec := range recs {
		switch rec := rec.(type) {
		case *BatchRecord:
			h.Batches, h.Seconds, last = rec.Batch, h.Seconds+rec.Seconds, rec.Batch
			if finite(rec.NLL) {
				sum += rec.NLL
				n++
			}
			if n == window {
				flush()
			}
		case *RejectedRecord:
			h.Batches = rec.Batch
		case *EpochRecord:
			if rec.ValNLL != nil {
				e := 0.0
				if rec.ValNLLErr != nil {
					e = *rec.ValNLLErr
				}
				h.Validation = append(h.Validation, CurvePoint{Batch: rec.Batch, Seconds: h.Seconds, NLL: *rec.ValNLL, Err: e})
				h.ValidationImages = rec.ValImages
			}
		}
	}
	flush()
	return h, nil
}
