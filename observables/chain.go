package observables

import (
	"errors"
	"math"

	"github.com/montanaflynn/stats"

	"github.com/isingflow/isingflow/internal/mcstats"
)

// IntegratedAutocorrelationTime returns τ_int = ½ + Σ_{t=1}^{W} ρ(t) of a
// time series, with the window W chosen by Sokal's rule W ≥ 6 τ_int(W), and
// that window. Independent samples have τ_int = ½; the variance of the mean
// of n samples is 2 τ_int σ²/n. A constant series returns ½; one with fewer
// than two values, or holding NaN or ±Inf, returns NaN. When no window
// closes before a quarter of the series (a chain too short for its
// correlations), the value at that window is returned: a lower bound.
func IntegratedAutocorrelationTime(series []float64) (tau float64, window int) {
	tau, window, _ = mcstats.IntegratedAutocorrelationTime([][]float64{series})
	return tau, window
}

// ChainMean returns the mean of a Markov-chain time series with the
// standard error √(2 τ_int Var/n) that accounts for autocorrelation, and
// τ_int itself.
func ChainMean(series []float64) (Estimate, float64, error) {
	n := len(series)
	if n < 2 {
		return Estimate{}, 0, errors.New("observables: need at least 2 samples in a chain")
	}
	mean, _ := stats.Mean(series)
	v, _ := stats.SampleVariance(series)
	tau, _ := IntegratedAutocorrelationTime(series)
	return Estimate{Mean: mean, Err: math.Sqrt(2 * tau * v / float64(n))}, tau, nil
}

// Uniform returns M equally weighted samples, so that Weighted's estimators
// (Mean, Jackknife over contiguous blocks) serve plain Monte Carlo and, with
// blocks much longer than τ_int, binned Markov chains.
func Uniform(m int) (*Weighted, error) {
	return NewWeighted(make([]float64, m))
}
