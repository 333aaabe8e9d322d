// Package train is the module's one training loop, in the shape of gonum's
// optimize.Minimize: a problem (Objective: parameters, and a loss with its
// gradient estimated afresh at every step), Settings whose zero values are
// sensible, a Recorder that sees every step, and a Result.
//
// Trainer minimises the objective with Adam (package optim) on a
// learning-rate schedule. A step whose loss or gradient is not finite is
// rejected: the parameters and the optimiser go back to their state before
// the previous update, which is taken again at half the learning rate, and
// training gives up after MaxRejected consecutive rejections. Run stops at
// the step count, at Settings.Duration, or when its context is done (a
// signal caught by the caller), in every case with a checkpoint when
// Settings.CheckpointEvery is set, so that a killed run loses at most that
// many steps. Checkpoint and Restore save and load the whole state —
// parameters, Adam's moments and step, the learning-rate scale and, for a
// Stateful objective, its random streams — as an .npz archive that NumPy
// reads (numpy.load), so a resumed run continues bit for bit. The
// parameters of an objective that names them (flow.ParamLayouter) are
// stored as named arrays of their shapes, "params/block3/shallow/A";
// Restore also reads the one flat array "params" of older checkpoints.
//
// # A schedule fitted to the time budget
//
// The learning-rate schedule (optim.Schedule, decaying over Steps) and
// whatever else follows the step count (vmc's anneal) assume that the run
// does all its steps; a run cut by Duration stops with its rate still high.
// With Settings.FitToDuration, Run fits the number of steps to the budget
// before the first step of the process, and checks the fit once more
// after a twentieth of the budget, or a minute if that is later:
//
//  1. it evaluates the objective FitProbeSteps = 3 times at the current
//     step without updating anything, the first to warm up and the other
//     two timed, and restores the objective's state (Stateful) afterwards;
//     with checkpoints, it adds the time of writing one divided by
//     CheckpointEvery;
//  2. it plans done + ⌊FitMargin·remaining/t_step⌋ steps in all
//     (PlanSteps, FitMargin = 0.9), at most Steps: the plan replaces Steps
//     in the loop, in a Schedule whose Total is Steps, and in the anneal
//     (Trainer.PlannedSteps, Trainer.Schedule); a warm-up longer than a
//     quarter of a shortened plan is cut to that quarter
//     (MaxWarmupFraction);
//  3. it writes a checkpoint, which holds the plan and the Steps it was
//     fitted from;
//  4. after RefitFraction = 5 % of the budget, or RefitMinimum = 1 minute
//     if that is later, it times the steps that ended in the second half
//     of that time, records, checkpoints and validations included; when
//     a step's time differs from the probe's by more than RefitTolerance
//     = 5 %, it plans again by the same rule from the steps done, and the
//     new plan replaces the first (Result.Refit), with a checkpoint; the
//     schedule and the anneal follow it from there.
//
// The probe is needed before the first step, because the schedule's first
// rates depend on the plan, but it can be fooled: on an Intel virtual
// machine the first ten batches of mnistflow's default took 0.5 s, the
// next rose to 3.5 s and fell to 0.9 s by the 45th, about 45 s into the
// process, and the rest took 1.0–1.25 s (subnormal floats of saturated
// units, since flushed: docs/performance.md); a plan from the probe would
// be cut by Duration with its rate still at half. The check, no earlier
// than a minute, sees the pace the run has settled to.
//
// Otherwise the plan is fixed, rather than followed by a progress measured
// in time at every step (progress = max(step/Steps, elapsed/Duration)),
// because that keeps a run reproducible: the probe leaves no trace, so a
// run whose plan stood is bit for bit the run of --iterations equal to its
// plan without the fit, which anyone can rerun on any machine; a resumed
// run keeps the plan of its checkpoint, whatever its own budget, neither
// fitted nor checked again, and continues bit for bit; only a resume with
// other Steps (more iterations) fits a new plan. A progress in time would
// end the decay exactly at the budget whatever the machine does, but every
// step's rate would depend on the wall clock, and no rerun, nor a resume,
// could reproduce it. A re-planned run is reproduced by its checkpoints
// (resumed bit for bit), not by a rerun of its flags. The price of the
// fixed plan is that a run whose steps slow down by more than the margin
// after the check (a machine shared with other jobs) is still cut by
// Duration before its decay ends, and one whose steps speed up ends early;
// and the probe costs three steps' evaluations. The fit is off unless
// asked for (model.Training's FitToTimeLimit, isingflow
// --fit-to-time-limit): its plan depends on the machine's speed, so a
// default run would not be the same run everywhere.
//
// The variational free energy of the Ising model (package vmc) and the
// likelihood of MNIST images (package mnist) are both trained by it.
package train
