package observables

import (
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
