package lattice

import (
	"errors"
	"fmt"
	"math"
	"strings"

	"gonum.org/v1/gonum/mat"
)

// Boundary is the boundary condition along every axis of a lattice.
type Boundary int

const (
	// Periodic joins the last site of every axis to the first (a torus).
	Periodic Boundary = iota
	// Open leaves the edge sites with fewer neighbours.
	Open
)

// String returns "periodic" or "open".
func (b Boundary) String() string {
	switch b {
	case Periodic:
		return "periodic"
	case Open:
		return "open"
	}
	return fmt.Sprintf("Boundary(%d)", int(b))
}

// Bond is a nearest-neighbour bond between sites I < J or, on a periodic axis
// of length 2, one of the two bonds joining the same pair. Axis is the
// direction of the bond.
type Bond struct {
	I, J int
	Axis int
}

// Lattice is a hypercubic lattice with Shape[0] × … × Shape[d−1] sites.
// Sites are numbered in row-major order: the last coordinate varies fastest.
// A Lattice is immutable after construction and safe for concurrent use.
type Lattice struct {
	shape    []int
	strides  []int
	boundary Boundary
	n        int
	bonds    []Bond
}

// New returns the lattice of the given shape (one length per axis) and
// boundary condition. Every length must be at least 2 (at least 1 for open
// boundaries), and the number of sites must fit comfortably in an int.
func New(shape []int, b Boundary) (*Lattice, error) {
	if len(shape) == 0 {
		return nil, errors.New("lattice: no axes")
	}
	if b != Periodic && b != Open {
		return nil, fmt.Errorf("lattice: unknown boundary %v", b)
	}
	n := 1
	for a, l := range shape {
		min := 2
		if b == Open {
			min = 1
		}
		if l < min {
			return nil, fmt.Errorf("lattice: axis %d has length %d, need at least %d for %v boundaries", a, l, min, b)
		}
		if n > math.MaxInt32/l {
			return nil, fmt.Errorf("lattice: shape %v has too many sites", shape)
		}
		n *= l
	}
	lat := &Lattice{
		shape:    append([]int(nil), shape...),
		strides:  make([]int, len(shape)),
		boundary: b,
		n:        n,
	}
	s := 1
	for a := len(shape) - 1; a >= 0; a-- {
		lat.strides[a] = s
		s *= shape[a]
	}
	lat.bonds = lat.makeBonds()
	return lat, nil
}

// NewHypercubic returns the L^d lattice with the given boundary condition.
func NewHypercubic(d, L int, b Boundary) (*Lattice, error) {
	if d < 1 {
		return nil, fmt.Errorf("lattice: dimension %d, need at least 1", d)
	}
	shape := make([]int, d)
	for i := range shape {
		shape[i] = L
	}
	return New(shape, b)
}

// Dim returns the number of axes d.
func (l *Lattice) Dim() int { return len(l.shape) }

// Shape returns a copy of the lengths of the axes.
func (l *Lattice) Shape() []int { return append([]int(nil), l.shape...) }

// Len returns the length of axis a.
func (l *Lattice) Len(a int) int { return l.shape[a] }

// Boundary returns the boundary condition.
func (l *Lattice) Boundary() Boundary { return l.boundary }

// N returns the number of sites.
func (l *Lattice) N() int { return l.n }

// String describes the lattice, for example "16x16 periodic".
func (l *Lattice) String() string {
	parts := make([]string, len(l.shape))
	for i, s := range l.shape {
		parts[i] = fmt.Sprint(s)
	}
	return strings.Join(parts, "x") + " " + l.boundary.String()
}

// Index returns the site index of the given coordinates, which must lie in
// range.
func (l *Lattice) Index(coords []int) int {
	if len(coords) != len(l.shape) {
		panic("lattice: wrong number of coordinates")
	}
	i := 0
	for a, c := range coords {
		if c < 0 || c >= l.shape[a] {
			panic("lattice: coordinate out of range")
		}
		i += c * l.strides[a]
	}
	return i
}

// Coords writes the coordinates of site i into dst (allocated when nil or
// too short) and returns it.
func (l *Lattice) Coords(i int, dst []int) []int {
	if i < 0 || i >= l.n {
		panic("lattice: site out of range")
	}
	if cap(dst) < len(l.shape) {
		dst = make([]int, len(l.shape))
	}
	dst = dst[:len(l.shape)]
	for a := range l.shape {
		dst[a] = i / l.strides[a]
		i %= l.strides[a]
	}
	return dst
}

