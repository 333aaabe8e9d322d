package observables

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/isingflow/isingflow/ising"
	"github.com/isingflow/isingflow/lattice"
	"github.com/isingflow/isingflow/stats"
)

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
	est, err := stats.ChainMean(x2)
	if d := est.Deviation(sq * sq); err != nil || !(math.Abs(d) <= 4) {
		t.Errorf("chain <x²> = %v (τ=%.2f, %v), exact %v (%.1fσ)", est, est.Tau, err, sq*sq, d)
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

// TestSetLogDensityDiscretisation checks the folding rule and the warning
// of the integrator's error of ln p, and that both survive JSON.
func TestSetLogDensityDiscretisation(t *testing.T) {
	const T = 2.0
	for _, c := range []struct {
		d            stats.Estimate
		folded, warn bool
	}{
		{stats.Estimate{Mean: 1e-7, Err: 1e-7}, false, false},    // negligible
		{stats.Estimate{Mean: 2e-5, Err: 2e-5}, true, false},     // folded, not significant
		{stats.Estimate{Mean: -2e-5, Err: 2e-6}, true, false},    // folded, T|δ| = 0.4σ
		{stats.Estimate{Mean: -8.3e-5, Err: 1.2e-5}, true, true}, // the ablation's ε = 0.2 at T = 2
	} {
		e := IsingEstimates{FreeEnergyPerSite: stats.Estimate{Mean: -2.057, Err: 1e-4}, LnZPerSite: stats.Estimate{Mean: 1.0285, Err: 5e-5}}
		e.SetLogDensityDiscretisation(c.d, T)
		e.SetLogDensityDiscretisation(c.d, T) // again: the same result
		if folded := e.FreeEnergyStatErr > 0; folded != c.folded {
			t.Errorf("δ = %v: folded %v, want %v", c.d, folded, c.folded)
		}
		want := 1e-4
		if c.folded {
			want = math.Hypot(1e-4, T*math.Hypot(c.d.Mean, c.d.Err))
		}
		if math.Abs(e.FreeEnergyPerSite.Err-want) > 1e-15 || math.Abs(e.LnZPerSite.Err-want/T) > 1e-15 {
			t.Errorf("δ = %v: errors %v, %v, want %v, %v", c.d, e.FreeEnergyPerSite.Err, e.LnZPerSite.Err, want, want/T)
		}
		if warned := len(e.Warnings) > 0; warned != c.warn || len(e.Warnings) > 1 {
			t.Errorf("δ = %v: warnings %q", c.d, e.Warnings)
		}
		b, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		var back IsingEstimates
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatal(err)
		}
		if back.LogDensityDiscretisation == nil || *back.LogDensityDiscretisation != c.d || back.FreeEnergyStatErr != e.FreeEnergyStatErr {
			t.Errorf("δ = %v: JSON %s read back as %v, %v", c.d, b, back.LogDensityDiscretisation, back.FreeEnergyStatErr)
		}
	}
}
