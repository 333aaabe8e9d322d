package validation

import (
	"fmt"
	"math"
	"reflect"
	"runtime"
	"testing"

	"github.com/isingflow/isingflow/lattice"
	"github.com/isingflow/isingflow/stats"
)

const criticalT = 2.269185314213022 // 2 / ln(1 + √2)

// observables lists the estimates of a Wolff run beside the exact values of
// an enumeration, by name.
func observables(r WolffResult, e Enumeration) []struct {
	name  string
	est   stats.Estimate
	exact float64
} {
	return []struct {
		name  string
		est   stats.Estimate
		exact float64
	}{
		{"u", r.EnergyPerSite, e.EnergyPerSite},
		{"c", r.SpecificHeatPerSite, e.SpecificHeatPerSite},
		{"<|m|>", r.AbsMagnetization, e.AbsMagnetization},
		{"<m^2>", r.MagnetizationSq, e.MagnetizationSq},
		{"<m^4>", r.Magnetization4, e.Magnetization4},
		{"U", r.Binder, e.Binder},
		{"chi", r.Susceptibility, e.Susceptibility},
	}
}

func TestWolffMatchesEnumeration(t *testing.T) {
	sweeps := 100000
	if testing.Short() {
		sweeps = 20000
	}
	for i, tc := range []struct {
		shape []int
		b     lattice.Boundary
		T     float64
	}{
		{[]int{4, 4}, lattice.Periodic, 1.5},
		{[]int{4, 4}, lattice.Periodic, criticalT},
		{[]int{4, 4}, lattice.Periodic, 3.5},
		{[]int{2, 2}, lattice.Periodic, criticalT}, // doubly bonded pairs
		{[]int{3, 5}, lattice.Periodic, 2.5},       // odd lengths
		{[]int{10}, lattice.Periodic, 1.0},         // chain
		{[]int{3, 3}, lattice.Open, 2.0},
		{[]int{2, 2, 2}, lattice.Periodic, 4.0}, // 3D, doubly bonded
		{[]int{2, 3, 3}, lattice.Open, 3.0},
	} {
		lat, err := lattice.New(tc.shape, tc.b)
		if err != nil {
			t.Fatal(err)
		}
		exact, err := Enumerate(lat, tc.T)
		if err != nil {
			t.Fatal(err)
		}
		r, err := Wolff(lat, tc.T, WolffSettings{Sweeps: sweeps, Chains: 2, Seed: uint64(100 + i)})
		if err != nil {
			t.Fatal(err)
		}
		name := fmt.Sprintf("%v T=%.4g", lat, tc.T)
		for _, o := range observables(r, exact) {
			if !(o.est.Err > 0) {
				t.Errorf("%s %s: error bar %v", name, o.name, o.est.Err)
			}
			if d := math.Abs(o.est.Mean - o.exact); !(d <= 4*o.est.Err) {
				t.Errorf("%s %s = %v, exact %.6g: off by %.1fσ", name, o.name, o.est, o.exact, d/o.est.Err)
			}
		}
		if rel := r.AbsMagnetization.Err / exact.AbsMagnetization; rel > 0.01 {
			t.Errorf("%s: relative error of <|m|> %.2g, want < 1%%", name, rel)
		}
		// The binned error of <|m|> agrees with 2τ_int·Var(|m|)/n, the
		// variance known exactly.
		varAbs := exact.MagnetizationSq - exact.AbsMagnetization*exact.AbsMagnetization
		want := math.Sqrt(2 * r.TauIntAbsMagnetization * varAbs / float64(r.Bins*r.BinLength))
		if ratio := r.AbsMagnetization.Err / want; ratio < 0.8 || ratio > 1.25 {
			t.Errorf("%s: binned error of <|m|> %.3g, from τ_int %.3g: ratio %.3f", name, r.AbsMagnetization.Err, want, ratio)
		}
		// Improved estimator: the mean Wolff cluster size is N<m²>.
		if cs, want := r.MeanClusterSize, float64(exact.N)*exact.MagnetizationSq; math.Abs(cs-want) > 0.02*want {
			t.Errorf("%s: mean cluster size %.4g, want N<m²> = %.4g", name, cs, want)
		}
		t.Logf("%s: %d clusters/sweep, τ_int(E) %.2f τ_int(|m|) %.2f, %d bins of %d; |m| %v (exact %.5f)",
			name, r.ClustersPerSweep, r.TauIntEnergy, r.TauIntAbsMagnetization, r.Bins, r.BinLength, r.AbsMagnetization, exact.AbsMagnetization)
	}
}

