package symmetry

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"

	"gonum.org/v1/gonum/mat"

	"github.com/isingflow/isingflow/flow"
	"github.com/isingflow/isingflow/internal/fft"
	"github.com/isingflow/isingflow/internal/parallel"
	"github.com/isingflow/isingflow/lattice"
)

// ConvMethod selects how Conv computes its periodic correlations.
type ConvMethod int

const (
	// ConvAuto picks ConvDirect for kernels of small support and ConvFFT
	// otherwise (see ConvOptions).
	ConvAuto ConvMethod = iota
	// ConvFFT computes every correlation in Fourier space: O(N log N) per
	// feature map whatever the kernel support.
	ConvFFT
	// ConvDirect sums over the kernel's support: O(N·S) per feature map for a
	// support of S sites.
	ConvDirect
)

// String returns the method's name.
func (m ConvMethod) String() string {
	switch m {
	case ConvAuto:
		return "auto"
	case ConvFFT:
		return "fft"
	case ConvDirect:
		return "direct"
	}
	return fmt.Sprintf("ConvMethod(%d)", int(m))
}

// directMaxSupport is the largest kernel support (in sites) for which
// ConvAuto picks ConvDirect. Measured on the 16×16 torus, B = 64, one
// GradLaplacian + GradLaplacianVJP (BenchmarkConvMethods, CPU time): 3×3
// kernels cost 7.2 ms directly and 7.6 ms by FFT, 5×5 kernels 14 ms and
// 7.9 ms.
const directMaxSupport = 9

// ConvOptions are the settings of a Conv. The zero value gives full-lattice
// kernels tied over the lattice's whole point group, computed by FFT.
type ConvOptions struct {
	// Support is the kernel size: 0 for full-lattice kernels (one weight
	// per site), or an odd k smaller than every axis length for kernels
	// supported on the k^d box centred on the origin, |δ_a| ≤ (k−1)/2.
	Support int
	// Point is the point group whose images of each kernel are tied:
	// nil for PointGroup(lat), Trivial(lat.N()) for translations only. Its
	// elements must fix the origin, have sign +1, map the kernel support
	// onto itself and normalise the translations.
	Point *Group
	// Method chooses FFT or direct summation; ConvAuto picks ConvDirect when
	// the support has at most 9 sites.
	Method ConvMethod
}

// Conv is the single-hidden-layer potential with ln cosh activation made
// exactly invariant under the symmetry group G = T ⋊ P × {±1} of a periodic
// lattice (translations, a point group, spin flip), in the structured form
// that costs O(N log N) per feature map instead of O(N²). It is the dense
// potential whose C·|P|·N hidden units are every translate τ and every
// point-group image p of C kernels a_c, with tied output weights w_c:
//
//	φ(x) = Σ_c w_c Σ_{p∈P} Σ_τ ln cosh(u_cp(τ)),
//	u_cp = a_cp ⋆ x,   (a ⋆ x)(τ) = Σ_r a(r) x(r+τ),   a_cp = p a_c,
//
// which is N|P| = |G|/2 times the group average of the C-unit potential
// Σ_c w_c ln cosh(a_c·x) (the spin-flip half of the average equals the
// other half because ln cosh is even):
//
//	φ = (|G|/2) φ_G,   φ_G(x) = (1/|G|) Σ_{g∈G} Σ_c w_c ln cosh(a_c · g x).
//
// (Summing rather than averaging over the N|P| units keeps the weights of
// the size a dense potential's would have, so an optimiser's step sizes mean
// the same for both.) Each channel has a kernel a_c, on the full lattice or
// on a k^d box, and a weight w_c: C·|P|·N effective hidden units from
// C·(S+1) parameters. With every translate and image of a kernel having the
// same norm r_c = |a_c|²,
//
//	∇φ  = Σ_cp a_cp ∗ (w_c tanh u_cp)            (∗: periodic convolution)
//	∇²φ = Σ_c w_c r_c Σ_p Σ_τ (1 − tanh² u_cp(τ)),
//
// and the vector-Jacobian products follow DESIGN.md §3 with every matrix
// product a correlation or a convolution, computed by FFT (ConvFFT) or by
// sums over the support (ConvDirect).
//
// Conv equals NewAverage(shallow, G) (to rounding) for the dense
// flow.Shallow with H = C rows, the kernels embedded in the lattice
// (KernelRows), and weights N|P|·w_c. Params holds the kernels, C×S
// row-major (S = N for full kernels, indexed by site as flow.Shallow's A;
// the k^d box row-major with offsets −(k−1)/2 … (k−1)/2 otherwise),
// followed by the C weights w.
//
// # Choice of representation
//
// On the 16×16 torus with B = 64, one GradLaplacian + GradLaplacianVJP costs
// (CPU time, BenchmarkConvMethods) 13 ms for the paper's dense H = 512
// potential, 7.9 ms for one channel of full-lattice kernels by FFT (2048
// effective hidden units), 98 ms for the same by direct sums, 7.2 ms / 7.6 ms
// for 3×3 kernels (direct / FFT) and 14 ms / 7.9 ms for 5×5 kernels. Full-
// lattice kernels by FFT cost the same as the smallest local kernels and
// contain them as a special case, so they are the default.
//
// Conv is not safe for concurrent use; each call is parallel over the batch.
type Conv struct {
	lat      *lattice.Lattice
	n        int
	channels int
	support  int // option: 0 or odd k
	s        int // sites in the support
	supSite  []int
	images   [][]int // images[p][s]: support index of π_p(site of s)
	npg      int
	method   ConvMethod
	theta    []float64
	point    *Group

	nb []int32 // direct: nb[τ·S+s] = site of τ + δ_s

	// per call, from theta
	acp     []float64    // (C·|P|)×S kernel images on the support
	r       []float64    // C squared norms
	ahat    []complex128 // (C·|P|)×m kernel spectra (FFT method)
	full    []float64    // N scratch
	da      []float64    // S scratch for the parameter reduction
	specSum []complex128 // m scratch for the parameter reduction
	main    *fft.ND
	m       int // spectrum length

	pool workPool[convWork]
}