// Shift returns the site reached from site i by moving by step (±1, or any
// integer) along axis a, and false if that leaves an open lattice.
func (l *Lattice) Shift(i, a, step int) (int, bool) {
	c := (i / l.strides[a]) % l.shape[a]
	nc := c + step
	if l.boundary == Periodic {
		nc = ((nc % l.shape[a]) + l.shape[a]) % l.shape[a]
	} else if nc < 0 || nc >= l.shape[a] {
		return 0, false
	}
	return i + (nc-c)*l.strides[a], true
}

func (l *Lattice) makeBonds() []Bond {
	var bonds []Bond
	for i := 0; i < l.n; i++ {
		for a := range l.shape {
			j, ok := l.Shift(i, a, 1)
			if !ok {
				continue
			}
			b := Bond{I: i, J: j, Axis: a}
			if b.J < b.I {
				b.I, b.J = b.J, b.I
			}
			bonds = append(bonds, b)
		}
	}
	return bonds
}

// Bonds returns the nearest-neighbour bonds, each once (see the package
// documentation for periodic axes of length 2). The returned slice is shared
// and must not be modified.
func (l *Lattice) Bonds() []Bond { return l.bonds }

// NumBonds returns the number of bonds: d·N on a periodic lattice.
func (l *Lattice) NumBonds() int { return len(l.bonds) }

// Neighbors returns the neighbours of site i, one entry per bond, so a
// neighbour joined twice appears twice.
func (l *Lattice) Neighbors(i int, dst []int) []int {
	dst = dst[:0]
	for a := range l.shape {
		for _, step := range [2]int{-1, 1} {
			if j, ok := l.Shift(i, a, step); ok {
				dst = append(dst, j)
			}
		}
	}
	return dst
}

// Adjacency returns the N×N adjacency matrix A, A_ij = number of bonds
// joining i and j.
func (l *Lattice) Adjacency() *mat.SymDense {
	a := mat.NewSymDense(l.n, nil)
	for _, b := range l.bonds {
		a.SetSym(b.I, b.J, a.At(b.I, b.J)+1)
	}
	return a
}

// Coupling returns K = βJA, the coupling matrix of exp(½ sᵀKs) = exp(−βE(s))
// with E(s) = −J Σ_bonds s_i s_j.
func (l *Lattice) Coupling(beta, J float64) *mat.SymDense {
	k := l.Adjacency()
	k.ScaleSym(beta*J, k)
	return k
}

// Energy returns E(s) = −J Σ_bonds s_i s_j for a configuration s of length N
// (entries ±1, or any real values).
func (l *Lattice) Energy(s []float64, J float64) float64 {
	if len(s) != l.n {
		panic("lattice: configuration has wrong length")
	}
	e := 0.0
	for _, b := range l.bonds {
		e += s[b.I] * s[b.J]
	}
	return -J * e
}

// AdjacencySpectrum returns the N eigenvalues of A in closed form, indexed
// like the sites (mode k has the coordinates of site i). A is the Kronecker
// sum of one chain per axis, so its eigenvalues are sums of chain eigenvalues:
//
//	periodic: λ(k) = Σ_a 2 cos(2π k_a / L_a),       eigenvector exp(2πi k·r/L)
//	open:     λ(k) = Σ_a 2 cos(π (k_a+1) / (L_a+1)), eigenvector Π_a sin(π (k_a+1)(r_a+1)/(L_a+1))
func (l *Lattice) AdjacencySpectrum() []float64 {
	ev := make([]float64, l.n)
	k := make([]int, len(l.shape))
	for i := range ev {
		k = l.Coords(i, k)
		s := 0.0
		for a, ka := range k {
			L := float64(l.shape[a])
			if l.boundary == Periodic {
				s += 2 * math.Cos(2*math.Pi*float64(ka)/L)
			} else {
				s += 2 * math.Cos(math.Pi*float64(ka+1)/(L+1))
			}
		}
		ev[i] = s
	}
	return ev
}

// MinAdjacencyEigenvalue returns the smallest eigenvalue of A, −2d on a
// periodic lattice whose lengths are all even.
func (l *Lattice) MinAdjacencyEigenvalue() float64 {
	m := math.Inf(1)
	for _, v := range l.AdjacencySpectrum() {
		m = math.Min(m, v)
	}
	return m
}
