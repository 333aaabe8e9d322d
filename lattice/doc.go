// Package lattice describes the geometry of the Ising model: hypercubic
// lattices L_1 × … × L_d in d dimensions with periodic or open boundaries,
// their sites (row-major index, the last coordinate varying fastest), the
// nearest-neighbour bonds, the adjacency matrix A, and the coupling matrix
// K = βJA that enters the Boltzmann weight exp(½ sᵀKs).
//
// On a periodic lattice A is a sum of circulant matrices, one per axis, so its
// eigenvectors are plane waves and its spectrum is known in closed form:
//
//	λ(k) = Σ_a 2 cos(2π k_a / L_a),  k_a = 0 … L_a−1.
//
// # Bonds on short periodic axes
//
// Each bond is listed once: site i is joined to its "forward" neighbour along
// every axis. On a periodic axis of length 2 the forward and backward
// neighbours are the same site, and this package keeps both bonds: the pair is
// joined twice (A_ij = 2), exactly as the torus is a multigraph there. This is
// the convention under which the closed-form spectrum above, the Kaufman
// partition function of a 2 × M torus and brute-force enumeration all agree.
// A periodic axis of length 1 would bond a site to itself and is rejected.
// On an open axis a site at the edge simply has no forward neighbour.
package lattice
