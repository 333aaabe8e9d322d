package stats

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestIntegratedAutocorrelationTimeEdgeCases(t *testing.T) {
	for _, tc := range []struct {
		name   string
		chains [][]float64
		tau    float64 // NaN: want NaN
		err    bool
	}{
		{"constant", [][]float64{{3, 3, 3, 3}}, 0.5, false},
		{"constant, two chains", [][]float64{{2, 2, 2}, {2, 2, 2}}, 0.5, false},
		{"no chains", nil, math.NaN(), true},
		{"empty chain", [][]float64{{}}, math.NaN(), true},
		{"one value", [][]float64{{1}}, math.NaN(), true},
		{"unequal chains", [][]float64{{1, 2, 3}, {1, 2}}, math.NaN(), true},
		{"NaN", [][]float64{{1, math.NaN(), 2, 3}}, math.NaN(), true},
		{"-Inf", [][]float64{{0, math.Inf(-1), 1}}, math.NaN(), true},
		{"+Inf", [][]float64{{1, 2}, {math.Inf(1), 0}}, math.NaN(), true},
	} {
		tau, _, err := IntegratedAutocorrelationTime(tc.chains)
		if (err != nil) != tc.err || math.IsNaN(tc.tau) != math.IsNaN(tau) || !math.IsNaN(tau) && tau != tc.tau {
			t.Errorf("%s: τ = %v, err %v; want %v, error %v", tc.name, tau, err, tc.tau, tc.err)
		}
	}
	// A random walk has no finite τ_int: the window never closes.
	rng := rand.New(rand.NewPCG(1, 2))
	walk := make([]float64, 1000)
	for i := 1; i < len(walk); i++ {
		walk[i] = walk[i-1] + rng.NormFloat64()
	}
	if tau, window, err := IntegratedAutocorrelationTime([][]float64{walk}); err == nil || window != len(walk)/4 || !(tau > 0.5) {
		t.Errorf("random walk: τ = %v, window %d, err %v; want a lower bound at window %d and an error", tau, window, err, len(walk)/4)
	}
}

// τ_int of AR(1) chains against (1+ρ)/(2(1−ρ)), and the binned jackknife
// error of their mean against the exact variance of the mean.
func TestIntegratedAutocorrelationTimeAR1(t *testing.T) {
	const (
		chains, n = 4, 200000
		binTaus   = 50 // bins of this many τ_int
	)
	for i, rho := range []float64{0, 0.5, 0.8, 0.9} {
		x := ar1(rho, chains, n, uint64(i+1))
		want := (1 + rho) / (2 * (1 - rho))
		tau, window, err := IntegratedAutocorrelationTime(x)
		if err != nil {
			t.Fatal(err)
		}
		// Madras–Sokal error of τ_int; the window cuts off
		// Σ_{t>W} ρ^t = ρ^{W+1}/(1−ρ), a bias.
		dtau := want * math.Sqrt(2*float64(2*window+1)/float64(chains*n))
		bias := math.Pow(rho, float64(window+1)) / (1 - rho)
		if math.Abs(tau-want) > 4*dtau+bias {
			t.Errorf("ρ = %v: τ_int = %.4f (window %d), want %.4f ± %.4f (+ cut-off %.2g)", rho, tau, window, want, dtau, bias)
		}

		// Binned jackknife error of the mean against the exact variance
		// of the mean of independent chains of length n:
		// Var(x̄_n) = (1/n)[1 + 2 Σ_{k≥1} (1 − k/n) ρ^k].
		b := int(math.Ceil(binTaus * want))
		var bins []float64
		for _, xc := range x {
			bins = BinMeans(bins, xc, b)
		}
		used := len(bins) / chains * b // values used per chain
		v := 1.0
		for k, rk := 1, rho; k < used && rk > 1e-300; k, rk = k+1, rk*rho {
			v += 2 * (1 - float64(k)/float64(used)) * rk
		}
		exactErr := math.Sqrt(v / float64(used) / chains)
		est := Jackknife([][]float64{bins}, func(m []float64) float64 { return m[0] })
		// Relative error of a standard error from B bins: 1/√(2(B−1)).
		rel := 1 / math.Sqrt(2*float64(len(bins)-1))
		if r := est.Err / exactErr; math.Abs(r-1) > 4*rel {
			t.Errorf("ρ = %v: binned error %.4g, exact %.4g (ratio %.3f, tolerance %.3f)", rho, est.Err, exactErr, r, 4*rel)
		}
		if math.Abs(est.Mean) > 4*exactErr {
			t.Errorf("ρ = %v: mean %v, want 0", rho, est)
		}
	}
}
