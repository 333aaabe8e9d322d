package mcstats

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestIntegratedAutocorrelationTimeEdgeCases(t *testing.T) {
	if tau, _, err := IntegratedAutocorrelationTime([][]float64{{3, 3, 3, 3}}); err != nil || tau != 0.5 {
		t.Errorf("constant series: τ = %v, err %v; want 0.5", tau, err)
	}
	for _, x := range [][][]float64{nil, {{1}}, {{1, 2, 3}, {1, 2}}, {{1, math.NaN(), 2, 3}}, {{1, 2}, {math.Inf(1), 0}}} {
		if _, _, err := IntegratedAutocorrelationTime(x); err == nil {
			t.Errorf("%v: no error", x)
		}
	}
	// A random walk has no finite τ_int: the window never closes.
	rng := rand.New(rand.NewPCG(1, 2))
	walk := make([]float64, 1000)
	for i := 1; i < len(walk); i++ {
		walk[i] = walk[i-1] + rng.NormFloat64()
	}
	if _, _, err := IntegratedAutocorrelationTime([][]float64{walk}); err == nil {
		t.Error("random walk: no error")
	}
}

func TestEstimateString(t *testing.T) {
	for _, tc := range []struct {
		e    Estimate
		want string
	}{
		{Estimate{0.71392, 0.00041}, "0.7139 ± 0.0004"},
		{Estimate{0.71392, 0.00014}, "0.71392 ± 0.00014"},
		{Estimate{-1.453064, 0.0023}, "-1.453 ± 0.002"},
		{Estimate{0.5, 0.00096}, "0.5000 ± 0.0010"},
		{Estimate{12.345, 1.6}, "12.3 ± 1.6"},
		{Estimate{4.1234, 0.02}, "4.12 ± 0.02"},
		{Estimate{12345, 340}, "12300 ± 300"},
		{Estimate{0.5, 0}, "0.5 ± 0"},
		{Estimate{0.5, math.NaN()}, "0.5 ± NaN"},
	} {
		if got := tc.e.String(); got != tc.want {
			t.Errorf("%#v: %q, want %q", tc.e, got, tc.want)
		}
	}
}

func TestDeviation(t *testing.T) {
	if d := (Estimate{1.5, 0.25}).Deviation(1); d != 2 {
		t.Errorf("deviation %v, want 2", d)
	}
	if d := (Estimate{1.5, 0}).Deviation(1); !math.IsNaN(d) {
		t.Errorf("deviation with zero error %v, want NaN", d)
	}
}
