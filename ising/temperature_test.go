package ising

import (
	"math"
	"strings"
	"testing"

	"github.com/isingflow/isingflow/lattice"
)

// TestCheckTemperature checks the smallest temperatures: β·2dN must not
// overflow (with its square), and the relaxation must keep its shift δ;
// NewRelaxation refuses what CheckTemperature refuses and builds a
// relaxation with finite constants at the smallest temperature it takes.
func TestCheckTemperature(t *testing.T) {
	lat, err := lattice.NewHypercubic(2, 4, lattice.Periodic)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		T     float64
		delta float64
		want  string // "" for no error
	}{
		{1, DefaultDelta, ""},
		{1e-9, DefaultDelta, ""},
		{1e-140, 0, ""},
		{1e-20, 0, ""},
		{1e-20, DefaultDelta, "too small for the relaxation's shift δ = 0.1"},
		{1e-200, 0, "too small: β = 1/T = 1e+200 times the energies of 16 sites overflows float64 (need T ≥ 6.4e-149)"},
		{1e-320, 0, "too small: β = 1/T = +Inf"},
		{0, 0, "need a positive, finite temperature"},
		{math.Inf(1), 0, "need a positive, finite temperature"},
		{math.NaN(), DefaultDelta, "need a positive, finite temperature"},
	} {
		err := CheckTemperature(tc.T, lat.Dim(), int64(lat.N()), tc.delta)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("T = %g, δ = %g: %v", tc.T, tc.delta, err)
		case tc.want != "" && (err == nil || !strings.HasPrefix(err.Error(), tc.want)):
			t.Errorf("T = %g, δ = %g: %v, want %q", tc.T, tc.delta, err, tc.want)
		}
	}

	Tmin := MinRelaxationTemperature(lat.Dim(), int64(lat.N()), DefaultDelta)
	r, err := NewRelaxation(lat, Tmin, DefaultDelta)
	if err != nil {
		t.Fatalf("T = %g: %v", Tmin, err)
	}
	if c := r.Constant(); math.IsInf(c, 0) || math.IsNaN(c) {
		t.Errorf("T = %g: constant %v", Tmin, c)
	}
	for _, T := range []float64{Tmin / 2, 1e-320} {
		if _, err := NewRelaxation(lat, T, DefaultDelta); err == nil || !strings.Contains(err.Error(), "too small") {
			t.Errorf("NewRelaxation at T = %g: %v, want too small", T, err)
		}
	}
}
