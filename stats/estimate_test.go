package stats

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"testing"
)

func TestEstimateString(t *testing.T) {
	for _, tc := range []struct {
		e    Estimate
		want string
	}{
		{Estimate{Mean: 0.71392, Err: 0.00041}, "0.7139 ± 0.0004"},
		{Estimate{Mean: 0.71392, Err: 0.00014}, "0.71392 ± 0.00014"},
		{Estimate{Mean: -1.453064, Err: 0.0023}, "-1.453 ± 0.002"},
		{Estimate{Mean: 0.5, Err: 0.00096}, "0.5000 ± 0.0010"},
		{Estimate{Mean: 12.345, Err: 1.6}, "12.3 ± 1.6"},
		{Estimate{Mean: 4.1234, Err: 0.02}, "4.12 ± 0.02"},
		{Estimate{Mean: 12345, Err: 340}, "12300 ± 300"},
		{Estimate{Mean: 0.5, Err: 0}, "0.5 ± 0"},
		{Estimate{Mean: 0.5, Err: math.NaN()}, "0.5 ± NaN"},
		{Estimate{Mean: 0.5, Err: -0.02}, "0.50 ± 0.02"},
		{Estimate{Mean: math.Inf(-1), Err: 0.1}, "-Inf ± 0.1"},
		{Estimate{Mean: -1.45312, Err: 0.0004, Tau: 3}, "-1.4531 ± 0.0004"},
	} {
		if got := tc.e.String(); got != tc.want {
			t.Errorf("%#v: %q, want %q", tc.e, got, tc.want)
		}
	}
}

func TestDeviation(t *testing.T) {
	for _, tc := range []struct {
		e     Estimate
		exact float64
		want  float64 // NaN: want NaN
	}{
		{Estimate{Mean: 1.5, Err: 0.25}, 1, 2},
		{Estimate{Mean: 0.5, Err: 0.25}, 1, -2},
		{Estimate{Mean: 1.5, Err: 0}, 1, math.NaN()},
		{Estimate{Mean: 1.5, Err: math.NaN()}, 1, math.NaN()},
		{Estimate{Mean: 1.5, Err: math.Inf(1)}, 1, 0},
	} {
		got := tc.e.Deviation(tc.exact)
		if math.IsNaN(tc.want) != math.IsNaN(got) || !math.IsNaN(got) && got != tc.want {
			t.Errorf("%v.Deviation(%v) = %v, want %v", tc.e, tc.exact, got, tc.want)
		}
	}
}

// The JSON form is {"mean", "err"}, with "tau" only when it is set.
func TestEstimateJSON(t *testing.T) {
	for _, tc := range []struct {
		e    Estimate
		want string
	}{
		{Estimate{Mean: 1.5, Err: 0.25}, `{"mean":1.5,"err":0.25}`},
		{Estimate{Mean: 1.5, Err: 0.25, Tau: 2}, `{"mean":1.5,"err":0.25,"tau":2}`},
	} {
		b, err := json.Marshal(tc.e)
		if err != nil || string(b) != tc.want {
			t.Errorf("%#v: %s (%v), want %s", tc.e, b, err, tc.want)
		}
	}
}

func TestMeanErr(t *testing.T) {
	for _, tc := range []struct {
		x         []float64
		mean, err float64
	}{
		{[]float64{5}, 5, 0},
		{[]float64{1, 3}, 2, 1},                    // s² = 2, √(2/2)
		{[]float64{1, 2, 3, 4}, 2.5, 0.6454972244}, // s² = 5/3, √(5/12)
		{[]float64{1e9 + 1, 1e9 + 3}, 1e9 + 2, 1},  // large offset
		{[]float64{-7, -7, -7}, -7, 0},
	} {
		e := MeanErr(tc.x)
		if math.Abs(e.Mean-tc.mean) > 1e-9 || math.Abs(e.Err-tc.err) > 1e-9 || e.Tau != 0 {
			t.Errorf("MeanErr(%v) = %#v; want %v ± %v", tc.x, e, tc.mean, tc.err)
		}
	}
	if e := MeanErr(nil); !math.IsNaN(e.Mean) || e.Err != 0 {
		t.Errorf("MeanErr(nil) = %#v, want NaN ± 0", e)
	}
}

