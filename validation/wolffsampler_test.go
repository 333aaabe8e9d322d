package validation

import (
	"fmt"
	"math"
	"testing"

	"github.com/isingflow/isingflow/lattice"
	"github.com/isingflow/isingflow/stats"
)

// TestWolffSamplerMatchesEnumeration checks the configurations of a
// WolffSampler: the means of E/N and |m| over them agree with enumeration
// within 4σ, σ from the integrated autocorrelation time of the series.
func TestWolffSamplerMatchesEnumeration(t *testing.T) {
	samples := 40000
	if testing.Short() {
		samples = 10000
	}
	for i, tc := range []struct {
		shape []int
		b     lattice.Boundary
		T     float64
	}{
		{[]int{4, 4}, lattice.Periodic, criticalT},
		{[]int{3, 3}, lattice.Open, 2.0},
		{[]int{3, 5}, lattice.Periodic, 3.0},
	} {
		lat, err := lattice.New(tc.shape, tc.b)
		if err != nil {
			t.Fatal(err)
		}
		exact, err := Enumerate(lat, tc.T)
		if err != nil {
			t.Fatal(err)
		}
		s, err := NewWolffSampler(lat, tc.T, 0, uint64(7+i))
		if err != nil {
			t.Fatal(err)
		}
		n := lat.N()
		spins := make([]float64, n)
		energy := make([]float64, samples)
		absM := make([]float64, samples)
		for k := range samples {
			s.Sample(spins)
			e, m := 0.0, 0.0
			for _, v := range spins {
				if v != 1 && v != -1 {
					t.Fatalf("spin %v", v)
				}
				m += v
			}
			for _, b := range lat.Bonds() {
				e -= spins[b.I] * spins[b.J]
			}
			energy[k], absM[k] = e/float64(n), math.Abs(m)/float64(n)
		}
		name := fmt.Sprintf("%v T=%.4g", lat, tc.T)
		for _, o := range []struct {
			name   string
			series []float64
			exact  float64
		}{
			{"E/N", energy, exact.EnergyPerSite},
			{"|m|", absM, exact.AbsMagnetization},
		} {
			mean, variance := 0.0, 0.0
			for _, v := range o.series {
				mean += v
			}
			mean /= float64(samples)
			for _, v := range o.series {
				variance += (v - mean) * (v - mean)
			}
			variance /= float64(samples - 1)
			tau, _, err := stats.IntegratedAutocorrelationTime([][]float64{o.series})
			if err != nil {
				t.Logf("%s %s: %v", name, o.name, err)
			}
			sigma := math.Sqrt(2 * tau * variance / float64(samples))
			if d := math.Abs(mean - o.exact); !(d <= 4*sigma) {
				t.Errorf("%s: mean %s %.5f ± %.5f, exact %.5f (%.1fσ)", name, o.name, mean, sigma, o.exact, d/sigma)
			}
			t.Logf("%s: %s %.5f ± %.5f (τ_int %.2f sweeps), exact %.5f", name, o.name, mean, sigma, tau, o.exact)
		}
	}
}

func TestWolffSamplerRejectsBadInput(t *testing.T) {
	lat, err := lattice.New([]int{4, 4}, lattice.Periodic)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		lat  *lattice.Lattice
		T    float64
		th   int
	}{
		{"nil lattice", nil, 2, 0},
		{"zero T", lat, 0, 0},
		{"NaN T", lat, math.NaN(), 0},
		{"infinite T", lat, math.Inf(1), 0},
		{"negative thermalisation", lat, 2, -1},
	} {
		if _, err := NewWolffSampler(tc.lat, tc.T, tc.th, 1); err == nil {
			t.Errorf("%s: no error", tc.name)
		}
	}
}

// TestWolffSamplerAbsMagnetizations checks that AbsMagnetizations gives |m|
// of the configurations that Sample would have drawn.
func TestWolffSamplerAbsMagnetizations(t *testing.T) {
	lat, err := lattice.NewHypercubic(2, 4, lattice.Periodic)
	if err != nil {
		t.Fatal(err)
	}
	a, err := NewWolffSampler(lat, criticalT, 0, 3)
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewWolffSampler(lat, criticalT, 0, 3)
	if err != nil {
		t.Fatal(err)
	}
	got := a.AbsMagnetizations(50)
	spins := make([]float64, lat.N())
	for k, m := range got {
		b.Sample(spins)
		sum := 0.0
		for _, v := range spins {
			sum += v
		}
		if want := math.Abs(sum) / float64(lat.N()); m != want {
			t.Fatalf("configuration %d: |m| = %v, want %v", k, m, want)
		}
	}
}
