// Package vmc poses and solves the variational problem for the Ising model:
// a normalised model density p(x) on R^N (a Monge–Ampère flow, package
// flow) is fitted to the continuous relaxation of the Ising Boltzmann
// distribution (package ising), following Zhang, E & Wang, "Monge-Ampère
// Flow for Generative Modeling", arXiv:1809.10188 (2018).
//
// For a normalised p the variational free energy of the relaxation bounds
// the exact one, F_var(cont) = E_p[ln p − ln q̃] ≥ −ln Z_cont, and
// βf_var − βf = KL(p‖q)/N ≥ 0 per site (see package ising for the
// constants that turn it into the Ising free energy).
//
// FreeEnergy is the batch estimate of F_var(cont) as a flow.Loss, so
// flow.Flow.Gradient gives its exact reparametrised gradient through the
// discrete flow. Trainer minimises it in the one training loop of package
// train (Adam, a warm-up and cosine decay, rollback of non-finite steps,
// checkpoints that resume bit for bit), optionally annealing from a higher
// temperature (Anneal), mixing in exact samples (DataSource) and using the
// path gradient, and reports every step to a Recorder as a Record, one
// line of a run's JSONL log.
package vmc
