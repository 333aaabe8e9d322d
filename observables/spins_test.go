package observables_test

import (
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"testing"

	"codeberg.org/sbinet/npyio/npz"

	"github.com/isingflow/isingflow/model"
	"github.com/isingflow/isingflow/observables"
)

// TestDrawSpins checks the spins drawn given x against their exact
// conditional law: Σ(s_i − tanh x_i) has mean 0 and variance Σ(1 − tanh²x_i).
func TestDrawSpins(t *testing.T) {
	cfg := model.Config{L: 6, Dim: 2, T: 2.5, Delta: 0.1, Potential: model.PotentialDense, Hidden: 4, FlowSteps: 2, Epsilon: 0.5, InitSeed: 3}
	m, err := cfg.Build()
	if err != nil {
		t.Fatal(err)
	}
	const n = 700 // more than one batch
	s, err := observables.DrawSpins(m.Flow, m.Target, n, 7)
	if err != nil {
		t.Fatal(err)
	}
	var sum, variance float64
	for k := range n {
		row := s.X.RawRowView(k)
		var mag float64
		conf := make([]float64, len(row))
		for i, x := range row {
			si := s.Spins[k*s.N+i]
			if si != 1 && si != -1 {
				t.Fatalf("spin %d of sample %d is %d", i, k, si)
			}
			th := math.Tanh(x)
			sum += float64(si) - th
			variance += 1 - th*th
			mag += float64(si)
			conf[i] = float64(si)
		}
		if got, want := s.Magnetization[k], mag/float64(s.N); got != want {
			t.Fatalf("sample %d: magnetization %v, want %v", k, got, want)
		}
		if got, want := s.AbsMagnetization()[k], math.Abs(mag)/float64(s.N); got != want {
			t.Fatalf("sample %d: |m| %v, want %v", k, got, want)
		}
		if got, want := s.Energy[k], m.Lattice.Energy(conf, 1); got != want {
			t.Fatalf("sample %d: energy %v, want %v", k, got, want)
		}
	}
	if z := sum / math.Sqrt(variance); math.Abs(z) > 4 {
		t.Errorf("Σ(s − tanh x) = %.4g, %.1fσ from 0", sum, z)
	}
	// ln w = ln q̃ − ln p, from the target and the flow.
	logq := make([]float64, n)
	m.Target.LogDensity(logq, s.X)
	logp := make([]float64, n)
	if err := m.Flow.LogDensity(logp, s.X); err != nil {
		t.Fatal(err)
	}
	for k := range n {
		if got, want := s.LogW[k], logq[k]-s.LogP[k]; math.Abs(got-want) > 1e-12*max(1, math.Abs(want)) {
			t.Fatalf("sample %d: ln w = %v, want %v", k, got, want)
		}
		if math.Abs(logp[k]-s.LogP[k]) > 1e-6*max(1, math.Abs(logp[k])) {
			t.Fatalf("sample %d: ln p = %v from sampling, %v from the density", k, s.LogP[k], logp[k])
		}
	}
	// The same seed draws the same samples.
	again, err := observables.DrawSpins(m.Flow, m.Target, n, 7)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(again.Spins, s.Spins) || !slices.Equal(again.LogW, s.LogW) {
		t.Error("the same seed drew different samples")
	}
	if _, err := observables.DrawSpins(m.Flow, m.Target, 0, 7); err == nil {
		t.Error("no error for zero samples")
	}
}

// TestSpinSamplesNPZ checks the arrays and shapes of the .npz archive, on a
// square and on a one-dimensional lattice.
func TestSpinSamplesNPZ(t *testing.T) {
	for _, tc := range []struct {
		cfg                model.Config
		spins, latticeDims []int
	}{
		{model.Config{L: 4, Dim: 2, T: 2.5, Delta: 0.1, Potential: model.PotentialDense, Hidden: 4, FlowSteps: 2, Epsilon: 0.5}, []int{3, 4, 4}, []int{2}},
		{model.Config{L: 8, Dim: 1, T: 1.5, Delta: 0.1, Potential: model.PotentialDense, Hidden: 4, FlowSteps: 2, Epsilon: 0.5}, []int{3, 8}, []int{1}},
	} {
		m, err := tc.cfg.Build()
		if err != nil {
			t.Fatal(err)
		}
		s, err := observables.DrawSpins(m.Flow, m.Target, 3, 1)
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(t.TempDir(), "s.npz")
		if err := s.WriteNPZ(path); err != nil {
			t.Fatal(err)
		}
		r, err := npz.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		for name, want := range map[string][]int{
			"spins": tc.spins, "x": tc.spins, "logp": {3}, "logw": {3}, "energy": {3}, "magnetization": {3}, "lattice_shape": tc.latticeDims,
		} {
			h := r.Header(name)
			if h == nil {
				t.Errorf("%v: no array %q", m.Lattice, name)
			} else if !slices.Equal(h.Descr.Shape, want) {
				t.Errorf("%v: %s has shape %v, want %v", m.Lattice, name, h.Descr.Shape, want)
			}
		}
		var spins []int8
		if err := r.Read("spins", &spins); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(spins, s.Spins) {
			t.Errorf("%v: the spins read back differ", m.Lattice)
		}
		r.Close()
	}
}

