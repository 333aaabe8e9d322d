package symmetry

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"gonum.org/v1/gonum/mat"

	"github.com/isingflow/isingflow/flow"
	"github.com/isingflow/isingflow/internal/parallel"
	"github.com/isingflow/isingflow/lattice"
)

// MultiscaleOptions are the settings of a Multiscale potential. None of
// them refers to the lattice's size, so neither does the number of
// parameters, Levels·Channels·(orbits + 1).
type MultiscaleOptions struct {
	// Levels is the number of scales: level k coarse-grains blocks of side
	// s_k = 2^k, k = 0 … Levels−1, each side clamped to the length of its
	// axis (a level whose side reaches an axis's length averages over the
	// whole axis; see Multiscale).
	Levels int
	// Channels is the number of kernels per level.
	Channels int
	// Radius is the radius R of the kernels on the coarse lattice: offsets
	// δ with |δ_a| ≤ R on every axis, (2R+1)^d of them, dilated by the
	// level's side.
	Radius int
}

// DefaultMultiscaleOptions returns the options of the model's "multiscale"
// potential: five levels (blocks of 1, 2, 4, 8 and 16 sites a side), four
// channels per level and kernels of radius 1 (3×3 on the coarse lattice in
// two dimensions).
func DefaultMultiscaleOptions() MultiscaleOptions {
	return MultiscaleOptions{Levels: 5, Channels: 4, Radius: 1}
}

// Multiscale is a potential exactly invariant under translations × point
// group × spin flip of a periodic lattice whose channels see the lattice
// at every scale, with a number of parameters that does not depend on the
// lattice's size and a cost of O(N) per sample and channel:
//
//	φ(x) = Σ_k Σ_c (w_kc / s_k^d) Σ_r ln cosh u_kc(r),
//	u_kc(r) = Σ_δ K_kc(δ) y_k(r + s_k δ),
//	y_k(r) = s_k^{−d/2} Σ_{b ∈ [0, s_k)^d} x(r + b).
//
// y_k is the block spin of the s_k^d block whose corner is r, on every
// site r of the fine lattice: the block spins of all s_k^d tilings at once
// (each normalised to unit norm, as an indicator row of the dense
// potential's multiscale initialisation is up to a constant). K_kc is a
// kernel on the coarse lattice of blocks, offsets δ ∈ [−R, R]^d, dilated
// by the block side: u_kc(r) combines the block spins of the block at r and
// of its neighbouring blocks of the same tiling (an à-trous convolution).
// Each u_kc is a periodic cross-correlation of x with one stencil e_kc
// (Stencil), the box filter followed by the dilated kernel.
//
// The sum over all N sites r makes φ exactly translation invariant, where
// a sum over the blocks of one tiling would be invariant only under
// translations by multiples of s_k; the factor 1/s_k^d makes it the mean
// over the s_k^d tilings of a coarse-lattice potential Σ_blocks w ln cosh u,
// so that a weight means the same at every level. Each kernel is invariant
// under the hyperoctahedral group (signed permutations of the offset's
// coordinates, D4 in two dimensions) by construction, one parameter per
// orbit of offsets (three for R = 1 in two dimensions: the centre, the four
// edge neighbours, the four corners); the box is mapped onto a translate of
// itself by every such element, so each stencil is invariant up to a
// translation and φ is invariant under the lattice's point group (which is
// a subgroup). ln cosh is even and there is no bias, so φ(−x) = φ(x).
//
// Sides are clamped: s_k = min(2^k, L_a) on axis a. A level whose side
// equals L on every axis sees the magnetisation alone, u = (Σ_δ K(δ))·M/√N
// on every site; one with s_k R ≥ L/2 wraps its kernel around the torus
// (offsets that coincide mod L add). Both are exact: the stencils, their
// norms and every derivative are computed on the torus. Every level whose
// side reaches the lattice's is such a whole-lattice level, so on a small
// lattice some channels duplicate others, and the same parameters mean
// different stencils on lattices where different levels are clamped.
//
// With t = tanh u, the derivatives are those of Conv with one feature map
// per channel (the kernel being symmetric, its point-group images are
// itself):
//
//	∇φ  = Σ_kc (w_kc/s_k^d) e_kc ∗ t_kc,
//	∇²φ = Σ_kc (w_kc/s_k^d) ρ_kc Σ_r (1 − t_kc(r)²),   ρ_kc = |e_kc|² = θ_kcᵀ Γ_k θ_kc,
//
// where θ_kc are the orbit parameters and Γ_k the Gram matrix of the
// orbits' stencils at level k (the identity weighted by the orbit sizes
// when the kernel does not wrap). Every correlation is evaluated by
// stencils: the box filter by running sums along each axis (O(N) whatever
// the side), the dilated kernel from the sums of the coarse field over each
// orbit's offsets, (2R+1)^d − 1 translations of N values once per level,
// shared by every channel; a channel then costs one pass over the sites of
// O(orbits) operations and one exponential per site, and a whole-lattice
// level O(N) in all: O(B·N·Levels·(Channels·orbits + (2R+1)^d)) per call.
// With GOEXPERIMENT=simd the channels' passes run four lanes at a time.
//
// Params holds the kernels, Levels×Channels×orbits row-major (the orbits
// in the order of Orbits), followed by the Levels×Channels weights w_kc.
// Multiscale implements flow.ParamBinder. It is not safe for concurrent
// use; each call is parallel over the batch.
type Multiscale struct {
	lat     *lattice.Lattice
	n, d    int
	shape   []int
	strides []int
	opts    MultiscaleOptions
	orbits  [][][]int // orbit o: its offsets δ; orbit 0 is {0}
	levels  []msLevel
	theta   []float64

	osize []float64 // orbit sizes |o|

	rho   []float64 // per call: ρ_kc
	gth   []float64 // per call: (Γ_k θ_kc)_o, half of ∂ρ_kc/∂θ_kc
	kappa []float64 // per call: κ_kc = Σ_o |o| θ_kco, the map u = κ y of a global level

	pool workPool[msWork]
}

