// Package plots draws the figures of isingflow and mnistflow from the
// library's types, with gonum/plot.
//
// Of an Ising run (package model, package scan):
//
//   - Training: the batch estimate of KL(p‖q)/N at every training step, from
//     the training log (model.ReadLog), on a logarithmic axis against the
//     step and the training time, with the annealed steps shaded and the
//     evaluation's KL/site of the run's result; steps far off the bulk (a
//     diverging run) are drawn on the axis's edges;
//   - LogWeights: the histogram of the evaluation's log importance weights;
//   - Magnetization: the histograms of |m| of the flow's samples and of an
//     exact Wolff chain's (observables.SpinSamples,
//     validation.WolffSampler);
//   - SpinGrid: spin configurations of a two-dimensional lattice as a grid
//     of black (+1) and white (−1) panels.
//
// Of several runs: CompareKL, KL/site against training time for the
// summaries of scan.Summarize; Scan, the four panels of a temperature scan
// (u, c, ⟨|m|⟩ and KL/site, on a logarithmic axis, against T, with the
// exact curves); and of the finite-size-scaling analysis of a plan
// (scan.FSS): Binder, U_L(T) of every size with error bands and the
// crossings; SpecificHeatMax, c_max(L) against ln L beside Kaufman's;
// ScaledMagnetization, ⟨|m|⟩·L^{1/8} against T; each with T_c.
//
// Of an MNIST run (package mnist): MNISTCurve, the training and validation
// negative log-likelihood against the batch, the validation with its
// error bars; ImageGrid, a grid of images (mnist.SampleImages) with grey
// separators.
//
// The plots come as a Figure, a *plot.Plot with its size that can be
// restyled before it is drawn (Figure.Image) or saved (Figure.SavePNG);
// the composite Scan and the pixel grids come as images. SavePNG writes
// any image atomically. Every axis is marked by Ticks: exact labels on a
// linear axis, 1-2-5 (or 1-2-3-5) labels on a logarithmic one, powers of
// ten only over more than three decades. Logarithmic axes hold the
// logarithms of the data on a linear scale (gonum/plot's LogScale pads the
// plot for the axis label as if it were linear), and legends go to the
// corner of the data area that the data leave free.
package plots
