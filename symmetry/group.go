package symmetry

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"

	"gonum.org/v1/gonum/mat"

	"github.com/isingflow/isingflow/lattice"
)

// Element is a signed permutation of N lattice sites. It acts on a
// configuration x ∈ R^N by
//
//	(g x)_i = σ_g x_{π_g(i)},   σ_g = ±1,
//
// so as a matrix g_{ij} = σ_g δ_{j,π_g(i)}. Every element is orthogonal:
// gᵀ = g⁻¹, (g⁻¹ x)_i = σ_g x_{π_g⁻¹(i)}.
//
// Products compose as operators, (gh)x = g(hx), which gives
//
//	π_{gh} = π_h ∘ π_g,   σ_{gh} = σ_g σ_h.
//
// The zero Element is not valid; Elements come from a Group, from
// NewElement or from Identity. An Element is immutable.
type Element struct {
	perm []int
	sign float64
}

// NewElement returns the element (g x)_i = sign · x[perm[i]]. perm must be a
// permutation of 0…N−1 and sign ±1. perm is copied.
func NewElement(perm []int, sign float64) (Element, error) {
	if sign != 1 && sign != -1 {
		return Element{}, fmt.Errorf("symmetry: element sign %v, need ±1", sign)
	}
	seen := make([]bool, len(perm))
	for i, p := range perm {
		if p < 0 || p >= len(perm) || seen[p] {
			return Element{}, fmt.Errorf("symmetry: entry %d of the site map is %d: not a permutation of %d sites", i, p, len(perm))
		}
		seen[p] = true
	}
	return Element{perm: slices.Clone(perm), sign: sign}, nil
}

// Identity returns the identity element on n sites.
func Identity(n int) Element {
	p := make([]int, n)
	for i := range p {
		p[i] = i
	}
	return Element{perm: p, sign: 1}
}

// Len returns the number of sites N the element acts on.
func (g Element) Len() int { return len(g.perm) }

// Site returns π_g(i): (g x)_i = σ_g x_{π_g(i)}.
func (g Element) Site(i int) int { return g.perm[i] }

// Sign returns σ_g, +1 or −1 (spin flip).
func (g Element) Sign() float64 { return g.sign }

// Perm returns a copy of the site map π_g.
func (g Element) Perm() []int { return slices.Clone(g.perm) }

// IsIdentity reports whether g is the identity.
func (g Element) IsIdentity() bool {
	if g.sign != 1 {
		return false
	}
	for i, p := range g.perm {
		if p != i {
			return false
		}
	}
	return true
}

// Equal reports whether g and h are the same signed permutation.
func (g Element) Equal(h Element) bool {
	return g.sign == h.sign && slices.Equal(g.perm, h.perm)
}

// Compose returns the product gh, the element with (gh)x = g(hx).
func (g Element) Compose(h Element) Element {
	if len(g.perm) != len(h.perm) {
		panic("symmetry: composing elements on different numbers of sites")
	}
	p := make([]int, len(g.perm))
	for i, gi := range g.perm {
		p[i] = h.perm[gi]
	}
	return Element{perm: p, sign: g.sign * h.sign}
}

// Inverse returns g⁻¹ = gᵀ.
func (g Element) Inverse() Element {
	p := make([]int, len(g.perm))
	for i, gi := range g.perm {
		p[gi] = i
	}
	return Element{perm: p, sign: g.sign}
}

// Apply writes g x into dst, which must have length N and must not share
// memory with x.
func (g Element) Apply(dst, x []float64) {
	if len(dst) != len(g.perm) || len(x) != len(g.perm) {
		panic("symmetry: length mismatch in Apply")
	}
	s := g.sign
	for i, p := range g.perm {
		dst[i] = s * x[p]
	}
}

// ApplyTranspose writes gᵀ x = g⁻¹ x into dst, which must have length N and
// must not share memory with x.
func (g Element) ApplyTranspose(dst, x []float64) {
	if len(dst) != len(g.perm) || len(x) != len(g.perm) {
		panic("symmetry: length mismatch in ApplyTranspose")
	}
	s := g.sign
	for i, p := range g.perm {
		dst[p] = s * x[i]
	}
}

// ApplyRows writes g x_b into row b of dst for every row x_b of the B×N
// batch x. dst must have x's shape and must not share memory with it.
func (g Element) ApplyRows(dst, x *mat.Dense) {
	r, c := x.Dims()
	if rd, cd := dst.Dims(); rd != r || cd != c || c != len(g.perm) {
		panic("symmetry: shape mismatch in ApplyRows")
	}
	for b := 0; b < r; b++ {
		g.Apply(dst.RawRowView(b), x.RawRowView(b))
	}
}

// ApplyTransposeRows writes gᵀ x_b into row b of dst for every row x_b of
// the B×N batch x. dst must have x's shape and must not share memory with it.
func (g Element) ApplyTransposeRows(dst, x *mat.Dense) {
	r, c := x.Dims()
	if rd, cd := dst.Dims(); rd != r || cd != c || c != len(g.perm) {
		panic("symmetry: shape mismatch in ApplyTransposeRows")
	}
	for b := 0; b < r; b++ {
		g.ApplyTranspose(dst.RawRowView(b), x.RawRowView(b))
	}
}

