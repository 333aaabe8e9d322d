package symmetry

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"gonum.org/v1/gonum/mat"

	"github.com/isingflow/isingflow/flow"
)

// DefaultRandomMemory is the number of samples (rows) whose draws a Random
// remembers by default: the stages of an evaluation of 2¹⁴ samples through
// 16 RK4 steps, or of a flow's log-determinant check (see Random).
const DefaultRandomMemory = 1 << 20

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
// GradLaplacian was evaluated at the same stage. Random is a
// flow.MemoPotential: GradLaplacianMemo draws the elements and keeps them
// in the memo (followed by the inner potential's memo, when it has one),
// and GradLaplacianVJPMemo replays them, which is how Flow.Gradient
// backpropagates. The plain methods draw the element of a sample from the
// wrapper's own seeded stream the first time they see that sample and
// remember it keyed by a 128-bit hash of the row (its length and the bits
// of every entry). GradLaplacian, Value and GradLaplacianVJP at samples
// already seen reuse their draws, whatever the batches they come in, so an
// integrator that replays or recomputes stages, or a log-determinant check
// that evaluates the VJP at copies of each stage's samples
// (Flow.LogDetGap), gets exactly the same map. The memory holds the draws
// of the last Memory samples (first in, first out); a plain VJP at a sample
// that was never evaluated, or was forgotten, panics. Call Forget between
// training steps to start afresh (new samples draw anew in any case).
//
// Two caveats of the random map, which the exact averages do not have.
// Each RK4 stage of a step sees another draw, so the four stages sample
// four different velocity fields and the RK4-integrated −∇²φ_r is the log
// density of the discrete map only to low order in ε, not O(ε⁴); measure it
// with Flow.LogDetGap (isingflow --logdet-check). And the marginal density
// of the samples is the mixture over draws, of which ln p is not the
// logarithm: the variational free energy from ln p bounds that of the
// mixture from above.
//
// Random is not safe for concurrent use.
type Random struct {
	inner  flow.Potential
	group  *Group
	rng    *rand.Rand
	memory int

	draws map[[2]uint64]int32
	fifo  [][2]uint64
	head  int
	d     []int32 // the draws of the current call

	xs, ls, gs, dxs *mat.Dense
}

var _ flow.MemoPotential = (*Random)(nil)

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
		draws:  make(map[[2]uint64]int32),
	}, nil
}

// SetMemory sets the number of samples whose draws are remembered (at
// least 1) and forgets all draws.
func (r *Random) SetMemory(rows int) {
	r.memory = max(1, rows)
	r.Forget()
}

// Reseed restarts the draws from the stream rand.NewPCG(seed, stream) and
// forgets all draws: a caller that reseeds at every training step from the
// step number makes the draws of a step independent of the steps before,
// so that a run resumed from a checkpoint continues bit for bit.
func (r *Random) Reseed(seed, stream uint64) {
	r.rng = rand.New(rand.NewPCG(seed, stream))
	r.Forget()
}

// Forget discards all remembered draws.
func (r *Random) Forget() {
	clear(r.draws)
	r.fifo = r.fifo[:0]
	r.head = 0
}

// SetPrecision sets the precision of the inner potential's products if it
// has one (see flow.PrecisionSetter).
func (r *Random) SetPrecision(p flow.Precision) { flow.SetPrecision(r.inner, p) }

// Inner returns the wrapped potential.
func (r *Random) Inner() flow.Potential { return r.inner }

// Group returns the group drawn from.
func (r *Random) Group() *Group { return r.group }

// Dim returns N.
func (r *Random) Dim() int { return r.inner.Dim() }

// Params returns the inner potential's parameters (aliased).
func (r *Random) Params() []float64 { return r.inner.Params() }

// Drawn returns the indices (into Group().Elements()) of the elements
// applied to the rows of x by the plain methods, and false if a row of x
// has not been evaluated (or has been forgotten).
func (r *Random) Drawn(x *mat.Dense) ([]int, bool) {
	B, _ := x.Dims()
	out := make([]int, B)
	for b := range B {
		k, ok := r.draws[hashRow(x.RawRowView(b))]
		if !ok {
			return nil, false
		}
		out[b] = int(k)
	}
	return out, true
}

// hashRow returns a 128-bit hash of the length and bits of a sample.
func hashRow(x []float64) [2]uint64 {
	n := uint64(len(x))
	h1 := uint64(0x9e3779b97f4a7c15) ^ n
	h2 := uint64(0xc2b2ae3d27d4eb4f) ^ n<<32
	for _, v := range x {
		u := math.Float64bits(v)
		h1 = mix64(h1 ^ u)
		h2 = mix64(h2 + u*0xff51afd7ed558ccd)
	}
	return [2]uint64{h1, h2}
}

