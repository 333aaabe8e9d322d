package symmetry

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/isingflow/isingflow/lattice"
)

func mustLattice(t testing.TB, shape []int, b lattice.Boundary) *lattice.Lattice {
	t.Helper()
	lat, err := lattice.New(shape, b)
	if err != nil {
		t.Fatal(err)
	}
	return lat
}

type groupCase struct {
	name  string
	shape []int
	b     lattice.Boundary
	build func(*lattice.Lattice) (*Group, error)
	order int
}

func groupCases() []groupCase {
	T := Translations
	P := PointGroup
	full := IsingGroup
	// times builds the direct product of two groups on the same lattice.
	times := func(a, b func(*lattice.Lattice) (*Group, error)) func(*lattice.Lattice) (*Group, error) {
		return func(l *lattice.Lattice) (*Group, error) {
			ga, err := a(l)
			if err != nil {
				return nil, err
			}
			gb, err := b(l)
			if err != nil {
				return nil, err
			}
			return DirectProduct(ga, gb)
		}
	}
	TP := times(Translations, PointGroup)
	F := func(l *lattice.Lattice) (*Group, error) { return SpinFlip(l.N()), nil }
	TX := times(Translations, Transposition) // the reference code's random group
	per, open := lattice.Periodic, lattice.Open
	return []groupCase{
		{"1D/8/T", []int{8}, per, T, 8},
		{"1D/8/P", []int{8}, per, P, 2},
		{"1D/8/full", []int{8}, per, full, 32},
		{"1D/7/open/P", []int{7}, open, P, 2},
		{"1D/7/open/full", []int{7}, open, full, 4},
		{"2D/4x4/T", []int{4, 4}, per, T, 16},
		{"2D/4x4/P", []int{4, 4}, per, P, 8},
		{"2D/4x4/TP", []int{4, 4}, per, TP, 128},
		{"2D/4x4/full", []int{4, 4}, per, full, 256},
		{"2D/4x4/flip", []int{4, 4}, per, F, 2},
		{"2D/2x2/P", []int{2, 2}, per, P, 2}, // reflections are trivial mod 2
		{"2D/3x5/T", []int{3, 5}, per, T, 15},
		{"2D/3x5/P", []int{3, 5}, per, P, 4},
		{"2D/4x6/full", []int{4, 6}, per, full, 4 * 24 * 2},
		{"2D/5x5/open/P", []int{5, 5}, open, P, 8},
		{"2D/4x5/open/full", []int{4, 5}, open, full, 8},
		{"2D/16x16/T", []int{16, 16}, per, T, 256},
		{"2D/16x16/P", []int{16, 16}, per, P, 8},
		{"2D/16x16/full", []int{16, 16}, per, full, 4096},
		{"2D/4x4/transposition", []int{4, 4}, per, Transposition, 2},
		{"2D/16x16/T×transposition", []int{16, 16}, per, TX, 512},
		{"3D/3x3x4/open/transposition", []int{3, 3, 4}, open, Transposition, 2},
		{"3D/3x3x3/P", []int{3, 3, 3}, per, P, 48},
		{"3D/3x3x3/full", []int{3, 3, 3}, per, full, 27 * 48 * 2},
		{"3D/3x3x4/P", []int{3, 3, 4}, per, P, 16},
		{"3D/3x3x3/open/full", []int{3, 3, 3}, open, full, 96},
	}
}

// TestGroupAxioms checks closure, identity, inverses and associativity of
// every group the package builds, exhaustively where that is cheap and on
// random pairs and triples otherwise, and that the orders are as expected.
func TestGroupAxioms(t *testing.T) {
	for _, tc := range groupCases() {
		t.Run(tc.name, func(t *testing.T) {
			lat := mustLattice(t, tc.shape, tc.b)
			G, err := tc.build(lat)
			if err != nil {
				t.Fatal(err)
			}
			if G.Order() != tc.order {
				t.Fatalf("order %d, want %d", G.Order(), tc.order)
			}
			if !G.Identity().IsIdentity() {
				t.Fatal("first element is not the identity")
			}
			els := G.Elements()
			for k, g := range els {
				if j, ok := G.Index(g); !ok || j != k {
					t.Fatalf("element %d indexed as %d, %v", k, j, ok)
				}
				if !g.Compose(G.Identity()).Equal(g) || !G.Identity().Compose(g).Equal(g) {
					t.Fatalf("element %d: identity law fails", k)
				}
				inv := g.Inverse()
				if _, ok := G.Index(inv); !ok {
					t.Fatalf("inverse of element %d not in the group", k)
				}
				if !g.Compose(inv).IsIdentity() || !inv.Compose(g).IsIdentity() {
					t.Fatalf("element %d: g g⁻¹ ≠ e", k)
				}
			}
			rng := rand.New(rand.NewPCG(1, 2))
			n := len(els)
			if n*n <= 1<<16 {
				for i := range els {
					for j := range els {
						G.Compose(i, j) // panics if not closed
					}
				}
			} else {
				for range 1 << 14 {
					G.Compose(rng.IntN(n), rng.IntN(n))
				}
			}
			for range 200 {
				a, b, c := els[rng.IntN(n)], els[rng.IntN(n)], els[rng.IntN(n)]
				if !a.Compose(b).Compose(c).Equal(a.Compose(b.Compose(c))) {
					t.Fatal("associativity fails")
				}
			}
		})
	}
}