// key returns a string identifying g, for deduplication.
func (g Element) key() string {
	buf := make([]byte, 1+4*len(g.perm))
	if g.sign < 0 {
		buf[0] = 1
	}
	for i, p := range g.perm {
		binary.LittleEndian.PutUint32(buf[1+4*i:], uint32(p))
	}
	return string(buf)
}

// Group is a finite group of signed permutations of N sites. Its first
// element is the identity; the order of the others is deterministic. A
// Group is immutable and safe for concurrent use.
type Group struct {
	n     int
	elems []Element
	index map[string]int
}

// newSet collects distinct elements in order of first appearance, the
// identity first.
func newSet(n int) *Group {
	g := &Group{n: n, index: make(map[string]int)}
	g.add(Identity(n))
	return g
}

func (G *Group) add(e Element) bool {
	k := e.key()
	if _, ok := G.index[k]; ok {
		return false
	}
	G.index[k] = len(G.elems)
	G.elems = append(G.elems, e)
	return true
}

// Generate returns the group generated by the given elements on n sites:
// the closure of the set under composition (Trivial(n) when there are no
// generators).
func Generate(n int, generators ...Element) (*Group, error) {
	for i, s := range generators {
		if s.Len() != n {
			return nil, fmt.Errorf("symmetry: generator %d acts on %d sites, want %d", i, s.Len(), n)
		}
	}
	G := newSet(n)
	for _, s := range generators {
		G.add(s)
	}
	// Breadth-first closure: multiplying every element by every generator
	// on the right reaches the whole group (finite, so inverses are powers).
	for i := 0; i < len(G.elems); i++ {
		for _, s := range generators {
			G.add(G.elems[i].Compose(s))
		}
	}
	return G, nil
}

// Trivial returns the group {e} on n sites.
func Trivial(n int) *Group { return newSet(n) }

// SpinFlip returns the two-element group {e, −e} on n sites: x → −x.
func SpinFlip(n int) *Group {
	G := newSet(n)
	f := Identity(n)
	f.sign = -1
	G.add(f)
	return G
}

// Translations returns the N translations of a periodic lattice,
//
//	(T_t x)_r = x_{r+t}   (coordinates mod L_a on every axis),
//
// in the order of the site index of t, so element k is the translation by
// the coordinates of site k. It is an error on an open lattice.
func Translations(lat *lattice.Lattice) (*Group, error) {
	if lat.Boundary() != lattice.Periodic {
		return nil, fmt.Errorf("symmetry: translations need a periodic lattice, have %v", lat)
	}
	n := lat.N()
	G := &Group{n: n, index: make(map[string]int, n)}
	shape := lat.Shape()
	c := make([]int, len(shape))
	t := make([]int, len(shape))
	for k := 0; k < n; k++ {
		t = lat.Coords(k, t)
		p := make([]int, n)
		for i := 0; i < n; i++ {
			c = lat.Coords(i, c)
			for a := range c {
				c[a] = (c[a] + t[a]) % shape[a]
			}
			p[i] = lat.Index(c)
		}
		G.add(Element{perm: p, sign: 1})
	}
	return G, nil
}

// PointGroup returns the symmetries of the hypercube that the lattice's
// shape allows: every signed permutation of the axes that only exchanges
// axes of equal length, acting on site coordinates. On a periodic lattice
// they fix the origin, (R r)_a = s_a r_{q(a)} mod L_a; on an open lattice
// reflections are about the centre, r_a → L_a − 1 − r_a. The action on
// configurations is (g x)_r = x_{R r}. Duplicates (reflections of an axis
// of length ≤ 2 on a periodic lattice, of length 1 on an open one) are
// removed, so the order is 8 (D4) on an L×L square with L ≥ 3, 2^d·d! on L^d,
// and 4 on an L_1×L_2 rectangle with L_1 ≠ L_2.
func PointGroup(lat *lattice.Lattice) (*Group, error) {
	shape := lat.Shape()
	d := len(shape)
	n := lat.N()
	G := newSet(n)
	periodic := lat.Boundary() == lattice.Periodic
	c := make([]int, d)
	rc := make([]int, d)
	axes := make([]int, d)
	for a := range axes {
		axes[a] = a
	}
	var perms [][]int
	permute(axes, 0, func(q []int) {
		for a := range q {
			if shape[q[a]] != shape[a] {
				return
			}
		}
		perms = append(perms, slices.Clone(q))
	})
	for _, q := range perms {
		for signs := 0; signs < 1<<d; signs++ {
			p := make([]int, n)
			for i := 0; i < n; i++ {
				c = lat.Coords(i, c)
				for a := range rc {
					v := c[q[a]]
					if signs>>a&1 == 1 {
						if periodic {
							v = (shape[a] - v) % shape[a]
						} else {
							v = shape[a] - 1 - v
						}
					}
					rc[a] = v
				}
				p[i] = lat.Index(rc)
			}
			G.add(Element{perm: p, sign: 1})
		}
	}
	return G, nil
}

