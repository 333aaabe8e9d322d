package scan

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/isingflow/isingflow/lattice"
	"github.com/isingflow/isingflow/model"
	"github.com/isingflow/isingflow/observables"
	"github.com/isingflow/isingflow/stats"
	"github.com/isingflow/isingflow/validation"
)

// grid returns the temperatures lo, lo+step, … up to hi.
func grid(lo, hi, step float64) []float64 {
	var ts []float64
	for i := 0; lo+float64(i)*step <= hi+1e-9; i++ {
		ts = append(ts, lo+float64(i)*step)
	}
	return ts
}

// syntheticBinder is a cumulant curve of size L that crosses every other
// size's at T* with U = 0.61: U = 0.61 − 0.3 tanh((T − T*)·L/4).
func syntheticBinder(L int, T, tStar float64) float64 {
	return 0.61 - 0.3*math.Tanh((T-tStar)*float64(L)/4)
}

// TestBinderCrossingExact checks the crossing of noiseless curves that
// cross at a known temperature between grid points.
func TestBinderCrossingExact(t *testing.T) {
	const tStar = 2.2791
	ts := grid(2.1, 2.5, 0.025)
	for _, sizes := range [][2]int{{8, 16}, {16, 32}, {4, 6}} {
		ua := make([]stats.Estimate, len(ts))
		ub := make([]stats.Estimate, len(ts))
		for i, T := range ts {
			ua[i] = stats.Estimate{Mean: syntheticBinder(sizes[0], T, tStar), Err: 0.002}
			ub[i] = stats.Estimate{Mean: syntheticBinder(sizes[1], T, tStar), Err: 0.002}
		}
		got, n, err := BinderCrossing(ts, ua, ub)
		if err != nil {
			t.Fatalf("%v: %v", sizes, err)
		}
		// A parabola through the six temperatures around the crossing: the
		// third derivative of tanh costs a little at the largest size.
		if n != 1 || math.Abs(got.Mean-tStar) > 2e-3 || !(got.Err > 0 && got.Err < 0.02) {
			t.Errorf("%v: crossing %v with %d sign changes, want %v", sizes, got, n, tStar)
		}
	}
}

// TestBinderCrossingEnumeration checks the crossing of the exact Binder
// cumulants of the 4×4 and 5×5 tori (enumeration), which cross at
// T ≈ 2.2125 with a difference that is not odd about the crossing, as the
// cumulants of real lattices are not: on grids as coarse as a scan's, a
// straight line through four temperatures puts the crossing 0.003 (step
// 0.03125) to 0.008 (step 0.05) too low; the parabola must be within 5e-4.
func TestBinderCrossingEnumeration(t *testing.T) {
	binder := map[int]func(T float64) float64{}
	for _, L := range []int{4, 5} {
		lat, err := lattice.NewHypercubic(2, L, lattice.Periodic)
		if err != nil {
			t.Fatal(err)
		}
		dos, err := validation.NewDensityOfStates(lat)
		if err != nil {
			t.Fatal(err)
		}
		binder[L] = func(T float64) float64 {
			e, err := dos.Thermal(T)
			if err != nil {
				t.Fatal(err)
			}
			return e.Binder
		}
	}
	diff := func(T float64) float64 { return binder[5](T) - binder[4](T) }
	lo, hi := 2.0, 2.5
	if !(diff(lo) > 0 && diff(hi) < 0) {
		t.Fatalf("U5 − U4 = %v at T = %v and %v: no crossing between", diff(lo), lo, hi)
	}
	for range 60 {
		if m := (lo + hi) / 2; diff(m) > 0 {
			lo = m
		} else {
			hi = m
		}
	}
	tStar := (lo + hi) / 2
	for _, step := range []float64{0.03125, 0.05} {
		ts := grid(2.0, 2.45, step)
		ua := make([]stats.Estimate, len(ts))
		ub := make([]stats.Estimate, len(ts))
		for i, T := range ts {
			ua[i] = stats.Estimate{Mean: binder[4](T), Err: 1e-4}
			ub[i] = stats.Estimate{Mean: binder[5](T), Err: 1e-4}
		}
		got, n, err := BinderCrossing(ts, ua, ub)
		if err != nil {
			t.Fatalf("step %v: %v", step, err)
		}
		if n != 1 || math.Abs(got.Mean-tStar) > 5e-4 || !(got.Err > 0 && got.Err < 0.01) {
			t.Errorf("step %v: crossing %v with %d sign changes, want %.5f", step, got, n, tStar)
		}
	}
}