var (
	_ flow.Potential   = (*Multiscale)(nil)
	_ flow.ParamBinder = (*Multiscale)(nil)
)

// msLevel is the geometry of one level.
type msLevel struct {
	side  []int     // block side per axis
	axes  []int     // axes with side > 1 (the box filter's passes)
	norm  float64   // s^{−d/2}: the box filter's weight
	inv   float64   // 1/s^d: the level's weight factor
	segs  [][]int32 // segs[o], o ≥ 1: the orbit's translations as segments (see orbitSum)
	gamma []float64 // orbits×orbits Gram matrix Γ of the orbits' stencils
	// global: the side is the whole lattice on every axis, so y = M/√N on
	// every site and each channel's map is constant (u = κ y).
	global bool
}

// msWork is one worker's scratch space and accumulators.
type msWork struct {
	y, yl, tmp, u, g, z []float64
	oy, ol, hh          [][]float64 // per orbit; oy[0] = y, ol[0] = yl
	dk                  []float64   // kernel adjoints
	dw                  []float64   // weight adjoints
	q                   []float64   // Σ_b μ_b (w/s^d) Σ_r σ”: the factor of ∂ρ/∂θ
}

// NewMultiscale returns the multiscale potential with the given options
// on the periodic lattice lat. The parameters are drawn as NewConv draws
// them: orbit parameters from U(−1/√M, 1/√M) for kernels of M =
// (2R+1)^d offsets (so that |e_kc|² ≈ 1/3 like a dense row's), weights
// from U(−1/√H, 1/√H) with H = Levels·Channels·N the number of hidden
// units of the equivalent dense potential; with a nil rng they are zero
// (φ = 0), for callers that set them through Params. SetBlockSpins turns
// the first channel of every level into the block spin.
func NewMultiscale(lat *lattice.Lattice, opts MultiscaleOptions, rng *rand.Rand) (*Multiscale, error) {
	if lat == nil {
		return nil, errors.New("symmetry: NewMultiscale: nil lattice")
	}
	if lat.Boundary() != lattice.Periodic {
		return nil, fmt.Errorf("symmetry: NewMultiscale: needs a periodic lattice, have %v", lat)
	}
	switch {
	case opts.Levels < 1:
		return nil, fmt.Errorf("symmetry: NewMultiscale: %d levels, need at least 1", opts.Levels)
	case opts.Levels > 30:
		return nil, fmt.Errorf("symmetry: NewMultiscale: %d levels, at most 30", opts.Levels)
	case opts.Channels < 1:
		return nil, fmt.Errorf("symmetry: NewMultiscale: %d channels, need at least 1", opts.Channels)
	case opts.Radius < 0:
		return nil, fmt.Errorf("symmetry: NewMultiscale: radius %d, need at least 0", opts.Radius)
	}
	shape := lat.Shape()
	d := len(shape)
	m := &Multiscale{lat: lat, n: lat.N(), d: d, shape: shape, opts: opts}
	m.strides = make([]int, d)
	st := 1
	for a := d - 1; a >= 0; a-- {
		m.strides[a] = st
		st *= shape[a]
	}
	m.orbits = offsetOrbits(d, opts.Radius)
	for k := range opts.Levels {
		m.levels = append(m.levels, m.newLevel(1<<k))
	}
	norb := len(m.orbits)
	K := opts.Levels * opts.Channels
	m.theta = make([]float64, K*(norb+1))
	if rng != nil {
		M := 0
		for _, o := range m.orbits {
			M += len(o)
		}
		ka := 1 / math.Sqrt(float64(M))
		wa := 1 / math.Sqrt(float64(K*m.n))
		for i := range m.kernels() {
			m.theta[i] = ka * (2*rng.Float64() - 1)
		}
		w := m.weights()
		for i := range w {
			w[i] = wa * (2*rng.Float64() - 1)
		}
	}
	m.rho = make([]float64, K)
	m.gth = make([]float64, K*norb)
	m.kappa = make([]float64, K)
	for _, o := range m.orbits {
		m.osize = append(m.osize, float64(len(o)))
	}
	return m, nil
}