// Transposition returns the group {1, τ} of the transposition of the
// first two axes, (τ x)_(r0, r1, …) = x_(r1, r0, …): the point-group part of
// the random element the paper's reference code draws (translations ×
// {1, τ}, without the rotations and the other reflections of PointGroup).
// The first two axes must have the same length.
func Transposition(lat *lattice.Lattice) (*Group, error) {
	shape := lat.Shape()
	if len(shape) < 2 || shape[0] != shape[1] {
		return nil, fmt.Errorf("symmetry: Transposition: lattice shape %v has no two equal first axes", shape)
	}
	n := lat.N()
	p := make([]int, n)
	c := make([]int, len(shape))
	for i := range p {
		c = lat.Coords(i, c)
		c[0], c[1] = c[1], c[0]
		p[i] = lat.Index(c)
	}
	return Generate(n, Element{perm: p, sign: 1})
}

// permute calls fn with every permutation of a[k:] (in place, restored).
func permute(a []int, k int, fn func([]int)) {
	if k == len(a) {
		fn(a)
		return
	}
	for i := k; i < len(a); i++ {
		a[k], a[i] = a[i], a[k]
		permute(a, k+1, fn)
		a[k], a[i] = a[i], a[k]
	}
}

// DirectProduct returns the set of all products g_1 g_2 … g_k with g_i in
// groups[i], deduplicated, ordered with the last factor varying fastest.
// This set is a group whenever each factor's elements permute with the
// product of the previous ones (HK = KH); DirectProduct checks that and
// returns an error otherwise. Spin flip commutes with everything, giving a
// true direct product; translations and the point group give the
// semidirect product T ⋊ P (the space group, order N·|P|).
func DirectProduct(groups ...*Group) (*Group, error) {
	if len(groups) == 0 {
		return nil, errors.New("symmetry: DirectProduct of no groups")
	}
	n := groups[0].n
	for i, H := range groups {
		if H.n != n {
			return nil, fmt.Errorf("symmetry: factor %d acts on %d sites, want %d", i, H.n, n)
		}
	}
	prod := groups[0]
	for f, K := range groups[1:] {
		next := &Group{n: n, index: make(map[string]int, len(prod.elems)*len(K.elems))}
		for _, h := range prod.elems {
			for _, k := range K.elems {
				next.add(h.Compose(k))
			}
		}
		// HK is a group iff KH ⊆ HK (then KH = HK, as both are finite of
		// the same size).
		for _, k := range K.elems {
			for _, h := range prod.elems {
				if _, ok := next.index[k.Compose(h).key()]; !ok {
					return nil, fmt.Errorf("symmetry: DirectProduct: factor %d does not normalise the product of the factors before it: the product set is not a group", f+1)
				}
			}
		}
		prod = next
	}
	return prod, nil
}

// IsingGroup returns the symmetry group of the nearest-neighbour Ising
// energy that this package builds on lat: translations ⋊ point group ×
// spin flip on a periodic lattice (order 2·N·|P|, 4096 on a 16×16 torus),
// point group × spin flip on an open one.
func IsingGroup(lat *lattice.Lattice) (*Group, error) {
	P, err := PointGroup(lat)
	if err != nil {
		return nil, err
	}
	F := SpinFlip(lat.N())
	if lat.Boundary() != lattice.Periodic {
		return DirectProduct(P, F)
	}
	T, err := Translations(lat)
	if err != nil {
		return nil, err
	}
	return DirectProduct(T, P, F)
}

// N returns the number of sites the group acts on.
func (G *Group) N() int { return G.n }

// Order returns |G|.
func (G *Group) Order() int { return len(G.elems) }

// Elements returns the elements, identity first. The slice is shared and
// must not be modified.
func (G *Group) Elements() []Element { return G.elems }

// Element returns element k, 0 ≤ k < Order().
func (G *Group) Element(k int) Element { return G.elems[k] }

// Identity returns the identity element.
func (G *Group) Identity() Element { return G.elems[0] }

// Index returns the position of g in the group and whether it is there.
func (G *Group) Index(g Element) (int, bool) {
	if g.Len() != G.n {
		return 0, false
	}
	k, ok := G.index[g.key()]
	return k, ok
}

// Compose returns the index of the product of elements i and j (element i
// applied after element j).
func (G *Group) Compose(i, j int) int {
	k, ok := G.index[G.elems[i].Compose(G.elems[j]).key()]
	if !ok {
		panic("symmetry: group not closed under composition")
	}
	return k
}

// Inverse returns the index of the inverse of element i.
func (G *Group) Inverse(i int) int {
	k, ok := G.index[G.elems[i].Inverse().key()]
	if !ok {
		panic("symmetry: group not closed under inversion")
	}
	return k
}

// Orbit returns the sites {π_g(site) : g ∈ G} in increasing order.
func (G *Group) Orbit(site int) []int {
	if site < 0 || site >= G.n {
		panic("symmetry: site out of range")
	}
	seen := make([]bool, G.n)
	var orb []int
	for _, g := range G.elems {
		if s := g.perm[site]; !seen[s] {
			seen[s] = true
			orb = append(orb, s)
		}
	}
	slices.Sort(orb)
	return orb
}
