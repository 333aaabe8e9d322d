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
// The variational free energy of the Ising model (package vmc) and the
// likelihood of MNIST images (package mnist) are both trained by it.
package train
