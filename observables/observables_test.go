package observables

import (
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/isingflow/isingflow/ising"
	"github.com/isingflow/isingflow/lattice"
)

func TestLogSumExpAndESS(t *testing.T) {
	if got := LogSumExp([]float64{1000, 1000}); math.Abs(got-(1000+math.Ln2)) > 1e-12 {
		t.Errorf("LogSumExp overflowed: %v", got)
	}
	if got := LogMeanExp([]float64{-800, -800, -800}); math.Abs(got+800) > 1e-12 {
		t.Errorf("LogMeanExp = %v, want -800", got)
	}
	uniform := make([]float64, 100)
	if ess := EffectiveSampleSize(uniform); math.Abs(ess-100) > 1e-9 {
		t.Errorf("ESS of uniform weights = %v, want 100", ess)
	}
	oneHot := make([]float64, 100)
	for i := range oneHot {
		oneHot[i] = -1e4
	}
	oneHot[17] = 0
	if ess := EffectiveSampleSize(oneHot); math.Abs(ess-1) > 1e-9 {
		t.Errorf("ESS of one dominant weight = %v, want 1", ess)
	}
	w, _ := NewWeighted([]float64{0, math.Ln2}) // weights 1 and 2: ESS = 9/5
	if ess := w.ESS(); math.Abs(ess-1.8) > 1e-12 {
		t.Errorf("ESS = %v, want 1.8", ess)
	}
}

func TestNewWeightedRejectsBadInput(t *testing.T) {
	for _, lw := range [][]float64{nil, {0}, {0, math.NaN()}, {0, math.Inf(1)}, {math.Inf(-1), math.Inf(-1)}} {
		if _, err := NewWeighted(lw); err == nil {
			t.Errorf("NewWeighted(%v) accepted", lw)
		}
	}
}

