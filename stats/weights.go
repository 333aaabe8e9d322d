package stats

import (
	"errors"
	"fmt"
	"math"
)

// LogSumExp returns ln Σ exp(a_k) without overflow; −Inf for an empty slice.
func LogSumExp(a []float64) float64 {
	m := math.Inf(-1)
	for _, v := range a {
		m = math.Max(m, v)
	}
	if math.IsInf(m, 0) {
		return m
	}
	s := 0.0
	for _, v := range a {
		s += math.Exp(v - m)
	}
	return m + math.Log(s)
}

// LogMeanExp returns ln((1/M) Σ exp(a_k)), M = len(a).
func LogMeanExp(a []float64) float64 {
	return LogSumExp(a) - math.Log(float64(len(a)))
}

// EffectiveSampleSize returns the Kish effective sample size (Σw)²/Σw² of
// the weights w_k = exp(logw_k), between 1 and M = len(logw), computed with
// the weights scaled by the largest. It is NaN for no weights, for weights
// that are all zero, or when a log-weight is NaN or +Inf.
func EffectiveSampleSize(logw []float64) float64 {
	m := math.Inf(-1)
	for _, v := range logw {
		m = math.Max(m, v)
	}
	var s1, s2 float64
	for _, v := range logw {
		w := math.Exp(v - m)
		s1 += w
		s2 += w * w
	}
	return s1 * s1 / s2
}

// ESSFraction returns EffectiveSampleSize(logw)/M, the fraction of the M
// samples that count: 1 for equal weights, 1/M when one weight dominates.
func ESSFraction(logw []float64) float64 {
	return EffectiveSampleSize(logw) / float64(len(logw))
}

// Weighted holds M importance-weighted samples, w_k = exp(logw_k), for
// self-normalised estimates ⟨O⟩ = Σ w_k O_k / Σ w_k.
type Weighted struct {
	logw []float64
	norm []float64 // w_k / Σw, summing to one
}

// NewWeighted returns the weighted sample of the log-weights. It returns an
// error if there are fewer than two samples or a log-weight is NaN or +Inf
// (−Inf, a zero weight, is allowed, but not for every sample).
func NewWeighted(logw []float64) (*Weighted, error) {
	if len(logw) < 2 {
		return nil, fmt.Errorf("stats: need at least 2 samples, have %d", len(logw))
	}
	for k, v := range logw {
		if math.IsNaN(v) || math.IsInf(v, 1) {
			return nil, fmt.Errorf("stats: log-weight %d is %v", k, v)
		}
	}
	lse := LogSumExp(logw)
	if math.IsInf(lse, -1) {
		return nil, errors.New("stats: every weight is zero")
	}
	norm := make([]float64, len(logw))
	for k, v := range logw {
		norm[k] = math.Exp(v - lse)
	}
	return &Weighted{logw: append([]float64(nil), logw...), norm: norm}, nil
}

// Uniform returns M equally weighted samples, so that Weighted's estimators
// (Mean, Jackknife over contiguous blocks) serve plain Monte Carlo and, with
// blocks much longer than τ_int, binned Markov chains. It returns an error
// for M < 2.
func Uniform(m int) (*Weighted, error) {
	if m < 0 {
		m = 0
	}
	return NewWeighted(make([]float64, m))
}

// Len returns the number of samples M.
func (w *Weighted) Len() int { return len(w.logw) }

// ESS returns the effective sample size (Σw)²/Σw², as 1/Σŵ_k² of the
// normalised weights ŵ = w/Σw.
func (w *Weighted) ESS() float64 {
	s := 0.0
	for _, v := range w.norm {
		s += v * v
	}
	return 1 / s
}

// ESSFraction returns ESS/M, the fraction of the samples that count.
func (w *Weighted) ESSFraction() float64 { return w.ESS() / float64(len(w.norm)) }

// LogPartition returns ln((1/M) Σ w_k), the importance-sampling estimate of
// ln Z for weights w = q̃/p, with the delta-method standard error
// sd(w)/(√M·mean(w)). The estimate of Z is unbiased; its logarithm is biased
// low by about Err²/2.
func (w *Weighted) LogPartition() Estimate {
	m := float64(len(w.norm))
	// w_k/mean(w) = M·norm_k, whose sample variance gives the error.
	v := 0.0
	for _, p := range w.norm {
		d := m*p - 1
		v += d * d
	}
	v /= m - 1
	return Estimate{Mean: LogMeanExp(w.logw), Err: math.Sqrt(v / m)}
}

// Mean returns the self-normalised average of values (one per sample) with
// its delta-method standard error √(Σ_k ŵ_k² (O_k − ⟨O⟩)²), ŵ = w/Σw. It
// panics if len(values) differs from M.
func (w *Weighted) Mean(values []float64) Estimate {
	w.check(values)
	mean := 0.0
	for k, p := range w.norm {
		mean += p * values[k]
	}
	v := 0.0
	for k, p := range w.norm {
		d := p * (values[k] - mean)
		v += d * d
	}
	return Estimate{Mean: mean, Err: math.Sqrt(v)}
}

func (w *Weighted) check(values []float64) {
	if len(values) != len(w.norm) {
		panic(fmt.Sprintf("stats: %d values for %d samples", len(values), len(w.norm)))
	}
}

// Jackknife estimates fn(⟨O_1⟩, …, ⟨O_n⟩), a smooth function of several
// self-normalised averages, with a jackknife error over the given number of
// contiguous blocks of samples (clamped to [2, M]; the samples must be
// independent, as draws from a flow are, or the blocks much longer than
// τ_int). columns[c][k] is O_c of sample k. The estimate is fn of the full
// averages, without bias correction. It panics if a column's length
// differs from M.
func (w *Weighted) Jackknife(blocks int, fn func(means []float64) float64, columns ...[]float64) Estimate {
	m := len(w.norm)
	blocks = max(2, min(blocks, m))
	for _, c := range columns {
		w.check(c)
	}
	n := len(columns)
	// Per-block sums of w and w·O_c.
	bw := make([]float64, blocks)
	bo := make([]float64, blocks*n)
	for k, p := range w.norm {
		b := k * blocks / m
		bw[b] += p
		for c, col := range columns {
			bo[b*n+c] += p * col[k]
		}
	}
	totW := 0.0
	tot := make([]float64, n)
	for b := range blocks {
		totW += bw[b]
		for c := range n {
			tot[c] += bo[b*n+c]
		}
	}
	means := make([]float64, n)
	for c := range n {
		means[c] = tot[c] / totW
	}
	full := fn(means)
	theta := make([]float64, blocks)
	avg := 0.0
	for b := range blocks {
		rest := totW - bw[b]
		for c := range n {
			means[c] = (tot[c] - bo[b*n+c]) / rest
		}
		theta[b] = fn(means)
		avg += theta[b]
	}
	avg /= float64(blocks)
	v := 0.0
	for _, t := range theta {
		v += (t - avg) * (t - avg)
	}
	v *= float64(blocks-1) / float64(blocks)
	return Estimate{Mean: full, Err: math.Sqrt(v)}
}
