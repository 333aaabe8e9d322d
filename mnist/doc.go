// Package mnist reads the MNIST handwritten digits (LeCun et al. 1998) from
// the standard IDX files and prepares them for density estimation with the
// protocol of Masked Autoregressive Flow (MAF, Papamakarios, Pavlakou and
// Murray 2017), which the Monge-Ampère flow paper (Zhang, E and Wang,
// arXiv:1809.10188, Table 1) follows.
//
// # Files
//
// ReadImages and ReadLabels read IDX files, raw or gzip-compressed (detected
// by the gzip magic bytes, not the name): a big-endian magic number
// 0x00000803 (unsigned bytes, three dimensions N, rows, columns) or
// 0x00000801 (one dimension N), the dimensions as big-endian uint32, then the
// bytes. Anything else — a wrong magic number, impossible sizes, truncated or
// trailing data, corrupt compression — is a *FormatError naming the file,
// never a panic. Load reads the four standard files from a directory
// (Fashion-MNIST uses the same names and format); scripts/fetch-mnist.sh
// puts them in data/mnist.
//
// # Protocol
//
// Split: the first 50,000 images of the training file for training, its last
// 10,000 for validation, the 10,000 test images for testing. This is MAF's
// split (its mnist.pkl.gz, the deeplearning.net pickle, holds the training
// file in this order); the Monge-Ampère flow code instead draws a random
// 50,000/10,000 split (torch random_split). Only training and model
// selection see the difference; the test set is the same.
//
// Dequantisation and logit transform, per pixel p ∈ {0, …, 255}:
//
//	x = (p + u)/256,  u ~ U[0, 1)          (Dequantize)
//	y = logit(α + (1−2α)x),  α = 10⁻⁶      (Logit)
//
// as in MAF's datasets/mnist.py (x + rand/256 applied to the pickled
// p/256, then util.logit(α + (1−2α)x)) and in the Monge-Ampère flow code
// (utils/transform.py: logit((p + U)/256, α = 1e-6)). The flow models the
// density p_Y of y ∈ R^784.
//
// # What the reported numbers are
//
// The Monge-Ampère flow's 1255.5 ± 2.0 nats (Table 1, beside MADE 1380.8,
// Real NVP 1323.2 and MAF 1300.5, the values of MAF's Table 2) is the test
// negative log-likelihood in logit space, averaged over test images:
//
//	NLL = −(1/N) Σ_n ln p_Y(y_n)   in nats, no Jacobian of the logit, no 256.
//
// MAF's experiments.py evaluates model.eval on the logit-space data and
// prints the mean ± 2 standard errors; the Monge-Ampère flow's
// density_estimation.py logs model.nll of the same logit-space data and does
// not say what its ± is. Report one standard error and say so.
//
// To compare with results in bits per dimension, convert each test image
// through the logit Jacobian (LogitJacobian) and the dequantisation bound:
//
//	−ln p_X(x) = −ln p_Y(y) − ln|det ∂y/∂x|,  ln|det ∂y/∂x| = Σ_i ln((1−2α)/(s_i(1−s_i))),
//	bits/dim  = (−ln p_X(x) + D ln 256) / (D ln 2),  D = 784
//
// (PixelNLL, BitsPerDim), which is what MAF's evaluate_logprob with
// use_image_space=True adds (D ln(1−2α) − Σ ln(z(1−z)), z = σ(y)) before the
// conversion to 8-bit pixels. On the MNIST test set the mean logit Jacobian
// is 4620.1 ± 1.4 nats per image (one draw of the dequantisation noise), so
// logit-space nats and bits/dim are far apart: the paper's 1255.5 nats is
// 1.81 bits/dim, MAF's 1300.5 is 1.89. Both are averages of per-image
// quantities related by an affine map, so standard errors convert with it
// (compute bits/dim per image, then its mean and standard error).
//
// Samples of the flow go back to pictures with InverseLogit and Quantize
// (SampleImages; SampleImagesAt at a reduced temperature).
//
// An Evaluator integrates a flow over a set of images in batches, with
// dequantisation noise from a given stream, into per-image NLLs and logit
// Jacobians; Summarize averages them into a Summary (nats and bits/dim,
// each with its standard error), and PairedDifference compares two
// evaluations of the same images with the same noise (fixed-step RK4
// against an adaptive integrator, say) image by image.
//
// # Training
//
// Config is a run: the flow (NewFlow: a Shallow potential with bias,
// initialised from Config.Seed as PyTorch initialises the paper's, or
// Config.Blocks independent ones in time, a flow.Piecewise), Adam at a
// constant rate or on a cosine decay to Config.FinalLR of it (Schedule),
// and the batches. Create starts a run in a directory, Resume continues it
// from its last checkpoint, LoadCheckpoint reads any of its checkpoints
// for evaluation or sampling, and (*Run).Train trains it with the loop of
// package train. The objective is the mean negative log-likelihood of a
// batch of dequantised, logit-transformed training images
// (NegLogLikelihood), plus the flow's transport cost when Config.Kinetic
// is set; Adam's Config.WeightDecay is an L2 term in the gradient, as
// torch.optim.Adam's weight_decay in the paper's code
// (train.Settings.L2). A step whose loss or gradient is not finite is
// rolled back at half the learning rate (package train).
//
// An epoch is a pass over the training images in a random order drawn
// anew for it; a rejected step uses up its batch. After every epoch, every
// TrainOptions.ValidateEvery batches if asked, and when training stops at
// its last batch, the first Config.EvalImages
// validation images are evaluated with the same dequantisation noise every
// time, so that epochs compare. A run directory holds config.json,
// log.jsonl (one BatchRecord, RejectedRecord or EpochRecord per line),
// best.npz (the parameters of the lowest validation NLL) and last.npz,
// written after every epoch, every TrainOptions.CheckpointEvery steps and
// whenever training stops, also when its context is cancelled (a signal
// caught by the caller) or its time is up. A checkpoint holds, besides the
// parameters and Adam's state, the run's State and the random state from
// which the epoch's order was drawn, so a resumed run continues bit for
// bit (at the same GOMAXPROCS).
//
// A run can be given a time budget (TrainOptions.Duration) and, with
// TrainOptions.FitToDuration, fit its number of batches to it once, before
// its first batch, so that the decay of the learning rate ends within the
// budget (train.Settings.FitToDuration); the checkpoints hold the plan,
// which a resumed run follows.
//
// ReadHistory reads a run's curves back from its log (training NLL over
// windows of batches and every validation, against the training time), to
// compare runs (plots.CompareMNIST).
//
// References:
//   - G. Papamakarios, T. Pavlakou, I. Murray, "Masked Autoregressive Flow for
//     Density Estimation", NeurIPS 2017, arXiv:1705.07057; code
//     github.com/gpapamak/maf.
//   - L. Zhang, W. E, L. Wang, "Monge-Ampère Flow for Generative Modeling",
//     arXiv:1809.10188; code github.com/wangleiphy/MongeAmpereFlow.
//   - Y. LeCun, L. Bottou, Y. Bengio, P. Haffner, "Gradient-based learning
//     applied to document recognition", Proc. IEEE 86, 2278 (1998): MNIST and
//     the IDX format.
package mnist