var _ flow.Potential = (*Conv)(nil)

// convWork is one worker's scratch space and accumulators.
type convWork struct {
	f                       *fft.ND
	xh, lh, uh, sh, th, acc []complex128
	u, g, s, t, row         []float64
	dAh                     []complex128 // (C·|P|)×m, FFT
	dA                      []float64    // (C·|P|)×S, direct
	q                       []float64    // C·|P|
	dw                      []float64    // C
}

// NewConv returns the group-averaged single-hidden-layer potential with the
// given number of channels on the periodic lattice lat. The parameters
// are drawn as flow.NewShallow draws them for a dense potential with the
// same number of hidden units: kernel entries from U(−1/√S, 1/√S), weights
// from U(−1/√H, 1/√H) with H = C·|P|·N; with a nil rng they are zero
// (φ = 0), for callers that set them through Params.
func NewConv(lat *lattice.Lattice, channels int, opts ConvOptions, rng *rand.Rand) (*Conv, error) {
	if lat == nil {
		return nil, errors.New("symmetry: NewConv: nil lattice")
	}
	if lat.Boundary() != lattice.Periodic {
		return nil, fmt.Errorf("symmetry: NewConv: needs a periodic lattice, have %v", lat)
	}
	if channels < 1 {
		return nil, fmt.Errorf("symmetry: NewConv: %d channels, need at least 1", channels)
	}
	n := lat.N()
	shape := lat.Shape()
	d := len(shape)
	c := &Conv{lat: lat, n: n, channels: channels, support: opts.Support}

	// Support sites.
	switch k := opts.Support; {
	case k == 0:
		c.s = n
		c.supSite = make([]int, n)
		for i := range c.supSite {
			c.supSite[i] = i
		}
	case k > 0 && k%2 == 1:
		for a, l := range shape {
			if k >= l {
				return nil, fmt.Errorf("symmetry: NewConv: kernel support %d not smaller than axis %d of length %d (use 0 for full-lattice kernels)", k, a, l)
			}
		}
		h := (k - 1) / 2
		c.s = 1
		for range d {
			c.s *= k
		}
		c.supSite = make([]int, c.s)
		co := make([]int, d)
		for s := range c.s {
			rem := s
			for a := d - 1; a >= 0; a-- {
				delta := rem%k - h
				rem /= k
				co[a] = (delta + shape[a]) % shape[a]
			}
			c.supSite[s] = lat.Index(co)
		}
	default:
		return nil, fmt.Errorf("symmetry: NewConv: kernel support %d, need 0 (full lattice) or an odd size", k)
	}
	supIndex := make(map[int]int, c.s)
	for s, site := range c.supSite {
		supIndex[site] = s
	}

	// Point group.
	P := opts.Point
	if P == nil {
		var err error
		if P, err = PointGroup(lat); err != nil {
			return nil, err
		}
	}
	if P.N() != n {
		return nil, fmt.Errorf("symmetry: NewConv: point group acts on %d sites, lattice has %d", P.N(), n)
	}
	T, err := Translations(lat)
	if err != nil {
		return nil, err
	}
	if _, err := DirectProduct(T, P); err != nil {
		return nil, fmt.Errorf("symmetry: NewConv: point group does not normalise the translations: %w", err)
	}
	c.point = P
	c.npg = P.Order()
	c.images = make([][]int, c.npg)
	for k, p := range P.Elements() {
		if p.Sign() != 1 || p.Site(0) != 0 {
			return nil, fmt.Errorf("symmetry: NewConv: point-group element %d is not a lattice symmetry fixing the origin", k)
		}
		img := make([]int, c.s)
		for s, site := range c.supSite {
			j, ok := supIndex[p.Site(site)]
			if !ok {
				return nil, fmt.Errorf("symmetry: NewConv: point-group element %d maps the kernel support outside itself", k)
			}
			img[s] = j
		}
		c.images[k] = img
	}

	switch opts.Method {
	case ConvAuto:
		c.method = ConvFFT
		if c.s <= directMaxSupport {
			c.method = ConvDirect
		}
	case ConvFFT, ConvDirect:
		c.method = opts.Method
	default:
		return nil, fmt.Errorf("symmetry: NewConv: unknown method %v", opts.Method)
	}

	if c.method == ConvDirect {
		c.nb = make([]int32, n*c.s)
		tc := make([]int, d)
		dc := make([]int, d)
		for tau := range n {
			tc = lat.Coords(tau, tc)
			for s, site := range c.supSite {
				dc = lat.Coords(site, dc)
				for a := range dc {
					dc[a] = (dc[a] + tc[a]) % shape[a]
				}
				c.nb[tau*c.s+s] = int32(lat.Index(dc))
			}
		}
	} else {
		c.main = fft.New(shape)
		c.m = c.main.SpectrumLen()
		c.ahat = make([]complex128, channels*c.npg*c.m)
		c.full = make([]float64, n)
	}

	c.theta = make([]float64, channels*c.s+channels)
	if rng != nil {
		ka, wa := 1/math.Sqrt(float64(c.s)), 1/math.Sqrt(float64(c.EffectiveHiddenUnits()))
		for i := range c.kernels() {
			c.theta[i] = ka * (2*rng.Float64() - 1)
		}
		w := c.weights()
		for i := range w {
			w[i] = wa * (2*rng.Float64() - 1)
		}
	}
	c.acp = make([]float64, channels*c.npg*c.s)
	c.r = make([]float64, channels)
	return c, nil
}