// offsetOrbits returns the orbits of the offsets δ ∈ [−R, R]^d under the
// signed permutations of their coordinates, ordered by their sorted
// absolute coordinates (largest first, compared lexicographically), so
// that orbit 0 is the origin; in two dimensions with R = 1: the origin,
// the four edge neighbours, the four corners.
func offsetOrbits(d, R int) [][][]int {
	byKey := map[string]int{}
	var keys [][]int
	var orbits [][][]int
	side := 2*R + 1
	total := 1
	for range d {
		total *= side
	}
	for idx := range total {
		delta := make([]int, d)
		rem := idx
		for a := d - 1; a >= 0; a-- {
			delta[a] = rem%side - R
			rem /= side
		}
		key := make([]int, d)
		for a, v := range delta {
			key[a] = max(v, -v)
		}
		slices.Sort(key)
		slices.Reverse(key)
		ks := fmt.Sprint(key)
		o, ok := byKey[ks]
		if !ok {
			o = len(orbits)
			byKey[ks] = o
			keys = append(keys, key)
			orbits = append(orbits, nil)
		}
		orbits[o] = append(orbits[o], delta)
	}
	perm := make([]int, len(orbits))
	for i := range perm {
		perm[i] = i
	}
	slices.SortFunc(perm, func(i, j int) int { return slices.Compare(keys[i], keys[j]) })
	sorted := make([][][]int, len(orbits))
	for i, p := range perm {
		sorted[i] = orbits[p]
	}
	return sorted
}

// newLevel builds the geometry of the level of block side 2^k = pow.
func (m *Multiscale) newLevel(pow int) msLevel {
	n, d := m.n, m.d
	lv := msLevel{side: make([]int, d)}
	vol := 1
	for a, L := range m.shape {
		lv.side[a] = min(pow, L)
		vol *= lv.side[a]
		if lv.side[a] > 1 {
			lv.axes = append(lv.axes, a)
		}
	}
	lv.norm = 1 / math.Sqrt(float64(vol))
	lv.inv = 1 / float64(vol)

	co := make([]int, d)
	site := func(r int, delta []int, b []int) int {
		co = m.lat.Coords(r, co)
		i := 0
		for a := range d {
			c := (co[a] + lv.side[a]*delta[a] + b[a]) % m.shape[a]
			if c < 0 {
				c += m.shape[a]
			}
			i += c * m.strides[a]
		}
		return i
	}
	lv.global = vol == n
	lv.segs = make([][]int32, len(m.orbits))
	for o := 1; o < len(m.orbits); o++ {
		var segs []int32
		for _, delta := range m.orbits[o] {
			segs = m.appendSegments(segs, lv, delta)
		}
		lv.segs[o] = segs
	}

	// The Gram matrix of the orbits' stencils: the stencil of orbit o is
	// s^{−d/2} Σ_{δ∈o} Σ_b 1[d = s∘δ + b] on the torus.
	norb := len(m.orbits)
	stencils := make([][]float64, norb)
	b := make([]int, d)
	for o, offs := range m.orbits {
		e := make([]float64, n)
		for _, delta := range offs {
			for bi := range vol {
				rem := bi
				for a := d - 1; a >= 0; a-- {
					b[a] = rem % lv.side[a]
					rem /= lv.side[a]
				}
				e[site(0, delta, b)] += lv.norm
			}
		}
		stencils[o] = e
	}
	lv.gamma = make([]float64, norb*norb)
	for o := range norb {
		for p := range norb {
			s := 0.0
			for i, v := range stencils[o] {
				s += v * stencils[p][i]
			}
			lv.gamma[o*norb+p] = s
		}
	}
	return lv
}

