package flow

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/gonum/mat"

	"github.com/isingflow/isingflow/internal/parallel"
)

// Default settings of Dopri5 (torchdiffeq's defaults for the tolerances).
const (
	DefaultRTol     = 1e-7
	DefaultATol     = 1e-9
	DefaultMaxSteps = 100000
)

// Dopri5 is the adaptive embedded Dormand-Prince 5(4) Runge-Kutta method
// (Hairer, Nørsett and Wanner, Solving ODEs I, §II.5), with local
// extrapolation (the fifth-order solution is propagated) and the
// first-same-as-last property (six evaluations per accepted step).
//
// Error norm. The whole batch shares one step size, because every stage is
// one batched evaluation. For each sample b the embedded error estimate e
// of the N+1 components (x_b, ℓ_b) is scaled componentwise by
// sc = ATol + RTol·max(|y|, |y'|) (old and new value) and reduced to
// the RMS ‖e/sc‖₂/√(N+1); the step's error is the maximum of this over the
// batch, so every sample meets the tolerance. The transport cost κ, when
// requested, is integrated with the same steps but does not enter the norm.
//
// Step-size control. A step is accepted when the error err ≤ 1; the next
// step is h·min(10, max(0.2, 0.9·err^(−1/5))), without growth right after
// a rejection. The first step follows Hairer's starting-step heuristic
// (one extra evaluation) unless InitialStep is set. The last step is
// shortened to end exactly at |t|.
//
// The zero value uses the defaults. The global error is not bounded by the
// tolerances, but for the smooth flows here it is of their order times the
// span (see the tests).
type Dopri5 struct {
	RTol        float64 // relative tolerance; 0 means DefaultRTol
	ATol        float64 // absolute tolerance; 0 means DefaultATol
	MaxSteps    int     // bound on accepted plus rejected steps; 0 means DefaultMaxSteps
	InitialStep float64 // first step size; 0 selects it automatically

	w dopriWork
}

func (d *Dopri5) settings() (rtol, atol float64, maxSteps int) {
	rtol, atol, maxSteps = d.RTol, d.ATol, d.MaxSteps
	if rtol == 0 {
		rtol = DefaultRTol
	}
	if atol == 0 {
		atol = DefaultATol
	}
	if maxSteps == 0 {
		maxSteps = DefaultMaxSteps
	}
	return rtol, atol, maxSteps
}

func (d *Dopri5) check() error {
	rtol, atol, maxSteps := d.settings()
	if !(rtol > 0) || !(atol > 0) || math.IsInf(rtol, 0) || math.IsInf(atol, 0) {
		return fmt.Errorf("flow: Dopri5: tolerances rtol=%v atol=%v must be positive", d.RTol, d.ATol)
	}
	if maxSteps < 1 {
		return fmt.Errorf("flow: Dopri5: MaxSteps = %d, want positive", d.MaxSteps)
	}
	if !(d.InitialStep >= 0) || math.IsInf(d.InitialStep, 0) {
		return fmt.Errorf("flow: Dopri5: InitialStep = %v, want non-negative", d.InitialStep)
	}
	return nil
}

// The Dormand-Prince tableau: dpA[s] are the coefficients of stage s+1's
// input (row 6 equals the fifth-order weights dpB), dpE = dpB − b̂ the
// weights of the error estimate.
var (
	dpA = [7][6]float64{
		{},
		{1.0 / 5},
		{3.0 / 40, 9.0 / 40},
		{44.0 / 45, -56.0 / 15, 32.0 / 9},
		{19372.0 / 6561, -25360.0 / 2187, 64448.0 / 6561, -212.0 / 729},
		{9017.0 / 3168, -355.0 / 33, 46732.0 / 5247, 49.0 / 176, -5103.0 / 18656},
		{35.0 / 384, 0, 500.0 / 1113, 125.0 / 192, -2187.0 / 6784, 11.0 / 84},
	}
	dpB = [7]float64{35.0 / 384, 0, 500.0 / 1113, 125.0 / 192, -2187.0 / 6784, 11.0 / 84, 0}
	dpE = [7]float64{71.0 / 57600, 0, -71.0 / 16695, 71.0 / 1920, -17253.0 / 339200, 22.0 / 525, -1.0 / 40}
)

// Pass modes of dopriWork.
const (
	dpStage  = iota // y = x + ε Σ_j a_sj k_j
	dpError         // per-sample scaled error
	dpAccept        // x = y, ℓ and κ updated
)

type dopriWork struct {
	b, n int
	k    [7]*mat.Dense // ∇φ at the stage inputs, B×N contiguous
	lk   [7][]float64  // ∇²φ at the stage inputs
	y    *mat.Dense    // stage input; after stage 6 the fifth-order candidate
	errs []float64     // per-sample scaled RMS error

	cur struct {
		mode, s      int
		eps, h       float64
		rtol, atol   float64
		x            blas64.General
		ell, kin     []float64
		kdata        [7][]float64
		ydata        []float64
		rowN, rowNp1 float64
	}
	fn func(lo, hi int)
}

