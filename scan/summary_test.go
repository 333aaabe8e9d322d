package scan_test

import (
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/isingflow/isingflow/model"
	"github.com/isingflow/isingflow/scan"
	"github.com/isingflow/isingflow/vmc"
)

// TestKLCurve checks the windows of the curve: rejected steps and unknown
// KL/site left out, the clock carried over a resumption, an unfinished
// window dropped.
func TestKLCurve(t *testing.T) {
	nan := math.NaN()
	recs := []vmc.Record{
		{Step: 0, KLPerSite: 4, Seconds: 1, ProcessStart: true},
		{Step: 1, KLPerSite: 99, Seconds: 2, Rejected: true},
		{Step: 1, KLPerSite: 2, Seconds: 3},
		{Step: 2, KLPerSite: nan, Seconds: 4},
		{Step: 3, KLPerSite: 1, Seconds: 0.5, ProcessStart: true}, // resumed
		{Step: 4, KLPerSite: 3, Seconds: 1.5},
		{Step: 5, KLPerSite: 7, Seconds: 2.5},
	}
	got := scan.KLCurve(recs, 2)
	want := []scan.CurvePoint{{Step: 1, Seconds: 3, KL: 3}, {Step: 4, Seconds: 5.5, KL: 2}}
	if len(got) != len(want) {
		t.Fatalf("curve %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("point %d: %+v, want %+v", i, got[i], want[i])
		}
	}
	if c := scan.KLCurve(recs, 10); len(c) != 0 {
		t.Errorf("a window longer than the log: %v", c)
	}
}

// TestSummarize summarises a tiny trained run, and the directories that are
// not finished runs.
func TestSummarize(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run")
	cfg := model.Config{L: 4, Dim: 2, T: 2.5, Delta: 0.1, Potential: model.PotentialDense, Hidden: 4, FlowSteps: 2, Epsilon: 0.1, InitSeed: 1}
	tc := model.DefaultTraining(&cfg)
	tc.Iterations, tc.Batch = 6, 16
	ev := scan.Evaluation{Samples: 100, Seed: 1}
	res, err := scan.Point(context.Background(), model.RunConfig{Model: cfg, Training: tc}, scan.Options{Dir: dir, Evaluation: ev})
	if err != nil {
		t.Fatal(err)
	}
	s, err := scan.Summarize(dir, 2)
	if err != nil {
		t.Fatal(err)
	}
	if s.Name != "run" || s.Steps != 6 || len(s.Curve) != 3 || s.Curve[2].Step != 5 || !(s.Seconds > 0) {
		t.Errorf("summary %+v", s)
	}
	if s.Config.Model.Hidden != 4 || s.Result.Estimates.KLPerSite.Mean != res.Estimates.KLPerSite.Mean {
		t.Errorf("config %+v, KL %v, want %v", s.Config.Model, s.Result.Estimates.KLPerSite, res.Estimates.KLPerSite)
	}

	if _, err := scan.Summarize(t.TempDir(), 2); !errors.Is(err, model.ErrNotRun) {
		t.Errorf("an empty directory: %v", err)
	}
	if err := os.Remove(filepath.Join(dir, model.ResultFile)); err != nil {
		t.Fatal(err)
	}
	if _, err := scan.Summarize(dir, 2); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("no result.json: %v", err)
	}
}