// appendSegments appends to segs the translation by s∘δ of the level as
// triples (dst, src, length): dst[i] ← y[src − dst + i] for i in
// [dst, dst+length) is y(r + s∘δ) on those sites. The last axis is
// contiguous, so each line of it takes at most two segments, and segments
// that continue each other are merged.
func (m *Multiscale) appendSegments(segs []int32, lv msLevel, delta []int) []int32 {
	d := m.d
	shift := make([]int, d)
	for a := range d {
		shift[a] = ((lv.side[a]*delta[a])%m.shape[a] + m.shape[a]) % m.shape[a]
	}
	L := m.shape[d-1]
	sh := shift[d-1]
	co := make([]int, d)
	add := func(dst, src, length int) {
		if length == 0 {
			return
		}
		if k := len(segs); k >= 3 && int(segs[k-3]+segs[k-1]) == dst && int(segs[k-2]+segs[k-1]) == src {
			segs[k-1] += int32(length)
			return
		}
		segs = append(segs, int32(dst), int32(src), int32(length))
	}
	for row := 0; row < m.n; row += L {
		co = m.lat.Coords(row, co)
		src := 0
		for a := range d - 1 {
			src += ((co[a] + shift[a]) % m.shape[a]) * m.strides[a]
		}
		add(row, src+sh, L-sh)
		add(row+L-sh, src, sh)
	}
	return segs
}

// Dim returns N.
func (m *Multiscale) Dim() int { return m.n }

// Params returns the kernels' orbit parameters followed by the weights
// (aliased; see Multiscale for the layout).
func (m *Multiscale) Params() []float64 { return m.theta }

// BindParams moves the parameters into p (see flow.ParamBinder).
func (m *Multiscale) BindParams(p []float64) {
	if len(p) != len(m.theta) {
		panic(fmt.Sprintf("symmetry: Multiscale.BindParams: storage of length %d for %d parameters", len(p), len(m.theta)))
	}
	copy(p, m.theta)
	m.theta = p
}

// Options returns the options the potential was built with.
func (m *Multiscale) Options() MultiscaleOptions { return m.opts }

// Orbits returns the orbits of the kernel offsets, in parameter order:
// Orbits()[o] lists the offsets δ (d coordinates each) whose kernel entry
// is the orbit's parameter. Orbit 0 is the origin.
func (m *Multiscale) Orbits() [][][]int {
	out := make([][][]int, len(m.orbits))
	for o, offs := range m.orbits {
		for _, delta := range offs {
			out[o] = append(out[o], slices.Clone(delta))
		}
	}
	return out
}

// Sides returns the block side of level k on every axis, 2^k clamped to
// the axis lengths.
func (m *Multiscale) Sides(k int) []int { return slices.Clone(m.levels[k].side) }

// Group returns the group T ⋊ P × {±1} of the lattice (IsingGroup) under
// which the potential is exactly invariant.
func (m *Multiscale) Group() (*Group, error) { return IsingGroup(m.lat) }

// EffectiveHiddenUnits returns Levels·Channels·N, the number of hidden
// units of the equivalent dense potential: one per channel and site.
func (m *Multiscale) EffectiveHiddenUnits() int { return m.opts.Levels * m.opts.Channels * m.n }

// Stencil writes the stencil e of channel c at level k into dst (length
// N): u_kc(r) = Σ_i e(i) x(r + i), the box filter followed by the dilated
// kernel, on the torus. The equivalent dense potential has, for every
// site r, the row e translated by r and the weight w_kc/s_k^d.
func (m *Multiscale) Stencil(k, c int, dst []float64) {
	if len(dst) != m.n {
		panic("symmetry: Multiscale.Stencil: dst must have length N")
	}
	lv := &m.levels[k]
	th := m.kernel(k, c)
	clear(dst)
	b := make([]int, m.d)
	co := make([]int, m.d)
	vol := int(math.Round(1 / lv.inv))
	for o, offs := range m.orbits {
		for _, delta := range offs {
			for bi := range vol {
				rem := bi
				for a := m.d - 1; a >= 0; a-- {
					b[a] = rem % lv.side[a]
					rem /= lv.side[a]
				}
				for a := range m.d {
					co[a] = ((lv.side[a]*delta[a]+b[a])%m.shape[a] + m.shape[a]) % m.shape[a]
				}
				dst[m.lat.Index(co)] += lv.norm * th[o]
			}
		}
	}
}

// Weight returns the weight w_kc of channel c at level k; the channel's
// hidden units carry w_kc/s_k^d each.
func (m *Multiscale) Weight(k, c int) float64 { return m.weights()[k*m.opts.Channels+c] }

// SetBlockSpins sets the kernel of the first channel of every level to
// the block spin alone, K(0) = 1/√3 and K(δ) = 0 elsewhere, so that the
// channel's hidden units are the indicators of every s_k^d block of the
// lattice with |e|² = 1/3: the rows of the dense potential's multiscale
// initialisation (lattice.MultiscaleBlocks, flow.Shallow.SetIndicatorRows),
// here on every tiling instead of two. The other channels and the weights
// keep their values.
func (m *Multiscale) SetBlockSpins() {
	for k := range m.opts.Levels {
		th := m.kernel(k, 0)
		clear(th)
		th[0] = 1 / math.Sqrt(3)
	}
}

