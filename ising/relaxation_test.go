package ising

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/floats"
	"gonum.org/v1/gonum/mat"

	"github.com/isingflow/isingflow/lattice"
	"github.com/isingflow/isingflow/validation"
)

func mustLattice(t testing.TB, shape []int, b lattice.Boundary) *lattice.Lattice {
	t.Helper()
	lat, err := lattice.New(shape, b)
	if err != nil {
		t.Fatal(err)
	}
	return lat
}

func mustRelaxation(t testing.TB, lat *lattice.Lattice, T, delta float64, m inverseMethod) *Relaxation {
	t.Helper()
	r, err := newRelaxation(lat, T, delta, m)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// enumerateLnZ returns ln Σ_s exp(−βE(s)) by brute force over all 2^N spin
// configurations.
func enumerateLnZ(lat *lattice.Lattice, T float64) float64 {
	n := lat.N()
	s := make([]float64, n)
	lw := make([]float64, 0, 1<<n)
	for c := 0; c < 1<<n; c++ {
		for i := range s {
			s[i] = float64(2*((c>>i)&1) - 1)
		}
		lw = append(lw, -lat.Energy(s, 1)/T)
	}
	return floats.LogSumExp(lw)
}

func randomBatch(rows, cols int, scale float64, seed uint64) *mat.Dense {
	rng := rand.New(rand.NewPCG(seed, 1))
	x := mat.NewDense(rows, cols, nil)
	for i := 0; i < rows; i++ {
		for j := 0; j < cols; j++ {
			x.Set(i, j, scale*rng.NormFloat64())
		}
	}
	return x
}

func TestNewRelaxationErrors(t *testing.T) {
	lat := mustLattice(t, []int{4, 4}, lattice.Periodic)
	big := mustLattice(t, []int{65, 64}, lattice.Open)
	for _, tc := range []struct {
		name     string
		lat      *lattice.Lattice
		T, delta float64
	}{
		{"nil lattice", nil, 1, 0.1},
		{"zero T", lat, 0, 0.1},
		{"negative T", lat, -1, 0.1},
		{"NaN T", lat, math.NaN(), 0.1},
		{"infinite T", lat, math.Inf(1), 0.1},
		{"zero delta", lat, 1, 0},
		{"negative delta", lat, 1, -0.1},
		{"NaN delta", lat, 1, math.NaN()},
		{"large open lattice", big, 1, 0.1},
	} {
		if _, err := NewRelaxation(tc.lat, tc.T, tc.delta); err == nil {
			t.Errorf("%s: no error", tc.name)
		} else if err.Error()[:6] != "ising:" {
			t.Errorf("%s: error %q does not name the package", tc.name, err)
		}
	}
	if _, err := newRelaxation(mustLattice(t, []int{4}, lattice.Open), 1, 0.1, fftInverse); err == nil {
		t.Error("FFT inverse on an open lattice: no error")
	}
}

func TestLogCosh(t *testing.T) {
	for _, x := range []float64{0, 1e-8, 0.3, -0.3, 1, -2.5, 10, 20, -30} {
		want := math.Log(math.Cosh(x))
		if got := logCosh(x); math.Abs(got-want) > 1e-15*math.Max(1, math.Abs(want)) {
			t.Errorf("logCosh(%v) = %.17g, want %.17g", x, got, want)
		}
		lc, th := logCoshTanh(x)
		if math.Abs(lc-want) > 1e-15*math.Max(1, math.Abs(want)) {
			t.Errorf("logCoshTanh(%v) ln cosh = %.17g, want %.17g", x, lc, want)
		}
		if wt := math.Tanh(x); math.Abs(th-wt) > 4e-16*math.Abs(wt) {
			t.Errorf("logCoshTanh(%v) tanh = %.17g, want %.17g", x, th, wt)
		}
	}
	for _, x := range []float64{800, -1e5, 1e300} {
		if got, want := logCosh(x), math.Abs(x)-math.Ln2; got != want {
			t.Errorf("logCosh(%v) = %v, want %v", x, got, want)
		}
		if lc, th := logCoshTanh(x); lc != math.Abs(x)-math.Ln2 || th != math.Copysign(1, x) {
			t.Errorf("logCoshTanh(%v) = %v, %v", x, lc, th)
		}
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for range 10000 {
		x := math.Ldexp(rng.Float64()-0.5, rng.IntN(40)-30)
		if _, th := logCoshTanh(x); math.Abs(th-math.Tanh(x)) > 4e-16*math.Abs(math.Tanh(x)) {
			t.Fatalf("logCoshTanh(%v) tanh = %.17g, want %.17g", x, th, math.Tanh(x))
		}
	}
}

// TestNormalisationByQuadrature integrates q̃ numerically for N = 1 and
// N = 2 and checks ln Z_cont + c = ln Z_Ising with Z_Ising by enumeration.
// The trapezoid rule on a box holding the whole mass converges
// exponentially for this smooth, Gaussian-tailed integrand.
func TestNormalisationByQuadrature(t *testing.T) {
	cases := []struct {
		shape    []int
		b        lattice.Boundary
		T, delta float64
	}{
		{[]int{1}, lattice.Open, 1, 0.1},
		{[]int{1}, lattice.Open, 0.7, 1.5},
		{[]int{2}, lattice.Open, 2.269, 0.1},
		{[]int{2}, lattice.Open, 0.8, 0.5},
		{[]int{2}, lattice.Periodic, 2.269, 0.1}, // doubly bonded pair
		{[]int{2}, lattice.Periodic, 1, 0.3},
		{[]int{2}, lattice.Periodic, 5, 0.1},
		{[]int{1, 2}, lattice.Open, 1.5, 0.2},
	}
	for _, tc := range cases {
		lat := mustLattice(t, tc.shape, tc.b)
		r := mustRelaxation(t, lat, tc.T, tc.delta, autoInverse)
		n := r.N()
		lmax := floats.Max(r.ShiftedCouplingEigenvalues(nil))
		// The mass sits in Gaussians of covariance K' centred at K's.
		R := lmax*math.Sqrt(float64(n)) + 14*math.Sqrt(lmax)
		// Trapezoid error ~ exp(−2π²δ/h²) from the narrowest Gaussian and
		// exp(−π²/h) from the poles of ln cosh at ±iπ/2.
		h := math.Min(0.2*math.Sqrt(tc.delta), 0.15)
		m := int(math.Ceil(R / h))
		grid := make([]float64, 2*m+1)
		for i := range grid {
			grid[i] = float64(i-m) * h
		}
		var lw []float64
		switch n {
		case 1:
			x := mat.NewDense(len(grid), 1, grid)
			lw = make([]float64, len(grid))
			r.LogDensity(lw, x)
		case 2:
			x := mat.NewDense(len(grid), 2, nil)
			row := make([]float64, len(grid))
			for _, x0 := range grid {
				for j, x1 := range grid {
					x.Set(j, 0, x0)
					x.Set(j, 1, x1)
				}
				r.LogDensity(row, x)
				lw = append(lw, row...)
			}
		}
		lnZCont := floats.LogSumExp(lw) + float64(n)*math.Log(h)
		want := enumerateLnZ(lat, tc.T)
		got := r.IsingLnZ(lnZCont)
		t.Logf("%v T=%v δ=%v: diff %.2g (grid %d)", lat, tc.T, tc.delta, got-want, len(grid))
		if math.Abs(got-want) > 1e-10 {
			t.Errorf("%v T=%v δ=%v: ln Z_cont + c = %.15g, enumeration %.15g (diff %.2g)", lat, tc.T, tc.delta, got, want, got-want)
		}
		if d := r.ContinuousLnZ(want) - lnZCont; math.Abs(d) > 1e-10 {
			t.Errorf("%v: ContinuousLnZ off by %g", lat, d)
		}
	}
}

// TestConstantAgainstDenseEigensolver checks α, ln det K' and c against the
// spectrum of the dense K from a dense symmetric eigensolver.
func TestConstantAgainstDenseEigensolver(t *testing.T) {
	for _, tc := range []struct {
		shape []int
		b     lattice.Boundary
	}{
		{[]int{2}, lattice.Periodic},
		{[]int{5}, lattice.Periodic},
		{[]int{8}, lattice.Periodic},
		{[]int{1}, lattice.Open},
		{[]int{7}, lattice.Open},
		{[]int{4, 4}, lattice.Periodic},
		{[]int{3, 5}, lattice.Periodic},
		{[]int{2, 6}, lattice.Periodic},
		{[]int{4, 3}, lattice.Open},
		{[]int{3, 3, 3}, lattice.Periodic},
		{[]int{2, 3, 4}, lattice.Open},
	} {
		lat := mustLattice(t, tc.shape, tc.b)
		for _, T := range []float64{0.9, validation.CriticalTemperature, 4} {
			const delta = 0.1
			r := mustRelaxation(t, lat, T, delta, autoInverse)
			var es mat.EigenSym
			if !es.Factorize(lat.Coupling(1/T, 1), false) {
				t.Fatalf("%v: eigensolver failed", lat)
			}
			ev := es.Values(nil)
			alpha := delta - floats.Min(ev)
			logDet := 0.0
			for _, v := range ev {
				logDet += math.Log(v + alpha)
			}
			n := float64(lat.N())
			c := 0.5*n*(math.Log(4)-alpha-math.Log(2*math.Pi)) - 0.5*logDet
			if math.Abs(r.Alpha()-alpha) > 1e-12 {
				t.Errorf("%v T=%v: α = %.15g, dense %.15g", lat, T, r.Alpha(), alpha)
			}
			if math.Abs(r.LogDetShiftedCoupling()-logDet) > 1e-11*n {
				t.Errorf("%v T=%v: ln det K' = %.15g, dense %.15g", lat, T, r.LogDetShiftedCoupling(), logDet)
			}
			if math.Abs(r.Constant()-c) > 1e-11*n {
				t.Errorf("%v T=%v: c = %.15g, dense %.15g", lat, T, r.Constant(), c)
			}
		}
	}
}

// denseSolve returns K'⁻¹x row-wise by a Cholesky solve of the dense K'.
func denseSolve(t *testing.T, r *Relaxation, x *mat.Dense) *mat.Dense {
	t.Helper()
	k := r.Lattice().Coupling(r.Beta(), 1)
	for i := 0; i < r.N(); i++ {
		k.SetSym(i, i, k.At(i, i)+r.Alpha())
	}
	var ch mat.Cholesky
	if !ch.Factorize(k) {
		t.Fatal("K' not positive definite")
	}
	var sol mat.Dense
	if err := ch.SolveTo(&sol, x.T()); err != nil {
		t.Fatal(err)
	}
	return mat.DenseCopyOf(sol.T())
}

// TestApplyInverseCoupling compares the FFT and dense paths with each other
// and with a dense Cholesky solve, on periodic lattices in 1, 2 and 3
// dimensions with odd and even lengths and length 2, and the dense path on
// open lattices.
func TestApplyInverseCoupling(t *testing.T) {
	shapes := [][]int{
		{2}, {3}, {5}, {8}, {17},
		{2, 2}, {3, 3}, {4, 4}, {5, 2}, {2, 7}, {6, 9}, {16, 16},
		{2, 2, 2}, {3, 3, 3}, {4, 3, 2}, {2, 5, 4},
	}
	for _, b := range []lattice.Boundary{lattice.Periodic, lattice.Open} {
		for k, shape := range shapes {
			lat := mustLattice(t, shape, b)
			n := lat.N()
			x := randomBatch(5, n, 1.3, uint64(k))
			methods := []inverseMethod{denseInverse, autoInverse}
			if b == lattice.Periodic {
				methods = append(methods, fftInverse)
			}
			for _, T := range []float64{1, 3.5} {
				r0 := mustRelaxation(t, lat, T, 0.1, denseInverse)
				want := denseSolve(t, r0, x)
				for _, m := range methods {
					r := mustRelaxation(t, lat, T, 0.1, m)
					got := mat.NewDense(5, n, nil)
					r.ApplyInverseCoupling(got, x)
					// K'⁻¹ has norm 1/δ = 10.
					if !mat.EqualApprox(got, want, 1e-12*10*mat.Norm(x, math.Inf(1))) {
						var diff mat.Dense
						diff.Sub(got, want)
						t.Errorf("%v T=%v method %d: K'⁻¹x differs from the dense solve by %g", lat, T, m, mat.Norm(&diff, math.Inf(1)))
					}
				}
			}
		}
	}
}

// TestApplyInverseCouplingStrided checks that row strides of views are
// honoured.
func TestApplyInverseCouplingStrided(t *testing.T) {
	lat := mustLattice(t, []int{6, 6}, lattice.Periodic)
	for _, m := range []inverseMethod{fftInverse, denseInverse} {
		r := mustRelaxation(t, lat, 2, 0.1, m)
		big := randomBatch(4, 50, 1, 7)
		x := big.Slice(0, 4, 3, 39).(*mat.Dense)
		dbig := mat.NewDense(4, 40, nil)
		dst := dbig.Slice(0, 4, 2, 38).(*mat.Dense)
		r.ApplyInverseCoupling(dst, x)
		want := mat.NewDense(4, 36, nil)
		r.ApplyInverseCoupling(want, mat.DenseCopyOf(x))
		if !mat.EqualApprox(dst, want, 1e-14) {
			t.Errorf("method %d: strided result differs", m)
		}
		if dbig.At(0, 0) != 0 || dbig.At(3, 39) != 0 {
			t.Errorf("method %d: wrote outside the view", m)
		}
	}
}

// TestLogDensityGrad checks the gradient against central finite differences
// of LogDensity, and the values returned with it.
func TestLogDensityGrad(t *testing.T) {
	for k, tc := range []struct {
		shape []int
		b     lattice.Boundary
		m     inverseMethod
	}{
		{[]int{1}, lattice.Open, autoInverse},
		{[]int{5}, lattice.Periodic, fftInverse},
		{[]int{4, 4}, lattice.Periodic, fftInverse},
		{[]int{4, 4}, lattice.Periodic, denseInverse},
		{[]int{3, 5}, lattice.Open, autoInverse},
		{[]int{2, 3, 3}, lattice.Periodic, fftInverse},
	} {
		lat := mustLattice(t, tc.shape, tc.b)
		r := mustRelaxation(t, lat, 2.269, 0.1, tc.m)
		const rows = 3
		n := r.N()
		x := randomBatch(rows, n, 2, uint64(100+k))
		grad := mat.NewDense(rows, n, nil)
		val := make([]float64, rows)
		r.LogDensityGrad(val, grad, x)
		want := make([]float64, rows)
		r.LogDensity(want, x)
		for b := range want {
			if math.Abs(val[b]-want[b]) > 1e-12*math.Max(1, math.Abs(want[b])) {
				t.Errorf("%v: LogDensityGrad value %v, LogDensity %v", lat, val[b], want[b])
			}
		}
		const h = 1e-5
		xp, xm := mat.DenseCopyOf(x), mat.DenseCopyOf(x)
		fp, fm := make([]float64, rows), make([]float64, rows)
		for i := 0; i < n; i++ {
			for b := 0; b < rows; b++ {
				xp.Set(b, i, x.At(b, i)+h)
				xm.Set(b, i, x.At(b, i)-h)
			}
			r.LogDensity(fp, xp)
			r.LogDensity(fm, xm)
			for b := 0; b < rows; b++ {
				fd := (fp[b] - fm[b]) / (2 * h)
				if g := grad.At(b, i); math.Abs(g-fd) > 1e-6*math.Max(1, math.Abs(fd)) {
					t.Errorf("%v: ∂ln q̃/∂x_%d (row %d) = %.12g, finite difference %.12g", lat, i, b, g, fd)
				}
				xp.Set(b, i, x.At(b, i))
				xm.Set(b, i, x.At(b, i))
			}
		}
		// Without values.
		g2 := mat.NewDense(rows, n, nil)
		r.LogDensityGrad(nil, g2, x)
		if !mat.EqualApprox(g2, grad, 1e-15) {
			t.Errorf("%v: gradient depends on whether values are requested", lat)
		}
	}
}

// TestLogDensityDirect checks ln q̃ against a dense evaluation of the formula,
// and that the batch size may change between calls.
func TestLogDensityDirect(t *testing.T) {
	lat := mustLattice(t, []int{6, 4}, lattice.Periodic)
	r := mustRelaxation(t, lat, 1.7, 0.25, autoInverse)
	for _, rows := range []int{1, 4, 2} {
		x := randomBatch(rows, r.N(), 1.5, uint64(rows))
		y := denseSolve(t, r, x)
		got := make([]float64, rows)
		r.LogDensity(got, x)
		for b := 0; b < rows; b++ {
			want := -0.5 * mat.Dot(x.RowView(b), y.RowView(b))
			for i := 0; i < r.N(); i++ {
				want += math.Log(math.Cosh(x.At(b, i)))
			}
			if math.Abs(got[b]-want) > 1e-12*math.Abs(want) {
				t.Errorf("rows=%d b=%d: ln q̃ = %.15g, want %.15g", rows, b, got[b], want)
			}
		}
	}
}

// TestPaperCrossCheck reproduces −ln Z_cont/N = −2.31592086 for the 16×16
// periodic lattice at T_c with δ = 0.1 (DESIGN.md §1), from Kaufman's exact
// ln Z_Ising, and checks that Kaufman agrees with enumeration at L = 4.
func TestPaperCrossCheck(t *testing.T) {
	Tc := 2 / math.Log(1+math.Sqrt2)
	if math.Abs(Tc-validation.CriticalTemperature) > 1e-15 {
		t.Fatalf("T_c = %.17g, validation.CriticalTemperature = %.17g", Tc, validation.CriticalTemperature)
	}
	exact, err := validation.Kaufman(16, 16, Tc)
	if err != nil {
		t.Fatal(err)
	}
	r := mustRelaxation(t, mustLattice(t, []int{16, 16}, lattice.Periodic), Tc, DefaultDelta, autoInverse)
	got := -r.ContinuousLnZ(exact.LnZ) / float64(r.N())
	const want = -2.31592086
	if math.Abs(got-want) > 1e-8 {
		t.Errorf("−ln Z_cont/N = %.12f, want %.8f", got, want)
	}
	t.Logf("16x16 periodic, T_c, δ = 0.1: −ln Z_cont/N = %.12f, ln Z_Ising/N = %.15f, c/N = %.15f", got, exact.LnZPerSite, r.Constant()/float64(r.N()))
	if bf := r.BetaFreeEnergyPerSite(-r.ContinuousLnZ(exact.LnZ)); math.Abs(bf+exact.LnZPerSite) > 1e-14 {
		t.Errorf("βf from −ln Z_cont = %.15g, want %.15g", bf, -exact.LnZPerSite)
	}

	lat4 := mustLattice(t, []int{4, 4}, lattice.Periodic)
	e4, err := validation.Kaufman(4, 4, Tc)
	if err != nil {
		t.Fatal(err)
	}
	if enum := enumerateLnZ(lat4, Tc); math.Abs(enum-e4.LnZ) > 1e-12 {
		t.Errorf("4x4 at T_c: Kaufman ln Z = %.15g, enumeration %.15g", e4.LnZ, enum)
	}
}

func benchBatch(b *testing.B, m inverseMethod, L, rows int) (*Relaxation, *mat.Dense, *mat.Dense) {
	lat := mustLattice(b, []int{L, L}, lattice.Periodic)
	r := mustRelaxation(b, lat, validation.CriticalTemperature, DefaultDelta, m)
	return r, randomBatch(rows, r.N(), 1, 1), mat.NewDense(rows, r.N(), nil)
}

func BenchmarkApplyInverseCoupling(b *testing.B) {
	for _, L := range []int{4, 8, 12, 16, 64} {
		for _, m := range []struct {
			name string
			m    inverseMethod
		}{{"fft", fftInverse}, {"dense", denseInverse}} {
			b.Run(fmt.Sprintf("%s/L=%d/B=64", m.name, L), func(b *testing.B) {
				r, x, dst := benchBatch(b, m.m, L, 64)
				b.ReportAllocs()
				b.ResetTimer()
				for b.Loop() {
					r.ApplyInverseCoupling(dst, x)
				}
			})
		}
	}
}

func BenchmarkLogDensityGrad(b *testing.B) {
	r, x, grad := benchBatch(b, autoInverse, 16, 64)
	val := make([]float64, 64)
	b.ReportAllocs()
	for b.Loop() {
		r.LogDensityGrad(val, grad, x)
	}
}
