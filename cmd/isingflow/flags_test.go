package main

import (
	"testing"

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
