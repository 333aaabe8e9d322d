// Package model is the Ising flow that isingflow trains, as a library: its
// configuration (Config, every choice of the command's model flags as a
// field, stored as JSON in every run directory and checkpoint), the tuned
// defaults (Default, DefaultTraining; see docs/multiscale.md and
// docs/ablation.md), the construction of the lattice, the relaxed target
// and the flow with its initial parameters (Config.Build), and its trainer
// (Model.NewTrainer).
//
// A run directory holds a run: config.json (RunConfig), checkpoint.npz,
// the training log train.jsonl (one vmc.Record per step, read by ReadLog)
// and the caller's result.json. Create makes one, Resume continues one,
// Run.Train trains it with its log and checkpoints, and Load reads a
// finished or interrupted one back with its trained parameters.
//
// The default model is the exactly symmetric multiscale potential
// (symmetry.Multiscale: translations × point group × spin flip, block
// spins of every scale, parameters independent of L; docs/multiscale.md)
// with a learnable translation-invariant quadratic part in its spectral
// basis and ten independent potentials for successive stretches of the
// flow time. Config.Potential chooses the others: the paper's dense
// potential φ(x) = Σ_j w_j ln cosh(a_j·x) (Zhang, E & Wang,
// arXiv:1809.10188) with rows that start as block spins at every scale
// (InitMultiscale), the tuned model of docs/ablation.md; the exactly
// invariant symmetric potential (symmetry.Conv); and the reference code's
// random group element. DefaultTraining returns the training settings
// tuned for each.
package model
