package symmetry

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/isingflow/isingflow/flow"
	"github.com/isingflow/isingflow/flow/flowtest"
	"github.com/isingflow/isingflow/lattice"
)

type msCase struct {
	shape []int
	opts  MultiscaleOptions
}

func (tc msCase) String() string {
	return fmt.Sprintf("%v/K%d/C%d/R%d", tc.shape, tc.opts.Levels, tc.opts.Channels, tc.opts.Radius)
}

func (tc msCase) build(t testing.TB, rng *rand.Rand) *Multiscale {
	t.Helper()
	lat := mustLattice(t, tc.shape, lattice.Periodic)
	m, err := NewMultiscale(lat, tc.opts, rng)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// translate returns the site r + d on the torus of the given shape.
func translate(lat *lattice.Lattice, r, d int) int {
	rc, dc := lat.Coords(r, nil), lat.Coords(d, nil)
	for a := range rc {
		rc[a] = (rc[a] + dc[a]) % lat.Len(a)
	}
	return lat.Index(rc)
}

// msDense returns the dense flow.Shallow potential equal to m: for every
// level k, channel c and site r the row e_kc translated by r (a[r+i] =
// e_kc(i)), with the weight w_kc/s_k^d.
func msDense(m *Multiscale) *flow.Shallow {
	lat, n := m.lat, m.Dim()
	o := m.Options()
	H := o.Levels * o.Channels * n
	dense := flow.NewShallow(n, H, flow.LogCosh, false, nil)
	theta := dense.Params()
	e := make([]float64, n)
	for k := range o.Levels {
		vol := 1
		for _, s := range m.Sides(k) {
			vol *= s
		}
		for c := range o.Channels {
			m.Stencil(k, c, e)
			for r := range n {
				j := (k*o.Channels+c)*n + r
				row := theta[j*n : (j+1)*n]
				for i, v := range e {
					row[translate(lat, r, i)] += v
				}
				theta[H*n+j] = m.Weight(k, c) / float64(vol)
			}
		}
	}
	return dense
}

func msCases() []msCase {
	def := MultiscaleOptions{Levels: 4, Channels: 2, Radius: 1}
	return []msCase{
		{[]int{4, 4}, def},
		{[]int{6, 6}, def},
		{[]int{8, 8}, def},
		{[]int{8, 8}, MultiscaleOptions{Levels: 3, Channels: 1, Radius: 2}},
		{[]int{5, 5}, MultiscaleOptions{Levels: 3, Channels: 2, Radius: 0}},
		{[]int{3, 5}, def},
		{[]int{12}, MultiscaleOptions{Levels: 4, Channels: 2, Radius: 2}},
		{[]int{2, 3, 4}, MultiscaleOptions{Levels: 3, Channels: 1, Radius: 1}},
	}
}

// TestMultiscaleEqualsDense checks the structured evaluation against the
// dense potential with one row per channel and site (msDense), whose
// derivatives flow.Shallow computes by matrix products: the value, the
// gradient, the Laplacian (with the norms of stencils that wrap around
// the torus), and the vector-Jacobian product for x and, through the
// chain rule onto the orbit parameters and the weights, for θ.
func TestMultiscaleEqualsDense(t *testing.T) {
	for _, tc := range msCases() {
		t.Run(tc.String(), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(31, 32))
			m := tc.build(t, rng)
			dense := msDense(m)
			const B = 3
			n := m.Dim()
			x := randDense(rng, B, n, 1.5)
			lambda := randDense(rng, B, n, 1)
			mu := []float64{0.7, -1.3, 0.2}

			v1, v2 := make([]float64, B), make([]float64, B)
			m.Value(v1, x)
			dense.Value(v2, x)
			g1, g2 := mat.NewDense(B, n, nil), mat.NewDense(B, n, nil)
			l1, l2 := make([]float64, B), make([]float64, B)
			m.GradLaplacian(g1, l1, x)
			dense.GradLaplacian(g2, l2, x)
			dx1, dx2 := randDense(rng, B, n, 1), mat.NewDense(B, n, nil)
			dx2.Copy(dx1)
			dp1 := make([]float64, len(m.Params()))
			dp2 := make([]float64, len(dense.Params()))
			m.GradLaplacianVJP(dx1, dp1, x, lambda, mu)
			dense.GradLaplacianVJP(dx2, dp2, x, lambda, mu)

			// Chain rule: a row's entries are linear in the orbit
			// parameters (the orbit's stencil), its weight is w/s^d.
			o := m.Options()
			norb := len(m.Orbits())
			H := o.Levels * o.Channels * n
			want := make([]float64, len(dp1))
			saved := append([]float64(nil), m.Params()...)
			e := make([]float64, n)
			for k := range o.Levels {
				vol := 1
				for _, s := range m.Sides(k) {
					vol *= s
				}
				for c := range o.Channels {
					kc := k*o.Channels + c
					for ob := range norb {
						th := m.kernel(k, c)
						clear(th)
						th[ob] = 1
						m.Stencil(k, c, e)
						copy(m.Params(), saved)
						s := 0.0
						for r := range n {
							row := dp2[(kc*n+r)*n : (kc*n+r+1)*n]
							for i, v := range e {
								s += v * row[translate(m.lat, r, i)]
							}
						}
						want[kc*norb+ob] = s
					}
					s := 0.0
					for r := range n {
						s += dp2[H*n+kc*n+r]
					}
					want[len(m.kernels())+kc] = s / float64(vol)
				}
			}
			for _, ch := range []struct {
				name string
				a, b []float64
			}{
				{"φ", v1, v2},
				{"∇φ", g1.RawMatrix().Data, g2.RawMatrix().Data},
				{"∇²φ", l1, l2},
				{"VJP dx", dx1.RawMatrix().Data, dx2.RawMatrix().Data},
				{"VJP dθ", dp1, want},
			} {
				if e := relErr(ch.a, ch.b); e > 1e-12 {
					t.Errorf("%s: Multiscale and the dense potential differ by %.3g (relative)", ch.name, e)
				}
			}
		})
	}
}