// TestCompositionConvention checks (gh)x = g(hx), gᵀ = g⁻¹ and the
// batched actions on a random vector.
func TestCompositionConvention(t *testing.T) {
	lat := mustLattice(t, []int{4, 6}, lattice.Periodic)
	G, err := IsingGroup(lat)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(3, 4))
	n := lat.N()
	x := make([]float64, n)
	for i := range x {
		x[i] = rng.NormFloat64()
	}
	hx, ghx, gh := make([]float64, n), make([]float64, n), make([]float64, n)
	back := make([]float64, n)
	for range 50 {
		g := G.Element(rng.IntN(G.Order()))
		h := G.Element(rng.IntN(G.Order()))
		h.Apply(hx, x)
		g.Apply(ghx, hx)
		g.Compose(h).Apply(gh, x)
		if !slices.Equal(ghx, gh) {
			t.Fatal("(gh)x ≠ g(hx)")
		}
		g.ApplyTranspose(back, ghx)
		if !slices.Equal(back, hx) {
			t.Fatal("gᵀ g x ≠ x")
		}
		g.Inverse().Apply(back, ghx)
		if !slices.Equal(back, hx) {
			t.Fatal("g⁻¹ ≠ gᵀ")
		}
	}
	// Batched forms agree with the vector forms.
	X := mat.NewDense(3, n, nil)
	for i := range 3 {
		for j := range n {
			X.Set(i, j, rng.NormFloat64())
		}
	}
	g := G.Element(17)
	Y := mat.NewDense(3, n, nil)
	Z := mat.NewDense(3, n, nil)
	g.ApplyRows(Y, X)
	g.ApplyTransposeRows(Z, Y)
	if !mat.Equal(Z, X) {
		t.Fatal("ApplyTransposeRows does not undo ApplyRows")
	}
	g.Apply(hx, X.RawRowView(1))
	if !slices.Equal(hx, Y.RawRowView(1)) {
		t.Fatal("ApplyRows ≠ Apply on a row")
	}
}

// TestTranslationConvention checks (T_t x)_r = x_{r+t} and the point group
// fixes the origin on a periodic lattice.
func TestTranslationConvention(t *testing.T) {
	lat := mustLattice(t, []int{3, 5}, lattice.Periodic)
	T, err := Translations(lat)
	if err != nil {
		t.Fatal(err)
	}
	tr := T.Element(lat.Index([]int{1, 2}))
	r := lat.Index([]int{2, 4})
	if got, want := tr.Site(r), lat.Index([]int{0, 1}); got != want {
		t.Errorf("π_t(r) = %d, want %d", got, want)
	}
	P, _ := PointGroup(lat)
	for k, p := range P.Elements() {
		if p.Site(0) != 0 {
			t.Errorf("point-group element %d moves the origin", k)
		}
	}
	if _, err := Translations(mustLattice(t, []int{4}, lattice.Open)); err == nil {
		t.Error("translations of an open lattice: no error")
	}
}

