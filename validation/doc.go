// Package validation provides exact references for the square-lattice Ising
// model (J = 1, k_B = 1, K = βJ = 1/T), against which the variational and
// Monte Carlo estimates of the other packages are judged.
//
// Infinite lattice (Onsager 1944; Yang 1952 for the magnetisation), with
// k = 2 sinh 2K / cosh² 2K and K₁, E₁ the complete elliptic integrals of
// modulus k:
//
//	−βf_∞ = ln(2 cosh 2K) + (1/2π) ∫₀^π ln[½(1 + √(1 − k² sin²θ))] dθ
//	u_∞   = −coth 2K [1 + (2/π)(2 tanh² 2K − 1) K₁]
//	c_∞   = (4/π)(K coth 2K)² {K₁ − E₁ − sech² 2K [π/2 + (2 tanh² 2K − 1) K₁]}
//	m₀    = (1 − sinh⁻⁴ 2K)^{1/8} for T < T_c,  T_c = 2/ln(1+√2)
//
// At T_c, −βf_∞ = ln 2/2 + 2G/π (G Catalan's constant), u_∞ = −√2 and c_∞
// diverges logarithmically (see OnsagerLnZPerSite and friends).
//
// Finite periodic L×M lattice (Kaufman 1949; Ferdinand & Fisher 1969):
//
//	Z = ½ (2 sinh 2K)^{LM/2} Σ_{i=1}^{4} Z_i,
//	Z₁,₂ = Π_{r=0}^{L−1} 2 cosh, sinh(½Mγ_{2r+1}),  Z₃,₄ = Π_{r=0}^{L−1} 2 cosh, sinh(½Mγ_{2r}),
//	cosh γ_l = cosh 2K coth 2K − cos(πl/L),  γ₀ = 2K + ln tanh K,
//
// evaluated in logarithms with analytic K-derivatives for the energy and
// specific heat (see Kaufman).
//
// Any small lattice (N ≤ 24, any dimension and boundary): exact enumeration
// of the 2^N configurations into the joint density of states g(E, M), from
// which Enumerate and DensityOfStates.Thermal give ln Z, u, c, ⟨|m|⟩, ⟨m²⟩,
// ⟨m⁴⟩, the Binder cumulant U = 1 − ⟨m⁴⟩/(3⟨m²⟩²) and the susceptibility
// χ = βN(⟨m²⟩ − ⟨|m|⟩²), with m = Σ_i s_i / N.
//
// NewExact chooses among these for a lattice: Kaufman on a two-dimensional
// torus, enumeration on other small lattices (and for the moments of a small
// torus), Onsager's limit beside any two-dimensional lattice, and nothing
// where none applies; its Exact gives them at any temperature.
//
// Larger finite lattices, for ⟨|m|⟩ and the other spin observables that have
// no closed form: Wolff's cluster Monte Carlo (Wolff 1989), with error bars.
//
// Conventions follow package lattice: E = −J Σ_bonds s_i s_j, each bond once,
// and a periodic axis of length 2 joins its pair by two bonds.
//
// References:
//
//   - L. Onsager, Crystal statistics. I. A two-dimensional model with an
//     order-disorder transition, Phys. Rev. 65, 117 (1944).
//   - B. Kaufman, Crystal statistics. II. Partition function evaluated by
//     spinor analysis, Phys. Rev. 76, 1232 (1949).
//   - C. N. Yang, The spontaneous magnetization of a two-dimensional Ising
//     model, Phys. Rev. 85, 808 (1952).
//   - A. E. Ferdinand and M. E. Fisher, Bounded and inhomogeneous Ising
//     models. I. Specific-heat anomaly of a finite lattice, Phys. Rev. 185,
//     832 (1969).
//   - U. Wolff, Collective Monte Carlo updating for spin systems, Phys. Rev.
//     Lett. 62, 361 (1989).
//   - K. Huang, Statistical Mechanics, 2nd ed., Wiley (1987), ch. 15.
package validation