func (m *Multiscale) norb() int { return len(m.orbits) }

func (m *Multiscale) kernels() []float64 {
	return m.theta[:m.opts.Levels*m.opts.Channels*m.norb()]
}

func (m *Multiscale) weights() []float64 {
	return m.theta[m.opts.Levels*m.opts.Channels*m.norb():]
}

// kernel returns the orbit parameters of channel c at level k (aliased).
func (m *Multiscale) kernel(k, c int) []float64 {
	norb := m.norb()
	i := (k*m.opts.Channels + c) * norb
	return m.theta[i : i+norb : i+norb]
}

// prepare computes ρ_kc = θᵀΓθ and Γθ from the parameters.
func (m *Multiscale) prepare() {
	norb := m.norb()
	for k := range m.levels {
		g := m.levels[k].gamma
		for c := range m.opts.Channels {
			kc := k*m.opts.Channels + c
			th := m.kernel(k, c)
			r, kappa := 0.0, 0.0
			for o := range norb {
				kappa += m.osize[o] * th[o]
				v := 0.0
				for p, tp := range th {
					v += g[o*norb+p] * tp
				}
				m.gth[kc*norb+o] = v
				r += th[o] * v
			}
			m.rho[kc] = r
			m.kappa[kc] = kappa
		}
	}
}

// newWork makes the scratch of one goroutine.
func (m *Multiscale) newWork() *msWork {
	n, norb := m.n, m.norb()
	K := m.opts.Levels * m.opts.Channels
	buf := func() []float64 { return make([]float64, n) }
	w := &msWork{
		y: buf(), yl: buf(), tmp: buf(), u: buf(), g: buf(), z: buf(),
		oy: make([][]float64, norb), ol: make([][]float64, norb), hh: make([][]float64, norb),
		dk: make([]float64, K*norb), dw: make([]float64, K), q: make([]float64, K),
	}
	w.oy[0], w.ol[0] = w.y, w.yl
	for o := 1; o < norb; o++ {
		w.oy[o], w.ol[o] = buf(), buf()
	}
	for o := range norb {
		w.hh[o] = buf()
	}
	return w
}

// batchCost estimates the work per sample for parallel.For.
func (m *Multiscale) batchCost() int {
	return m.opts.Levels * (m.opts.Channels*m.norb() + 2*len(m.orbits)) * m.n * 8
}

func (m *Multiscale) checkX(x *mat.Dense) int {
	B, n := x.Dims()
	if n != m.n {
		panic(fmt.Sprintf("symmetry: Multiscale: batch has %d columns, want %d", n, m.n))
	}
	return B
}

// window writes into dst the sums of src over s consecutive sites along
// axis a, periodic: sites j … j+s−1 of each line, or j−s+1 … j for the
// adjoint, by running sums (O(N) whatever s).
func (m *Multiscale) window(dst, src []float64, a, s int, adjoint bool) {
	L, st := m.shape[a], m.strides[a]
	span := L * st
	if st > 1 {
		// Whole rows of st contiguous sites at a time.
		for base := 0; base < m.n; base += span {
			row := func(j int) []float64 { return src[base+j*st : base+(j+1)*st] }
			out := dst[base : base+st]
			if !adjoint {
				copy(out, row(0))
				for t := 1; t < s; t++ {
					addTo(out, row(t))
				}
			} else {
				copy(out, row(0))
				for t := 1; t < s; t++ {
					addTo(out, row(L-t))
				}
			}
			for j := 1; j < L; j++ {
				prev, out := dst[base+(j-1)*st:base+j*st], dst[base+j*st:base+(j+1)*st]
				in, gone := row((j+s-1)%L), row(j-1)
				if adjoint {
					in, gone = row(j), row((j-s+L)%L)
				}
				in, gone, out = in[:len(prev)], gone[:len(prev)], out[:len(prev)]
				for i, v := range prev {
					out[i] = v + (in[i] - gone[i])
				}
			}
		}
		return
	}
	for base := 0; base < m.n; base += span {
		line, out := src[base:base+L], dst[base:base+L]
		sum := 0.0
		if !adjoint {
			for t := range s {
				sum += line[t]
			}
			out[0] = sum
			in := s
			for j := 1; j < L; j++ {
				if in == L {
					in = 0
				}
				sum += line[in] - line[j-1]
				out[j] = sum
				in++
			}
		} else {
			sum = line[0]
			for t := 1; t < s; t++ {
				sum += line[L-t]
			}
			out[0] = sum
			gone := L - s + 1
			for j := 1; j < L; j++ {
				if gone == L {
					gone = 0
				}
				sum += line[j] - line[gone]
				out[j] = sum
				gone++
			}
		}
	}
}