// TestWolffCriticalL16 compares u and c at T_c on the 16×16 torus with
// Kaufman's exact values, and logs the run that settles the third digit of
// ⟨|m|⟩.
func TestWolffCriticalL16(t *testing.T) {
	if testing.Short() {
		t.Skip("long run")
	}
	lat, err := lattice.NewHypercubic(2, 16, lattice.Periodic)
	if err != nil {
		t.Fatal(err)
	}
	exact, err := Kaufman(16, 16, criticalT)
	if err != nil {
		t.Fatal(err)
	}
	r, err := Wolff(lat, criticalT, WolffSettings{Sweeps: 400000, Chains: 2, Seed: 16})
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range []struct {
		name  string
		est   stats.Estimate
		exact float64
	}{
		{"u", r.EnergyPerSite, exact.EnergyPerSite},
		{"c", r.SpecificHeatPerSite, exact.SpecificHeatPerSite},
	} {
		if d := math.Abs(o.est.Mean - o.exact); !(d <= 4*o.est.Err) {
			t.Errorf("%s = %v, exact %.6g: off by %.1fσ", o.name, o.est, o.exact, d/o.est.Err)
		}
	}
	if rel := r.AbsMagnetization.Err / r.AbsMagnetization.Mean; rel > 5e-4 {
		t.Errorf("relative error of <|m|> %.2g, want < 5e-4", rel)
	}
	t.Logf("%s T=Tc, %d chains × %d sweeps (+%d), %d clusters/sweep, <|C|> = %.2f, %d bins of %d",
		r.Lattice, r.Chains, r.Sweeps, r.Thermalize, r.ClustersPerSweep, r.MeanClusterSize, r.Bins, r.BinLength)
	t.Logf("u     %v (Kaufman %.6f)", r.EnergyPerSite, exact.EnergyPerSite)
	t.Logf("c     %v (Kaufman %.6f)", r.SpecificHeatPerSite, exact.SpecificHeatPerSite)
	t.Logf("<|m|> %v  (abs err %.2g)", r.AbsMagnetization, r.AbsMagnetization.Err)
	t.Logf("<m^2> %v", r.MagnetizationSq)
	t.Logf("<m^4> %v", r.Magnetization4)
	t.Logf("U     %v", r.Binder)
	t.Logf("chi   %v", r.Susceptibility)
	t.Logf("τ_int: E %.3f, |m| %.3f, m² %.3f sweeps", r.TauIntEnergy, r.TauIntAbsMagnetization, r.TauIntMagnetizationSq)
}