// TestMultiscaleFiniteDifferences checks every derivative against finite
// differences of the value (flowtest.CheckPotential) at L = 4, 6, 8 and on
// a few other shapes. The tolerance is 100 times tighter than the
// package's 1e-6 for other potentials; the largest deviations are near
// 1e-9.
func TestMultiscaleFiniteDifferences(t *testing.T) {
	def := MultiscaleOptions{Levels: 4, Channels: 2, Radius: 1}
	for _, tc := range []msCase{
		{[]int{4, 4}, def},
		{[]int{6, 6}, def},
		{[]int{8, 8}, def},
		{[]int{8, 8}, MultiscaleOptions{Levels: 3, Channels: 1, Radius: 2}},
		{[]int{3, 5}, def},
		{[]int{2, 3, 4}, MultiscaleOptions{Levels: 3, Channels: 1, Radius: 1}},
	} {
		t.Run(tc.String(), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(33, 34))
			m := tc.build(t, rng)
			// Weights of order one make the nonlinearity matter.
			w := m.weights()
			for i := range w {
				w[i] = 2*rng.Float64() - 1
			}
			flowtest.CheckPotential(t, m, 3, rng, 1e-9)
		})
	}
}

// TestMultiscaleInvariance checks, for every element g of the Ising group
// T ⋊ P × {±1}, φ(gx) = φ(x), ∇φ(gx) = g∇φ(x), ∇²φ(gx) = ∇²φ(x) and the
// equivariance of both adjoints, to 1e-12 relative.
func TestMultiscaleInvariance(t *testing.T) {
	def := MultiscaleOptions{Levels: 5, Channels: 2, Radius: 1}
	for _, tc := range []msCase{
		{[]int{4, 4}, def},
		{[]int{6, 6}, def},
		{[]int{8, 8}, def},
		{[]int{8, 8}, MultiscaleOptions{Levels: 3, Channels: 1, Radius: 2}},
		{[]int{3, 5}, def},
	} {
		t.Run(tc.String(), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(35, 36))
			m := tc.build(t, rng)
			w := m.weights()
			for i := range w {
				w[i] = 2*rng.Float64() - 1
			}
			G, err := m.Group()
			if err != nil {
				t.Fatal(err)
			}
			if want := 2 * m.Dim() * pointOrder(t, m.lat); G.Order() != want {
				t.Fatalf("|G| = %d, want %d", G.Order(), want)
			}
			checkInvariance(t, m, G, 3, rng, 1e-12)
		})
	}
}