func (w *dopriWork) ensure(B, n int) {
	if w.b == B && w.n == n {
		return
	}
	w.b, w.n = B, n
	for s := range w.k {
		w.k[s] = mat.NewDense(B, n, nil)
		w.lk[s] = make([]float64, B)
	}
	w.y = mat.NewDense(B, n, nil)
	w.errs = make([]float64, B)
	if w.fn == nil {
		w.fn = w.pass
	}
}

// Integrate advances x, ell and kin over the span t adaptively (see
// Integrator and Dopri5). It fails for invalid settings, when the step
// budget MaxSteps is exhausted, or when the state stops being finite.
func (d *Dopri5) Integrate(p Potential, x *mat.Dense, ell, kin []float64, t float64) (Stats, error) {
	var st Stats
	if err := d.check(); err != nil {
		return st, err
	}
	if math.IsNaN(t) || math.IsInf(t, 0) {
		return st, fmt.Errorf("flow: Dopri5: time span %v", t)
	}
	B := checkState("Dopri5.Integrate", p, x, ell, kin)
	if t == 0 {
		return st, nil
	}
	rtol, atol, maxSteps := d.settings()
	n := p.Dim()
	w := &d.w
	w.ensure(B, n)
	T := math.Abs(t)
	sign := math.Copysign(1, t)
	c := &w.cur
	c.rtol, c.atol = rtol, atol
	c.x = x.RawMatrix()
	c.ell, c.kin = ell, kin
	c.ydata = w.y.RawMatrix().Data
	for s := range w.k {
		c.kdata[s] = w.k[s].RawMatrix().Data
	}
	defer func() { c.x, c.ell, c.kin = blas64.General{}, nil, nil }()

	p.GradLaplacian(w.k[0], w.lk[0], x)
	st.Evaluations++
	h := d.InitialStep
	if h == 0 {
		h = w.initialStep(p, sign, T, rtol, atol)
		st.Evaluations++
	}
	h = math.Min(h, T)
	var tcur float64
	rejectedLast := false
	for tcur < T {
		if st.Steps+st.Rejected >= maxSteps {
			return st, fmt.Errorf("flow: Dopri5: %d steps reached at τ = %g of %g", maxSteps, tcur, T)
		}
		last := false
		if tcur+h >= T || T-(tcur+h) < 1e-12*T {
			h = T - tcur
			last = true
		}
		if h <= 1e-14*T || h == 0 {
			return st, fmt.Errorf("flow: Dopri5: step size %g underflows at τ = %g of %g", h, tcur, T)
		}
		c.eps, c.h = sign*h, h
		for s := 1; s < 7; s++ {
			c.mode, c.s = dpStage, s
			parallel.For(B, n*s, w.fn)
			p.GradLaplacian(w.k[s], w.lk[s], w.y)
			st.Evaluations++
		}
		c.mode = dpError
		parallel.For(B, 8*n, w.fn)
		errNorm := 0.0
		for _, e := range w.errs {
			if !(e <= errNorm) { // also catches NaN
				errNorm = e
			}
		}
		if math.IsNaN(errNorm) || math.IsInf(errNorm, 0) {
			st.Rejected++
			rejectedLast = true
			h *= 0.2
			continue
		}
		fac := 0.9 * math.Pow(errNorm, -0.2)
		if errNorm <= 1 {
			c.mode = dpAccept
			parallel.For(B, 8*n, w.fn)
			st.Steps++
			if last {
				tcur = T
			} else {
				tcur += h
			}
			w.k[0], w.k[6] = w.k[6], w.k[0]
			w.lk[0], w.lk[6] = w.lk[6], w.lk[0]
			c.kdata[0], c.kdata[6] = c.kdata[6], c.kdata[0]
			maxFac := 10.0
			if rejectedLast {
				maxFac = 1
			}
			h *= math.Min(maxFac, math.Max(0.2, fac))
			rejectedLast = false
		} else {
			st.Rejected++
			rejectedLast = true
			h *= math.Max(0.2, fac)
		}
	}
	return st, nil
}

