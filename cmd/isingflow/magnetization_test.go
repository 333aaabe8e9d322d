package main

import (
	"math"
	"math/rand/v2"
	"testing"
)

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
			kl, klErr, groups, err := magnetizationKL(flowAbs, exactAbs, sites)
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
			if !(klErr > 0 && klErr < 0.05) {
				t.Errorf("error bar %g, want in (0, 0.05) for %d samples", klErr, n)
			}
			if math.Abs(kl-exact) > 4*klErr+1e-3 {
				t.Errorf("KL = %.5f ± %.5f, exact %.5f", kl, klErr, exact)
			}
		})
	}
}

// A value of |m| with fewer than minExactPerGroup exact samples is grouped
// with the next lower one, so the estimate stays finite where the flow has
// its mass and the exact chain almost none.
func TestMagnetizationKLGroupsRareValues(t *testing.T) {
	flowAbs := []float64{1, 1, 1, 1, 0.5}
	exactAbs := []float64{1, 1, 0.75, 0.75, 0.75, 0.75, 0.5, 0.5, 0.5, 0.5, 0.5, 0, 0}
	kl, _, groups, err := magnetizationKL(flowAbs, exactAbs, 4)
	if err != nil {
		t.Fatal(err)
	}
	// Groups from the top: {1, 0.75} (6 exact samples), {0.5, 0.25, 0}
	// (7: the unfinished last group joins it).
	want := 0.8*math.Log(0.8/(6.0/13)) + 0.2*math.Log(0.2/(7.0/13))
	if groups != 2 || math.Abs(kl-want) > 1e-12 {
		t.Errorf("KL = %v in %d groups, want %v in 2", kl, groups, want)
	}
	for _, bad := range []struct{ flow, exact []float64 }{
		{nil, exactAbs},
		{flowAbs, exactAbs[:minExactPerGroup-1]},
	} {
		if _, _, _, err := magnetizationKL(bad.flow, bad.exact, 4); err == nil {
			t.Errorf("%d flow and %d exact samples: no error", len(bad.flow), len(bad.exact))
		}
	}
}
