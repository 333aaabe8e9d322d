package symmetry

import (
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/isingflow/isingflow/flow"
	"github.com/isingflow/isingflow/lattice"
)

// flowMap pushes z through the RK4 flow of p over time T and returns x and
// ln p(x) = ln N(z; 0, I) − ∫∇²φ dt.
func flowMap(t *testing.T, p flow.Potential, z *mat.Dense, T float64, steps int) (*mat.Dense, []float64) {
	t.Helper()
	B, n := z.Dims()
	x := mat.DenseCopyOf(z)
	ell := make([]float64, B)
	rk := &flow.RK4{Steps: steps}
	if _, err := rk.Integrate(p, x, ell, nil, T); err != nil {
		t.Fatal(err)
	}
	logp := make([]float64, B)
	for b := range B {
		zz := 0.0
		for _, v := range z.RawRowView(b) {
			zz += v * v
		}
		logp[b] = -0.5*zz - 0.5*float64(n)*math.Log(2*math.Pi) - ell[b]
	}
	return x, logp
}

// checkFlowCommutes verifies flow(gz) = g flow(z) and ln p(gx) = ln p(x) for
// every element of G, and that the flow is far from the identity.
func checkFlowCommutes(t *testing.T, p flow.Potential, G *Group, rng *rand.Rand, tol float64) {
	t.Helper()
	const B, T, steps = 3, 1.0, 50
	n := p.Dim()
	z := randDense(rng, B, n, 1)
	x, logp := flowMap(t, p, z, T, steps)
	moved := 0.0
	for i, v := range x.RawMatrix().Data {
		moved = math.Max(moved, math.Abs(v-z.RawMatrix().Data[i]))
	}
	if moved < 0.05 {
		t.Fatalf("flow moves samples by at most %g: test too weak", moved)
	}
	gz := mat.NewDense(B, n, nil)
	gx := mat.NewDense(B, n, nil)
	worstX, worstP := 0.0, 0.0
	for k, g := range G.Elements() {
		g.ApplyRows(gz, z)
		xg, logpg := flowMap(t, p, gz, T, steps)
		g.ApplyRows(gx, x)
		ex := maxAbsDiff(xg.RawMatrix().Data, gx.RawMatrix().Data)
		ep := relErr(logpg, logp)
		worstX, worstP = math.Max(worstX, ex), math.Max(worstP, ep)
		if ex > tol || ep > tol {
			t.Fatalf("element %d: |flow(gz) − g flow(z)| = %.3g, ln p relative error %.3g", k, ex, ep)
		}
	}
	t.Logf("|G| = %d, flow moves samples by up to %.3g; worst |flow(gz) − g flow(z)| %.2g, ln p %.2g",
		G.Order(), moved, worstX, worstP)
}

// TestFlowCommutesWithGroup checks at the level of the flow (RK4, 50 steps)
// that samples pushed through it commute with every group element and that
// the log-density is invariant, for Conv and for the generic Average.
func TestFlowCommutesWithGroup(t *testing.T) {
	t.Run("Conv/4x4", func(t *testing.T) {
		rng := rand.New(rand.NewPCG(41, 42))
		lat := mustLattice(t, []int{4, 4}, lattice.Periodic)
		c, err := NewConv(lat, 2, ConvOptions{}, rng)
		if err != nil {
			t.Fatal(err)
		}
		for i := range c.Params() {
			c.Params()[i] *= 4 // a flow far from the identity
		}
		G, _ := c.Group()
		checkFlowCommutes(t, c, G, rng, 1e-12)
	})
	t.Run("Average/6", func(t *testing.T) {
		rng := rand.New(rand.NewPCG(43, 44))
		lat := mustLattice(t, []int{6}, lattice.Periodic)
		G, _ := IsingGroup(lat)
		inner := newRefShallow(lat.N(), 4, true, rng)
		for i := range inner.Params() {
			inner.Params()[i] *= 2
		}
		avg, err := NewAverage(inner, G)
		if err != nil {
			t.Fatal(err)
		}
		checkFlowCommutes(t, avg, G, rng, 1e-12)
	})
}

// TestRandomFlowIsNotEquivariant documents the price of the cheap
// alternative: with one random element per sample per evaluation the flow
// does not commute with the group.
func TestRandomFlowIsNotEquivariant(t *testing.T) {
	rng := rand.New(rand.NewPCG(45, 46))
	lat := mustLattice(t, []int{4, 4}, lattice.Periodic)
	G, _ := IsingGroup(lat)
	inner := newRefShallow(lat.N(), 4, false, rng)
	for i := range inner.Params() {
		inner.Params()[i] *= 3
	}
	r, err := NewRandom(inner, G, 7)
	if err != nil {
		t.Fatal(err)
	}
	z := randDense(rng, 2, lat.N(), 1)
	x, _ := flowMap(t, r, z, 1, 20)
	g := G.Element(G.Order() / 3)
	gz := mat.NewDense(2, lat.N(), nil)
	g.ApplyRows(gz, z)
	xg, _ := flowMap(t, r, gz, 1, 20)
	gx := mat.NewDense(2, lat.N(), nil)
	g.ApplyRows(gx, x)
	if d := maxAbsDiff(xg.RawMatrix().Data, gx.RawMatrix().Data); d < 1e-6 {
		t.Errorf("random-element flow commutes with g to %g: expected a random map", d)
	} else {
		t.Logf("random-element flow: |flow(gz) − g flow(z)| = %.3g", d)
	}
}
