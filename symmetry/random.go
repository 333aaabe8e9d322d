package symmetry

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"

	"gonum.org/v1/gonum/mat"

	"github.com/isingflow/isingflow/flow"
)

// DefaultRandomMemory is the number of batches whose draws a Random
// remembers by default: enough for the 4 RK4 stages of 1024 steps.
const DefaultRandomMemory = 4096

// Random is the paper's cheap alternative to group averaging: every
// evaluation applies one uniformly drawn element g_b of G to each sample,
//
//	φ_r(x_b) = φ(g_b x_b),  ∇φ_r(x_b) = g_bᵀ ∇φ(g_b x_b),  ∇²φ_r(x_b) = ∇²φ(g_b x_b),
//
// at the cost of a single evaluation of the inner potential. The flow is
// then a random map: each sample follows the flow of a potential that
// changes at every stage, ln p computed by integrating −∇²φ_r is the log
// density of the map with that sample's draws, and the model density is not
// exactly G-invariant (only the mixture over draws is, approximately).
// Each draw is independent of x, so for each fixed sequence of draws the
// map is a smooth normalised flow and the variational free energy is still
// an upper bound in expectation; exact invariance needs Average or Conv.
//
// # Replaying draws for backpropagation
//
// Backpropagation must reuse, at GradLaplacianVJP, the elements drawn when
// GradLaplacian was evaluated at the same stage. Random therefore draws the
// B elements of a batch from its own seeded stream the first time it sees
// that batch and remembers them keyed by a 128-bit hash of the batch's
// contents (its shape and the bits of every entry). GradLaplacian, Value and
// GradLaplacianVJP at a batch already seen reuse its draws, whatever the
// order of the calls, so an integrator that replays or recomputes stages
// in its backward pass gets exactly the same map. The memory holds the
// draws of the last Memory batches (first in, first out); a VJP at a batch
// that was never evaluated, or was forgotten, panics. Call Forget between
// training steps to start afresh (new batches draw anew in any case).
//
// Random is not safe for concurrent use.
type Random struct {
	inner  flow.Potential
	group  *Group
	rng    *rand.Rand
	memory int

	draws map[[2]uint64][]int32
	fifo  [][2]uint64
	head  int

	xs, ls, gs, dxs *mat.Dense
}

var _ flow.Potential = (*Random)(nil)

// NewRandom returns the random-element wrapper of p over G, with draws from
// the stream rand.NewPCG(seed, 0x5eed) and a memory of DefaultRandomMemory
// batches.
func NewRandom(p flow.Potential, G *Group, seed uint64) (*Random, error) {
	if p == nil || G == nil {
		return nil, errors.New("symmetry: NewRandom: nil potential or group")
	}
	if p.Dim() != G.N() {
		return nil, fmt.Errorf("symmetry: NewRandom: potential has dimension %d, group acts on %d sites", p.Dim(), G.N())
	}
	if G.Order() > math.MaxInt32 {
		return nil, errors.New("symmetry: NewRandom: group too large")
	}
	return &Random{
		inner:  p,
		group:  G,
		rng:    rand.New(rand.NewPCG(seed, 0x5eed)),
		memory: DefaultRandomMemory,
		draws:  make(map[[2]uint64][]int32),
	}, nil
}

// SetMemory sets the number of batches whose draws are remembered (at
// least 1) and forgets all draws.
func (r *Random) SetMemory(batches int) {
	r.memory = max(1, batches)
	r.Forget()
}

// Forget discards all remembered draws.
func (r *Random) Forget() {
	clear(r.draws)
	r.fifo = r.fifo[:0]
	r.head = 0
}

// Inner returns the wrapped potential.
func (r *Random) Inner() flow.Potential { return r.inner }

// Group returns the group drawn from.
func (r *Random) Group() *Group { return r.group }

// Dim returns N.
func (r *Random) Dim() int { return r.inner.Dim() }

// Params returns the inner potential's parameters (aliased).
func (r *Random) Params() []float64 { return r.inner.Params() }

// Drawn returns the indices (into Group().Elements()) of the elements
// applied to the rows of x, and false if x has not been evaluated (or has
// been forgotten).
func (r *Random) Drawn(x *mat.Dense) ([]int, bool) {
	d, ok := r.draws[hashBatch(x)]
	if !ok {
		return nil, false
	}
	out := make([]int, len(d))
	for i, v := range d {
		out[i] = int(v)
	}
	return out, true
}

