package observables

import "github.com/isingflow/isingflow/stats"

// IntegratedAutocorrelationTime returns τ_int = ½ + Σ_{t=1}^{W} ρ(t) of a
// time series, with the window W chosen by Sokal's rule W ≥ 6 τ_int(W), and
// that window; NaN for fewer than two values or a series holding NaN or
// ±Inf, and a lower bound when no window closes before a quarter of the
// series.
//
// Deprecated: use stats.IntegratedAutocorrelationTime, which also takes
// several chains and reports why a window did not close.
func IntegratedAutocorrelationTime(series []float64) (tau float64, window int) {
	tau, window, _ = stats.IntegratedAutocorrelationTime([][]float64{series})
	return tau, window
}