// TestBinderCrossingNoise checks the crossing's error bar: over noisy
// replicas of two curves, the spread of the crossings matches the errors
// reported, and their mean the true crossing.
func TestBinderCrossingNoise(t *testing.T) {
	const tStar, sigma, reps = 2.2791, 0.01, 400
	ts := grid(2.1, 2.5, 0.025)
	rng := rand.New(rand.NewPCG(1, 2))
	var got, errs []float64
	for range reps {
		ua := make([]stats.Estimate, len(ts))
		ub := make([]stats.Estimate, len(ts))
		for i, T := range ts {
			ua[i] = stats.Estimate{Mean: syntheticBinder(8, T, tStar) + sigma*rng.NormFloat64(), Err: sigma}
			ub[i] = stats.Estimate{Mean: syntheticBinder(16, T, tStar) + sigma*rng.NormFloat64(), Err: sigma}
		}
		c, _, err := BinderCrossing(ts, ua, ub)
		if err != nil {
			continue
		}
		got, errs = append(got, c.Mean), append(errs, c.Err)
	}
	if len(got) < reps*9/10 {
		t.Fatalf("only %d of %d replicas crossed", len(got), reps)
	}
	mean, sd := stats.MeanSD(got)
	var meanErr float64
	for _, e := range errs {
		meanErr += e / float64(len(errs))
	}
	if math.Abs(mean-tStar) > 4*sd/math.Sqrt(float64(len(got)))+1e-3 {
		t.Errorf("mean crossing %v ± %v, want %v", mean, sd/math.Sqrt(float64(len(got))), tStar)
	}
	if r := meanErr / sd; r < 0.75 || r > 1.35 {
		t.Errorf("the reported errors (mean %.4g) against the spread %.4g: ratio %.2f", meanErr, sd, r)
	}
}

// TestBinderCrossingNone checks that curves that do not cross in the range
// say so.
func TestBinderCrossingNone(t *testing.T) {
	ts := grid(2.4, 2.6, 0.05)
	ua := make([]stats.Estimate, len(ts))
	ub := make([]stats.Estimate, len(ts))
	for i, T := range ts {
		ua[i] = stats.Estimate{Mean: syntheticBinder(8, T, 2.27), Err: 0.01}
		ub[i] = stats.Estimate{Mean: syntheticBinder(16, T, 2.27), Err: 0.01}
	}
	if _, n, err := BinderCrossing(ts, ua, ub); err == nil || n != 0 {
		t.Errorf("no crossing in range: %d sign changes, error %v", n, err)
	}
	if _, _, err := BinderCrossing(ts[:2], ua, ub); err == nil {
		t.Error("mismatched lengths: no error")
	}
}

// TestKaufmanMax checks the exact specific-heat maximum of the torus: a
// maximum (the values beside it are smaller), its growth with ln L at
// Ferdinand and Fisher's rate (8/π)K_c² = 0.4945 and its temperature
// above T_c by 0.3603·T_c/L (Phys. Rev. 185, 832 (1969)), both reached
// as L grows.
func TestKaufmanMax(t *testing.T) {
	kc := math.Log(1+math.Sqrt2) / 2
	rate := 8 / math.Pi * kc * kc
	tc := validation.CriticalTemperature
	prev := 0.0
	for _, L := range []int{4, 8, 16, 32, 256, 512, 1024} {
		T, c, err := KaufmanMax(L)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range []float64{-1e-4, 1e-4} {
			k, err := validation.Kaufman(L, L, T+d)
			if err != nil {
				t.Fatal(err)
			}
			if k.SpecificHeatPerSite >= c {
				t.Errorf("L = %d: c(%v) = %v is not below the maximum %v at %v", L, T+d, k.SpecificHeatPerSite, c, T)
			}
		}
		shift := (T - tc) / tc * float64(L)
		if !(shift > 0.25 && shift < 0.37) || L >= 256 && math.Abs(shift-0.3603) > 0.01*0.3603 {
			t.Errorf("L = %d: T_max = %v, (T_max − T_c)/T_c·L = %v, want → 0.3603", L, T, shift)
		}
		if L >= 512 {
			if slope := (c - prev) / math.Ln2; math.Abs(slope-rate) > 0.005*rate {
				t.Errorf("L = %d: dc_max/d ln L = %v, want %v", L, slope, rate)
			}
		}
		prev = c
	}
	if _, _, err := KaufmanMax(1); err == nil {
		t.Error("L = 1: no error")
	}
}

// TestFitPeakKaufman fits the parabola to Kaufman's specific heat on the
// grid of a scan and compares it with the exact maximum.
func TestFitPeakKaufman(t *testing.T) {
	ts := grid(2.1, 2.5, 0.025)
	for _, L := range []int{8, 16, 32} {
		cs := make([]stats.Estimate, len(ts))
		for i, T := range ts {
			k, err := validation.Kaufman(L, L, T)
			if err != nil {
				t.Fatal(err)
			}
			cs[i] = stats.Estimate{Mean: k.SpecificHeatPerSite, Err: 0.01}
		}
		T, c, edge, n, err := FitPeak(ts, cs)
		if err != nil {
			t.Fatal(err)
		}
		exT, exC, err := KaufmanMax(L)
		if err != nil {
			t.Fatal(err)
		}
		// On a grid of 0.025 the parabola through five points misses the
		// peak by its quartic part: 1 % at L = 32.
		if edge || n != 5 || math.Abs(c.Mean-exC) > 0.012*exC || math.Abs(T.Mean-exT) > 0.01 {
			t.Errorf("L = %d: fit T = %v, c = %v (edge %v, %d points); Kaufman T = %v, c = %v", L, T, c, edge, n, exT, exC)
		}
		if !(c.Err > 0 && c.Err < 0.02 && T.Err > 0 && T.Err < 0.05) {
			t.Errorf("L = %d: errors of T %v and c %v", L, T, c)
		}
	}
	// A maximum at the end of the range is a bound.
	cs := []stats.Estimate{{Mean: 1, Err: 0.1}, {Mean: 2, Err: 0.1}, {Mean: 3, Err: 0.1}}
	T, c, edge, _, err := FitPeak([]float64{1, 2, 3}, cs)
	if err != nil || !edge || T.Mean != 3 || c.Mean != 3 {
		t.Errorf("increasing curve: T %v, c %v, edge %v, %v", T, c, edge, err)
	}
}

