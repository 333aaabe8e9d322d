// Package observables turns samples of a variational distribution into
// physical estimates with honest error bars.
//
// Samples x_k ~ p of the trained flow carry log importance weights
// ln w_k = ln q̃(x_k) − ln p(x_k) against the unnormalised target q̃. From
// them, with the estimators of package stats, the package computes
//
//   - the importance-sampled partition function ln Ẑ = ln((1/M) Σ w_k), by
//     log-sum-exp, with its delta-method error (stats.Weighted.LogPartition);
//   - the effective sample size ESS = (Σw)²/Σw² and a fitted Pareto tail of
//     the weights (ParetoTailShape), which say whether to trust them;
//   - self-normalised averages ⟨O⟩ = Σ w_k O_k / Σ w_k with delta-method
//     errors, and smooth functions of several averages (specific heat,
//     Binder cumulant, susceptibility) with jackknife errors over blocks
//     (stats.Weighted.Mean, stats.Weighted.Jackknife);
//   - flow-MCMC: independence Metropolis–Hastings with the flow as the
//     proposal, accepting x' with probability min(1, w(x')/w(x)), which is
//     asymptotically exact whatever the flow's quality
//     (IndependenceMetropolis), with errors from the integrated
//     autocorrelation time (stats.ChainMean).
//
// For the Ising relaxation the spins are independent given x, with
// ⟨s_i|x⟩ = t_i = tanh x_i, so every spin observable used here has an exact
// conditional expectation (Rao–Blackwellisation, ising.ConditionalMoments): the
// energy and its square from the bond list, the moments of the
// magnetisation from the cumulants of a sum of independent ±1 variables, and
// ⟨|M| | x⟩ from the exact (Poisson-binomial) distribution of M. No spins
// need to be drawn, and the estimates have the smallest variance that
// importance sampling in x allows.
//
// For the Ising relaxation, SampleIsing draws M samples of a trained flow (in
// batches, with separate seeded streams for importance samples and flow-MCMC
// proposals) and EstimateIsing turns them into IsingEstimates: the
// variational and importance-sampled free energies, KL per site, u, c,
// ⟨|m|⟩, ⟨m²⟩, ⟨m⁴⟩, the Binder cumulant and χ, each with its error, and
// warnings a user must see (low ESS, a heavy weight tail by the Pareto k̂ of
// ParetoTailShape, a stuck chain). EstimateChain analyses a flow-MCMC chain.
//
// Where the spins themselves are wanted (pictures, NumPy), DrawSpins draws
// samples of a flow with their log-weights and a spin configuration from
// p(s|x) for each (SpinSamples, written as .npz by WriteNPZ).
// MagnetizationKL compares the distribution of |m| of such spins with that
// of exact samples (validation.WolffSampler.AbsMagnetizations): its
// divergence is a lower bound on the flow's KL per sample.
//
// Every estimate is a stats.Estimate: a mean and the standard error of the
// mean, printed as "−1.4531 ± 0.0004".
package observables
