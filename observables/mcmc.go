package observables

import (
	"math"
	"math/rand/v2"
)

// IndependenceChain is an independence Metropolis–Hastings chain whose
// proposals are independent draws x' ~ p (the flow), accepted with
// probability min(1, w(x')/w(x)) for the importance weight w = q̃/p. Its
// stationary distribution is the normalised target q̃/Z, exactly, whatever
// p is (provided p > 0 wherever q̃ > 0): a flow-MCMC estimate checks the
// importance-sampling ones.
type IndependenceChain struct {
	rng      *rand.Rand
	logw     float64 // log-weight of the current state
	started  bool
	steps    int
	accepted int
}

// NewIndependenceChain returns an empty chain; the first proposal offered to
// Step is always accepted and becomes the initial state.
func NewIndependenceChain(rng *rand.Rand) *IndependenceChain {
	return &IndependenceChain{rng: rng}
}

// Step offers a proposal of log-weight logw and reports whether it was
// accepted (the chain then moves to it; otherwise the current state is
// repeated). The first proposal initialises the chain and is not counted
// in the acceptance rate.
func (c *IndependenceChain) Step(logw float64) bool {
	if !c.started {
		c.started = true
		c.logw = logw
		return true
	}
	c.steps++
	if math.IsNaN(logw) {
		return false
	}
	if d := logw - c.logw; d >= 0 || math.Log(c.rng.Float64()) < d {
		c.logw = logw
		c.accepted++
		return true
	}
	return false
}

// Acceptance returns the fraction of accepted proposals so far.
func (c *IndependenceChain) Acceptance() float64 {
	if c.steps == 0 {
		return math.NaN()
	}
	return float64(c.accepted) / float64(c.steps)
}

// IndependenceMetropolis runs the chain over a sequence of proposals with
// log-weights logw, starting from the first, and returns the index of the
// state after each step (len(logw) entries) and the acceptance rate.
func IndependenceMetropolis(rng *rand.Rand, logw []float64) (states []int, acceptance float64) {
	c := NewIndependenceChain(rng)
	states = make([]int, len(logw))
	cur := 0
	for k, lw := range logw {
		if c.Step(lw) {
			cur = k
		}
		states[k] = cur
	}
	return states, c.Acceptance()
}