// addTo adds src to dst.
func addTo(dst, src []float64) {
	src = src[:len(dst)]
	for i, v := range src {
		dst[i] += v
	}
}

// box writes the level's box filter of src into dst (tmp is scratch):
// dst(r) = s^{−d/2} Σ_{b∈[0,s)^d} src(r + b), or its adjoint
// s^{−d/2} Σ_b src(r − b). src must not alias dst or tmp.
func (m *Multiscale) box(dst, src, tmp []float64, lv *msLevel, adjoint bool) {
	q := len(lv.axes)
	if q == 0 {
		copy(dst, src)
		return
	}
	in := src
	for i, a := range lv.axes {
		out := tmp
		if (q-1-i)%2 == 0 {
			out = dst
		}
		m.window(out, in, a, lv.side[a], adjoint)
		in = out
	}
	for i := range dst {
		dst[i] *= lv.norm
	}
}

// orbitSum writes dst(r) = Σ_{δ∈o} y(r + s∘δ), the sum of y over the
// orbit's dilated offsets, from the orbit's segments; with add it adds
// instead. Every translation covers every site once, so without add the
// first translation's segments (those up to the first whose sites cover
// N) are copied and the others added.
func orbitSum(dst, y []float64, segs []int32, add bool) {
	n := len(dst)
	covered := 0
	for k := 0; k < len(segs); k += 3 {
		di, si, l := int(segs[k]), int(segs[k+1]), int(segs[k+2])
		dd, ss := dst[di:di+l], y[si:si+l]
		if !add && covered < n {
			copy(dd, ss)
			covered += l
			continue
		}
		for i, v := range ss {
			dd[i] += v
		}
	}
}

// coarse writes y = P_k x and the orbit sums oy[o] = O_o y of level k.
func (m *Multiscale) coarse(y []float64, oy [][]float64, x, tmp []float64, lv *msLevel) {
	m.box(y, x, tmp, lv, false)
	for o := 1; o < len(oy); o++ {
		orbitSum(oy[o], y, lv.segs[o], false)
	}
}

// mix writes u = Σ_o θ_o oy[o].
func mix(u []float64, oy [][]float64, th []float64) {
	switch len(th) {
	case 1:
		a, y0 := th[0], oy[0][:len(u)]
		for r := range u {
			u[r] = a * y0[r]
		}
	case 3:
		a, b, c := th[0], th[1], th[2]
		y0, y1, y2 := oy[0][:len(u)], oy[1][:len(u)], oy[2][:len(u)]
		for r := range u {
			u[r] = a*y0[r] + b*y1[r] + c*y2[r]
		}
	default:
		a, y0 := th[0], oy[0][:len(u)]
		for r := range u {
			u[r] = a * y0[r]
		}
		for o := 1; o < len(th); o++ {
			a, yo := th[o], oy[o][:len(u)]
			for r := range u {
				u[r] += a * yo[r]
			}
		}
	}
}

// gather writes into z the adjoint of the level's correlations,
// z = Σ_o O_o hh[o] (O_o is symmetric: every orbit contains −δ with δ),
// and adds the adjoint box filter of z to dst.
func (m *Multiscale) gather(dst []float64, w *msWork, lv *msLevel) {
	copy(w.z, w.hh[0])
	for o := 1; o < len(w.hh); o++ {
		orbitSum(w.z, w.hh[o], lv.segs[o], true)
	}
	if len(lv.axes) == 0 {
		for i, v := range w.z {
			dst[i] += v
		}
		return
	}
	m.box(w.g, w.z, w.tmp, lv, true)
	for i, v := range w.g {
		dst[i] += v
	}
}

// Value writes φ(x_b) into dst[b].
func (m *Multiscale) Value(dst []float64, x *mat.Dense) {
	B := m.checkX(x)
	if len(dst) != B {
		panic("symmetry: Multiscale.Value: dst has wrong length")
	}
	m.prepare()
	C := m.opts.Channels
	wts := m.weights()
	parallel.For(B, m.batchCost(), func(lo, hi int) {
		w := m.pool.get(m.newWork)
		defer m.pool.put(w)
		for b := lo; b < hi; b++ {
			xb := x.RawRowView(b)
			v := 0.0
			for k := range m.levels {
				lv := &m.levels[k]
				if lv.global {
					y0 := lv.norm * sum(xb)
					for c := range C {
						v += wts[k*C+c] * flow.LogCosh.Eval(m.kappa[k*C+c]*y0)
					}
					continue
				}
				m.coarse(w.y, w.oy, xb, w.tmp, lv)
				for c := range C {
					mix(w.u, w.oy, m.kernel(k, c))
					s := 0.0
					for _, u := range w.u {
						s += flow.LogCosh.Eval(u)
					}
					v += wts[k*C+c] * lv.inv * s
				}
			}
			dst[b] = v
		}
	})
}

