// Package symmetry builds the symmetry groups of the Ising model on a
// lattice and potentials that are exactly invariant under them, so that the
// Monge-Ampère flow commutes with the group and its density is invariant,
// as the target is.
//
// # Groups
//
// A group element is a signed permutation of the N sites,
//
//	(g x)_i = σ_g x_{π_g(i)},   σ_g = ±1,   (gh)x = g(hx),
//
// an orthogonal map (gᵀ = g⁻¹). Translations (N of them on a periodic
// lattice, (T_t x)_r = x_{r+t}), the point group (the symmetries of the
// hypercube allowed by the shape: D4, 8 elements, on an L×L square; 2^d·d!
// on L^d; axis exchanges only between axes of equal length; about the
// centre on open lattices) and spin flip x → −x combine into the group of
// the nearest-neighbour Ising energy, T ⋊ P × {±1} (IsingGroup; 4096
// elements on the 16×16 torus). Every element maps bonds to bonds, so
// E(gs) = E(s).
//
// # Invariant potentials
//
// For any potential φ the group average φ_G(x) = (1/|G|) Σ_g φ(gx) is
// invariant, φ_G(gx) = φ_G(x); its gradient is equivariant,
// ∇φ_G(gx) = g ∇φ_G(x), and its Laplacian invariant. The velocity field of
// the flow then commutes with G, and so do the flow map and the density:
// flow(gz) = g flow(z), p(gx) = p(x). Average computes φ_G for any
// flow.Potential at |G| times its cost (the correctness oracle).
//
// For the single-hidden-layer potential Σ_j w_j ln cosh(a_j·x) the average
// over translations is a periodic cross-correlation of x with each kernel
// a_j followed by a sum over the lattice, the average over the point group
// ties each kernel to its |P| images, and spin flip is free because ln cosh
// is even. Conv computes this by FFT (or by direct sums for 3×3 kernels) in
// O(C·|P|·N log N) per sample for C channels, with all the derivatives the
// flow needs.
//
// Multiscale is an exactly invariant potential whose channels see the
// lattice at every scale with a number of parameters independent of its
// size: block spins of side 1, 2, 4, … on every site (all tilings at
// once), a D4-symmetric local kernel per channel dilated by the block
// side (one parameter per orbit of offsets), ln cosh, and a sum over all
// sites, evaluated by running sums and stencils in O(N) per channel
// (docs/multiscale.md).
//
// Random is the cheaper alternative of the paper's reference code: one
// random group element per sample per evaluation. The flow is then a
// random map and the density only approximately invariant.
//
// See DESIGN.md §4 and L. Zhang, W. E, L. Wang, "Monge-Ampère Flow for
// Generative Modeling", arXiv:1809.10188 (2018).
package symmetry