// initialStep chooses the first step with Hairer's heuristic (Solving ODEs
// I, §II.4): h₀ = 0.01‖y₀‖/‖f₀‖, then h₁ = (0.01/max(‖f₀‖, ‖f₁−f₀‖/h₀))^(1/5)
// with f₁ evaluated at y₀ + h₀f₀, and h = min(100h₀, h₁, T). Norms are the
// scaled RMS of each sample, maximised over the batch. It uses w.y and
// w.k[1] as scratch and expects f₀ in w.k[0], w.lk[0].
func (w *dopriWork) initialStep(p Potential, sign, T, rtol, atol float64) float64 {
	B, n := w.b, w.n
	x := w.cur.x
	f0 := w.k[0].RawMatrix().Data
	var d0, d1 float64
	for r := range B {
		var s0, s1 float64
		for k, v := range x.Data[r*x.Stride : r*x.Stride+n] {
			sc := atol + rtol*math.Abs(v)
			s0 += (v / sc) * (v / sc)
			s1 += (f0[r*n+k] / sc) * (f0[r*n+k] / sc)
		}
		l, fl := w.cur.ell[r], w.lk[0][r]
		sc := atol + rtol*math.Abs(l)
		s0 += (l / sc) * (l / sc)
		s1 += (fl / sc) * (fl / sc)
		d0 = math.Max(d0, math.Sqrt(s0/float64(n+1)))
		d1 = math.Max(d1, math.Sqrt(s1/float64(n+1)))
	}
	h0 := 1e-6
	if d0 >= 1e-5 && d1 >= 1e-5 {
		h0 = 0.01 * d0 / d1
	}
	h0 = math.Min(h0, T)
	y := w.y.RawMatrix().Data
	for r := range B {
		for k, v := range x.Data[r*x.Stride : r*x.Stride+n] {
			y[r*n+k] = v + sign*h0*f0[r*n+k]
		}
	}
	p.GradLaplacian(w.k[1], w.lk[1], w.y)
	f1 := w.k[1].RawMatrix().Data
	var d2 float64
	for r := range B {
		var s2 float64
		for k, v := range x.Data[r*x.Stride : r*x.Stride+n] {
			sc := atol + rtol*math.Abs(v)
			df := (f1[r*n+k] - f0[r*n+k]) / sc
			s2 += df * df
		}
		sc := atol + rtol*math.Abs(w.cur.ell[r])
		df := (w.lk[1][r] - w.lk[0][r]) / sc
		s2 += df * df
		d2 = math.Max(d2, math.Sqrt(s2/float64(n+1))/h0)
	}
	var h1 float64
	if m := math.Max(d1, d2); m <= 1e-15 {
		h1 = math.Max(1e-6, h0*1e-3)
	} else {
		h1 = math.Pow(0.01/m, 0.2)
	}
	if math.IsNaN(h1) {
		h1 = h0
	}
	return math.Min(math.Min(100*h0, h1), T)
}

// pass runs the elementwise work of the current mode on rows [lo, hi).
func (w *dopriWork) pass(lo, hi int) {
	c := &w.cur
	n := w.n
	x := c.x
	y := c.ydata
	switch c.mode {
	case dpStage:
		a := &dpA[c.s]
		for r := lo; r < hi; r++ {
			xr := x.Data[r*x.Stride : r*x.Stride+n]
			yr := y[r*n : (r+1)*n]
			copy(yr, xr)
			for j := 0; j < c.s; j++ {
				if a[j] == 0 {
					continue
				}
				f := c.eps * a[j]
				kj := c.kdata[j][r*n : (r+1)*n]
				for k, v := range kj {
					yr[k] += f * v
				}
			}
		}
	case dpError:
		for r := lo; r < hi; r++ {
			xr := x.Data[r*x.Stride : r*x.Stride+n]
			yr := y[r*n : (r+1)*n]
			var sum float64
			for k := range n {
				var e float64
				for j := range 7 {
					if dpE[j] != 0 {
						e += dpE[j] * c.kdata[j][r*n+k]
					}
				}
				e *= c.eps
				sc := c.atol + c.rtol*math.Max(math.Abs(xr[k]), math.Abs(yr[k]))
				sum += (e / sc) * (e / sc)
			}
			var el, dl float64
			for j := range 7 {
				el += dpE[j] * w.lk[j][r]
				dl += dpB[j] * w.lk[j][r]
			}
			el *= c.h
			l0 := c.ell[r]
			l1 := l0 + c.h*dl
			sc := c.atol + c.rtol*math.Max(math.Abs(l0), math.Abs(l1))
			sum += (el / sc) * (el / sc)
			w.errs[r] = math.Sqrt(sum / float64(n+1))
		}
	case dpAccept:
		for r := lo; r < hi; r++ {
			xr := x.Data[r*x.Stride : r*x.Stride+n]
			copy(xr, y[r*n:(r+1)*n])
			var dl float64
			for j := range 7 {
				dl += dpB[j] * w.lk[j][r]
			}
			c.ell[r] += c.h * dl
			if c.kin != nil {
				var e float64
				for j := range 7 {
					if dpB[j] == 0 {
						continue
					}
					var s float64
					for _, v := range c.kdata[j][r*n : (r+1)*n] {
						s += v * v
					}
					e += dpB[j] * 0.5 * s
				}
				c.kin[r] += c.h * e
			}
		}
	}
}
