// Package mcstats holds the statistics every Monte Carlo number in the
// project shares: the Estimate type (a mean and its standard error, printed
// as "0.7139 ± 0.0004") and the integrated autocorrelation time with
// Sokal's automatic window. The packages observables and validation
// re-export them; they live here so that neither has to import the other.
package mcstats

import (
	"errors"
	"fmt"
	"math"
	"strconv"

	"github.com/montanaflynn/stats"
)

// Estimate is a Monte Carlo estimate: a mean and its one-standard-deviation
// statistical error.
//
// Everything in this project that reports a Monte Carlo number reports an
// Estimate: observables and validation re-export it.
type Estimate struct {
	Mean float64 `json:"mean"` // best estimate
	Err  float64 `json:"err"`  // standard error of Mean
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
// smallest lag with M ≥ 6·τ_int(M) (A. D. Sokal, "Monte Carlo methods in
// statistical mechanics", Cargèse lectures 1996). The normalised
// autocorrelation ρ(t) = C(t)/C(0) is averaged over the chains about their
// pooled mean. With this convention the variance of the mean of n
// measurements is 2τ_int·Var(x)/n; for an AR(1) series with lag-one
// correlation ρ, τ_int = (1+ρ)/(2(1−ρ)). The statistical error of τ_int is
// about τ_int·√(2(2M+1)/n) (Madras & Sokal 1988), n the number of
// measurements per chain.
//
// A constant series has τ_int = ½; a series holding NaN or ±Inf is an
// error (τ = NaN). If no window satisfies the condition
// before M reaches a quarter of the chain length, the series is too short:
// the estimate at that window (a lower bound, in practice) is returned with
// an error.
func IntegratedAutocorrelationTime(chains [][]float64) (tau float64, window int, err error) {
	if len(chains) == 0 || len(chains[0]) < 2 {
		return math.NaN(), 0, errors.New("mcstats: autocorrelation time: need at least one chain of two or more values")
	}
	n := len(chains[0])
	var pooled stats.Float64Data = make([]float64, 0, n*len(chains))
	for c, x := range chains {
		if len(x) != n {
			return math.NaN(), 0, fmt.Errorf("mcstats: autocorrelation time: chain %d has %d values, chain 0 has %d", c, len(x), n)
		}
		pooled = append(pooled, x...)
	}
	mean, _ := stats.Mean(pooled)
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
		return math.NaN(), 0, errors.New("mcstats: autocorrelation time: the series holds NaN or ±Inf")
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
	return tau, maxWindow, fmt.Errorf("mcstats: autocorrelation time: no self-consistent window up to lag %d (τ_int ≥ %.3g): chains of %d values are too short", maxWindow, tau, n)
}
