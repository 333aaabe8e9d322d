package model

import (
	"runtime"

	"github.com/isingflow/isingflow/flow"
	"github.com/isingflow/isingflow/internal/bytesize"
	"github.com/isingflow/isingflow/ising"
	"github.com/isingflow/isingflow/lattice"
)

// Sizes of the estimate, in bytes.
const (
	f64  = 8
	f32  = 4
	word = 8
	// groupElementOverhead is the fixed cost of a group element besides
	// its site map (8 bytes a site) and its key in the group's index (4
	// bytes a site): the Element, the key's header, the map's slot.
	groupElementOverhead = 96
	// drawBytes is a remembered draw of the random potential: the map
	// entry from a row's hash to the element, and its FIFO slot.
	drawBytes = 64
	// randomMemory is symmetry.DefaultRandomMemory, the most draws a
	// random potential remembers.
	randomMemory = 1 << 20
)

// Sites returns the number of sites L^Dim of the configuration's lattice,
// saturated at math.MaxInt64 when it overflows.
func (c *Config) Sites() int64 { return lattice.HypercubicSites(c.Dim, c.L) }

// pointGroupOrder returns the order 2^d·d! of the symmetry group of the
// hypercube in d dimensions, the point group of the lattice.
func pointGroupOrder(d int) int64 {
	o := int64(1)
	for k := 1; k <= d; k++ {
		o = bytesize.Mul(o, 2*int64(k))
	}
	return o
}