// drawDiscrete returns n values k/sites with k drawn from the probabilities
// prob (prob[k] for k = 0…sites).
func drawDiscrete(rng *rand.Rand, prob []float64, n int) []float64 {
	sites := len(prob) - 1
	out := make([]float64, n)
	for i := range out {
		u, k := rng.Float64(), 0
		for ; k < sites && u >= prob[k]; k++ {
			u -= prob[k]
		}
		out[i] = float64(k) / float64(sites)
	}
	return out
}

func TestMagnetizationKL(t *testing.T) {
	const n = 40000
	tests := []struct {
		name       string
		flow, want []float64 // distributions of k = N|m|, N = len − 1
	}{
		{"identical", []float64{0.1, 0.2, 0.3, 0.2, 0.2}, []float64{0.1, 0.2, 0.3, 0.2, 0.2}},
		{"different", []float64{0.1, 0.2, 0.3, 0.2, 0.2}, []float64{0.3, 0.3, 0.2, 0.1, 0.1}},
		{"flow ordered", []float64{0, 0, 0.05, 0.15, 0.8}, []float64{0.2, 0.3, 0.3, 0.15, 0.05}},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(uint64(i), 11))
			flowAbs := drawDiscrete(rng, tc.flow, n)
			exactAbs := drawDiscrete(rng, tc.want, n)
			sites := len(tc.flow) - 1
			kl, groups, err := observables.MagnetizationKL(flowAbs, exactAbs, sites)
			if err != nil {
				t.Fatal(err)
			}
			var exact float64
			for k, p := range tc.flow {
				if p > 0 {
					exact += p * math.Log(p/tc.want[k])
				}
			}
			if groups != sites+1 {
				t.Errorf("%d groups, want one per value of |m|, %d", groups, sites+1)
			}
			if !(kl.Err > 0 && kl.Err < 0.05) {
				t.Errorf("error bar %g, want in (0, 0.05) for %d samples", kl.Err, n)
			}
			if math.Abs(kl.Mean-exact) > 4*kl.Err+1e-3 {
				t.Errorf("KL = %v, exact %.5f", kl, exact)
			}
		})
	}
}

// A value of |m| with fewer than MinExactPerGroup exact samples is grouped
// with the next lower one, so the estimate stays finite where the flow has
// its mass and the exact chain almost none.
func TestMagnetizationKLGroupsRareValues(t *testing.T) {
	flowAbs := []float64{1, 1, 1, 1, 0.5}
	exactAbs := []float64{1, 1, 0.75, 0.75, 0.75, 0.75, 0.5, 0.5, 0.5, 0.5, 0.5, 0, 0}
	kl, groups, err := observables.MagnetizationKL(flowAbs, exactAbs, 4)
	if err != nil {
		t.Fatal(err)
	}
	// Groups from the top: {1, 0.75} (6 exact samples), {0.5, 0.25, 0}
	// (7: the unfinished last group joins it).
	want := 0.8*math.Log(0.8/(6.0/13)) + 0.2*math.Log(0.2/(7.0/13))
	if groups != 2 || math.Abs(kl.Mean-want) > 1e-12 {
		t.Errorf("KL = %v in %d groups, want %v in 2", kl.Mean, groups, want)
	}
	for _, bad := range []struct{ flow, exact []float64 }{
		{nil, exactAbs},
		{flowAbs, exactAbs[:observables.MinExactPerGroup-1]},
	} {
		if _, _, err := observables.MagnetizationKL(bad.flow, bad.exact, 4); err == nil {
			t.Errorf("%d flow and %d exact samples: no error", len(bad.flow), len(bad.exact))
		}
	}
}
