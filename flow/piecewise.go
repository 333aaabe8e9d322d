package flow

import (
	"fmt"

	"gonum.org/v1/gonum/mat"
)

// TimeDependent is implemented by potentials that depend on the flow time
// piecewise constantly: φ(x, t) = φ_k(x) for t in the k-th of K equal
// intervals [kT/K, (k+1)T/K) of the flow time t ∈ [0, T], where t runs in
// the sampling direction (t = 0 at the latent z, t = T at the sample).
//
// The Potential methods evaluate the piece selected last by SetInterval.
// Flow's fixed-step scheme selects, before every RK4 step, the
// interval that step lies in (Flow.Validate requires K to divide Steps, so
// no step straddles two intervals): in the sampling direction steps
// 0 … Steps/K−1 use φ_0, and so on; the density direction visits the same
// steps in reverse order and so the pieces from φ_{K−1} down to φ_0.
// Gradient's adjoint pass selects the same piece for each step as its
// forward pass, and LogDetGap and RoundTripError do the same, so all of
// them work unchanged. A Flow with an Integrator integrates each interval
// in turn over the span T/K with it (so an RK4 with m steps takes m steps
// per interval, and Dopri5 restarts at every interval boundary, where the
// velocity jumps). An Integrator called directly integrates the selected
// piece as a time-independent potential.
//
// Piecewise constancy on whole steps is what keeps one integrator and one
// adjoint: every step is an ordinary RK4 step of an autonomous velocity
// field, and the discrete map is exactly the composition of K
// time-independent flows of Steps/K steps each.
type TimeDependent interface {
	Potential

	// Intervals returns the number K ≥ 1 of time intervals. It never
	// changes.
	Intervals() int

	// SetInterval selects the piece φ_k, 0 ≤ k < Intervals(), that the
	// Potential methods evaluate from now on.
	SetInterval(k int)
}

// Piecewise is the time-dependent potential φ(x, t) = φ_k(x) on the k-th
// of K equal intervals of the flow time, with K independent time-independent
// potentials, the blocks (see TimeDependent). The flow of a Piecewise with
// K blocks and Steps RK4 steps is the composition of the K flows of its
// blocks with Steps/K steps each; a Piecewise of K identical blocks is the
// flow of one of them.
//
// Its parameters are the blocks' parameters concatenated in order (block k
// occupies BlockParams(k)), held in one vector of the Piecewise's own. A
// block that is a ParamBinder (or a Wrapper of one) moves its parameters
// into that vector, as in Sum; any other block receives its part before
// every call that evaluates it (once per hold while the parameters are
// held). Write parameters through Piecewise.Params, not through the
// blocks. GradLaplacianVJP adds only into the part of dparams of the
// selected block.
type Piecewise struct {
	Blocks []Potential // φ_0, …, φ_{K−1}

	parts
	k int
}

// NewPiecewise returns the piecewise-constant-in-time potential of the
// blocks, one per time interval in the sampling direction, which must share
// one dimension and must not themselves be time dependent. Its parameters
// start as the blocks' current ones, and interval 0 is selected.
func NewPiecewise(blocks ...Potential) *Piecewise {
	if len(blocks) == 0 {
		panic("flow: NewPiecewise of no blocks")
	}
	for k, b := range blocks {
		if b == nil {
			panic(fmt.Sprintf("flow: NewPiecewise: block %d is nil", k))
		}
		if _, ok := b.(TimeDependent); ok {
			panic(fmt.Sprintf("flow: NewPiecewise: block %d is itself time dependent", k))
		}
		if b.Dim() != blocks[0].Dim() {
			panic(fmt.Sprintf("flow: NewPiecewise: block %d has dimension %d, block 0 has %d", k, b.Dim(), blocks[0].Dim()))
		}
	}
	return &Piecewise{Blocks: blocks, parts: newParts(blocks)}
}

// Dim returns the input dimension N.
func (p *Piecewise) Dim() int { return p.Blocks[0].Dim() }

// Params returns all parameters, block by block.
func (p *Piecewise) Params() []float64 { return p.params }

