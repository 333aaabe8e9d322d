package stats

import (
	"math"

	mstats "github.com/montanaflynn/stats"
)

// BinMeans appends to dst the means of consecutive bins of length b of x,
// using the last ⌊len(x)/b⌋·b values (the remainder at the start, the
// oldest measurements of a chain, is dropped), and returns dst. Bins much
// longer than the integrated autocorrelation time are nearly independent,
// which is what Jackknife needs. b must be at least 1.
func BinMeans(dst, x []float64, b int) []float64 {
	nb := len(x) / b
	x = x[len(x)-nb*b:]
	for k := 0; k < nb; k++ {
		s := 0.0
		for _, v := range x[k*b : (k+1)*b] {
			s += v
		}
		dst = append(dst, s/float64(b))
	}
	return dst
}

// Jackknife estimates f of the means of several primary quantities from
// their bin averages: bins[q][k] is the average of quantity q over bin k,
// all bins of equal length and approximately independent (BinMeans). It
// returns the bias-corrected jackknife estimate B·f(x̄) − (B−1)·mean_k f(x̄₋ₖ)
// and the jackknife error √((B−1)/B · Σ_k (f(x̄₋ₖ) − mean f)²), where x̄₋ₖ
// are the means with bin k left out. For linear f this is the mean and the
// standard error of the bin averages. With a single bin the error is NaN.
// It panics if bins is empty.
func Jackknife(bins [][]float64, f func(means []float64) float64) Estimate {
	nq := len(bins)
	nb := len(bins[0])
	sum := make([]float64, nq)
	for q, b := range bins {
		for _, v := range b {
			sum[q] += v
		}
	}
	means := make([]float64, nq)
	for q := range means {
		means[q] = sum[q] / float64(nb)
	}
	full := f(means)
	if nb < 2 {
		return Estimate{Mean: full, Err: math.NaN()}
	}
	var theta mstats.Float64Data = make([]float64, nb)
	for k := range theta {
		for q := range means {
			means[q] = (sum[q] - bins[q][k]) / float64(nb-1)
		}
		theta[k] = f(means)
	}
	tbar, _ := mstats.Mean(theta)
	v, _ := mstats.PopulationVariance(theta)
	b := float64(nb)
	return Estimate{
		Mean: b*full - (b-1)*tbar,
		Err:  math.Sqrt((b - 1) * v),
	}
}
