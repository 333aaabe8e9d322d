package stats

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

func TestBinMeans(t *testing.T) {
	for _, tc := range []struct {
		dst, x []float64
		b      int
		want   []float64
	}{
		{nil, []float64{1, 2, 3, 4}, 2, []float64{1.5, 3.5}},
		{nil, []float64{9, 1, 2, 3, 4}, 2, []float64{1.5, 3.5}}, // the oldest value is dropped
		{[]float64{7}, []float64{1, 2, 3}, 3, []float64{7, 2}},
		{nil, []float64{1, 2, 3}, 1, []float64{1, 2, 3}},
		{nil, []float64{1, 2}, 3, nil},
	} {
		if got := BinMeans(tc.dst, tc.x, tc.b); !slices.Equal(got, tc.want) {
			t.Errorf("BinMeans(%v, %v, %d) = %v, want %v", tc.dst, tc.x, tc.b, got, tc.want)
		}
	}
}

// For a linear function the jackknife is the mean and the standard error
// of the bins; a single bin has no error.
func TestJackknifeLinear(t *testing.T) {
	bins := []float64{1, 2, 3, 4}
	est := Jackknife([][]float64{bins}, func(m []float64) float64 { return m[0] })
	if want := MeanErr(bins); math.Abs(est.Mean-want.Mean) > 1e-12 || math.Abs(est.Err-want.Err) > 1e-12 {
		t.Errorf("jackknife of the identity %#v, want %#v", est, want)
	}
	if est := Jackknife([][]float64{{3}}, func(m []float64) float64 { return m[0] }); est.Mean != 3 || !math.IsNaN(est.Err) {
		t.Errorf("one bin: %#v, want 3 ± NaN", est)
	}
}

// TestJackknifeRatio checks the jackknife of a nonlinear function of means
// against the delta method on independent data.
func TestJackknifeRatio(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	const nb = 4000
	x := make([]float64, nb)
	y := make([]float64, nb)
	for k := range x {
		x[k] = 2 + 0.5*rng.NormFloat64()
		y[k] = 4 + 0.2*rng.NormFloat64()
	}
	est := Jackknife([][]float64{x, y}, func(m []float64) float64 { return m[0] / m[1] })
	// Delta method: Var(x̄/ȳ) ≈ (1/n)(σx²/μy² + μx²σy²/μy⁴).
	want := math.Sqrt((0.25/16 + 4*0.04/256) / nb)
	// The relative error of an estimated standard error of n independent
	// values is about 1/√(2(n−1)).
	if r, rel := est.Err/want, 1/math.Sqrt(2*(nb-1)); !(math.Abs(r-1) <= 4*rel) {
		t.Errorf("jackknife error %.4g, delta method %.4g: ratio %.4f, want 1 within 4σ = %.3f", est.Err, want, r, 4*rel)
	}
	if math.Abs(est.Mean-0.5) > 4*want {
		t.Errorf("ratio %v, want 0.5", est)
	}
}