// BlockParams returns the part of Params that belongs to block k (a
// subslice: writing to it changes the potential).
func (p *Piecewise) BlockParams(k int) []float64 {
	p.checkInterval(k)
	return p.share(k)
}

// Intervals returns the number of blocks K.
func (p *Piecewise) Intervals() int { return len(p.Blocks) }

// SetInterval selects block k for the following calls. It panics if k is
// out of range.
func (p *Piecewise) SetInterval(k int) {
	p.checkInterval(k)
	p.k = k
}

// Interval returns the selected interval.
func (p *Piecewise) Interval() int { return p.k }

func (p *Piecewise) checkInterval(k int) {
	if k < 0 || k >= len(p.Blocks) {
		panic(fmt.Sprintf("flow: Piecewise: interval %d out of range [0, %d)", k, len(p.Blocks)))
	}
}

// active hands the selected block its parameters, unless it shares them
// or they are held, and returns it.
func (p *Piecewise) active() Potential {
	p.sync(p.k)
	return p.Blocks[p.k]
}

// MemoLen returns the longest memo of a block (see MemoPotential): each
// call uses the selected block's part of the memo.
func (p *Piecewise) MemoLen(B int) int {
	var n int
	for _, b := range p.Blocks {
		if mb, ok := b.(MemoPotential); ok {
			n = max(n, mb.MemoLen(B))
		}
	}
	return n
}

// GradLaplacianMemo is GradLaplacian of the selected block, writing its
// memo into the start of memo (nil: none).
func (p *Piecewise) GradLaplacianMemo(grad *mat.Dense, lap []float64, x *mat.Dense, memo []float64) {
	gradLaplacianWith(p.active(), grad, lap, x, memo)
}

// GradLaplacianVJPMemo is GradLaplacianVJP of the selected block with the
// memo GradLaplacianMemo wrote (nil: none).
func (p *Piecewise) GradLaplacianVJPMemo(dx *mat.Dense, dparams []float64, x, lambda *mat.Dense, mu []float64, memo []float64) {
	dp := p.blockDparams(dparams)
	gradLaplacianVJPWith(p.active(), dx, dp, x, lambda, mu, memo)
}

// blockDparams returns the selected block's part of dparams (nil for nil).
func (p *Piecewise) blockDparams(dparams []float64) []float64 {
	if dparams == nil {
		return nil
	}
	if len(dparams) != len(p.params) {
		panic(fmt.Sprintf("flow: Piecewise: len(dparams) = %d, want %d", len(dparams), len(p.params)))
	}
	return dparams[p.offs[p.k]:p.offs[p.k+1]]
}

// BindParams moves the parameters into q and binds the blocks to their
// parts of it (see ParamBinder).
func (p *Piecewise) BindParams(q []float64) { p.bind(q) }

// SetPrecision sets the precision of every block that has one (see
// PrecisionSetter).
func (p *Piecewise) SetPrecision(prec Precision) {
	for _, b := range p.Blocks {
		SetPrecision(b, prec)
	}
}

// HoldParams holds or releases the blocks' parameters, copying them into
// the blocks that do not share the Piecewise's storage first (see
// ParamHolder).
func (p *Piecewise) HoldParams(hold bool) { p.hold(hold) }

// Value writes φ_k(x_b) of the selected block k into dst[b].
func (p *Piecewise) Value(dst []float64, x *mat.Dense) {
	p.active().Value(dst, x)
}

// GradLaplacian writes the gradients and Laplacians of the selected block.
func (p *Piecewise) GradLaplacian(grad *mat.Dense, lap []float64, x *mat.Dense) {
	p.GradLaplacianMemo(grad, lap, x, nil)
}

// GradLaplacianVJP adds the vector-Jacobian products of the selected block;
// its parameter part goes into that block's part of dparams.
func (p *Piecewise) GradLaplacianVJP(dx *mat.Dense, dparams []float64, x, lambda *mat.Dense, mu []float64) {
	p.GradLaplacianVJPMemo(dx, dparams, x, lambda, mu, nil)
}