// TestCombine checks the combination of the seeds' estimates.
func TestCombine(t *testing.T) {
	nan := math.NaN()
	for _, tt := range []struct {
		in        []stats.Estimate
		mean, err float64
	}{
		{[]stats.Estimate{{Mean: 1, Err: 0.1}}, 1, 0.1},
		{[]stats.Estimate{{Mean: 1, Err: 0.1}, {Mean: 1, Err: 0.1}}, 1, 0.1 / math.Sqrt2},
		{[]stats.Estimate{{Mean: 1, Err: 0.1}, {Mean: 2, Err: 0.2}}, (1/0.01 + 2/0.04) / (1/0.01 + 1/0.04), math.Sqrt(1/(1/0.01+1/0.04)) * math.Sqrt(20)},
		{[]stats.Estimate{{Mean: 1, Err: 0.1}, {Mean: nan, Err: 0.1}}, 1, 0.1},
		{[]stats.Estimate{{Mean: 1, Err: 0}, {Mean: 3, Err: 0}}, 2, 1},
	} {
		got := Combine(tt.in)
		if math.Abs(got.Mean-tt.mean) > 1e-12 || math.Abs(got.Err-tt.err) > 1e-12 {
			t.Errorf("Combine(%v) = %v, want %v ± %v", tt.in, got, tt.mean, tt.err)
		}
	}
	if got := Combine(nil); !math.IsNaN(got.Mean) {
		t.Errorf("Combine(nil) = %v", got)
	}
}

// TestNewFSS analyses synthetic results of two sizes and two seeds: the
// cumulants cross where they were made to, the maxima are those of
// Kaufman's specific heat, ⟨|m|⟩ is scaled by L^{1/8}.
func TestNewFSS(t *testing.T) {
	const tStar = 2.2791
	ts := grid(2.15, 2.45, 0.025)
	var points []PointResult
	for _, L := range []int{8, 16} {
		for _, seed := range []uint64{1, 2} {
			for _, T := range ts {
				cfg := model.Config{L: L, Dim: 2, T: T, Delta: 0.1}
				lat, err := cfg.Lattice()
				if err != nil {
					t.Fatal(err)
				}
				x, err := NewExact(lat, T, cfg.Delta)
				if err != nil {
					t.Fatal(err)
				}
				// The two seeds straddle the truth by one error.
				s := 1.0 - 2*float64(seed-1)
				e := &observables.IsingEstimates{}
				e.Binder = stats.Estimate{Mean: syntheticBinder(L, T, tStar) + s*0.001, Err: 0.001}
				e.SpecificHeatPerSite = stats.Estimate{Mean: *x.SpecificHeatPerSite + s*0.005, Err: 0.005}
				e.AbsMagnetization = stats.Estimate{Mean: 0.5, Err: 0.01}
				points = append(points, PointResult{Task: 0, Seed: seed, Result: &Result{Config: cfg, Exact: x, Estimates: e}})
			}
		}
	}
	f := NewFSS(points)
	if len(f.Sizes) != 2 || f.Sizes[0].L != 8 || len(f.Sizes[1].Points) != len(ts) || f.Sizes[0].Points[0].Seeds != 2 {
		t.Fatalf("sizes %+v", f.Sizes)
	}
	p := f.Sizes[1].Points[3]
	if math.Abs(p.ScaledMagnetization.Mean-0.5*math.Pow(16, 0.125)) > 1e-12 || math.Abs(p.Binder.Err-0.001) > 1e-12 {
		t.Errorf("point %+v", p)
	}
	if len(f.Crossings) != 1 || f.Crossings[0].Err != "" || math.Abs(f.Crossings[0].T.Mean-tStar) > 2e-3 || math.Abs(f.Crossings[0].U-0.61) > 0.01 {
		t.Errorf("crossings %+v", f.Crossings)
	}
	for _, pk := range f.Peaks {
		if pk.Edge || math.Abs(pk.C.Mean-pk.ExactFitC) > 3*pk.C.Err || math.Abs(pk.ExactFitC-pk.ExactC) > 0.01*pk.ExactC {
			t.Errorf("peak %+v", pk)
		}
	}
	if _, err := f.MarshalJSON(); err != nil {
		t.Error(err)
	}
}
