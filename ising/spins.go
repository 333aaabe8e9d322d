package ising

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"

	"github.com/isingflow/isingflow/internal/parallel"
	"github.com/isingflow/isingflow/lattice"
)

// SpinMoments are exact conditional expectations of spin observables given
// a point x of the continuous relaxation, under p(s|x) ∝ exp(sᵀx) (J = 1,
// m = Σs/N).
type SpinMoments struct {
	Energy           float64 // E[E | x], E = −Σ_bonds s_i s_j
	EnergySq         float64 // E[E² | x]
	AbsMagnetization float64 // E[|m| | x]
	MagnetizationSq  float64 // E[m² | x]
	Magnetization4   float64 // E[m⁴ | x]
}

// sitePair is a pair of sites joined by mult bonds.
type sitePair struct{ i, j, mult int }

// ConditionalMoments computes SpinMoments on one lattice. It is safe for
// concurrent use.
type ConditionalMoments struct {
	lat   *lattice.Lattice
	pairs []sitePair
}

// NewConditionalMoments prepares the conditional moments on a lattice.
func NewConditionalMoments(lat *lattice.Lattice) *ConditionalMoments {
	index := map[[2]int]int{}
	var pairs []sitePair
	for _, b := range lat.Bonds() {
		key := [2]int{b.I, b.J}
		if k, ok := index[key]; ok {
			pairs[k].mult++
			continue
		}
		index[key] = len(pairs)
		pairs = append(pairs, sitePair{b.I, b.J, 1})
	}
	return &ConditionalMoments{lat: lat, pairs: pairs}
}

// Moments returns the exact conditional moments at x (length N), computing
// its own workspace. The energy moments cost O(N); ⟨|m| | x⟩ needs the
// distribution of M = Σs, a Poisson-binomial computed in O(N²).
func (c *ConditionalMoments) Moments(x []float64) SpinMoments {
	n := c.lat.N()
	if len(x) != n {
		panic(fmt.Sprintf("observables: x has length %d, lattice has %d sites", len(x), n))
	}
	work := make([]float64, 3*n+2)
	return c.moments(x, work)
}

// Batch writes the conditional moments of every row of x (B×N) into dst,
// in parallel over rows.
func (c *ConditionalMoments) Batch(dst []SpinMoments, x *mat.Dense) {
	b, n := x.Dims()
	if n != c.lat.N() || len(dst) != b {
		panic("observables: Batch dimension mismatch")
	}
	parallel.For(b, n*n/4, func(lo, hi int) {
		work := make([]float64, 3*n+2)
		for r := lo; r < hi; r++ {
			dst[r] = c.moments(x.RawRowView(r), work)
		}
	})
}

func (c *ConditionalMoments) moments(x, work []float64) SpinMoments {
	n := len(x)
	t := work[:n]
	field := work[n : 2*n] // S_i = Σ_{bonds b ∋ i} t_other(b)
	for i, v := range x {
		t[i] = math.Tanh(v)
		field[i] = 0
	}
	// Energy: E[E|x] = −Σ_b T_b, T_b = t_i t_j. For E² the independent-spin
	// product (ΣT_b)² is corrected on pairs of bonds that share sites:
	//   one shared site i (b = ij, b' = il, j ≠ l): true t_j t_l, product t_i² t_j t_l;
	//   both sites (the same pair of sites, n_ij bonds):  true 1,     product t_i² t_j².
	var sumT, both, sameNeighbour float64
	for _, p := range c.pairs {
		ti, tj := t[p.i], t[p.j]
		m := float64(p.mult)
		sumT += m * ti * tj
		field[p.i] += m * tj
		field[p.j] += m * ti
		both += m * m * (1 - ti*ti*tj*tj)
		// Σ_i (1−t_i²) Σ_j n_ij² t_j², collected pair by pair.
		sameNeighbour += m * m * ((1-ti*ti)*tj*tj + (1-tj*tj)*ti*ti)
	}
	one := 0.0
	for i, s := range field {
		one += (1 - t[i]*t[i]) * s * s
	}
	energySq := sumT*sumT + one - sameNeighbour + both

	// Magnetisation moments from the cumulants of M = Σ s_i, a sum of
	// independent ±1 variables of mean t_i: κ2 = Σ(1−t²), κ3 = Σ −2t(1−t²),
	// κ4 = Σ (1−t²)(6t²−2).
	var k1, k2, k3, k4 float64
	for _, ti := range t {
		v := 1 - ti*ti
		k1 += ti
		k2 += v
		k3 += -2 * ti * v
		k4 += v * (6*ti*ti - 2)
	}
	m2 := k2 + k1*k1
	m4 := k4 + 4*k3*k1 + 3*k2*k2 + 6*k2*k1*k1 + k1*k1*k1*k1
	nf := float64(n)
	return SpinMoments{
		Energy:           -sumT,
		EnergySq:         energySq,
		AbsMagnetization: absMagnetization(t, work[2*n:]) / nf,
		MagnetizationSq:  m2 / (nf * nf),
		Magnetization4:   m4 / (nf * nf * nf * nf),
	}
}

// absMagnetization returns E|Σ s_i| for independent spins of means t, from
// the distribution of the number of up spins (dynamic programming over the
// sites, O(N²)). prob must have room for N+1 entries.
func absMagnetization(t, prob []float64) float64 {
	n := len(t)
	prob = prob[:n+1]
	clear(prob)
	prob[0] = 1
	for k, ti := range t {
		up := 0.5 * (1 + ti)
		down := 1 - up
		for u := k + 1; u > 0; u-- {
			prob[u] = prob[u]*down + prob[u-1]*up
		}
		prob[0] *= down
	}
	s := 0.0
	for u, p := range prob {
		s += p * math.Abs(float64(2*u-n))
	}
	return s
}
