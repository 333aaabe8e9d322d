package flow

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// TestExpNonPositive checks the activations' exponential against math.Exp
// over [−700, 0] (a dense sweep and the ends), its floor below −700, and
// NaN.
func TestExpNonPositive(t *testing.T) {
	const ulp = 0x1p-52
	check := func(x float64) {
		want := math.Exp(x)
		if got := expNonPositive(x); math.Abs(got-want) > 2*ulp*want {
			t.Errorf("expNonPositive(%v) = %.17g, want %.17g (%.2g ulp)", x, got, want, (got-want)/want/ulp)
		}
	}
	for _, x := range []float64{0, math.Copysign(0, -1), -5e-324, -1e-300, -1e-17, -1e-8, -math.Ln2 / 2, -math.Ln2, -1, -20, -700} {
		check(x)
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for range 1_000_000 {
		check(-700 * rng.Float64())
		check(-rng.ExpFloat64())
	}
	if got := expNonPositive(0); got != 1 {
		t.Errorf("expNonPositive(0) = %v, want 1", got)
	}
	floor := math.Exp(expFloor)
	for _, x := range []float64{-700.5, -745, -1e6, math.Inf(-1)} {
		if got := expNonPositive(x); math.Abs(got-floor) > 2*ulp*floor {
			t.Errorf("expNonPositive(%v) = %v, want e^%v = %v", x, got, float64(expFloor), floor)
		}
	}
	if got := expNonPositive(math.NaN()); !math.IsNaN(got) {
		t.Errorf("expNonPositive(NaN) = %v, want NaN", got)
	}
}

// TestVectorRowsMatchScalar checks the elementwise rows of the training
// step, gradLapRow and the memo branch of vjpUnits' loop, against the
// same formulas written from Derivatives one entry at a time, and the memo
// against the exponential it keeps and the σ', σ” it gives back, for both
// activations, with and without a bias and a memo, on lengths that do and
// do not divide by the vector width. With GOEXPERIMENT=simd on a CPU with
// AVX2 and FMA this tests the vector loops (vectorRows), otherwise the
// scalar ones; the two differ from each other only by the roundings the
// fused multiply-adds save, a few ulp.
func TestVectorRowsMatchScalar(t *testing.T) {
	t.Logf("vector loops: %v", vectorRows)
	rng := rand.New(rand.NewPCG(5, 6))
	vec := func(n int, scale float64) []float64 {
		v := make([]float64, n)
		for i := range v {
			v[i] = scale * rng.NormFloat64()
		}
		return v
	}
	near := func(got, want float64) bool { return math.Abs(got-want) <= 1e-14*(1+math.Abs(want)) }
	// σ” is e^{−2|v|} or e^{−|v|} times a factor near 1: relative.
	nearRel := func(got, want float64) bool { return math.Abs(got-want) <= 1e-14*math.Abs(want) }
	for _, act := range []Activation{LogCosh, Softplus} {
		for _, n := range []int{0, 1, 3, 4, 5, 8, 13, 512} {
			for _, withBias := range []bool{false, true} {
				name := fmt.Sprintf("%v/n=%d/bias=%v", act, n, withBias)
				u, w, r := vec(n, 3), vec(n, 1), vec(n, 1)
				for i := range r {
					r[i] *= r[i] // |a_j|² ≥ 0
				}
				if n > 2 {
					u[0], u[1], u[2] = 0, 40, -300 // the sign, saturation, tiny σ”
				}
				var b []float64
				if withBias {
					b = vec(n, 0.5)
				}
				d1w, d2w, dw := make([]float64, n), make([]float64, n), make([]float64, n)
				var lapWant float64
				for j := range n {
					v := u[j]
					if b != nil {
						v += b[j]
					}
					d1, d2, _ := act.Derivatives(v)
					d1w[j], d2w[j], dw[j] = d1, d2, w[j]*d1
					lapWant += w[j] * d2 * r[j]
				}
				for _, withMemo := range []bool{false, true} {
					d := make([]float64, n)
					var m []float64
					if withMemo {
						m = make([]float64, n)
					}
					lap := act.gradLapRow(d, m, u, b, w, r)
					if !near(lap, lapWant) {
						t.Errorf("%s/memo=%v: Σ w σ” r = %.17g, want %.17g", name, withMemo, lap, lapWant)
					}
					for j := range n {
						if !near(d[j], dw[j]) {
							t.Fatalf("%s/memo=%v: d[%d] (u = %v) = %v, want %v", name, withMemo, j, u[j], d[j], dw[j])
						}
						if !withMemo {
							continue
						}
						// The memo is ±e with the sign of v, and gives back σ', σ”.
						v := u[j]
						if b != nil {
							v += b[j]
						}
						scale := 2.0
						if act == Softplus {
							scale = 1
						}
						if e := math.Exp(-scale * math.Abs(v)); !nearRel(math.Abs(m[j]), e) || math.Signbit(m[j]) != math.Signbit(v) {
							t.Fatalf("%s: memo of entry %d (v = %v) is %v, want ±%v with the sign of v", name, j, v, m[j], e)
						}
						d1, d2 := act.fromMemo(m[j])
						if !near(d1, d1w[j]) || !nearRel(d2, d2w[j]) {
							t.Fatalf("%s: σ', σ” from the memo of entry %d (v = %v): %v %v, want %v %v", name, j, v, d1, d2, d1w[j], d2w[j])
						}
						// The adjoint recomputes the forward pass's σ' bit for bit.
						if w[j]*d1 != d[j] {
							t.Fatalf("%s: entry %d (v = %v): w σ' from the memo %v, the forward pass wrote %v", name, j, v, w[j]*d1, d[j])
						}
					}
				}
			}
			// The adjoint's row from the memo, with and without the
			// parameter sums, added to sums that are not zero.
			g, w, r := vec(n, 1), vec(n, 1), vec(n, 1)
			m := make([]float64, n)
			act.gradLapRow(make([]float64, n), m, vec(n, 3), nil, w, r)
			const mu = -0.7
			for _, needP := range []bool{false, true} {
				name := fmt.Sprintf("%v/n=%d/vjp/params=%v", act, n, needP)
				c, dd := make([]float64, n), make([]float64, n)
				sums := [3][]float64{vec(n, 1), vec(n, 1), vec(n, 1)}
				want := [3][]float64{append([]float64(nil), sums[0]...), append([]float64(nil), sums[1]...), append([]float64(nil), sums[2]...)}
				done := act.vjpRowVec(c, dd, sums[0], sums[1], sums[2], m, g, w, r, mu, needP)
				if vectorRows && done != n&^3 || !vectorRows && done != 0 {
					t.Fatalf("%s: the vector loop did %d entries (vector loops %v)", name, done, vectorRows)
				}
				for j := range done {
					d1, d2 := act.fromMemo(m[j])
					d3 := act.third(d1, d2)
					cw := w[j] * (d2*g[j] + mu*d3*r[j])
					if !near(c[j], cw) {
						t.Fatalf("%s: c[%d] = %v, want %v", name, j, c[j], cw)
					}
					if !needP {
						continue
					}
					want[0][j] += d1*g[j] + mu*d2*r[j]
					want[1][j] += cw
					want[2][j] += mu * d2
					if !near(dd[j], w[j]*d1) || !near(sums[0][j], want[0][j]) || !near(sums[1][j], want[1][j]) || !near(sums[2][j], want[2][j]) {
						t.Fatalf("%s: entry %d: dd %v sums %v %v %v, want %v %v %v %v", name, j,
							dd[j], sums[0][j], sums[1][j], sums[2][j], w[j]*d1, want[0][j], want[1][j], want[2][j])
					}
				}
				for j := done; j < n; j++ {
					if c[j] != 0 || sums[0][j] != want[0][j] {
						t.Fatalf("%s: entry %d past the vector loop's %d was written", name, j, done)
					}
				}
			}
		}
	}
}
