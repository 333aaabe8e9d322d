package scan

import (
	"github.com/isingflow/isingflow/internal/bytesize"
	"github.com/isingflow/isingflow/model"
	"github.com/isingflow/isingflow/observables"
)

// sampleBytes is the memory an evaluation keeps per importance sample or
// flow-MCMC proposal at its peak (observables.SampleIsing: the log-densities,
// the conditional moments, the weights and the columns of the estimates).
const sampleBytes = 160

// logDetBlock is the number of sites² of the samples flow.Flow.LogDetGap
// takes in one block (2²⁰: a block holds max(1, 2²⁰/N²) samples).
const logDetBlock = 1 << 20

// MemoryEstimate returns an estimate, in bytes, of the memory of a run of
// the model c trained with t (nil: a trained model only evaluated, as by
// "isingflow eval") and then evaluated with e: model.Config.MemoryEstimate
// with the flow's workspaces at the evaluation's batch, the samples the
// evaluation keeps, and the log-determinant check's Jacobians. It
// saturates at math.MaxInt64 instead of overflowing, so that a command can
// refuse a request too large for the machine before it allocates.
func (e *Evaluation) MemoryEstimate(c *model.Config, t *model.Training) int64 {
	batch := e.Batch
	if batch <= 0 {
		batch = observables.DefaultBatch
	}
	rows := int64(min(batch, max(e.Samples, e.MCMC)))
	var check int64
	if e.LogDetCheck > 0 {
		n := c.Sites()
		per := max(1, logDetBlock/max(bytesize.Mul(n, n), 1))  // samples per block
		jac := bytesize.Mul(min(per, int64(e.LogDetCheck)), n) // rows of a block's Jacobians
		rows = max(rows, jac)
		check = bytesize.Add(bytesize.Mul(6*8, jac, n), bytesize.Mul(int64(e.LogDetCheck), n, 8))
	}
	return bytesize.Add(c.MemoryEstimate(t, int(rows)),
		bytesize.Mul(int64(max(e.Samples, e.MCMC)), sampleBytes), check)
}
