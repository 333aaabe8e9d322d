// Package stats computes the Monte Carlo estimates of the project, each an
// Estimate (a mean and its standard error, printed as "-1.4531 ± 0.0004"):
// plain means of independent values, means of Markov chains with errors
// from the integrated autocorrelation time, binned jackknife estimates of
// smooth functions of several means, and self-normalised importance-sampled
// averages, log-partition functions and effective sample sizes from
// log-weights.
//
// For n values x_k with sample variance s², and importance weights
// w_k = exp(logw_k) normalised as ŵ = w/Σw:
//
//	independent values  x̄ ± √(s²/n)                                (MeanErr)
//	Markov chain        x̄ ± √(2τ_int·s²/n)                         (ChainMean)
//	τ_int               ½ + Σ_{t=1}^{M} ρ(t),  M ≥ 6τ_int(M)        (IntegratedAutocorrelationTime)
//	B bins              B·f(x̄) − (B−1)·f̄₋ ± √((B−1)/B · Σ_k (f(x̄₋ₖ) − f̄₋)²)  (Jackknife)
//	weighted average    ⟨O⟩ = Σ ŵ_k O_k ± √(Σ ŵ_k² (O_k − ⟨O⟩)²)   (Weighted.Mean)
//	log-partition       ln((1/n) Σ w_k) ± sd(w)/(√n·mean(w))        (Weighted.LogPartition)
//	Kish ESS            (Σw)²/Σw²                                   (EffectiveSampleSize)
//
// where ρ(t) is the normalised autocorrelation at lag t, M Sokal's
// automatic window, x̄₋ₖ the means with bin k left out and f̄₋ the average
// of f over them. Sums of exponentials are taken as log-sum-exp, so that
// log-weights of any size neither overflow nor underflow.
//
// References:
//
//   - A. D. Sokal, Monte Carlo methods in statistical mechanics:
//     foundations and new algorithms, Cargèse lectures (1996).
//   - N. Madras and A. D. Sokal, The pivot algorithm: a highly efficient
//     Monte Carlo method for the self-avoiding walk, J. Stat. Phys. 50, 109
//     (1988), appendix C (the error of τ_int).
//   - B. Efron and C. Stein, The jackknife estimate of variance, Ann. Stat.
//     9, 586 (1981).
//   - L. Kish, Survey Sampling, Wiley (1965) (the effective sample size).
//   - A. B. Owen, Monte Carlo theory, methods and examples (2013), ch. 9
//     (self-normalised importance sampling and its delta-method errors).
package stats