func TestUniformWeightsGivePlainStatistics(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	const m = 1000
	v := make([]float64, m)
	mean := 0.0
	for i := range v {
		v[i] = rng.NormFloat64()*2 + 3
		mean += v[i] / m
	}
	ss := 0.0
	for _, x := range v {
		ss += (x - mean) * (x - mean)
	}
	w, _ := Uniform(m)
	got := w.Mean(v)
	if math.Abs(got.Mean-mean) > 1e-12 || math.Abs(got.Err-math.Sqrt(ss)/m) > 1e-12 {
		t.Errorf("uniform Mean = %v, want %v ± %v", got, mean, math.Sqrt(ss)/m)
	}
	// The jackknife of the identity over M blocks is the standard error with
	// the M−1 normalisation.
	jk := w.Jackknife(m, func(x []float64) float64 { return x[0] }, v)
	if math.Abs(jk.Mean-mean) > 1e-12 || math.Abs(jk.Err-math.Sqrt(ss/(m-1)/m)) > 1e-9 {
		t.Errorf("jackknife = %v, want %v ± %v", jk, mean, math.Sqrt(ss/(m-1)/m))
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
}

func TestIntegratedAutocorrelationTimeOfBadSeries(t *testing.T) {
	for _, s := range [][]float64{nil, {1}, {1, math.NaN(), 2, 3}, {0, math.Inf(-1), 1}} {
		if tau, _ := IntegratedAutocorrelationTime(s); !math.IsNaN(tau) {
			t.Errorf("%v: τ_int = %v, want NaN", s, tau)
		}
	}
	if tau, _ := IntegratedAutocorrelationTime([]float64{2, 2, 2}); tau != 0.5 {
		t.Errorf("constant series: τ_int = %v, want 0.5", tau)
	}
}

func TestIntegratedAutocorrelationTimeAR1(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, rho := range []float64{0, 0.5, 0.9} {
		const n = 200000
		s := make([]float64, n)
		for i := 1; i < n; i++ {
			s[i] = rho*s[i-1] + math.Sqrt(1-rho*rho)*rng.NormFloat64()
		}
		want := (1 + rho) / (2 * (1 - rho))
		tau, window := IntegratedAutocorrelationTime(s)
		// The statistical error of τ_int is about τ √(2(2W+1)/n) (Madras &
		// Sokal); the window cuts off Σ_{t>W} ρ^t = ρ^{W+1}/(1−ρ), a bias.
		sigma := want * math.Sqrt(2*float64(2*window+1)/n)
		bias := math.Pow(rho, float64(window+1)) / (1 - rho)
		t.Logf("ρ=%v: τ_int = %.4f, want %.4f (W = %d, σ = %.3g, cut-off %.2g)", rho, tau, want, window, sigma, bias)
		if !(math.Abs(tau-want) <= 4*sigma+bias) {
			t.Errorf("ρ=%v: τ_int = %v, want %v within 4σ = %.3g (+ cut-off %.2g)", rho, tau, want, 4*sigma, bias)
		}
		mean, _, err := ChainMean(s)
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(mean.Mean) > 4*mean.Err {
			t.Errorf("ρ=%v: chain mean %v is not 0 within 4σ", rho, mean)
		}
		if exactErr := math.Sqrt(2 * want / n); math.Abs(mean.Err-exactErr) > 0.15*exactErr {
			t.Errorf("ρ=%v: error %v, want %v", rho, mean.Err, exactErr)
		}
	}
}

func TestIndependenceMetropolisGaussian(t *testing.T) {
	const sp, sq, m = 1.5, 1.0, 100000
	rng := rand.New(rand.NewPCG(7, 8))
	x, logw := gaussianProposal(rng, m, sp, sq)
	states, acc := IndependenceMetropolis(rng, logw)
	if acc <= 0.5 || acc >= 1 {
		t.Errorf("acceptance %v outside (0.5, 1)", acc)
	}
	x2 := make([]float64, m)
	for k, s := range states {
		x2[k] = x[s] * x[s]
	}
	est, tau, _ := ChainMean(x2)
	if d := est.Deviation(sq * sq); !(math.Abs(d) <= 4) {
		t.Errorf("chain <x²> = %v (τ=%.2f), exact %v (%.1fσ)", est, tau, sq*sq, d)
	}
	// A perfect proposal is always accepted.
	_, acc = IndependenceMetropolis(rng, make([]float64, 100))
	if acc != 1 {
		t.Errorf("acceptance with exact proposal = %v", acc)
	}
}

// bruteMoments enumerates the 2^N spin configurations under p(s|x) ∝ exp(sᵀx).
func bruteMoments(lat *lattice.Lattice, x []float64) ising.SpinMoments {
	n := lat.N()
	var z float64
	var out ising.SpinMoments
	s := make([]float64, n)
	for c := 0; c < 1<<n; c++ {
		lw, m := 0.0, 0.0
		for i := range s {
			s[i] = float64(2*((c>>i)&1) - 1)
			lw += s[i] * x[i]
			m += s[i]
		}
		w := math.Exp(lw)
		e := lat.Energy(s, 1)
		m /= float64(n)
		z += w
		out.Energy += w * e
		out.EnergySq += w * e * e
		out.AbsMagnetization += w * math.Abs(m)
		out.MagnetizationSq += w * m * m
		out.Magnetization4 += w * m * m * m * m
	}
	out.Energy /= z
	out.EnergySq /= z
	out.AbsMagnetization /= z
	out.MagnetizationSq /= z
	out.Magnetization4 /= z
	return out
}

func TestConditionalMomentsAgainstEnumeration(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	for _, tc := range []struct {
		shape []int
		b     lattice.Boundary
	}{
		{[]int{2}, lattice.Periodic},
		{[]int{5}, lattice.Open},
		{[]int{3, 3}, lattice.Periodic},
		{[]int{2, 3}, lattice.Periodic},
		{[]int{3, 4}, lattice.Open},
		{[]int{2, 2, 2}, lattice.Periodic},
		{[]int{4, 4}, lattice.Periodic},
	} {
		lat, err := lattice.New(tc.shape, tc.b)
		if err != nil {
			t.Fatal(err)
		}
		cm := ising.NewConditionalMoments(lat)
		for trial := 0; trial < 3; trial++ {
			x := make([]float64, lat.N())
			for i := range x {
				x[i] = rng.NormFloat64() * float64(trial)
			}
			got := cm.Moments(x)
			want := bruteMoments(lat, x)
			for _, q := range []struct {
				name      string
				got, want float64
			}{
				{"E", got.Energy, want.Energy},
				{"E²", got.EnergySq, want.EnergySq},
				{"|m|", got.AbsMagnetization, want.AbsMagnetization},
				{"m²", got.MagnetizationSq, want.MagnetizationSq},
				{"m⁴", got.Magnetization4, want.Magnetization4},
			} {
				if math.Abs(q.got-q.want) > 1e-12*math.Max(1, math.Abs(q.want)) {
					t.Errorf("%v, trial %d: %s = %.15g, enumeration %.15g", lat, trial, q.name, q.got, q.want)
				}
			}
		}
	}
}

func TestBatchMatchesMoments(t *testing.T) {
	lat, _ := lattice.NewHypercubic(2, 6, lattice.Periodic)
	cm := ising.NewConditionalMoments(lat)
	rng := rand.New(rand.NewPCG(11, 12))
	const b = 40
	x := mat.NewDense(b, lat.N(), nil)
	for r := range b {
		for i := range lat.N() {
			x.Set(r, i, rng.NormFloat64())
		}
	}
	dst := make([]ising.SpinMoments, b)
	cm.Batch(dst, x)
	for r := range b {
		if want := cm.Moments(x.RawRowView(r)); dst[r] != want {
			t.Fatalf("row %d: Batch %v, Moments %v", r, dst[r], want)
		}
	}
}