// MemoryEstimate returns an estimate, in bytes, of the memory the model
// takes once built and used: the lattice, the relaxation, the flow's
// parameters with the trainer's and Adam's copies (which a loaded run
// carries too); the flow's workspaces on batches of batch samples (an
// evaluation's or a sampling's batch; 0 for none); and, when t is not
// nil, training with t: the workspaces of a step of t.Batch samples and
// the tape of its RK4 steps (as flow.Flow.TapeBytes counts it). The
// samples an evaluation keeps are not included
// (scan.Evaluation.MemoryEstimate adds them).
//
// The estimate comes from the configuration alone, without building
// anything, in arithmetic that saturates at math.MaxInt64 instead of
// overflowing, so that a command can refuse a request too large for the
// machine before it allocates. It counts the arrays that grow with the
// lattice, the parameters and the batch, and is meant to be within a
// factor of two of the live heap (TestMemoryEstimate); between garbage
// collections the Go runtime may hold up to twice the live heap. The
// configuration should be valid (Validate); negative sizes count as zero.
func (c *Config) MemoryEstimate(t *Training, batch int) int64 {
	n := c.Sites()
	d := int64(max(c.Dim, 1))
	K := int64(c.NumBlocks())
	H := int64(c.Hidden)
	B := int64(max(batch, 0))
	var train *Training
	if t != nil {
		train = t
		B = max(B, int64(t.Batch))
	}
	// Float32 products keep float32 copies of the matrix and operands of
	// every block from the first training step on.
	single := train != nil && train.Precision == flow.Float32 && c.Potential != PotentialSymmetric

	var total []int64
	add := func(terms ...int64) { total = append(total, terms...) }

	// The lattice, the relaxation, the conditional moments.
	add(ising.RelaxationMemory(c.Dim, c.L, c.Open))

	// The potential of each block and its workspaces on B rows.
	var params int64 // parameters of one block
	switch c.Potential {
	case PotentialDense, PotentialRandom:
		params = bytesize.Mul(H, bytesize.Add(n, 1))
		shallow := bytesize.Add(
			bytesize.Mul(params, f64), bytesize.Mul(4*f64, H),
			bytesize.Mul(B, bytesize.Add(bytesize.Mul(6, H), bytesize.Mul(2, n)), f64))
		if single {
			shallow = bytesize.Add(shallow, bytesize.Mul(2*f32, H, n),
				bytesize.Mul(B, bytesize.Add(bytesize.Mul(2, H), bytesize.Mul(3, n)), f32))
		}
		add(bytesize.Mul(K, shallow))
		if c.Init == InitMultiscale {
			// lattice.MultiscaleBlocks, built for each block: every scale
			// partitions the sites.
			add(bytesize.Mul(n, int64(bitsLen(c.L)+1), 2*word))
		}
		if c.Potential == PotentialRandom {
			// Each block draws from its own copy of the group, and
			// remembers the draws of the rows it evaluated.
			order := bytesize.Mul(n, 2)
			if c.RandomGroup != RandomGroupReference {
				order = bytesize.Mul(order, pointGroupOrder(int(d)))
			}
			element := bytesize.Add(bytesize.Mul(n, word+4), groupElementOverhead)
			rows := min(bytesize.Mul(B, int64(c.FlowSteps), 4), randomMemory)
			add(bytesize.Mul(K, bytesize.Add(bytesize.Mul(order, element), bytesize.Mul(rows, drawBytes),
				bytesize.Mul(2, B, n, f64))))
		}
	case PotentialMultiscale:
		// A few dozen parameters; the stencils' segments and Gram
		// matrices, and the workspaces of each worker: about 15 vectors
		// of N.
		params = int64(MultiscaleLevels * c.Channels * 8)
		add(bytesize.Mul(K, bytesize.Add(bytesize.Mul(4, n, f64), bytesize.Mul(15, int64(runtime.GOMAXPROCS(0)), n, f64))))
	case PotentialSymmetric:
		// The kernels span the lattice: C·N parameters; the direct
		// product of the translations and the point group, built to check
		// the group (|P|·N elements); the kernels' transforms and images
		// under the point group, and the workspaces of each channel and
		// element of the point group.
		C := int64(c.Channels)
		P := pointGroupOrder(int(d))
		params = bytesize.Mul(C, bytesize.Add(n, 1))
		element := bytesize.Add(bytesize.Mul(n, word+4), groupElementOverhead)
		add(bytesize.Mul(bytesize.Add(P, 1), n, element))
		conv := bytesize.Add(bytesize.Mul(params, f64), bytesize.Mul(C, P, n, 3*f64))
		add(bytesize.Mul(K, conv))
	}
	if c.Quadratic {
		var q int64 // one block's quadratic part
		switch {
		case c.Open:
			// A dense S: its parameters and symmetric part (and the zero
			// matrix it starts from).
			q = bytesize.Mul(3, n, n, f64)
		case c.denseCirculant(flow.Float64) || (single && c.denseCirculant(flow.Float32)):
			// The circulant applied as a dense matrix (flow.CirculantFFT):
			// an index, the dense S and its correlation matrix (and the
			// cosines of the spectral basis).
			per := int64(3)
			if c.QuadraticBasis == BasisSpectral {
				per++
			}
			q = bytesize.Mul(per, n, n, f64)
			if single {
				q = bytesize.Add(q, bytesize.Mul(2, n, n, f32))
			}
		default:
			// The circulant applied by FFT: a dozen vectors of N and a
			// transform with its spectra for each slice of a batch.
			q = bytesize.Mul(bytesize.Add(12, bytesize.Mul(10, int64(runtime.GOMAXPROCS(0)))), n, f64)
		}
		q = bytesize.Add(q, bytesize.Mul(2, B, n, f64))
		add(bytesize.Mul(K, q))
		params = bytesize.Add(params, n) // the kernel or spectrum
	}
	allParams := bytesize.Mul(K, params)

	// The RK4 integrator's workspaces.
	add(bytesize.Mul(4, B, n, f64))
	// The parameters, their gradient, three backups, Adam's two moments
	// (a loaded run carries its trainer too), the flow's gradient, and the
	// copies a checkpoint or a result makes.
	add(bytesize.Mul(11, allParams, f64))
	if train != nil {
		// The tape of the stage inputs and memos, the adjoint
		// workspaces, the objective's samples and gradients.
		add(c.tapeBytes(train.Batch), bytesize.Mul(12, int64(train.Batch), n, f64))
	}
	return bytesize.Add(total...)
}

// tapeBytes returns the memory of the tape of a training step of batch
// samples as flow.Flow.TapeBytes counts it: the four stage inputs of every
// RK4 step, with the memos of the dense potential's hidden units (and the
// random potential's draws).
func (c *Config) tapeBytes(batch int) int64 {
	var memo int64 // per sample and stage
	switch c.Potential {
	case PotentialDense:
		memo = int64(c.Hidden)
	case PotentialRandom:
		memo = bytesize.Add(int64(c.Hidden), 1)
	}
	return bytesize.Mul(4*f64, int64(c.FlowSteps), int64(batch), bytesize.Add(c.Sites(), memo))
}

// denseCirculant reports whether the quadratic part on the configuration's
// torus is applied as a dense N×N matrix in precision p.
func (c *Config) denseCirculant(p flow.Precision) bool {
	shape := make([]int, max(c.Dim, 1))
	for a := range shape {
		shape[a] = c.L
	}
	return !flow.CirculantFFT(shape, p)
}

// bitsLen returns the number of bits of L: the scales of the multiscale
// blocks.
func bitsLen(L int) int {
	k := 0
	for ; L > 0; L >>= 1 {
		k++
	}
	return k
}
