package stats

import (
	"errors"
	"fmt"
	"math"

	mstats "github.com/montanaflynn/stats"
)

// sokalWindowFactor is c in Sokal's automatic windowing: the summation
// window M of the integrated autocorrelation time is the smallest with
// M ≥ c·τ_int(M).
const sokalWindowFactor = 6

// IntegratedAutocorrelationTime returns the integrated autocorrelation time
//
//	τ_int = ½ + Σ_{t=1}^{M} ρ(t)
//
// of one or more equally long chains of a stationary time series, in units
// of the spacing of the series, with Sokal's automatic window: M is the
// smallest lag with M ≥ 6·τ_int(M). The normalised autocorrelation
// ρ(t) = C(t)/C(0) is averaged over the chains about their pooled mean.
// With this convention the variance of the mean of n measurements is
// 2τ_int·Var(x)/n; for an AR(1) series with lag-one correlation ρ,
// τ_int = (1+ρ)/(2(1−ρ)). The statistical error of τ_int is about
// τ_int·√(2(2M+1)/n), n the number of measurements per chain.
//
// A constant series has τ_int = ½; fewer than two values per chain, chains
// of different lengths, or a series holding NaN or ±Inf are an error
// (τ = NaN). If no window satisfies the condition before M reaches a
// quarter of the chain length, the series is too short: the estimate at
// that window (a lower bound, in practice) is returned with an error.
func IntegratedAutocorrelationTime(chains [][]float64) (tau float64, window int, err error) {
	if len(chains) == 0 || len(chains[0]) < 2 {
		return math.NaN(), 0, errors.New("stats: autocorrelation time: need at least one chain of two or more values")
	}
	n := len(chains[0])
	var pooled mstats.Float64Data = make([]float64, 0, n*len(chains))
	for c, x := range chains {
		if len(x) != n {
			return math.NaN(), 0, fmt.Errorf("stats: autocorrelation time: chain %d has %d values, chain 0 has %d", c, len(x), n)
		}
		pooled = append(pooled, x...)
	}
	mean, _ := mstats.Mean(pooled)
	cov := func(t int) float64 {
		s := 0.0
		for _, x := range chains {
			for i := 0; i+t < n; i++ {
				s += (x[i] - mean) * (x[i+t] - mean)
			}
		}
		return s / float64(len(chains)*(n-t))
	}
	c0 := cov(0)
	switch {
	case math.IsNaN(c0) || math.IsInf(c0, 0):
		return math.NaN(), 0, errors.New("stats: autocorrelation time: the series holds NaN or ±Inf")
	case !(c0 > 0):
		return 0.5, 0, nil
	}
	tau = 0.5
	maxWindow := n / 4
	for m := 1; m <= maxWindow; m++ {
		tau += cov(m) / c0
		if float64(m) >= sokalWindowFactor*tau {
			return tau, m, nil
		}
	}
	return tau, maxWindow, fmt.Errorf("stats: autocorrelation time: no self-consistent window up to lag %d (τ_int ≥ %.3g): chains of %d values are too short", maxWindow, tau, n)
}
