package stats

import (
	"errors"
	"fmt"
	"math"
	"strconv"

	mstats "github.com/montanaflynn/stats"
)

// Estimate is a Monte Carlo estimate: a mean and its one-standard-deviation
// statistical error, and, for the mean of a Markov chain, the integrated
// autocorrelation time that entered the error.
//
// Only Mean and Err are part of the estimate's JSON form ({"mean": …,
// "err": …}); Tau is written only when it is set.
type Estimate struct {
	Mean float64 `json:"mean"` // best estimate
	Err  float64 `json:"err"`  // standard error of Mean
	// Tau is the integrated autocorrelation time τ_int of the series whose
	// mean this is, in units of its spacing, when the error accounts for
	// autocorrelation (ChainMean); zero otherwise.
	Tau float64 `json:"tau,omitempty"`
}

// Deviation returns (Mean − exact)/Err, the deviation from an exact value
// in units of the error bar (NaN when the error is zero).
func (e Estimate) Deviation(exact float64) float64 {
	if e.Err == 0 {
		return math.NaN()
	}
	return (e.Mean - exact) / e.Err
}

// String formats the estimate as "0.7139 ± 0.0004": the error is rounded to
// one significant digit (two when its leading digit is 1), and the mean to
// the same decimal place. A zero, infinite or NaN error prints the mean in
// full.
func (e Estimate) String() string {
	if e.Err == 0 || math.IsNaN(e.Err) || math.IsInf(e.Err, 0) || math.IsNaN(e.Mean) || math.IsInf(e.Mean, 0) {
		return strconv.FormatFloat(e.Mean, 'g', -1, 64) + " ± " + strconv.FormatFloat(math.Abs(e.Err), 'g', -1, 64)
	}
	err := math.Abs(e.Err)
	// The error keeps two significant digits when its leading digit is 1
	// (0.00096 counts as 0.0010), one otherwise.
	d := math.Floor(math.Log10(err))
	lead := err / math.Pow(10, d)
	if lead >= 9.5 {
		d, lead = d+1, 1
	}
	digits := 1.0
	if lead < 2 {
		digits = 2
	}
	last := d - digits + 1 // decimal exponent of the last digit shown
	if last >= 0 {
		// Round both to the error's last digit and print integers.
		q := math.Pow(10, last)
		return fmt.Sprintf("%.0f ± %.0f", math.Round(e.Mean/q)*q, math.Round(err/q)*q)
	}
	dec := int(-last)
	return fmt.Sprintf("%.*f ± %.*f", dec, e.Mean, dec, err)
}

// sumSquares returns the mean of x, summed in order and divided by n, and
// the sum of squared deviations from it (the second of two passes, so that
// a large common offset costs no precision).
func sumSquares(x []float64) (mean, ss float64) {
	for _, v := range x {
		mean += v
	}
	mean /= float64(len(x))
	for _, v := range x {
		ss += (v - mean) * (v - mean)
	}
	return mean, ss
}

// MeanErr returns the mean of independent values x with its standard error
// √(s²/n), s² the unbiased sample variance, computed in two passes. With
// fewer than two values the error is zero (no error bar: Deviation is NaN),
// and the mean of no values is NaN.
func MeanErr(x []float64) Estimate {
	n := len(x)
	if n == 0 {
		return Estimate{Mean: math.NaN()}
	}
	mean, ss := sumSquares(x)
	if n < 2 {
		return Estimate{Mean: mean}
	}
	return Estimate{Mean: mean, Err: math.Sqrt(ss / float64(n-1) / float64(n))}
}

// MeanSD returns the mean of x and its sample standard deviation
// s = √(Σ(x − x̄)²/(n − 1)), computed in two passes; the standard error of
// the mean of independent values is s/√n (MeanErr). s is NaN for fewer than
// two values, and both are NaN for none.
func MeanSD(x []float64) (mean, sd float64) {
	if len(x) == 0 {
		return math.NaN(), math.NaN()
	}
	mean, ss := sumSquares(x)
	return mean, math.Sqrt(ss / float64(len(x)-1))
}

// ChainMean returns the mean of a stationary Markov-chain time series with
// the standard error √(2τ_int·s²/n) that accounts for autocorrelation, s²
// the sample variance and τ_int the integrated autocorrelation time of the
// series (IntegratedAutocorrelationTime), which it also stores in Tau. When
// the series is too short for its autocorrelation window to close, τ_int
// and hence the error are lower bounds. It returns an error for fewer than
// two values.
func ChainMean(series []float64) (Estimate, error) {
	n := len(series)
	if n < 2 {
		return Estimate{}, errors.New("stats: need at least 2 samples in a chain")
	}
	mean, _ := mstats.Mean(series)
	v, _ := mstats.SampleVariance(series)
	tau, _, _ := IntegratedAutocorrelationTime([][]float64{series})
	return Estimate{Mean: mean, Err: math.Sqrt(2 * tau * v / float64(n)), Tau: tau}, nil
}
