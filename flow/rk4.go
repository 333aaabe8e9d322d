package flow

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/gonum/mat"

	"github.com/isingflow/isingflow/internal/parallel"
)

// RK4 is the classical fourth-order Runge-Kutta method with Steps equal
// steps over the integration span. With step ε (signed) and h = |ε|, one
// step is, for stages i = 1…4 with inputs x_1 = x,
// x_2 = x + ε/2·g_1, x_3 = x + ε/2·g_2, x_4 = x + ε·g_3,
// g_i = ∇φ(x_i), L_i = ∇²φ(x_i) and weights b = (1, 2, 2, 1)/6,
//
//	x' = x + ε Σ b_i g_i,   ℓ' = ℓ + h Σ b_i L_i,   κ' = κ + h Σ b_i ½|g_i|².
//
// Its global error is O(h⁴). The zero value needs Steps set.
type RK4 struct {
	Steps int // number of steps over the span; at least one

	w rk4Work
}

func (r *RK4) check() error {
	if r.Steps < 1 {
		return fmt.Errorf("flow: RK4: %d steps, want at least one", r.Steps)
	}
	return nil
}

// Integrate advances x, ell and kin over the span t in Steps steps of size
// t/Steps (see Integrator). It fails only for invalid settings.
func (r *RK4) Integrate(p Potential, x *mat.Dense, ell, kin []float64, t float64) (Stats, error) {
	if err := r.check(); err != nil {
		return Stats{}, err
	}
	if math.IsNaN(t) || math.IsInf(t, 0) {
		return Stats{}, fmt.Errorf("flow: RK4: time span %v", t)
	}
	B := checkState("RK4.Integrate", p, x, ell, kin)
	r.w.ensure(B, p.Dim())
	eps := t / float64(r.Steps)
	for range r.Steps {
		r.w.step(p, x, ell, kin, eps, nil, nil)
	}
	return Stats{Steps: r.Steps, Evaluations: 4 * r.Steps}, nil
}

// The RK4 tableau: stage weights b_i and stage offsets c_i.
var (
	rk4B = [4]float64{1.0 / 6, 2.0 / 6, 2.0 / 6, 1.0 / 6}
	rk4C = [4]float64{0, 0.5, 0.5, 1}
)

// rk4Work holds the workspaces of RK4 steps on a B×N batch; after ensure it
// allocates nothing.
type rk4Work struct {
	b, n  int
	grad  *mat.Dense // ∇φ at the current stage input, B×N contiguous
	lap   []float64  // ∇²φ at the current stage input
	acc   []float64  // Σ b_i g_i so far, B×N
	lacc  []float64  // Σ b_i L_i so far
	kacc  []float64  // Σ b_i ½|g_i|² so far
	stage *mat.Dense // scratch stage input when there is no tape

	// Arguments of the current pass, read by passFn.
	cur struct {
		i        int
		eps, h   float64
		x, next  blas64.General
		ell, kin []float64
	}
	passFn func(lo, hi int)
}

// ensure sizes the workspaces for a B×n batch, reusing their storage when
// it is large enough.
func (w *rk4Work) ensure(B, n int) {
	if w.b == B && w.n == n {
		return
	}
	w.b, w.n = B, n
	w.grad = reuseDense(w.grad, B, n)
	w.stage = reuseDense(w.stage, B, n)
	w.lap = reuse(w.lap, B)
	w.acc = reuse(w.acc, B*n)
	w.lacc = reuse(w.lacc, B)
	w.kacc = reuse(w.kacc, B)
	if w.passFn == nil {
		w.passFn = w.pass
	}
}

// step takes one RK4 step of signed size eps on (x, ell, kin) in place.
// When tape is not nil, the four stage inputs are written into it (tape[0]
// receives a copy of x); all tape matrices are B×N. When memo is not nil,
// memo[i] receives the memo of stage i (see gradLaplacianWith).
func (w *rk4Work) step(p Potential, x *mat.Dense, ell, kin []float64, eps float64, tape []*mat.Dense, memo [][]float64) {
	if tape != nil {
		tape[0].Copy(x)
	}
	w.cur.eps, w.cur.h = eps, math.Abs(eps)
	w.cur.x = x.RawMatrix()
	w.cur.ell, w.cur.kin = ell, kin
	for i := range 4 {
		var in *mat.Dense
		switch {
		case tape != nil:
			in = tape[i]
		case i == 0:
			in = x
		default:
			in = w.stage
		}
		var m []float64
		if memo != nil {
			m = memo[i]
		}
		gradLaplacianWith(p, w.grad, w.lap, in, m)
		w.cur.i = i
		if i < 3 {
			if tape != nil {
				w.cur.next = tape[i+1].RawMatrix()
			} else {
				w.cur.next = w.stage.RawMatrix()
			}
		}
		parallel.For(w.b, w.n, w.passFn)
	}
	w.cur.x, w.cur.next = blas64.General{}, blas64.General{}
	w.cur.ell, w.cur.kin = nil, nil
}

// pass runs the elementwise part of stage cur.i on rows [lo, hi): it adds
// b_i g_i to the accumulators and writes the next stage input
// x + c_{i+1} ε g_i, or, after the last stage, updates the state.
func (w *rk4Work) pass(lo, hi int) {
	n, i := w.n, w.cur.i
	bi := rk4B[i]
	eps, h := w.cur.eps, w.cur.h
	g := w.grad.RawMatrix().Data
	xs := w.cur.x
	kin := w.cur.kin
	var cn float64
	if i < 3 {
		cn = rk4C[i+1] * eps
	}
	for r := lo; r < hi; r++ {
		gr := g[r*n : (r+1)*n]
		ar := w.acc[r*n : (r+1)*n]
		xr := xs.Data[r*xs.Stride : r*xs.Stride+n]
		switch i {
		case 0:
			nr := w.cur.next.Data[r*w.cur.next.Stride : r*w.cur.next.Stride+n]
			for k, gk := range gr {
				ar[k] = bi * gk
				nr[k] = xr[k] + cn*gk
			}
			w.lacc[r] = bi * w.lap[r]
		case 1, 2:
			nr := w.cur.next.Data[r*w.cur.next.Stride : r*w.cur.next.Stride+n]
			for k, gk := range gr {
				ar[k] += bi * gk
				nr[k] = xr[k] + cn*gk
			}
			w.lacc[r] += bi * w.lap[r]
		case 3:
			for k, gk := range gr {
				xr[k] += eps * (ar[k] + bi*gk)
			}
			w.cur.ell[r] += h * (w.lacc[r] + bi*w.lap[r])
		}
		if kin != nil {
			var e float64
			for _, gk := range gr {
				e += gk * gk
			}
			e *= 0.5 * bi
			switch i {
			case 0:
				w.kacc[r] = e
			case 1, 2:
				w.kacc[r] += e
			case 3:
				kin[r] += h * (w.kacc[r] + e)
			}
		}
	}
}