// hashBatch returns a 128-bit hash of the shape and bits of x.
func hashBatch(x *mat.Dense) [2]uint64 {
	B, n := x.Dims()
	h1 := uint64(0x9e3779b97f4a7c15) ^ uint64(B)<<32 ^ uint64(n)
	h2 := uint64(0xc2b2ae3d27d4eb4f) ^ uint64(n)<<32 ^ uint64(B)
	for b := range B {
		for _, v := range x.RawRowView(b) {
			u := math.Float64bits(v)
			h1 = mix64(h1 ^ u)
			h2 = mix64(h2 + u*0xff51afd7ed558ccd)
		}
	}
	return [2]uint64{h1, h2}
}

// mix64 is the SplitMix64 finaliser.
func mix64(z uint64) uint64 {
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// lookup returns the draws for x, drawing and remembering them if create.
func (r *Random) lookup(x *mat.Dense, create bool) []int32 {
	key := hashBatch(x)
	if d, ok := r.draws[key]; ok {
		return d
	}
	if !create {
		panic("symmetry: Random.GradLaplacianVJP at a batch never passed to GradLaplacian or Value (or forgotten): the group elements to replay are unknown")
	}
	B, _ := x.Dims()
	d := make([]int32, B)
	for b := range d {
		d[b] = int32(r.rng.IntN(r.group.Order()))
	}
	if len(r.fifo) < r.memory {
		r.fifo = append(r.fifo, key)
	} else {
		delete(r.draws, r.fifo[r.head])
		r.fifo[r.head] = key
		r.head = (r.head + 1) % r.memory
	}
	r.draws[key] = d
	return d
}

func (r *Random) reserve(B int) {
	if r.xs != nil && r.xs.RawMatrix().Rows == B {
		return
	}
	n := r.Dim()
	r.xs = mat.NewDense(B, n, nil)
	r.ls = mat.NewDense(B, n, nil)
	r.gs = mat.NewDense(B, n, nil)
	r.dxs = mat.NewDense(B, n, nil)
}

// transform writes g_{d[b]} y_b into row b of dst.
func (r *Random) transform(dst, y *mat.Dense, d []int32) {
	for b, k := range d {
		r.group.elems[k].Apply(dst.RawRowView(b), y.RawRowView(b))
	}
}

// Value writes φ(g_b x_b) into dst[b].
func (r *Random) Value(dst []float64, x *mat.Dense) {
	B, _ := x.Dims()
	r.reserve(B)
	r.transform(r.xs, x, r.lookup(x, true))
	r.inner.Value(dst, r.xs)
}

// GradLaplacian writes g_bᵀ ∇φ(g_b x_b) into row b of grad and ∇²φ(g_b x_b)
// into lap[b], drawing the g_b if x has not been seen.
func (r *Random) GradLaplacian(grad *mat.Dense, lap []float64, x *mat.Dense) {
	B, _ := x.Dims()
	r.reserve(B)
	d := r.lookup(x, true)
	r.transform(r.xs, x, d)
	r.inner.GradLaplacian(r.gs, lap, r.xs)
	for b, k := range d {
		r.group.elems[k].ApplyTranspose(grad.RawRowView(b), r.gs.RawRowView(b))
	}
}

// GradLaplacianVJP adds the vector-Jacobian products at x with the elements
// drawn when x was evaluated, holding them fixed (see Random).
func (r *Random) GradLaplacianVJP(dx *mat.Dense, dparams []float64, x, lambda *mat.Dense, mu []float64) {
	if dx == nil && dparams == nil {
		return
	}
	B, _ := x.Dims()
	r.reserve(B)
	d := r.lookup(x, false)
	r.transform(r.xs, x, d)
	r.transform(r.ls, lambda, d)
	var dxs *mat.Dense
	if dx != nil {
		dxs = r.dxs
		dxs.Zero()
	}
	r.inner.GradLaplacianVJP(dxs, dparams, r.xs, r.ls, mu)
	if dx == nil {
		return
	}
	for b, k := range d {
		g := r.group.elems[k]
		row, src := dx.RawRowView(b), dxs.RawRowView(b)
		s := g.sign
		for i, p := range g.perm {
			row[p] += s * src[i]
		}
	}
}