// Dim returns N.
func (c *Conv) Dim() int { return c.n }

// Params returns the C×S kernels followed by the C weights (aliased).
func (c *Conv) Params() []float64 { return c.theta }

// Channels returns C.
func (c *Conv) Channels() int { return c.channels }

// ParamLayout names the parameters (see flow.ParamLayouter):
// conv/kernels, of shape [C, lattice shape…] for full-lattice kernels or
// [C, k, …, k] for kernels on the k^d box (the offsets −(k−1)/2 …
// (k−1)/2 along each axis), and conv/w [C].
func (c *Conv) ParamLayout() []flow.ParamBlock {
	shape := []int{c.channels}
	if c.support == 0 {
		shape = append(shape, c.lat.Shape()...)
	} else {
		for range c.lat.Dim() {
			shape = append(shape, c.support)
		}
	}
	return []flow.ParamBlock{
		{Name: "conv/kernels", Offset: 0, Shape: shape},
		{Name: "conv/w", Offset: c.channels * c.s, Shape: []int{c.channels}},
	}
}

// SupportSites returns the site of the lattice (the offset δ mod L) that
// each of the S kernel entries multiplies, in parameter order.
func (c *Conv) SupportSites() []int { return append([]int(nil), c.supSite...) }

// Method returns the method in use (never ConvAuto).
func (c *Conv) Method() ConvMethod { return c.method }

// PointGroup returns the point group over which kernel images are tied.
func (c *Conv) PointGroup() *Group { return c.point }

