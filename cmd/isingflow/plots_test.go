package main

import (
	"math"
	"strconv"
	"testing"
)

// TestExactTicks checks that every labelled tick's label is its value (the
// default labels of a narrow range round them: "-2.1" at -2.15).
func TestExactTicks(t *testing.T) {
	for _, r := range []struct{ lo, hi float64 }{
		{-2.157, -1.95}, // a training curve above the exact line
		{-2.1160, -2.1010},
		{0, 1},
		{1e3, 5e3},
	} {
		labelled := 0
		for _, tk := range (exactTicks{}).Ticks(r.lo, r.hi) {
			if tk.Label == "" {
				continue
			}
			labelled++
			v, err := strconv.ParseFloat(tk.Label, 64)
			if err != nil || math.Abs(v-tk.Value) > 1e-9*max(math.Abs(r.lo), math.Abs(r.hi)) {
				t.Errorf("[%g, %g]: label %q at %g", r.lo, r.hi, tk.Label, tk.Value)
			}
		}
		if labelled < 2 {
			t.Errorf("[%g, %g]: %d labelled ticks", r.lo, r.hi, labelled)
		}
	}
}