// GradLaplacian writes ∇φ(x_b) into row b of grad and ∇²φ(x_b) into
// lap[b].
func (m *Multiscale) GradLaplacian(grad *mat.Dense, lap []float64, x *mat.Dense) {
	B := m.checkX(x)
	if r, cols := grad.Dims(); r != B || cols != m.n || len(lap) != B {
		panic("symmetry: Multiscale.GradLaplacian: destination has wrong shape")
	}
	m.prepare()
	C := m.opts.Channels
	wts := m.weights()
	parallel.For(B, m.batchCost(), func(lo, hi int) {
		w := m.pool.get(m.newWork)
		defer m.pool.put(w)
		for b := lo; b < hi; b++ {
			xb, gb := x.RawRowView(b), grad.RawRowView(b)
			clear(gb)
			l := 0.0
			for k := range m.levels {
				lv := &m.levels[k]
				if lv.global {
					l += m.globalGL(gb, xb, k)
					continue
				}
				m.coarse(w.y, w.oy, xb, w.tmp, lv)
				for _, h := range w.hh {
					clear(h)
				}
				for c := range C {
					kc := k*C + c
					v := wts[kc] * lv.inv
					sum2 := glLoop(w.hh, w.oy, m.kernel(k, c), v, m.n)
					l += v * m.rho[kc] * sum2
				}
				m.gather(gb, w, lv)
			}
			lap[b] = l
		}
	})
}

// GradLaplacianVJP adds the vector-Jacobian products of (∇φ, ∇²φ) at x
// with adjoints (lambda, mu) to dx and dparams (see flow.Potential).
func (m *Multiscale) GradLaplacianVJP(dx *mat.Dense, dparams []float64, x, lambda *mat.Dense, mu []float64) {
	B := m.checkX(x)
	if r, cols := lambda.Dims(); r != B || cols != m.n || len(mu) != B {
		panic("symmetry: Multiscale.GradLaplacianVJP: adjoints have wrong shape")
	}
	if dx != nil {
		if r, cols := dx.Dims(); r != B || cols != m.n {
			panic("symmetry: Multiscale.GradLaplacianVJP: dx has wrong shape")
		}
	}
	if dparams != nil && len(dparams) != len(m.theta) {
		panic("symmetry: Multiscale.GradLaplacianVJP: dparams has wrong length")
	}
	if dx == nil && dparams == nil {
		return
	}
	m.prepare()
	C, norb := m.opts.Channels, m.norb()
	wts := m.weights()
	wantX, wantP := dx != nil, dparams != nil
	for _, w := range m.pool.all {
		clear(w.dk)
		clear(w.dw)
		clear(w.q)
	}
	parallel.For(B, 2*m.batchCost(), func(lo, hi int) {
		w := m.pool.get(m.newWork)
		defer m.pool.keep(w, lo)
		for b := lo; b < hi; b++ {
			xb, lb, mb := x.RawRowView(b), lambda.RawRowView(b), mu[b]
			var db []float64
			if wantX {
				db = dx.RawRowView(b)
			}
			for k := range m.levels {
				lv := &m.levels[k]
				if lv.global {
					m.globalVJP(db, w, xb, lb, mb, k, wantP)
					continue
				}
				m.coarse(w.y, w.oy, xb, w.tmp, lv)
				m.coarse(w.yl, w.ol, lb, w.tmp, lv)
				if wantX {
					for _, h := range w.hh {
						clear(h)
					}
				}
				for c := range C {
					kc := k*C + c
					v := wts[kc] * lv.inv
					mr := mb * m.rho[kc]
					var hh [][]float64
					var dk []float64
					if wantX {
						hh = w.hh
					}
					if wantP {
						dk = w.dk[kc*norb : (kc+1)*norb]
					}
					tg, sum2 := vjpLoop(hh, dk, w.oy, w.ol, m.kernel(k, c), v, mr, m.n)
					if wantP {
						w.dw[kc] += lv.inv * (tg + mr*sum2)
						w.q[kc] += mb * v * sum2
					}
				}
				if wantX {
					m.gather(db, w, lv)
				}
			}
		}
	})
	used := m.pool.releaseUsed()
	if !wantP {
		return
	}
	dk := dparams[:len(m.kernels())]
	dw := dparams[len(m.kernels()):]
	for kc := range m.opts.Levels * C {
		q := 0.0
		for _, w := range used {
			q += w.q[kc]
		}
		for o := range norb {
			v := 2 * q * m.gth[kc*norb+o]
			for _, w := range used {
				v += w.dk[kc*norb+o]
			}
			dk[kc*norb+o] += v
		}
		v := 0.0
		for _, w := range used {
			v += w.dw[kc]
		}
		dw[kc] += v
	}
}