// Group returns the full group G = T ⋊ P × {±1} under which the potential is
// exactly invariant (order 2·N·|P|). Conv is |G|/2 times the average over
// it of the C-unit dense potential (see Conv).
func (c *Conv) Group() (*Group, error) {
	T, err := Translations(c.lat)
	if err != nil {
		return nil, err
	}
	return DirectProduct(T, c.point, SpinFlip(c.n))
}

// EffectiveHiddenUnits returns C·|P|·N, the number of hidden units of the
// equivalent dense potential (one per channel, point-group image and
// translation; spin flip adds none, ln cosh being even).
func (c *Conv) EffectiveHiddenUnits() int { return c.channels * c.npg * c.n }

// KernelRows writes the kernels embedded in the lattice, one row of length N
// per channel, into dst (C×N): the rows of the dense potential that Conv
// averages.
func (c *Conv) KernelRows(dst *mat.Dense) {
	if r, cols := dst.Dims(); r != c.channels || cols != c.n {
		panic("symmetry: Conv.KernelRows: dst must be C×N")
	}
	dst.Zero()
	a := c.kernels()
	for ch := range c.channels {
		row := dst.RawRowView(ch)
		for s, site := range c.supSite {
			row[site] = a[ch*c.s+s]
		}
	}
}

func (c *Conv) kernels() []float64 { return c.theta[:c.channels*c.s] }
func (c *Conv) weights() []float64 { return c.theta[c.channels*c.s:] }

// prepare computes the kernel images, norms and spectra from the parameters.
func (c *Conv) prepare() {
	a := c.kernels()
	S, P := c.s, c.npg
	for ch := range c.channels {
		ac := a[ch*S : (ch+1)*S]
		r := 0.0
		for _, v := range ac {
			r += v * v
		}
		c.r[ch] = r
		for p, img := range c.images {
			dst := c.acp[(ch*P+p)*S : (ch*P+p+1)*S]
			for s, j := range img {
				dst[s] = ac[j]
			}
		}
	}
	if c.method == ConvFFT {
		for k := range c.channels * P {
			clear(c.full)
			for s, site := range c.supSite {
				c.full[site] = c.acp[k*S+s]
			}
			c.main.Forward(c.ahat[k*c.m:(k+1)*c.m], c.full)
		}
	}
}

// newWork makes the scratch of one goroutine.
func (c *Conv) newWork() *convWork {
	K := c.channels * c.npg
	w := &convWork{
		u: make([]float64, c.n), g: make([]float64, c.n), s: make([]float64, c.n),
		t: make([]float64, c.n), row: make([]float64, c.n),
		q: make([]float64, K), dw: make([]float64, c.channels),
	}
	if c.method == ConvFFT {
		w.f = fft.New(c.lat.Shape())
		m := c.m
		w.xh, w.lh, w.uh = make([]complex128, m), make([]complex128, m), make([]complex128, m)
		w.sh, w.th, w.acc = make([]complex128, m), make([]complex128, m), make([]complex128, m)
		w.dAh = make([]complex128, K*m)
	} else {
		w.dA = make([]float64, K*c.s)
	}
	return w
}

// batchCost estimates the work per sample for parallel.For.
func (c *Conv) batchCost() int { return c.channels * c.npg * c.n * 16 }

func (c *Conv) checkX(x *mat.Dense) int {
	B, n := x.Dims()
	if n != c.n {
		panic(fmt.Sprintf("symmetry: Conv: batch has %d columns, want %d", n, c.n))
	}
	return B
}

// mulConj writes conj(a)·b into dst.
func mulConj(dst, a, b []complex128) {
	b = b[:len(a)]
	dst = dst[:len(a)]
	for i, v := range a {
		w := b[i]
		dst[i] = complex(real(v)*real(w)+imag(v)*imag(w), real(v)*imag(w)-imag(v)*real(w))
	}
}

// correlate writes u(τ) = Σ_s a[s] y[nb[τ·S+s]] (direct method).
func (c *Conv) correlate(u, a, y []float64) {
	S := c.s
	for tau := range u {
		nb := c.nb[tau*S : (tau+1)*S]
		v := 0.0
		for s, j := range nb {
			v += a[s] * y[j]
		}
		u[tau] = v
	}
}

// scatter adds Σ_τ f(τ) a[s] to dst[nb[τ·S+s]]: dst += a ∗ f (direct).
func (c *Conv) scatter(dst, a, f []float64) {
	S := c.s
	for tau, ft := range f {
		if ft == 0 {
			continue
		}
		nb := c.nb[tau*S : (tau+1)*S]
		for s, j := range nb {
			dst[j] += ft * a[s]
		}
	}
}

