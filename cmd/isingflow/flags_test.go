package main

import (
	"io"
	"strings"
	"testing"

	"github.com/isingflow/isingflow/flow"
	"github.com/isingflow/isingflow/model"
)

// TestBlocksFlag checks --blocks: K = 1 is stored as 0 (absent from JSON,
// as in configurations written before the flag), and K < 1 is refused.
func TestBlocksFlag(t *testing.T) {
	var c model.Config
	f := blocksFlag{&c}
	if err := f.Set("3"); err != nil || c.Blocks != 3 || f.String() != "3" {
		t.Errorf("--blocks 3: Blocks = %d, String %q, error %v", c.Blocks, f.String(), err)
	}
	if err := f.Set("1"); err != nil || c.Blocks != 0 || f.String() != "1" {
		t.Errorf("--blocks 1: Blocks = %d, String %q, error %v", c.Blocks, f.String(), err)
	}
	for _, bad := range []string{"0", "-2", "x", "1.5"} {
		if err := f.Set(bad); err == nil {
			t.Errorf("--blocks %s accepted", bad)
		}
	}
}

func TestScaleFlag(t *testing.T) {
	var c model.Config
	f := scaleFlag{&c}
	if err := f.Set("10"); err != nil || c.QuadraticScale != 10 {
		t.Errorf("--quadratic-scale 10: %g, %v", c.QuadraticScale, err)
	}
	for _, bad := range []string{"0", "-2", "+Inf", "NaN", "x"} {
		if err := f.Set(bad); err == nil {
			t.Errorf("--quadratic-scale %s accepted", bad)
		}
	}
}

// TestTrainingDefaultsFollowThePotential checks that the training flags
// not given take model.DefaultTraining of the chosen potential — the
// multiscale default's lr 1e-2, float64 and steps fitted to the time
// limit, the dense model's 1700 steps at 1e-3 in float32 — that flags
// given win, and that a size flag of another potential is refused.
func TestTrainingDefaultsFollowThePotential(t *testing.T) {
	for _, tc := range []struct {
		args       []string
		iterations int
		lr         float64
		precision  flow.Precision
		fit        bool
		err        string
	}{
		{args: nil, iterations: 3000, lr: 1e-2, precision: flow.Float64, fit: true},
		{args: []string{"--potential", "dense"}, iterations: 1700, lr: 1e-3, precision: flow.Float32},
		{args: []string{"--potential", "random"}, iterations: 1700, lr: 1e-3, precision: flow.Float32},
		{args: []string{"--potential", "symmetric"}, iterations: 1700, lr: 1e-3, precision: flow.Float64},
		{args: []string{"--potential", "dense", "--lr", "3e-3", "--iterations", "50", "--fit-to-time-limit"},
			iterations: 50, lr: 3e-3, precision: flow.Float32, fit: true},
		{args: []string{"--lr", "1e-3", "--fit-to-time-limit=false"}, iterations: 3000, lr: 1e-3, precision: flow.Float64},
		{args: []string{"--hidden", "64"}, err: "--hidden: the multiscale potential has no hidden units"},
		{args: []string{"--potential", "symmetric", "--hidden", "64"}, err: "--hidden: the symmetric potential has no hidden units"},
		{args: []string{"--potential", "dense", "--channels", "2"}, err: "--channels: the dense potential has no channels"},
	} {
		fs := newFlagSet("train", io.Discard)
		var a trainArgs
		a.register(fs)
		if err := parseFlags(fs, tc.args); err != nil {
			t.Fatalf("%v: %v", tc.args, err)
		}
		err := a.settle(fs)
		switch {
		case tc.err != "":
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%v: error %v, want one saying %q", tc.args, err, tc.err)
			}
			continue
		case err != nil:
			t.Errorf("%v: %v", tc.args, err)
			continue
		}
		got := a.tc
		if got.Iterations != tc.iterations || got.LR != tc.lr || got.Precision != tc.precision || got.FitToTimeLimit != tc.fit {
			t.Errorf("%v: iterations %d, lr %g, %v, fitted %v; want %d, %g, %v, %v", tc.args,
				got.Iterations, got.LR, got.Precision, got.FitToTimeLimit, tc.iterations, tc.lr, tc.precision, tc.fit)
		}
	}
}