func sum(x []float64) float64 {
	s := 0.0
	for _, v := range x {
		s += v
	}
	return s
}

// globalGL adds to gb the gradient of the global level k at x (its map
// u = κ M/√N is the same on every site) and returns its Laplacian.
func (m *Multiscale) globalGL(gb, xb []float64, k int) float64 {
	lv := &m.levels[k]
	C, wts, n := m.opts.Channels, m.weights(), float64(m.n)
	y0 := lv.norm * sum(xb)
	gc, l := 0.0, 0.0
	for c := range C {
		kc := k*C + c
		v, kappa := wts[kc]*lv.inv, m.kappa[kc]
		t, s2, _ := flow.LogCosh.Derivatives(kappa * y0)
		l += v * m.rho[kc] * n * s2
		gc += v * t * kappa * n * lv.norm
	}
	for i := range gb {
		gb[i] += gc
	}
	return l
}

// globalVJP is the vector-Jacobian product of the global level k (see
// globalGL): it adds the input adjoint to db (when not nil) and the
// parameter adjoints to w's accumulators when wantP.
func (m *Multiscale) globalVJP(db []float64, w *msWork, xb, lb []float64, mb float64, k int, wantP bool) {
	lv := &m.levels[k]
	C, norb, wts, n := m.opts.Channels, m.norb(), m.weights(), float64(m.n)
	y0, l0 := lv.norm*sum(xb), lv.norm*sum(lb)
	dc := 0.0
	for c := range C {
		kc := k*C + c
		v, kappa := wts[kc]*lv.inv, m.kappa[kc]
		mr := mb * m.rho[kc]
		g := kappa * l0
		t, s2, s3 := flow.LogCosh.Derivatives(kappa * y0)
		h := v * (s2*g + mr*s3)
		dc += n * h * kappa * lv.norm
		if wantP {
			dk := w.dk[kc*norb : (kc+1)*norb]
			for o, size := range m.osize {
				dk[o] += n * size * (h*y0 + v*t*l0)
			}
			w.dw[kc] += lv.inv * n * (t*g + mr*s2)
			w.q[kc] += mb * v * n * s2
		}
	}
	if db != nil {
		for i := range db {
			db[i] += dc
		}
	}
}

// glLoop runs GradLaplacian's loop over the sites for one channel of
// orbit parameters th and weight v: u = Σ_o θ_o oy[o], hh[o] += θ_o v tanh u
// for every orbit; it returns Σ_r σ”(u(r)).
func glLoop(hh, oy [][]float64, th []float64, v float64, n int) float64 {
	done, sum2 := glLoopVec(hh, oy, th, v, n)
	for r := done; r < n; r++ {
		u := 0.0
		for o, a := range th {
			u += a * oy[o][r]
		}
		t, s2, _ := flow.LogCosh.Derivatives(u)
		sum2 += s2
		h := v * t
		for o, a := range th {
			hh[o][r] += a * h
		}
	}
	return sum2
}

// vjpLoop runs GradLaplacianVJP's loop over the sites for one channel of
// orbit parameters th, weight v and μρ = mr: with u = Σ_o θ_o oy[o],
// g = Σ_o θ_o ol[o] and h = v(σ”(u) g + μρ σ”'(u)), it adds θ_o h to
// hh[o] when hh is not nil and Σ_r h oy[o] + v σ'(u) ol[o] to dk[o] when
// dk is not nil, and returns Σ_r σ'(u) g and Σ_r σ”(u).
func vjpLoop(hh [][]float64, dk []float64, oy, ol [][]float64, th []float64, v, mr float64, n int) (tg, sum2 float64) {
	done, tg, sum2 := vjpLoopVec(hh, dk, oy, ol, th, v, mr, n)
	for r := done; r < n; r++ {
		u, g := 0.0, 0.0
		for o, a := range th {
			u += a * oy[o][r]
			g += a * ol[o][r]
		}
		t, s2, s3 := flow.LogCosh.Derivatives(u)
		tg += t * g
		sum2 += s2
		h := v * (s2*g + mr*s3)
		if hh != nil {
			for o, a := range th {
				hh[o][r] += a * h
			}
		}
		if dk != nil {
			vt := v * t
			for o := range th {
				dk[o] += h*oy[o][r] + vt*ol[o][r]
			}
		}
	}
	return tg, sum2
}