// TestSymmetryOfEnergy checks that every element maps the bond multiset
// onto itself, so E(g s) = E(s) for the Ising energy, and verifies it on
// random configurations.
func TestSymmetryOfEnergy(t *testing.T) {
	for _, tc := range groupCases() {
		t.Run(tc.name, func(t *testing.T) {
			lat := mustLattice(t, tc.shape, tc.b)
			G, err := tc.build(lat)
			if err != nil {
				t.Fatal(err)
			}
			type pair struct{ i, j int }
			count := map[pair]int{}
			for _, b := range lat.Bonds() {
				count[pair{min(b.I, b.J), max(b.I, b.J)}]++
			}
			rng := rand.New(rand.NewPCG(5, 6))
			s := make([]float64, lat.N())
			gs := make([]float64, lat.N())
			for i := range s {
				s[i] = float64(2*rng.IntN(2) - 1)
			}
			e := lat.Energy(s, 1)
			for k, g := range G.Elements() {
				img := map[pair]int{}
				for _, b := range lat.Bonds() {
					i, j := g.Site(b.I), g.Site(b.J)
					img[pair{min(i, j), max(i, j)}]++
				}
				for p, c := range count {
					if img[p] != c {
						t.Fatalf("element %d does not preserve bond %v", k, p)
					}
				}
				g.Apply(gs, s)
				if eg := lat.Energy(gs, 1); math.Abs(eg-e) > 1e-12 {
					t.Fatalf("element %d: E(gs) = %v, E(s) = %v", k, eg, e)
				}
			}
		})
	}
}

func TestOrbit(t *testing.T) {
	lat := mustLattice(t, []int{5, 5}, lattice.Open)
	P, _ := PointGroup(lat)
	// The corner (0,0) of an open 5×5 square has the 4 corners as orbit;
	// (0,1) has the 8 edge sites next to corners; the centre is fixed.
	tests := []struct {
		c    []int
		size int
	}{{[]int{0, 0}, 4}, {[]int{0, 1}, 8}, {[]int{2, 2}, 1}, {[]int{1, 1}, 4}, {[]int{0, 2}, 4}}
	for _, tt := range tests {
		if got := len(P.Orbit(lat.Index(tt.c))); got != tt.size {
			t.Errorf("orbit of %v has %d sites, want %d", tt.c, got, tt.size)
		}
	}
	per := mustLattice(t, []int{4, 4}, lattice.Periodic)
	G, _ := IsingGroup(per)
	if got := len(G.Orbit(5)); got != per.N() {
		t.Errorf("space-group orbit has %d sites, want %d", got, per.N())
	}
}

func TestGenerate(t *testing.T) {
	lat := mustLattice(t, []int{6, 6}, lattice.Periodic)
	// D4 is generated by a 90° rotation and one reflection.
	P, _ := PointGroup(lat)
	var rot, refl Element
	for _, g := range P.Elements() {
		c := lat.Coords(g.Site(lat.Index([]int{1, 0})), nil)
		c2 := lat.Coords(g.Site(lat.Index([]int{0, 1})), nil)
		switch {
		case slices.Equal(c, []int{0, 1}) && slices.Equal(c2, []int{5, 0}):
			rot = g
		case slices.Equal(c, []int{5, 0}) && slices.Equal(c2, []int{0, 1}):
			refl = g
		}
	}
	if rot.Len() == 0 || refl.Len() == 0 {
		t.Fatal("rotation or reflection not found")
	}
	D4, err := Generate(lat.N(), rot, refl)
	if err != nil {
		t.Fatal(err)
	}
	if D4.Order() != 8 {
		t.Fatalf("generated order %d, want 8", D4.Order())
	}
	for _, g := range P.Elements() {
		if _, ok := D4.Index(g); !ok {
			t.Fatal("generated group misses a point-group element")
		}
	}
}

func TestDirectProductRejectsNonGroup(t *testing.T) {
	// Two reflections of a 1D chain of 4 sites about different centres
	// generate translations; their product set is not a group.
	a, _ := NewElement([]int{3, 2, 1, 0}, 1)
	b, _ := NewElement([]int{0, 3, 2, 1}, 1)
	A, _ := Generate(4, a)
	B, _ := Generate(4, b)
	if _, err := DirectProduct(A, B); err == nil {
		t.Error("no error for a product set that is not a group")
	}
	if _, err := NewElement([]int{0, 0, 1}, 1); err == nil {
		t.Error("NewElement accepted a non-permutation")
	}
	if _, err := NewElement([]int{0, 1}, 2); err == nil {
		t.Error("NewElement accepted sign 2")
	}
}

// TestTranspositionNeedsEqualAxes checks that a rectangle has no
// transposition.
func TestTranspositionNeedsEqualAxes(t *testing.T) {
	for _, shape := range [][]int{{8}, {4, 6}} {
		if _, err := Transposition(mustLattice(t, shape, lattice.Periodic)); err == nil {
			t.Errorf("Transposition of shape %v: no error", shape)
		}
	}
}
