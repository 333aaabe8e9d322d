// Package ising is the physics of the 2D (and d-dimensional) Ising model
// that the flows learn: the continuous Hubbard–Stratonovich relaxation of
// the Boltzmann distribution (Relaxation), the exact conditional law of the
// spins given the continuous field (ConditionalMoments), and fields drawn
// given spins (Relaxation.FieldGivenSpins), following Zhang, E & Wang,
// "Monge-Ampère Flow for Generative Modeling", arXiv:1809.10188 (2018).
//
// # The target: the Hubbard–Stratonovich relaxation
//
// The Ising model E(s) = −J Σ_bonds s_i s_j (J = 1, s_i = ±1) has the
// Boltzmann weight exp(½ sᵀKs) with K = βA, A the adjacency matrix of the
// lattice. Shifting K by α = δ − λ_min(K), so that K' = K + αI is positive
// definite with smallest eigenvalue δ > 0, the Gaussian identity
//
//	exp(½ sᵀK's) = [(2π)^N det K']^{−1/2} ∫ dx exp(−½ xᵀK'⁻¹x + sᵀx)
//
// turns the sum over spins into an integral over x ∈ R^N of the unnormalised
// density (Relaxation.LogDensity)
//
//	ln q̃(x) = −½ xᵀK'⁻¹x + Σ_i ln cosh x_i,
//	∇ln q̃(x) = −K'⁻¹x + tanh x,
//
// whose normalisation Z_cont = ∫ q̃ gives the Ising partition function exactly
// (Relaxation.Constant):
//
//	ln Z_Ising = ln Z_cont + c,   c = ½N(ln 4 − α − ln 2π) − ½ ln det K'.
//
// Given x the spins are independent with ⟨s_i | x⟩ = tanh x_i, and the
// marginal of s is the Ising distribution at temperature T whatever δ is.
// The paper takes δ = 0.1 (DefaultDelta).
//
// On a periodic lattice K' is diagonal in the plane-wave basis, with
// eigenvalues βλ(k) + α, λ(k) = Σ_a 2 cos(2πk_a/L_a) (lattice.AdjacencySpectrum),
// so ln det K' needs no matrix and K'⁻¹x is a d-dimensional FFT, a division
// and an inverse FFT, O(N log N) per sample. Small periodic lattices, where
// it is faster, and open lattices use a precomputed dense K'⁻¹ instead.
//
// # Free energies
//
// For a normalised model density p the variational free energy of the
// continuous problem bounds the exact one,
//
//	F_var(cont) = E_p[ln p(x) − ln q̃(x)] ≥ −ln Z_cont,
//
// and the corresponding Ising free energy per site, times β, is
// βf_var = (F_var(cont) − c)/N (Relaxation.BetaFreeEnergyPerSite), to be
// compared with the exact βf = −ln Z_Ising/N. Their difference is the
// Kullback–Leibler divergence KL(p‖q)/N ≥ 0 per site. For the 16×16
// periodic lattice at T_c with δ = 0.1, −ln Z_cont/N = −2.31592086.
//
// # Spins given the field
//
// Given x the spins are independent with ⟨s_i | x⟩ = tanh x_i, so every
// spin observable has an exact conditional expectation: the energy and its
// square from the bonds, the moments of the magnetisation from the
// cumulants of a sum of independent ±1 variables, and ⟨|m| | x⟩ from the
// exact distribution of Σs (ConditionalMoments). Estimators built on them
// (package observables) are Rao–Blackwellised: no spins are drawn.
package ising