// featureMap writes u_k = a_k ⋆ x for feature map k (channel·|P| + image).
func (c *Conv) featureMap(w *convWork, u []float64, xh []complex128, x []float64, k int) {
	if c.method == ConvFFT {
		mulConj(w.uh, c.ahat[k*c.m:(k+1)*c.m], xh)
		w.f.Inverse(u, w.uh)
		return
	}
	c.correlate(u, c.acp[k*c.s:(k+1)*c.s], x)
}

// Value writes φ_G(x_b) into dst[b].
func (c *Conv) Value(dst []float64, x *mat.Dense) {
	B := c.checkX(x)
	if len(dst) != B {
		panic("symmetry: Conv.Value: dst has wrong length")
	}
	c.prepare()
	wts := c.weights()
	parallel.For(B, c.batchCost(), func(lo, hi int) {
		w := c.pool.get(c.newWork)
		defer c.pool.put(w)
		for b := lo; b < hi; b++ {
			xb := x.RawRowView(b)
			if c.method == ConvFFT {
				w.f.Forward(w.xh, xb)
			}
			v := 0.0
			for ch, wc := range wts {
				for p := range c.npg {
					c.featureMap(w, w.u, w.xh, xb, ch*c.npg+p)
					sum := 0.0
					for _, u := range w.u {
						sum += flow.LogCosh.Eval(u)
					}
					v += wc * sum
				}
			}
			dst[b] = v
		}
	})
}

// GradLaplacian writes ∇φ_G(x_b) into row b of grad and ∇²φ_G(x_b) into
// lap[b].
func (c *Conv) GradLaplacian(grad *mat.Dense, lap []float64, x *mat.Dense) {
	B := c.checkX(x)
	if r, cols := grad.Dims(); r != B || cols != c.n || len(lap) != B {
		panic("symmetry: Conv.GradLaplacian: destination has wrong shape")
	}
	c.prepare()
	wts := c.weights()
	S, m := c.s, c.m
	parallel.For(B, c.batchCost(), func(lo, hi int) {
		w := c.pool.get(c.newWork)
		defer c.pool.put(w)
		for b := lo; b < hi; b++ {
			xb := x.RawRowView(b)
			gb := grad.RawRowView(b)
			if c.method == ConvFFT {
				w.f.Forward(w.xh, xb)
				clear(w.acc)
			} else {
				clear(gb)
			}
			l := 0.0
			for ch, wc := range wts {
				sum2 := 0.0
				for p := range c.npg {
					k := ch*c.npg + p
					c.featureMap(w, w.u, w.xh, xb, k)
					for tau, u := range w.u {
						t, s2, _ := flow.LogCosh.Derivatives(u)
						sum2 += s2
						w.s[tau] = wc * t
					}
					if c.method == ConvFFT {
						w.f.Forward(w.sh, w.s)
						ah := c.ahat[k*m : (k+1)*m]
						for i, v := range ah {
							w.acc[i] += v * w.sh[i]
						}
					} else {
						c.scatter(gb, c.acp[k*S:(k+1)*S], w.s)
					}
				}
				l += wc * c.r[ch] * sum2
			}
			if c.method == ConvFFT {
				w.f.Inverse(gb, w.acc)
			}
			lap[b] = l
		}
	})
}