func pointOrder(t *testing.T, lat *lattice.Lattice) int {
	t.Helper()
	P, err := PointGroup(lat)
	if err != nil {
		t.Fatal(err)
	}
	return P.Order()
}

// TestMultiscaleBreaksWithoutFullTranslations is the control of the
// invariance test: the same channels summed over the blocks of one tiling
// (every s-th site) instead of every site are invariant only under
// translations by multiples of s, and the test's check sees it.
func TestMultiscaleBreaksWithoutFullTranslations(t *testing.T) {
	rng := rand.New(rand.NewPCG(37, 38))
	m := msCase{[]int{8, 8}, MultiscaleOptions{Levels: 3, Channels: 1, Radius: 1}}.build(t, rng)
	dense := msDense(m)
	// Keep, at levels k ≥ 1, only the units at sites r with both
	// coordinates multiples of the side: one tiling.
	n := m.Dim()
	H := 3 * n
	theta := dense.Params()
	for k := 1; k < 3; k++ {
		s := m.Sides(k)[0]
		for r := range n {
			co := m.lat.Coords(r, nil)
			if co[0]%s != 0 || co[1]%s != 0 {
				theta[H*n+k*n+r] = 0
			}
		}
	}
	T, err := Translations(m.lat)
	if err != nil {
		t.Fatal(err)
	}
	x := randDense(rng, 1, n, 1)
	gx := mat.NewDense(1, n, nil)
	v0, v := make([]float64, 1), make([]float64, 1)
	dense.Value(v0, x)
	T.Element(1).ApplyRows(gx, x) // the translation by one site
	dense.Value(v, gx)
	if math.Abs(v[0]-v0[0]) < 1e-6*math.Max(1, math.Abs(v0[0])) {
		t.Errorf("one tiling's potential is invariant under a unit translation: %v and %v", v0[0], v[0])
	}
	m.Value(v0, x)
	m.Value(v, gx)
	if math.Abs(v[0]-v0[0]) > 1e-12*math.Max(1, math.Abs(v0[0])) {
		t.Errorf("Multiscale is not invariant under a unit translation: %v and %v", v0[0], v[0])
	}
}

