package stats

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestLogSumExp(t *testing.T) {
	for _, tc := range []struct {
		a        []float64
		lse, lme float64
	}{
		{[]float64{1000, 1000}, 1000 + math.Ln2, 1000}, // no overflow
		{[]float64{-800, -800, -800}, -800 + math.Log(3), -800},
		{[]float64{0, math.Ln2}, math.Log(3), math.Log(1.5)},
		{[]float64{0, math.Inf(-1)}, 0, -math.Ln2},
	} {
		if got := LogSumExp(tc.a); math.Abs(got-tc.lse) > 1e-12 {
			t.Errorf("LogSumExp(%v) = %v, want %v", tc.a, got, tc.lse)
		}
		if got := LogMeanExp(tc.a); math.Abs(got-tc.lme) > 1e-12 {
			t.Errorf("LogMeanExp(%v) = %v, want %v", tc.a, got, tc.lme)
		}
	}
	if got := LogSumExp(nil); !math.IsInf(got, -1) {
		t.Errorf("LogSumExp(nil) = %v, want -Inf", got)
	}
}

func TestEffectiveSampleSize(t *testing.T) {
	oneHot := make([]float64, 100)
	for i := range oneHot {
		oneHot[i] = -1e4
	}
	oneHot[17] = 0
	for _, tc := range []struct {
		name string
		logw []float64
		ess  float64 // NaN: want NaN
	}{
		{"uniform", make([]float64, 100), 100},
		{"shifted", []float64{700, 700, 700, 700}, 4},
		{"one dominant weight", oneHot, 1},
		{"weights 1 and 2", []float64{0, math.Ln2}, 1.8}, // 9/5
		{"a zero weight", []float64{0, 0, math.Inf(-1)}, 2},
		{"none", nil, math.NaN()},
		{"all zero", []float64{math.Inf(-1), math.Inf(-1)}, math.NaN()},
		{"NaN", []float64{0, math.NaN()}, math.NaN()},
		{"+Inf", []float64{0, math.Inf(1)}, math.NaN()},
	} {
		ess := EffectiveSampleSize(tc.logw)
		frac := ESSFraction(tc.logw)
		if math.IsNaN(tc.ess) {
			if !math.IsNaN(ess) || !math.IsNaN(frac) {
				t.Errorf("%s: ESS %v, ESS/M %v; want NaN", tc.name, ess, frac)
			}
			continue
		}
		if math.Abs(ess-tc.ess) > 1e-12*tc.ess || math.Abs(frac-tc.ess/float64(len(tc.logw))) > 1e-12 {
			t.Errorf("%s: ESS %v, ESS/M %v; want %v", tc.name, ess, frac, tc.ess)
		}
		// The Weighted sample agrees.
		if w, err := NewWeighted(tc.logw); err != nil || math.Abs(w.ESS()-ess) > 1e-12*ess || math.Abs(w.ESSFraction()-frac) > 1e-12 {
			t.Errorf("%s: Weighted ESS %v (%v), want %v", tc.name, w.ESS(), err, ess)
		}
	}
}

func TestNewWeightedRejectsBadInput(t *testing.T) {
	for _, lw := range [][]float64{nil, {0}, {0, math.NaN()}, {0, math.Inf(1)}, {math.Inf(-1), math.Inf(-1)}} {
		if _, err := NewWeighted(lw); err == nil {
			t.Errorf("NewWeighted(%v) accepted", lw)
		}
	}
	for _, m := range []int{-1, 0, 1} {
		if _, err := Uniform(m); err == nil {
			t.Errorf("Uniform(%d) accepted", m)
		}
	}
}