// GradLaplacianVJP adds the vector-Jacobian products of (∇φ_G, ∇²φ_G) at x
// with adjoints (lambda, mu) to dx and dparams (see flow.Potential).
func (c *Conv) GradLaplacianVJP(dx *mat.Dense, dparams []float64, x, lambda *mat.Dense, mu []float64) {
	B := c.checkX(x)
	if r, cols := lambda.Dims(); r != B || cols != c.n || len(mu) != B {
		panic("symmetry: Conv.GradLaplacianVJP: adjoints have wrong shape")
	}
	if dx != nil {
		if r, cols := dx.Dims(); r != B || cols != c.n {
			panic("symmetry: Conv.GradLaplacianVJP: dx has wrong shape")
		}
	}
	if dparams != nil && len(dparams) != len(c.theta) {
		panic("symmetry: Conv.GradLaplacianVJP: dparams has wrong length")
	}
	if dx == nil && dparams == nil {
		return
	}
	c.prepare()
	wts := c.weights()
	S, m, P := c.s, c.m, c.npg
	wantParams := dparams != nil
	for _, w := range c.pool.all {
		clear(w.q)
		clear(w.dw)
		clear(w.dAh)
		clear(w.dA)
	}
	parallel.For(B, 2*c.batchCost(), func(lo, hi int) {
		w := c.pool.get(c.newWork)
		defer c.pool.keep(w, lo)
		for b := lo; b < hi; b++ {
			xb, lb, mb := x.RawRowView(b), lambda.RawRowView(b), mu[b]
			if c.method == ConvFFT {
				w.f.Forward(w.xh, xb)
				w.f.Forward(w.lh, lb)
				clear(w.acc)
			} else {
				clear(w.row)
			}
			for ch, wc := range wts {
				rc := c.r[ch]
				for p := range P {
					k := ch*P + p
					c.featureMap(w, w.u, w.xh, xb, k)
					c.featureMap(w, w.g, w.lh, lb, k)
					dwc, sum2 := 0.0, 0.0
					for tau, u := range w.u {
						t, s2, s3 := flow.LogCosh.Derivatives(u)
						g := w.g[tau]
						dwc += t*g + mb*s2*rc
						sum2 += s2
						w.s[tau] = wc * (s2*g + mb*s3*rc)
						w.t[tau] = wc * t
					}
					w.dw[ch] += dwc
					w.q[k] += 2 * mb * wc * sum2
					if c.method == ConvFFT {
						w.f.Forward(w.sh, w.s)
						ah := c.ahat[k*m : (k+1)*m]
						for i, v := range ah {
							w.acc[i] += v * w.sh[i]
						}
						if wantParams {
							w.f.Forward(w.th, w.t)
							dah := w.dAh[k*m : (k+1)*m]
							for i, xv := range w.xh {
								sv, tv, lv := w.sh[i], w.th[i], w.lh[i]
								dah[i] += complex(real(sv)*real(xv)+imag(sv)*imag(xv), real(sv)*imag(xv)-imag(sv)*real(xv)) +
									complex(real(tv)*real(lv)+imag(tv)*imag(lv), real(tv)*imag(lv)-imag(tv)*real(lv))
							}
						}
					} else {
						ak := c.acp[k*S : (k+1)*S]
						c.scatter(w.row, ak, w.s)
						if wantParams {
							da := w.dA[k*S : (k+1)*S]
							for tau, sv := range w.s {
								tv := w.t[tau]
								nb := c.nb[tau*S : (tau+1)*S]
								for s, j := range nb {
									da[s] += sv*xb[j] + tv*lb[j]
								}
							}
						}
					}
				}
			}
			if dx != nil {
				if c.method == ConvFFT {
					w.f.Inverse(w.row, w.acc)
				}
				d := dx.RawRowView(b)
				for i, v := range w.row {
					d[i] += v
				}
			}
		}
	})
	used := c.pool.releaseUsed()
	if !wantParams {
		return
	}
	// Reduce the chunks' accumulators, in the order of the chunks, and
	// fold the gradients of the kernel images back onto the kernels:
	// a_cp[s] = a_c[images[p][s]].
	K := c.channels * P
	if c.da == nil {
		c.da = make([]float64, S)
		if c.method == ConvFFT {
			c.specSum = make([]complex128, m)
		}
	}
	da, specSum := c.da, c.specSum
	dwk := dparams[c.channels*S:]
	dak := dparams[:c.channels*S]
	for k := range K {
		ch, p := k/P, k%P
		q := 0.0
		for _, w := range used {
			q += w.q[k]
		}
		if c.method == ConvFFT {
			clear(specSum)
			for _, w := range used {
				for i, v := range w.dAh[k*m : (k+1)*m] {
					specSum[i] += v
				}
			}
			c.main.Inverse(c.full, specSum)
			for s, site := range c.supSite {
				da[s] = c.full[site]
			}
		} else {
			clear(da)
			for _, w := range used {
				for s, v := range w.dA[k*S : (k+1)*S] {
					da[s] += v
				}
			}
		}
		ak := c.acp[k*S : (k+1)*S]
		dst := dak[ch*S : (ch+1)*S]
		for s, j := range c.images[p] {
			dst[j] += da[s] + q*ak[s]
		}
	}
	for ch := range c.channels {
		v := 0.0
		for _, w := range used {
			v += w.dw[ch]
		}
		dwk[ch] += v
	}
}
