package optim

import (
	"math"
	"testing"
)

func TestAdamFirstStepIsSignedLearningRate(t *testing.T) {
	// With bias correction, the first step is lr·g/(|g|+ε) ≈ lr·sign(g).
	a := NewAdam(3, 0.01)
	p := []float64{1, 2, 3}
	a.Update(p, []float64{0.5, -2, 1e-3}, a.LearningRate)
	want := []float64{1 - 0.01*0.5/(0.5+1e-8), 2 + 0.01*2/(2+1e-8), 3 - 0.01*1e-3/(1e-3+1e-8)}
	for i := range p {
		if math.Abs(p[i]-want[i]) > 1e-12 {
			t.Errorf("p[%d] = %.15g, want %.15g", i, p[i], want[i])
		}
	}
}

func TestAdamMinimisesQuadratic(t *testing.T) {
	// f = Σ c_i (p_i − i)², an ill-conditioned bowl.
	c := []float64{1, 10, 100}
	a := NewAdam(3, 0.05)
	p := make([]float64, 3)
	g := make([]float64, 3)
	s := Schedule{Total: 3000, Final: 0.01}
	for step := range 3000 {
		for i := range p {
			g[i] = 2 * c[i] * (p[i] - float64(i))
		}
		a.Update(p, g, s.Rate(a.LearningRate, step))
	}
	for i := range p {
		if math.Abs(p[i]-float64(i)) > 1e-3 {
			t.Errorf("p[%d] = %v, want %d", i, p[i], i)
		}
	}
}

func TestAdamWeightDecayShrinksWithoutGradient(t *testing.T) {
	a := NewAdam(1, 0.1)
	a.WeightDecay = 0.5
	p := []float64{2}
	a.Update(p, []float64{0}, a.LearningRate)
	if want := 2 - 0.1*0.5*2; math.Abs(p[0]-want) > 1e-15 {
		t.Errorf("p = %v, want %v", p[0], want)
	}
}

// TestAdamL2IsPenaltyInGradient checks that L2 is Adam on the penalised
// loss f(θ) + ½·L2·|θ|², whose gradient is ∇f + L2·θ (torch.optim.Adam's
// weight_decay), and that it differs from the decoupled decay.
func TestAdamL2IsPenaltyInGradient(t *testing.T) {
	const l2 = 0.3
	withL2, penalised, decoupled := NewAdam(2, 0.05), NewAdam(2, 0.05), NewAdam(2, 0.05)
	withL2.L2, decoupled.WeightDecay = l2, l2
	p1, p2, p3 := []float64{1, -2}, []float64{1, -2}, []float64{1, -2}
	for k := range 5 {
		g := []float64{0.5 - 0.1*float64(k), 0.2}
		withL2.Update(p1, g, withL2.LearningRate)
		gp := []float64{g[0] + l2*p2[0], g[1] + l2*p2[1]}
		penalised.Update(p2, gp, penalised.LearningRate)
		decoupled.Update(p3, g, decoupled.LearningRate)
	}
	for i := range p1 {
		if p1[i] != p2[i] {
			t.Errorf("p[%d] = %v with L2, %v with the penalty in the gradient", i, p1[i], p2[i])
		}
		if math.Abs(p1[i]-p3[i]) < 1e-3 {
			t.Errorf("p[%d] = %v with L2 and %v with decoupled decay: want them to differ", i, p1[i], p3[i])
		}
	}
}

func TestScheduleRate(t *testing.T) {
	s := Schedule{Warmup: 10, Total: 110, Final: 0.1}
	for _, tc := range []struct {
		step int
		want float64
	}{
		{0, 0.1}, {9, 1}, {10, 1}, {60, 0.55}, {110, 0.1}, {500, 0.1},
	} {
		if got := s.Rate(1, tc.step); math.Abs(got-tc.want) > 1e-12 {
			t.Errorf("Rate(step %d) = %v, want %v", tc.step, got, tc.want)
		}
	}
	if got := (Schedule{}).Rate(0.3, 1000); got != 0.3 {
		t.Errorf("constant schedule gives %v", got)
	}
}