func TestUniformWeightsGivePlainStatistics(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	const m = 1000
	v := make([]float64, m)
	for i := range v {
		v[i] = rng.NormFloat64()*2 + 3
	}
	plain := MeanErr(v)
	w, _ := Uniform(m)
	if w.Len() != m || w.ESS() < m-1e-9 || math.Abs(w.ESSFraction()-1) > 1e-12 {
		t.Errorf("Uniform(%d): Len %d, ESS %v, ESS/M %v", m, w.Len(), w.ESS(), w.ESSFraction())
	}
	// The delta-method error of equal weights has the 1/M normalisation.
	got := w.Mean(v)
	if want := plain.Err * math.Sqrt(float64(m-1)/m); math.Abs(got.Mean-plain.Mean) > 1e-12 || math.Abs(got.Err-want) > 1e-12 {
		t.Errorf("uniform Mean = %v, want %v ± %v", got, plain.Mean, want)
	}
	// The jackknife of the identity over M blocks is the standard error with
	// the M−1 normalisation.
	jk := w.Jackknife(m, func(x []float64) float64 { return x[0] }, v)
	if math.Abs(jk.Mean-plain.Mean) > 1e-12 || math.Abs(jk.Err-plain.Err) > 1e-9 {
		t.Errorf("jackknife = %v, want %v", jk, plain)
	}
	// Equal weights estimate Z = 1 exactly.
	if lz := w.LogPartition(); math.Abs(lz.Mean) > 1e-12 || lz.Err > 1e-12 {
		t.Errorf("ln Z of equal weights = %v, want 0 ± 0", lz)
	}
}

// gaussianProposal draws M samples from N(0, sp²) and returns them with the
// log-weights against the unnormalised target exp(−x²/2sq²).
func gaussianProposal(rng *rand.Rand, m int, sp, sq float64) (x, logw []float64) {
	x = make([]float64, m)
	logw = make([]float64, m)
	for k := range x {
		x[k] = sp * rng.NormFloat64()
		logp := -0.5*x[k]*x[k]/(sp*sp) - math.Log(sp*math.Sqrt(2*math.Pi))
		logw[k] = -0.5*x[k]*x[k]/(sq*sq) - logp
	}
	return x, logw
}

func TestImportanceSamplingGaussianTarget(t *testing.T) {
	const sp, sq, m = 1.5, 1.0, 200000
	x, logw := gaussianProposal(rand.New(rand.NewPCG(3, 4)), m, sp, sq)
	w, err := NewWeighted(logw)
	if err != nil {
		t.Fatal(err)
	}
	lnZ := w.LogPartition()
	if d := lnZ.Deviation(math.Log(sq * math.Sqrt(2*math.Pi))); !(math.Abs(d) <= 4) {
		t.Errorf("ln Z = %v, exact %v (%.1fσ)", lnZ, math.Log(sq*math.Sqrt(2*math.Pi)), d)
	}
	x2 := make([]float64, m)
	x4 := make([]float64, m)
	for k, v := range x {
		x2[k] = v * v
		x4[k] = v * v * v * v
	}
	if d := w.Mean(x2).Deviation(sq * sq); !(math.Abs(d) <= 4) {
		t.Errorf("<x²> = %v, exact %v (%.1fσ)", w.Mean(x2), sq*sq, d)
	}
	// A nonlinear function: the kurtosis <x⁴>/<x²>² = 3 of a Gaussian.
	kurt := w.Jackknife(50, func(m []float64) float64 { return m[1] / (m[0] * m[0]) }, x2, x4)
	if d := kurt.Deviation(3); !(math.Abs(d) <= 4) || kurt.Err > 0.05 {
		t.Errorf("kurtosis = %v, exact 3 (%.1fσ)", kurt, d)
	}
	// ESS/M → 1/E_p[w²] = sq √(2sp² − sq²)/sp² for normalised weights.
	want := sq * math.Sqrt(2*sp*sp-sq*sq) / (sp * sp)
	if got := w.ESSFraction(); math.Abs(got-want) > 0.01 {
		t.Errorf("ESS/M = %v, want %v", got, want)
	}
	if got := ESSFraction(logw); math.Abs(got-w.ESSFraction()) > 1e-12 {
		t.Errorf("ESSFraction(logw) = %v, Weighted %v", got, w.ESSFraction())
	}
}

func TestWeightedPanicsOnLengthMismatch(t *testing.T) {
	w, _ := Uniform(3)
	for name, f := range map[string]func(){
		"Mean":      func() { w.Mean([]float64{1, 2}) },
		"Jackknife": func() { w.Jackknife(2, func(m []float64) float64 { return m[0] }, []float64{1, 2, 3, 4}) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", name)
				}
			}()
			f()
		}()
	}
}