func TestWolffDeterministic(t *testing.T) {
	lat, err := lattice.NewHypercubic(2, 6, lattice.Periodic)
	if err != nil {
		t.Fatal(err)
	}
	s := WolffSettings{Sweeps: 2000, Chains: 3, Seed: 7}
	run := func(procs int) WolffResult {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
		r, err := Wolff(lat, criticalT, s)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	a, b, c := run(2), run(2), run(1)
	if !reflect.DeepEqual(a, b) {
		t.Errorf("same seed, different results:\n%+v\n%+v", a, b)
	}
	if !reflect.DeepEqual(a, c) {
		t.Errorf("GOMAXPROCS changed the result:\n%+v\n%+v", a, c)
	}
	s.Seed++
	if d := run(2); d.AbsMagnetization == a.AbsMagnetization {
		t.Errorf("seeds %d and %d gave the same <|m|> %v", s.Seed-1, s.Seed, a.AbsMagnetization)
	}
}

func TestWolffRejectsBadInput(t *testing.T) {
	lat, err := lattice.NewHypercubic(2, 4, lattice.Periodic)
	if err != nil {
		t.Fatal(err)
	}
	ok := WolffSettings{Sweeps: MinWolffSweeps}
	for _, tc := range []struct {
		name string
		lat  *lattice.Lattice
		T    float64
		s    WolffSettings
	}{
		{"nil lattice", nil, 2, ok},
		{"T = 0", lat, 0, ok},
		{"T < 0", lat, -1, ok},
		{"T = +Inf", lat, math.Inf(1), ok},
		{"T = NaN", lat, math.NaN(), ok},
		{"too few sweeps", lat, 2, WolffSettings{Sweeps: MinWolffSweeps - 1}},
		{"negative thermalisation", lat, 2, WolffSettings{Sweeps: MinWolffSweeps, Thermalize: -1}},
		{"negative chains", lat, 2, WolffSettings{Sweeps: MinWolffSweeps, Chains: -1}},
		{"negative clusters per sweep", lat, 2, WolffSettings{Sweeps: MinWolffSweeps, ClustersPerSweep: -1}},
	} {
		if _, err := Wolff(tc.lat, tc.T, tc.s); err == nil {
			t.Errorf("%s: no error", tc.name)
		}
	}
	if _, err := Wolff(lat, 2, ok); err != nil {
		t.Errorf("minimal settings: %v", err)
	}
}

// TestWolffSingleSite runs the trivial lattice without bonds: every cluster
// is one spin, E = 0 and |m| = 1 exactly.
func TestWolffSingleSite(t *testing.T) {
	lat, err := lattice.New([]int{1}, lattice.Open)
	if err != nil {
		t.Fatal(err)
	}
	r, err := Wolff(lat, 1, WolffSettings{Sweeps: MinWolffSweeps, Chains: 1})
	if err != nil {
		t.Fatal(err)
	}
	if r.EnergyPerSite != (stats.Estimate{}) || r.SpecificHeatPerSite != (stats.Estimate{}) ||
		r.AbsMagnetization != (stats.Estimate{Mean: 1}) || math.Abs(r.Binder.Mean-2.0/3) > 1e-12 || r.MeanClusterSize != 1 {
		t.Errorf("single site: %+v", r)
	}
}

// TestWolffDoubleBond checks the join probability of a pair of sites joined
// by two bonds (periodic axis of length 2): 1 − exp(−4β).
func TestWolffDoubleBond(t *testing.T) {
	lat, err := lattice.New([]int{2}, lattice.Periodic)
	if err != nil {
		t.Fatal(err)
	}
	const T, trials = 3.0, 200000
	ch := newWolffChain(newWolffGraph(lat), bondThreshold(-math.Expm1(-2/T)), 1, 0)
	pairs := 0
	for range trials {
		ch.spin[0], ch.spin[1] = 1, 1
		if ch.cluster() == 2 {
			pairs++
		}
	}
	p := -math.Expm1(-4 / T)
	sigma := math.Sqrt(p * (1 - p) / trials)
	if got := float64(pairs) / trials; math.Abs(got-p) > 4*sigma {
		t.Errorf("pair joined with probability %.4f, want 1 − exp(−4β) = %.4f ± %.4f", got, p, sigma)
	}
}

func TestWolffClusterDoesNotAllocate(t *testing.T) {
	lat, err := lattice.NewHypercubic(2, 16, lattice.Periodic)
	if err != nil {
		t.Fatal(err)
	}
	ch := newWolffChain(newWolffGraph(lat), bondThreshold(-math.Expm1(-2/criticalT)), 3, 0)
	ch.thermalize(10)
	if a := testing.AllocsPerRun(200, func() { ch.cluster() }); a != 0 {
		t.Errorf("%v allocations per cluster", a)
	}
}

func BenchmarkWolffCluster16(b *testing.B) {
	lat, err := lattice.NewHypercubic(2, 16, lattice.Periodic)
	if err != nil {
		b.Fatal(err)
	}
	ch := newWolffChain(newWolffGraph(lat), bondThreshold(-math.Expm1(-2/criticalT)), 3, 0)
	ch.thermalize(100)
	b.ResetTimer()
	for b.Loop() {
		ch.cluster()
	}
}

func ExampleWolff() {
	lat, err := lattice.NewHypercubic(2, 8, lattice.Periodic)
	if err != nil {
		panic(err)
	}
	r, err := Wolff(lat, criticalT, WolffSettings{Sweeps: 20000, Chains: 2, Seed: 1})
	if err != nil {
		panic(err)
	}
	fmt.Println("u     =", r.EnergyPerSite)
	fmt.Println("<|m|> =", r.AbsMagnetization)
	fmt.Println("U     =", r.Binder)
	// Output:
	// u     = -1.496 ± 0.002
	// <|m|> = 0.7800 ± 0.0013
	// U     = 0.6145 ± 0.0007
}
