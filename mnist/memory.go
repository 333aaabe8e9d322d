package mnist

import (
	"github.com/isingflow/isingflow/flow"
	"github.com/isingflow/isingflow/internal/bytesize"
)

// Sizes of MNIST, for a configuration whose image size is not set yet.
const (
	mnistImages = 70000
	mnistSide   = 28
)

// MemoryEstimate returns an estimate, in bytes, of the memory of a run of
// the configuration: MNIST's 70,000 images; the flow's
// parameters (of all its blocks) with the trainer's and Adam's copies; the
// workspaces of the blocks and the integrator on a
// training batch of Batch images, with the tape of its RK4 steps (as
// flow.Flow.TapeBytes counts it); and an evaluation in batches of
// evalBatch images (0: Batch), as the validation after every epoch or
// "mnistflow eval" makes. An image size of zero (Rows and Cols unset, as
// before Create reads the data) counts as MNIST's 28×28.
//
// The estimate comes from the configuration alone, without building
// anything, in arithmetic that saturates at math.MaxInt64 instead of
// overflowing, so that a command can refuse a request too large for the
// machine before it allocates; it is meant to be within a factor of two of
// the live heap (TestMemoryEstimate).
func (c *Config) MemoryEstimate(evalBatch int) int64 {
	rows, cols := int64(c.Rows), int64(c.Cols)
	if rows <= 0 || cols <= 0 {
		rows, cols = mnistSide, mnistSide
	}
	d := bytesize.Mul(rows, cols)
	H := int64(c.Hidden)
	K := int64(c.NumBlocks()) // every block has its parameters and workspaces
	B := int64(c.Batch)
	E := int64(evalBatch)
	if E <= 0 {
		E = B
	}
	W := max(B, E) // the potential's workspaces grow to the larger batch
	params := bytesize.Mul(K, H, bytesize.Add(d, 2))
	total := []int64{
		// The images and their labels.
		bytesize.Mul(mnistImages, bytesize.Add(d, 1)),
		// Parameters, gradient, three backups, Adam's two moments, the
		// flow's gradient, and the checkpoint's copy of three arrays.
		bytesize.Mul(11, params, 8),
		// The potential's workspaces and the integrators'.
		bytesize.Mul(W, bytesize.Add(bytesize.Mul(6, K, H), bytesize.Mul(12, d)), 8),
		// The tape of the training step and its adjoint workspaces.
		c.tapeBytes(d), bytesize.Mul(8, B, d, 8),
		// The evaluation's dequantised batch and per-image results.
		bytesize.Mul(2, E, d, 8),
		bytesize.Mul(int64(max(c.EvalImages, mnistImages)), 4*8),
	}
	if c.Precision == flow.Float32 {
		total = append(total, bytesize.Mul(2*4, K, H, d),
			bytesize.Mul(W, bytesize.Add(bytesize.Mul(2, K, H), bytesize.Mul(3, K, d)), 4))
	}
	return bytesize.Add(total...)
}

// tapeBytes returns the memory of the tape of a training step of images
// of d pixels as flow.Flow.TapeBytes counts it: the four stage inputs of
// every RK4 step with the memos of the hidden units.
func (c *Config) tapeBytes(d int64) int64 {
	return bytesize.Mul(4*8, int64(c.Steps), int64(c.Batch), bytesize.Add(d, int64(c.Hidden)))
}