// mix64 is the SplitMix64 finaliser.
func mix64(z uint64) uint64 {
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// lookup returns the draws for the rows of x (in r.d), drawing and
// remembering those of unseen rows if create.
func (r *Random) lookup(x *mat.Dense, create bool) []int32 {
	B, _ := x.Dims()
	r.d = slices.Grow(r.d[:0], B)[:B]
	for b := range B {
		key := hashRow(x.RawRowView(b))
		k, ok := r.draws[key]
		if !ok {
			if !create {
				panic("symmetry: Random.GradLaplacianVJP at a sample never passed to GradLaplacian or Value (or forgotten): the group element to replay is unknown")
			}
			k = int32(r.rng.IntN(r.group.Order()))
			if len(r.fifo) < r.memory {
				r.fifo = append(r.fifo, key)
			} else {
				delete(r.draws, r.fifo[r.head])
				r.fifo[r.head] = key
				r.head = (r.head + 1) % r.memory
			}
			r.draws[key] = k
		}
		r.d[b] = k
	}
	return r.d
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
// into lap[b], drawing the g_b of the samples not seen before.
func (r *Random) GradLaplacian(grad *mat.Dense, lap []float64, x *mat.Dense) {
	B, _ := x.Dims()
	r.reserve(B)
	r.gradLaplacian(grad, lap, x, r.lookup(x, true), nil)
}

func (r *Random) gradLaplacian(grad *mat.Dense, lap []float64, x *mat.Dense, d []int32, memo []float64) {
	r.transform(r.xs, x, d)
	if mp, ok := r.inner.(flow.MemoPotential); ok && memo != nil {
		mp.GradLaplacianMemo(r.gs, lap, r.xs, memo)
	} else {
		r.inner.GradLaplacian(r.gs, lap, r.xs)
	}
	for b, k := range d {
		r.group.elems[k].ApplyTranspose(grad.RawRowView(b), r.gs.RawRowView(b))
	}
}

// MemoLen returns B (the draws) plus the inner potential's memo length.
func (r *Random) MemoLen(B int) int {
	if mp, ok := r.inner.(flow.MemoPotential); ok {
		return B + mp.MemoLen(B)
	}
	return B
}

// GradLaplacianMemo is GradLaplacian with fresh draws for every sample,
// kept in memo (with the inner potential's memo) for GradLaplacianVJPMemo;
// it neither reads nor extends the memory of the plain methods.
func (r *Random) GradLaplacianMemo(grad *mat.Dense, lap []float64, x *mat.Dense, memo []float64) {
	B, _ := x.Dims()
	r.reserve(B)
	r.d = slices.Grow(r.d[:0], B)[:B]
	for b := range r.d {
		r.d[b] = int32(r.rng.IntN(r.group.Order()))
		memo[b] = float64(r.d[b])
	}
	r.gradLaplacian(grad, lap, x, r.d, memo[B:])
}

// GradLaplacianVJPMemo is GradLaplacianVJP with the draws (and the inner
// memo) that GradLaplacianMemo kept in memo.
func (r *Random) GradLaplacianVJPMemo(dx *mat.Dense, dparams []float64, x, lambda *mat.Dense, mu []float64, memo []float64) {
	if dx == nil && dparams == nil {
		return
	}
	B, _ := x.Dims()
	r.reserve(B)
	r.d = slices.Grow(r.d[:0], B)[:B]
	for b := range r.d {
		r.d[b] = int32(memo[b])
	}
	r.vjp(dx, dparams, x, lambda, mu, r.d, memo[B:])
}

// GradLaplacianVJP adds the vector-Jacobian products at x with the elements
// drawn when x was evaluated, holding them fixed (see Random).
func (r *Random) GradLaplacianVJP(dx *mat.Dense, dparams []float64, x, lambda *mat.Dense, mu []float64) {
	if dx == nil && dparams == nil {
		return
	}
	B, _ := x.Dims()
	r.reserve(B)
	r.vjp(dx, dparams, x, lambda, mu, r.lookup(x, false), nil)
}

func (r *Random) vjp(dx *mat.Dense, dparams []float64, x, lambda *mat.Dense, mu []float64, d []int32, memo []float64) {
	r.transform(r.xs, x, d)
	r.transform(r.ls, lambda, d)
	var dxs *mat.Dense
	if dx != nil {
		dxs = r.dxs
		dxs.Zero()
	}
	if mp, ok := r.inner.(flow.MemoPotential); ok && memo != nil {
		mp.GradLaplacianVJPMemo(dxs, dparams, r.xs, r.ls, mu, memo)
	} else {
		r.inner.GradLaplacianVJP(dxs, dparams, r.xs, r.ls, mu)
	}
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
