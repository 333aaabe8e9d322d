package lattice

import (
	"math"
	"slices"
	"testing"

	"gonum.org/v1/gonum/mat"
)

var shapes = []struct {
	shape []int
	b     Boundary
}{
	{[]int{5}, Periodic},
	{[]int{2}, Periodic},
	{[]int{1}, Open},
	{[]int{6}, Open},
	{[]int{4, 4}, Periodic},
	{[]int{3, 5}, Periodic},
	{[]int{2, 3}, Periodic},
	{[]int{2, 2}, Periodic},
	{[]int{4, 3}, Open},
	{[]int{3, 3, 3}, Periodic},
	{[]int{2, 3, 4}, Open},
	{[]int{2, 2, 2}, Periodic},
}

func TestIndexCoordsRoundTrip(t *testing.T) {
	for _, tc := range shapes {
		l, err := New(tc.shape, tc.b)
		if err != nil {
			t.Fatal(err)
		}
		var c []int
		for i := 0; i < l.N(); i++ {
			c = l.Coords(i, c)
			if j := l.Index(c); j != i {
				t.Fatalf("%v: Index(Coords(%d)) = %d", l, i, j)
			}
		}
	}
}

func TestBondCountAndDegree(t *testing.T) {
	for _, tc := range shapes {
		l, _ := New(tc.shape, tc.b)
		want := 0
		for a := range tc.shape {
			per := l.N() / tc.shape[a]
			if tc.b == Periodic {
				want += l.N()
			} else {
				want += per * (tc.shape[a] - 1)
			}
		}
		if l.NumBonds() != want {
			t.Errorf("%v: %d bonds, want %d", l, l.NumBonds(), want)
		}
		// Every site's neighbour list has one entry per bond end.
		deg := make([]int, l.N())
		for _, b := range l.Bonds() {
			if b.I > b.J {
				t.Fatalf("%v: bond %v not ordered", l, b)
			}
			deg[b.I]++
			deg[b.J]++
		}
		var nb []int
		for i := range deg {
			nb = l.Neighbors(i, nb)
			if len(nb) != deg[i] {
				t.Errorf("%v: site %d has %d neighbours but %d bond ends", l, i, len(nb), deg[i])
			}
			if tc.b == Periodic && len(nb) != 2*l.Dim() {
				t.Errorf("%v: periodic site %d has %d neighbours", l, i, len(nb))
			}
		}
	}
}

func TestLengthTwoPeriodicIsDoublyBonded(t *testing.T) {
	l, _ := New([]int{2}, Periodic)
	if got := l.Adjacency().At(0, 1); got != 2 {
		t.Fatalf("A_01 = %v on a periodic chain of 2, want 2", got)
	}
	// E(+,-) = +2J: both bonds are broken.
	if e := l.Energy([]float64{1, -1}, 1); e != 2 {
		t.Fatalf("E(+-) = %v, want 2", e)
	}
}

func TestSpectrumAgainstDenseEigensolver(t *testing.T) {
	for _, tc := range shapes {
		l, _ := New(tc.shape, tc.b)
		var eig mat.EigenSym
		if !eig.Factorize(l.Adjacency(), false) {
			t.Fatal("eigen decomposition failed")
		}
		dense := eig.Values(nil)
		closed := l.AdjacencySpectrum()
		slices.Sort(dense)
		slices.Sort(closed)
		for i := range dense {
			if math.Abs(dense[i]-closed[i]) > 1e-12 {
				t.Fatalf("%v: eigenvalue %d: closed form %v, dense %v", l, i, closed[i], dense[i])
			}
		}
		if m := l.MinAdjacencyEigenvalue(); math.Abs(m-dense[0]) > 1e-12 {
			t.Errorf("%v: min eigenvalue %v, dense %v", l, m, dense[0])
		}
	}
}

func TestMinEigenvalueEvenPeriodic(t *testing.T) {
	for d := 1; d <= 3; d++ {
		l, _ := NewHypercubic(d, 4, Periodic)
		if m := l.MinAdjacencyEigenvalue(); math.Abs(m+2*float64(d)) > 1e-14 {
			t.Errorf("d=%d: λ_min = %v, want %v", d, m, -2*d)
		}
	}
}

func TestCouplingIsBetaJA(t *testing.T) {
	l, _ := New([]int{3, 4}, Periodic)
	a := l.Adjacency()
	// βJ = 0.75 and −1.5 (antiferromagnetic): a Coupling that ignored β, J
	// or the sign of J would fail; βJ = 1 would not tell.
	for _, tc := range []struct{ beta, j float64 }{{0.5, 1.5}, {0.25, -6}} {
		k := l.Coupling(tc.beta, tc.j)
		for i := 0; i < l.N(); i++ {
			for j := 0; j < l.N(); j++ {
				if want := tc.beta * tc.j * a.At(i, j); k.At(i, j) != want {
					t.Fatalf("β = %g, J = %g: K_%d%d = %v, want %v", tc.beta, tc.j, i, j, k.At(i, j), want)
				}
			}
		}
	}
}

func TestEnergyGroundState(t *testing.T) {
	for _, tc := range shapes {
		l, _ := New(tc.shape, tc.b)
		s := make([]float64, l.N())
		for i := range s {
			s[i] = 1
		}
		if e := l.Energy(s, 1); e != -float64(l.NumBonds()) {
			t.Errorf("%v: ground-state energy %v, want %v", l, e, -l.NumBonds())
		}
	}
}

func TestNewRejectsBadShapes(t *testing.T) {
	for _, tc := range []struct {
		shape []int
		b     Boundary
	}{
		{nil, Periodic},
		{[]int{1}, Periodic},
		{[]int{0}, Open},
		{[]int{4, -1}, Open},
		{[]int{4}, Boundary(7)},
		{[]int{1 << 20, 1 << 20}, Periodic},
	} {
		if _, err := New(tc.shape, tc.b); err == nil {
			t.Errorf("New(%v, %v) accepted", tc.shape, tc.b)
		}
	}
	if _, err := NewHypercubic(0, 4, Periodic); err == nil {
		t.Error("NewHypercubic(0, …) accepted")
	}
}

func TestShift(t *testing.T) {
	l, _ := New([]int{3, 4}, Periodic)
	i := l.Index([]int{2, 3})
	if j, _ := l.Shift(i, 0, 1); j != l.Index([]int{0, 3}) {
		t.Errorf("periodic shift wrong: %d", j)
	}
	if j, _ := l.Shift(i, 1, -5); j != l.Index([]int{2, 2}) {
		t.Errorf("periodic shift by -5 wrong: %d", j)
	}
	o, _ := New([]int{3, 4}, Open)
	if _, ok := o.Shift(i, 1, 1); ok {
		t.Error("open shift off the edge succeeded")
	}
}
