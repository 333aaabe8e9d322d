package optim

import (
	"fmt"
	"math"
)

// Adam is the Adam optimiser (Kingma & Ba 2015) with optional decoupled
// weight decay (AdamW, Loshchilov & Hutter 2019) or L2 penalty. The zero value is not
// usable: start from NewAdam, which sets the usual defaults β₁ = 0.9,
// β₂ = 0.999, ε = 1e-8.
type Adam struct {
	LearningRate float64
	Beta1        float64
	Beta2        float64
	Epsilon      float64
	WeightDecay  float64 // decoupled: θ ← θ − lr·wd·θ each step; 0 disables
	// L2 is a penalty ½·L2·|θ|² added to the loss: L2·θ joins the gradient
	// before the moments, as torch.optim.Adam's weight_decay (the reference
	// code's Ising runs use 1e-3). Unlike WeightDecay it is rescaled by the
	// second moment, so it shrinks most the parameters whose gradient is
	// mostly noise. 0 disables.
	L2 float64

	// State, saved in checkpoints.
	Step   int       // number of steps taken
	First  []float64 // first-moment estimate m
	Second []float64 // second-moment estimate v
}

// NewAdam returns Adam for n parameters with learning rate lr and the
// standard moment parameters.
func NewAdam(n int, lr float64) *Adam {
	return &Adam{
		LearningRate: lr,
		Beta1:        0.9,
		Beta2:        0.999,
		Epsilon:      1e-8,
		First:        make([]float64, n),
		Second:       make([]float64, n),
	}
}

// Update takes one step on params with the gradient grad, at the learning
// rate lr (the caller's schedule; pass a.LearningRate for a constant rate).
func (a *Adam) Update(params, grad []float64, lr float64) {
	if len(params) != len(a.First) || len(grad) != len(a.First) {
		panic(fmt.Sprintf("optim: Adam for %d parameters given %d and %d", len(a.First), len(params), len(grad)))
	}
	a.Step++
	c1 := 1 - math.Pow(a.Beta1, float64(a.Step))
	c2 := 1 - math.Pow(a.Beta2, float64(a.Step))
	for i, g := range grad {
		g += a.L2 * params[i]
		m := a.Beta1*a.First[i] + (1-a.Beta1)*g
		v := a.Beta2*a.Second[i] + (1-a.Beta2)*g*g
		a.First[i], a.Second[i] = m, v
		params[i] -= lr*(m/c1)/(math.Sqrt(v/c2)+a.Epsilon) + lr*a.WeightDecay*params[i]
	}
}

// Schedule is a learning-rate schedule: a linear warm-up over Warmup steps,
// then a cosine decay from the base rate to Final×base at step Total (held
// there after). Total = 0 means a constant rate after the warm-up.
type Schedule struct {
	Warmup int
	Total  int
	Final  float64
}

// Rate returns the learning rate at step (counting from 0) for the base rate.
func (s Schedule) Rate(base float64, step int) float64 {
	if s.Warmup > 0 && step < s.Warmup {
		return base * float64(step+1) / float64(s.Warmup)
	}
	if s.Total <= s.Warmup {
		return base
	}
	p := float64(step-s.Warmup) / float64(s.Total-s.Warmup)
	if p >= 1 {
		return base * s.Final
	}
	return base * (s.Final + (1-s.Final)*0.5*(1+math.Cos(math.Pi*p)))
}