func TestMeanSD(t *testing.T) {
	for _, tc := range []struct {
		x        []float64
		mean, sd float64 // NaN: want NaN
	}{
		{[]float64{1, 3}, 2, math.Sqrt2},
		{[]float64{1, 2, 3, 4}, 2.5, math.Sqrt(5.0 / 3)},
		{[]float64{1e9 + 1, 1e9 + 3}, 1e9 + 2, math.Sqrt2},
		{[]float64{5}, 5, math.NaN()},
		{nil, math.NaN(), math.NaN()},
	} {
		m, sd := MeanSD(tc.x)
		for _, q := range [][2]float64{{m, tc.mean}, {sd, tc.sd}} {
			if math.IsNaN(q[1]) != math.IsNaN(q[0]) || math.Abs(q[0]-q[1]) > 1e-9 {
				t.Errorf("MeanSD(%v) = %v, %v; want %v, %v", tc.x, m, sd, tc.mean, tc.sd)
				break
			}
		}
	}
	// The standard error of MeanErr is the sample deviation over √n.
	rng := rand.New(rand.NewPCG(3, 9))
	x := make([]float64, 1000)
	for i := range x {
		x[i] = 3 + 2*rng.NormFloat64()
	}
	m, sd := MeanSD(x)
	if e := MeanErr(x); e.Mean != m || math.Abs(e.Err-sd/math.Sqrt(1000)) > 1e-15 {
		t.Errorf("MeanErr %#v, MeanSD %v, %v", e, m, sd)
	}
}

// ar1 returns chains of the AR(1) process x_t = ρ x_{t−1} + √(1−ρ²) ξ_t,
// started in equilibrium: unit variance, τ_int = (1+ρ)/(2(1−ρ)).
func ar1(rho float64, chains, n int, seed uint64) [][]float64 {
	rng := rand.New(rand.NewPCG(seed, 1))
	out := make([][]float64, chains)
	for c := range out {
		x := rng.NormFloat64()
		out[c] = make([]float64, n)
		for i := range out[c] {
			x = rho*x + math.Sqrt(1-rho*rho)*rng.NormFloat64()
			out[c][i] = x
		}
	}
	return out
}

// The chain error of an AR(1) series against its exact value
// √(2τ_int/n), τ_int = (1+ρ)/(2(1−ρ)), for unit variance.
func TestChainMeanAR1(t *testing.T) {
	const n = 200000
	for i, rho := range []float64{0, 0.5, 0.9} {
		s := ar1(rho, 1, n, uint64(10+i))[0]
		want := (1 + rho) / (2 * (1 - rho))
		est, err := ChainMean(s)
		if err != nil {
			t.Fatal(err)
		}
		tau, _, _ := IntegratedAutocorrelationTime([][]float64{s})
		if est.Tau != tau {
			t.Errorf("ρ=%v: Tau = %v, IntegratedAutocorrelationTime %v", rho, est.Tau, tau)
		}
		if math.Abs(est.Mean) > 4*est.Err {
			t.Errorf("ρ=%v: chain mean %v is not 0 within 4σ", rho, est)
		}
		if exactErr := math.Sqrt(2 * want / n); math.Abs(est.Err-exactErr) > 0.15*exactErr {
			t.Errorf("ρ=%v: error %v, want %v", rho, est.Err, exactErr)
		}
	}
	for _, s := range [][]float64{nil, {1}} {
		if _, err := ChainMean(s); err == nil {
			t.Errorf("ChainMean(%v): no error", s)
		}
	}
	// A NaN leaves the error NaN rather than a number.
	if est, err := ChainMean([]float64{1, 2, math.NaN(), 3}); err != nil || !math.IsNaN(est.Err) {
		t.Errorf("ChainMean with NaN = %v, %v; want NaN error", est, err)
	}
}