// TestMultiscaleGeometry checks the orbits, the clamped sides, the
// stencils of SetBlockSpins (the block indicators with |e|² = 1/3) and
// that the number of parameters does not depend on L.
func TestMultiscaleGeometry(t *testing.T) {
	opts := DefaultMultiscaleOptions()
	var np int
	for _, L := range []int{4, 6, 8, 16, 32} {
		m := msCase{[]int{L, L}, opts}.build(t, rand.New(rand.NewPCG(1, 2)))
		if np == 0 {
			np = len(m.Params())
		}
		if len(m.Params()) != np || np != 5*4*4 {
			t.Errorf("L = %d: %d parameters, want %d", L, len(m.Params()), 5*4*4)
		}
		orb := m.Orbits()
		if len(orb) != 3 || len(orb[0]) != 1 || len(orb[1]) != 4 || len(orb[2]) != 4 {
			t.Fatalf("orbits of the 3×3 kernel: %v", orb)
		}
		for _, d := range orb[1] {
			if abs(d[0])+abs(d[1]) != 1 {
				t.Errorf("orbit 1 holds %v, want the edge neighbours", d)
			}
		}
		m.SetBlockSpins()
		e := make([]float64, m.Dim())
		for k := range opts.Levels {
			s := min(1<<k, L)
			if got := m.Sides(k); got[0] != s || got[1] != s {
				t.Errorf("L = %d, level %d: sides %v, want %d", L, k, got, s)
			}
			m.Stencil(k, 0, e)
			norm2 := 0.0
			for i, v := range e {
				co := m.lat.Coords(i, nil)
				want := 0.0
				if co[0] < s && co[1] < s {
					want = 1 / (float64(s) * math.Sqrt(3))
				}
				if math.Abs(v-want) > 1e-15 {
					t.Fatalf("L = %d, level %d: block-spin stencil at %v is %v, want %v", L, k, co, v, want)
				}
				norm2 += v * v
			}
			m.prepare()
			if math.Abs(norm2-1.0/3) > 1e-14 || math.Abs(m.rho[k*opts.Channels]-norm2) > 1e-14 {
				t.Errorf("L = %d, level %d: |e|² = %v, ρ = %v, want 1/3", L, k, norm2, m.rho[k*opts.Channels])
			}
		}
	}
	if got := offsetOrbits(3, 1); len(got) != 4 || len(got[3]) != 8 {
		t.Errorf("3D orbits of radius 1: %d orbits, the last of %d offsets; want 4 and 8", len(got), len(got[len(got)-1]))
	}
	if got := offsetOrbits(2, 2); len(got) != 6 {
		t.Errorf("2D orbits of radius 2: %d, want 6", len(got))
	}
}

func abs(v int) int { return max(v, -v) }

// TestMultiscaleBindParams checks the flow.ParamBinder contract: the
// parameters move into the given storage, which the potential reads from
// then on.
func TestMultiscaleBindParams(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	m := msCase{[]int{4, 4}, MultiscaleOptions{Levels: 2, Channels: 1, Radius: 1}}.build(t, rng)
	x := randDense(rng, 2, 16, 1)
	v0, v := make([]float64, 2), make([]float64, 2)
	m.Value(v0, x)
	old := append([]float64(nil), m.Params()...)
	store := make([]float64, len(old))
	if !flow.BindParams(m, store) {
		t.Fatal("BindParams: Params does not alias the storage")
	}
	if maxAbsDiff(store, old) != 0 {
		t.Fatal("BindParams did not copy the parameters")
	}
	m.Value(v, x)
	if maxAbsDiff(v, v0) != 0 {
		t.Error("the value changed on binding")
	}
	store[len(store)-1] *= 3
	m.Value(v, x)
	if maxAbsDiff(v, v0) == 0 {
		t.Error("a write into the bound storage did not change the potential")
	}
}

func TestMultiscaleErrors(t *testing.T) {
	per := mustLattice(t, []int{4, 4}, lattice.Periodic)
	open := mustLattice(t, []int{4, 4}, lattice.Open)
	for _, tc := range []struct {
		name string
		lat  *lattice.Lattice
		opts MultiscaleOptions
	}{
		{"nil", nil, DefaultMultiscaleOptions()},
		{"open", open, DefaultMultiscaleOptions()},
		{"levels", per, MultiscaleOptions{Levels: 0, Channels: 1, Radius: 1}},
		{"channels", per, MultiscaleOptions{Levels: 1, Channels: 0, Radius: 1}},
		{"radius", per, MultiscaleOptions{Levels: 1, Channels: 1, Radius: -1}},
	} {
		if _, err := NewMultiscale(tc.lat, tc.opts, nil); err == nil {
			t.Errorf("%s: no error", tc.name)
		}
	}
}
