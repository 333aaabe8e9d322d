// Package scan makes runs of the default Ising flow (package model) and
// reads them back: one temperature, chains of temperatures, grids of sizes
// × temperatures × seeds run as tasks by a batch scheduler with their
// finite-size scaling, and summaries of finished runs for comparing them.
//
// Point makes one run: it creates (or resumes) a run directory, trains the
// model, evaluates the trained flow (Evaluate: importance-weighted and,
// optionally, flow-MCMC estimates of package observables) and writes its
// Result, the run directory's result.json: the estimates beside the Exact
// values on the same lattice (Kaufman, enumeration, Onsager; package
// validation), how the run was trained, and its provenance. ReadResult
// reads it back. Ladder makes the same run after training the model on
// L/2^k, …, L/2 first, each for a quarter of the budget and each started
// from the flow of the one before (LadderSizes, LadderDir): the multiscale
// potential's parameters carry over across sizes, and the smaller lattices
// cost less per step (docs/multiscale.md).
//
// Chain trains a list of temperatures (ParseTemperatures: "2.0:3.0:0.1",
// "Tc,2.3:2.5:0.1"), each in its own run directory (RunDir) under the
// scan's, the first from its initialisation and each later one warm-started
// from the trained flow of the nearest temperature already done, with a
// fresh optimiser (WarmSettings); the results so far go to scan.json after
// every temperature.
//
// A Plan is a grid of lattice sizes × temperatures × seeds cut into Tasks
// (a chain of temperatures per size and seed, or one point each; NewPlan,
// CreatePlan and ReadPlan write and read a plan directory's plan.json)
// that a batch scheduler runs as independent processes: RunTask runs one,
// idempotent and resumable — complete points are skipped, interrupted ones
// resume from their checkpoints, a signal stops it with a checkpoint and
// ErrIncomplete. SlurmScript and ParallelCommand write the job-array
// script and the GNU parallel line; TaskIndexFromEnv reads the array
// index. Collect merges whatever has finished (WriteCSV, JSON) and lists
// the tasks that have not, and NewFSS is the finite-size-scaling analysis
// of the points: the seeds combined (Combine), the Binder crossings of
// successive sizes (BinderCrossing), the specific-heat maxima (FitPeak)
// beside Kaufman's (KaufmanMax), and ⟨|m|⟩·L^{1/8}.
//
// Summarize reads a finished run directory into a RunSummary — its
// configuration, result, training steps and time, and its training curve
// of KL/site against training time (KLCurve) — for setting runs side by
// side ("isingflow compare", docs/ablation.md).
package scan
