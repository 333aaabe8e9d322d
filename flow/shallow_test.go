package flow_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"testing"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/gonum/mat"

	"github.com/isingflow/isingflow/flow"
	"github.com/isingflow/isingflow/flow/flowtest"
)

var _ flow.Potential = (*flow.Shallow)(nil)

// scaleShallowParams redraws every parameter as scale·N(0, 1), which drives the
// hidden units well into the nonlinear region of σ.
func scaleShallowParams(p flow.Potential, rng *rand.Rand, scale float64) {
	theta := p.Params()
	for i := range theta {
		theta[i] = scale * rng.NormFloat64()
	}
}

func TestShallowCheckPotential(t *testing.T) {
	seed := uint64(0)
	for _, act := range []flow.Activation{flow.LogCosh, flow.Softplus} {
		for _, bias := range []bool{false, true} {
			for _, n := range []int{1, 3, 7} {
				for _, h := range []int{1, 5, 16} {
					for _, batch := range []int{1, 4} {
						for _, init := range []string{"paper", "large"} {
							seed++
							name := fmt.Sprintf("%v/bias=%t/N=%d/H=%d/B=%d/%s", act, bias, n, h, batch, init)
							t.Run(name, func(t *testing.T) {
								rng := rand.New(rand.NewPCG(seed, 1))
								p := flow.NewShallow(n, h, act, bias, rng)
								if init == "large" {
									scaleShallowParams(p, rng, 1)
								}
								flowtest.CheckPotential(t, p, batch, rng, 1e-7)
							})
						}
					}
				}
			}
		}
	}
}

// TestShallowParamsLayout checks the documented layout of Params against a
// direct evaluation of Σ_j w_j σ(a_j·x + b_j).
func TestShallowParamsLayout(t *testing.T) {
	const n, h = 3, 4
	for _, act := range []flow.Activation{flow.LogCosh, flow.Softplus} {
		for _, bias := range []bool{false, true} {
			p := flow.NewShallow(n, h, act, bias, nil)
			theta := p.Params()
			want := h*n + h
			if bias {
				want += h
			}
			if len(theta) != want {
				t.Fatalf("%v bias=%t: %d parameters, want %d", act, bias, len(theta), want)
			}
			for i := range theta {
				theta[i] = 0.1 * float64(i%7-3)
			}
			x := []float64{0.3, -1.1, 2.0}
			var phi float64
			for j := range h {
				u := 0.0
				for k := range n {
					u += theta[j*n+k] * x[k]
				}
				off := h * n
				if bias {
					u += theta[off+j]
					off += h
				}
				phi += theta[off+j] * act.Eval(u)
			}
			got := make([]float64, 1)
			p.Value(got, mat.NewDense(1, n, x))
			if math.Abs(got[0]-phi) > 1e-14 {
				t.Errorf("%v bias=%t: Value = %.17g, direct sum with the documented layout = %.17g", act, bias, got[0], phi)
			}
			a, b, w := p.Weights()
			if a.At(1, 2) != theta[1*n+2] || (bias && b[1] != theta[h*n+1]) || w[2] != theta[len(theta)-h+2] {
				t.Errorf("%v bias=%t: Weights does not alias the documented layout", act, bias)
			}
			if !bias && b != nil {
				t.Errorf("%v: Weights returns a bias without one", act)
			}
		}
	}
}

func TestShallowAccessors(t *testing.T) {
	p := flow.NewShallow(5, 3, flow.Softplus, true, rand.New(rand.NewPCG(1, 1)))
	if p.Dim() != 5 || p.Hidden() != 3 || p.Activation() != flow.Softplus || !p.HasBias() {
		t.Errorf("accessors: Dim %d Hidden %d Activation %v HasBias %t", p.Dim(), p.Hidden(), p.Activation(), p.HasBias())
	}
}

// TestShallowEven checks φ(−x) = φ(x), ∇φ(−x) = −∇φ(x), ∇²φ(−x) = ∇²φ(x)
// for ln cosh without bias, to rounding.
func TestShallowEven(t *testing.T) {
	const n, h, batch = 6, 9, 5
	rng := rand.New(rand.NewPCG(2, 3))
	p := flow.NewShallow(n, h, flow.LogCosh, false, rng)
	scaleShallowParams(p, rng, 1)
	x := mat.NewDense(batch, n, nil)
	for i := range batch {
		for k := range n {
			x.Set(i, k, 2*rng.NormFloat64())
		}
	}
	var mx mat.Dense
	mx.Scale(-1, x)
	v, vm := make([]float64, batch), make([]float64, batch)
	g, gm := mat.NewDense(batch, n, nil), mat.NewDense(batch, n, nil)
	l, lm := make([]float64, batch), make([]float64, batch)
	p.Value(v, x)
	p.Value(vm, &mx)
	p.GradLaplacian(g, l, x)
	p.GradLaplacian(gm, lm, &mx)
	for b := range batch {
		if math.Abs(v[b]-vm[b]) > 1e-13*(1+math.Abs(v[b])) {
			t.Errorf("φ(x) = %v, φ(−x) = %v", v[b], vm[b])
		}
		if math.Abs(l[b]-lm[b]) > 1e-13*(1+math.Abs(l[b])) {
			t.Errorf("∇²φ(x) = %v, ∇²φ(−x) = %v", l[b], lm[b])
		}
		for k := range n {
			if math.Abs(g.At(b, k)+gm.At(b, k)) > 1e-13*(1+math.Abs(g.At(b, k))) {
				t.Errorf("∇φ(x)_%d = %v, ∇φ(−x)_%d = %v", k, g.At(b, k), k, gm.At(b, k))
			}
		}
	}
	// Softplus is not even: the check above must be able to fail.
	ps := flow.NewShallow(n, h, flow.Softplus, false, rng)
	ps.Value(v, x)
	ps.Value(vm, &mx)
	if math.Abs(v[0]-vm[0]) < 1e-6 {
		t.Errorf("softplus potential unexpectedly even: %v %v", v[0], vm[0])
	}
}

// TestShallowLaplacianSecondDifferences checks ∇²φ against the trace of the
// Hessian from second differences of Value alone, an oracle independent of
// the gradient: Σ_i (φ(x+he_i) − 2φ(x) + φ(x−he_i))/h².
func TestShallowLaplacianSecondDifferences(t *testing.T) {
	const n, h, batch = 7, 11, 3
	for _, act := range []flow.Activation{flow.LogCosh, flow.Softplus} {
		rng := rand.New(rand.NewPCG(5, uint64(act)))
		p := flow.NewShallow(n, h, act, true, rng)
		scaleShallowParams(p, rng, 1)
		x := mat.NewDense(batch, n, nil)
		for i := range batch {
			for k := range n {
				x.Set(i, k, rng.NormFloat64())
			}
		}
		g := mat.NewDense(batch, n, nil)
		lap := make([]float64, batch)
		p.GradLaplacian(g, lap, x)
		const step = 1e-4
		v0, vp, vm := make([]float64, batch), make([]float64, batch), make([]float64, batch)
		p.Value(v0, x)
		fd := make([]float64, batch)
		xs := mat.DenseCopyOf(x)
		for k := range n {
			for b := range batch {
				xs.Set(b, k, x.At(b, k)+step)
			}
			p.Value(vp, xs)
			for b := range batch {
				xs.Set(b, k, x.At(b, k)-step)
			}
			p.Value(vm, xs)
			for b := range batch {
				xs.Set(b, k, x.At(b, k))
				fd[b] += (vp[b] - 2*v0[b] + vm[b]) / (step * step)
			}
		}
		for b := range batch {
			// Truncation h²/12·φ'''' and rounding 4ε|φ|/h² both near 1e-7.
			if math.Abs(fd[b]-lap[b]) > 1e-5*(1+math.Abs(lap[b])) {
				t.Errorf("%v: ∇²φ = %.12g, second differences of φ give %.12g", act, lap[b], fd[b])
			}
		}
	}
}

// TestActivation checks σ against direct formulas where they are safe, and
// the derivatives against finite differences of the one below.
func TestActivation(t *testing.T) {
	for _, u := range []float64{-30, -5, -1.3, -1e-3, 0, 1e-8, 0.7, 2, 12, 30} {
		if got, want := flow.LogCosh.Eval(u), math.Log(math.Cosh(u)); math.Abs(got-want) > 1e-14*(1+math.Abs(want)) {
			t.Errorf("lncosh(%v) = %.17g, want %.17g", u, got, want)
		}
		if got, want := flow.Softplus.Eval(u), math.Log1p(math.Exp(u)); math.Abs(got-want) > 1e-14*(1+math.Abs(want)) {
			t.Errorf("softplus(%v) = %.17g, want %.17g", u, got, want)
		}
		d1, d2, d3 := flow.LogCosh.Derivatives(u)
		th := math.Tanh(u)
		if math.Abs(d1-th) > 1e-15 || math.Abs(d2-(1-th*th)) > 1e-15 || math.Abs(d3+2*th*(1-th*th)) > 1e-15 {
			t.Errorf("lncosh derivatives at %v: %v %v %v, want %v %v %v", u, d1, d2, d3, th, 1-th*th, -2*th*(1-th*th))
		}
		s := 1 / (1 + math.Exp(-u))
		d1, d2, d3 = flow.Softplus.Derivatives(u)
		if math.Abs(d1-s) > 1e-15 || math.Abs(d2-s*(1-s)) > 1e-15 || math.Abs(d3-s*(1-s)*(1-2*s)) > 1e-15 {
			t.Errorf("softplus derivatives at %v: %v %v %v, want %v %v %v", u, d1, d2, d3, s, s*(1-s), s*(1-s)*(1-2*s))
		}
	}
	const h = 1e-3
	fd := func(f func(float64) float64, u float64) float64 {
		return (f(u-2*h) - 8*f(u-h) + 8*f(u+h) - f(u+2*h)) / (12 * h)
	}
	for _, act := range []flow.Activation{flow.LogCosh, flow.Softplus} {
		der := func(k int) func(float64) float64 {
			return func(u float64) float64 {
				d1, d2, d3 := act.Derivatives(u)
				return [3]float64{d1, d2, d3}[k]
			}
		}
		for _, u := range []float64{-4, -0.9, -0.1, 0.05, 0.6, 3} {
			d1, d2, d3 := act.Derivatives(u)
			for k, pair := range [][2]float64{{d1, fd(act.Eval, u)}, {d2, fd(der(0), u)}, {d3, fd(der(1), u)}} {
				if math.Abs(pair[0]-pair[1]) > 1e-10 {
					t.Errorf("%v: derivative %d at %v = %.15g, FD %.15g", act, k+1, u, pair[0], pair[1])
				}
			}
		}
	}
}

func TestParseActivation(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want flow.Activation
	}{{"lncosh", flow.LogCosh}, {"logcosh", flow.LogCosh}, {"LnCosh", flow.LogCosh}, {"softplus", flow.Softplus}} {
		got, err := flow.ParseActivation(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("ParseActivation(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
	if _, err := flow.ParseActivation("relu"); err == nil || !strings.Contains(err.Error(), "relu") {
		t.Errorf("ParseActivation(relu): error %v", err)
	}
	for _, a := range []flow.Activation{flow.LogCosh, flow.Softplus} {
		text, err := a.MarshalText()
		if err != nil {
			t.Fatal(err)
		}
		var b flow.Activation
		if err := b.UnmarshalText(text); err != nil || b != a {
			t.Errorf("round trip of %v through %q gives %v, %v", a, text, b, err)
		}
		var f flow.Activation
		if err := f.Set(a.String()); err != nil || f != a || f.Type() == "" {
			t.Errorf("Set(%q) = %v, %v", a.String(), f, err)
		}
	}
	if !flow.LogCosh.Even() || flow.Softplus.Even() {
		t.Error("Even: want ln cosh even and softplus not")
	}
}

// TestShallowLargeArguments evaluates the potential with hidden units at
// u = ±800 (and ±40, where e^{2u} overflows nothing but cosh loses all
// precision) and checks the exact limits: σ(u) → |u| − ln 2 or max(u, 0),
// σ' → sign or step, σ” = σ”' = 0, with nothing NaN or infinite.
func TestShallowLargeArguments(t *testing.T) {
	for _, act := range []flow.Activation{flow.LogCosh, flow.Softplus} {
		for _, u := range []float64{-800, -40, 40, 800} {
			p := flow.NewShallow(1, 1, act, true, nil)
			theta := p.Params() // [a, b, w]
			theta[0], theta[1], theta[2] = 2, 0, 1.5
			x := mat.NewDense(1, 1, []float64{u / 2})
			v := make([]float64, 1)
			g := mat.NewDense(1, 1, nil)
			l := make([]float64, 1)
			p.Value(v, x)
			p.GradLaplacian(g, l, x)
			dx := mat.NewDense(1, 1, nil)
			dp := make([]float64, 3)
			p.GradLaplacianVJP(dx, dp, x, mat.NewDense(1, 1, []float64{1}), []float64{1})
			wantV := 1.5 * (math.Abs(u) - math.Ln2)
			wantG := 1.5 * 2 * math.Copysign(1, u)
			if act == flow.Softplus {
				wantV = 1.5 * max(u, 0)
				wantG = 1.5 * 2 * max(math.Copysign(1, u), 0)
			}
			if math.Abs(v[0]-wantV) > 1e-12*(1+math.Abs(wantV)) || math.Abs(g.At(0, 0)-wantG) > 1e-12 || math.Abs(l[0]) > 1e-12 {
				t.Errorf("%v at u=%v: φ=%v ∇φ=%v ∇²φ=%v, want %v %v 0", act, u, v[0], g.At(0, 0), l[0], wantV, wantG)
			}
			for i, d := range append([]float64{dx.At(0, 0)}, dp...) {
				if math.IsNaN(d) || math.IsInf(d, 0) {
					t.Errorf("%v at u=%v: adjoint %d is %v", act, u, i, d)
				}
			}
		}
	}
}

// TestShallowNoAllocs checks that the methods allocate nothing after the
// first call at sizes where gonum's GEMM and the parallel loops run serially
// (at large sizes they start goroutines, which allocate).
func TestShallowNoAllocs(t *testing.T) {
	const n, h, batch = 16, 24, 8
	rng := rand.New(rand.NewPCG(9, 9))
	p := flow.NewShallow(n, h, flow.Softplus, true, rng)
	x := mat.NewDense(batch, n, nil)
	lambda := mat.NewDense(batch, n, nil)
	for i := range batch {
		for k := range n {
			x.Set(i, k, rng.NormFloat64())
			lambda.Set(i, k, rng.NormFloat64())
		}
	}
	mu := make([]float64, batch)
	v := make([]float64, batch)
	g := mat.NewDense(batch, n, nil)
	l := make([]float64, batch)
	dx := mat.NewDense(batch, n, nil)
	dp := make([]float64, len(p.Params()))
	for name, f := range map[string]func(){
		"Value":            func() { p.Value(v, x) },
		"GradLaplacian":    func() { p.GradLaplacian(g, l, x) },
		"GradLaplacianVJP": func() { p.GradLaplacianVJP(dx, dp, x, lambda, mu) },
		"VJP nil dx":       func() { p.GradLaplacianVJP(nil, dp, x, lambda, mu) },
	} {
		if a := testing.AllocsPerRun(10, f); a != 0 {
			t.Errorf("%s: %v allocations per call", name, a)
		}
	}
}

// TestShallowInit checks the initialisation's ranges and that the initial
// flow is close to the identity: the velocity ∇φ at x ~ N(0, I) has root
// mean square about 1/(6√N).
func TestShallowInit(t *testing.T) {
	const n, h, batch = 256, 512, 32
	rng := rand.New(rand.NewPCG(4, 2))
	p := flow.NewShallow(n, h, flow.LogCosh, true, rng)
	a, b, w := p.Weights()
	ba, bw := 1/math.Sqrt(n), 1/math.Sqrt(h)
	var sumA2 float64
	for j := range h {
		for k := range n {
			v := a.At(j, k)
			if math.Abs(v) > ba {
				t.Fatalf("A[%d,%d] = %v outside ±%v", j, k, v, ba)
			}
			sumA2 += v * v
		}
		if math.Abs(b[j]) > ba || math.Abs(w[j]) > bw {
			t.Fatalf("b[%d] = %v, w[%d] = %v outside ±%v, ±%v", j, b[j], j, w[j], ba, bw)
		}
	}
	// E A² = 1/(3N); the mean of HN uniform squares has relative error
	// √(4/5)/√(HN) ≈ 2.5e-3.
	if got, want, rel := sumA2/(h*n), 1/(3.0*n), math.Sqrt(0.8/(h*n)); !(math.Abs(got-want) <= 4*rel*want) {
		t.Errorf("mean A² = %v, want %v within 4σ (relative σ %.2g)", got, want, rel)
	}
	x := mat.NewDense(batch, n, nil)
	for i := range batch {
		for k := range n {
			x.Set(i, k, rng.NormFloat64())
		}
	}
	g := mat.NewDense(batch, n, nil)
	l := make([]float64, batch)
	p.GradLaplacian(g, l, x)
	rms := mat.Norm(g, 2) / math.Sqrt(batch*n)
	if rms > 2/(6*math.Sqrt(n)) {
		t.Errorf("initial velocity rms %v, want about %v", rms, 1/(6*math.Sqrt(n)))
	}
	t.Logf("initial rms velocity %.4g (1/(6√N) = %.4g), ∇²φ[0] = %.4g", rms, 1/(6*math.Sqrt(n)), l[0])
}

// TestShallowViews checks strided inputs and outputs (submatrix views).
func TestShallowViews(t *testing.T) {
	const n, h, batch = 5, 7, 3
	rng := rand.New(rand.NewPCG(6, 6))
	p := flow.NewShallow(n, h, flow.LogCosh, true, rng)
	scaleShallowParams(p, rng, 1)
	big := mat.NewDense(batch+2, n+3, nil)
	for i := range batch + 2 {
		for k := range n + 3 {
			big.Set(i, k, rng.NormFloat64())
		}
	}
	xv := big.Slice(1, 1+batch, 2, 2+n).(*mat.Dense)
	lv := big.Slice(2, 2+batch, 1, 1+n).(*mat.Dense)
	x, lambda := mat.DenseCopyOf(xv), mat.DenseCopyOf(lv)
	mu := []float64{0.3, -1, 2}

	gbig := mat.NewDense(batch+1, n+2, nil)
	gv := gbig.Slice(1, 1+batch, 1, 1+n).(*mat.Dense)
	g := mat.NewDense(batch, n, nil)
	l, lvw := make([]float64, batch), make([]float64, batch)
	p.GradLaplacian(g, l, x)
	p.GradLaplacian(gv, lvw, xv)
	if !mat.EqualApprox(g, gv, 1e-14) {
		t.Errorf("gradient through views differs:\n%v\n%v", mat.Formatted(g), mat.Formatted(gv))
	}
	dxbig := mat.NewDense(batch+1, n+2, nil)
	dxv := dxbig.Slice(1, 1+batch, 1, 1+n).(*mat.Dense)
	dx := mat.NewDense(batch, n, nil)
	p.GradLaplacianVJP(dx, nil, x, lambda, mu)
	p.GradLaplacianVJP(dxv, nil, xv, lv, mu)
	if !mat.EqualApprox(dx, dxv, 1e-14) {
		t.Errorf("adjoint through views differs")
	}
	if gbig.At(0, 0) != 0 || dxbig.At(0, 0) != 0 || gbig.At(batch, n+1) != 0 {
		t.Errorf("writes outside the destination views")
	}
}

func TestShallowPanicsOnShape(t *testing.T) {
	p := flow.NewShallow(3, 2, flow.LogCosh, false, nil)
	for name, f := range map[string]func(){
		"x columns":  func() { p.Value(make([]float64, 1), mat.NewDense(1, 4, nil)) },
		"dst length": func() { p.Value(make([]float64, 2), mat.NewDense(1, 3, nil)) },
		"grad shape": func() { p.GradLaplacian(mat.NewDense(2, 3, nil), make([]float64, 1), mat.NewDense(1, 3, nil)) },
		"mu length": func() {
			p.GradLaplacianVJP(nil, make([]float64, 8), mat.NewDense(1, 3, nil), mat.NewDense(1, 3, nil), nil)
		},
		"dparams length": func() {
			p.GradLaplacianVJP(nil, make([]float64, 7), mat.NewDense(1, 3, nil), mat.NewDense(1, 3, nil), []float64{1})
		},
		"NewShallow": func() { flow.NewShallow(0, 2, flow.LogCosh, false, nil) },
	} {
		func() {
			defer func() {
				if e := recover(); e == nil || !strings.HasPrefix(fmt.Sprint(e), "flow: ") {
					t.Errorf("%s: recovered %v, want a flow: panic", name, e)
				}
			}()
			f()
		}()
	}
}

// shallowBenchSizes are the paper's sizes: the L = 16 Ising model (batch 64,
// hidden 512, ln cosh) and MNIST (batch 100, hidden 1024, softplus).
var shallowBenchSizes = []struct {
	name    string
	B, N, H int
}{
	{"Ising", 64, 256, 512},
	{"MNIST", 100, 784, 1024},
}

func gemmRandGeneral(rng *rand.Rand, r, c int) blas64.General {
	g := blas64.General{Rows: r, Cols: c, Stride: c, Data: make([]float64, r*c)}
	for i := range g.Data {
		g.Data[i] = rng.NormFloat64()
	}
	return g
}

func gemmTransposed(a blas64.General) blas64.General {
	t := blas64.General{Rows: a.Cols, Cols: a.Rows, Stride: a.Rows, Data: make([]float64, len(a.Data))}
	for i := range a.Rows {
		for j := range a.Cols {
			t.Data[j*t.Stride+i] = a.Data[i*a.Stride+j]
		}
	}
	return t
}

// BenchmarkGemmTranspose compares gonum's GEMM on the products the shallow
// potential needs, with and without a transposed operand:
//
//	XAt:  U = X·Aᵀ   (B×N)·(N×H), A stored H×N: NoTrans·Trans
//	XAtT: U = X·Aᵀ   with a transposed copy Aᵀ (N×H): NoTrans·NoTrans
//	DA:   ∇φ = D·A   (B×H)·(H×N): NoTrans·NoTrans
//	DtL:  dA = Dᵀ·Λ  (H×B)·(B×N), D stored B×H: Trans·NoTrans
//	DtLT: dA = Dᵀ·Λ  with Dᵀ stored H×B: NoTrans·NoTrans
//	XAt2: [X;Λ]·Aᵀ stacked (2B×N)·(N×H): one GEMM instead of two XAt
//	DtL2: [D;C]ᵀ·[Λ;X] stacked, K = 2B: one GEMM instead of two DtL
//	DtL2T: the same with [Dᵀ Cᵀ] stored H×2B: NoTrans·NoTrans
//
// The reported GFLOP/s count 2·B·N·H per product (twice that when stacked).
func BenchmarkGemmTranspose(b *testing.B) {
	for _, sz := range shallowBenchSizes {
		rng := rand.New(rand.NewPCG(1, 1))
		B, N, H := sz.B, sz.N, sz.H
		x := gemmRandGeneral(rng, 2*B, N)
		a := gemmRandGeneral(rng, H, N)
		at := gemmTransposed(a)
		d := gemmRandGeneral(rng, 2*B, H)
		dt := gemmTransposed(blas64.General{Rows: B, Cols: H, Stride: H, Data: d.Data[:B*H]})
		dt2 := gemmTransposed(d)
		u := blas64.General{Rows: 2 * B, Cols: H, Stride: H, Data: make([]float64, 2*B*H)}
		g := blas64.General{Rows: 2 * B, Cols: N, Stride: N, Data: make([]float64, 2*B*N)}
		da := blas64.General{Rows: H, Cols: N, Stride: N, Data: make([]float64, H*N)}
		top := func(m blas64.General, r int) blas64.General {
			m.Rows = r
			m.Data = m.Data[:r*m.Stride]
			return m
		}
		cases := []struct {
			name   string
			tA, tB blas.Transpose
			a, b   blas64.General
			c      blas64.General
			flops  float64
		}{
			{"XAt", blas.NoTrans, blas.Trans, top(x, B), a, top(u, B), 1},
			{"XAtT", blas.NoTrans, blas.NoTrans, top(x, B), at, top(u, B), 1},
			{"DA", blas.NoTrans, blas.NoTrans, top(d, B), a, top(g, B), 1},
			{"DtL", blas.Trans, blas.NoTrans, top(d, B), top(x, B), da, 1},
			{"DtLT", blas.NoTrans, blas.NoTrans, dt, top(x, B), da, 1},
			{"XAt2", blas.NoTrans, blas.Trans, x, a, u, 2},
			{"DtL2", blas.Trans, blas.NoTrans, d, x, da, 2},
			{"DtL2T", blas.NoTrans, blas.NoTrans, dt2, x, da, 2},
		}
		for _, tc := range cases {
			b.Run(fmt.Sprintf("%s/%s", sz.name, tc.name), func(b *testing.B) {
				for b.Loop() {
					blas64.Gemm(tc.tA, tc.tB, 1, tc.a, tc.b, 1, tc.c)
				}
				b.ReportMetric(tc.flops*2*float64(B*N*H)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
		}
	}
}

// newBenchShallow returns a potential of the paper's kind at the given size and
// random inputs for it: ln cosh without bias for the Ising sizes, softplus
// with bias for MNIST.
func newBenchShallow(name string, B, N, H int) (p *flow.Shallow, x, lambda *mat.Dense, mu []float64) {
	rng := rand.New(rand.NewPCG(3, 3))
	if name == "Ising" {
		p = flow.NewShallow(N, H, flow.LogCosh, false, rng)
	} else {
		p = flow.NewShallow(N, H, flow.Softplus, true, rng)
	}
	x = mat.NewDense(B, N, nil)
	lambda = mat.NewDense(B, N, nil)
	mu = make([]float64, B)
	for i := range B {
		for k := range N {
			x.Set(i, k, rng.NormFloat64())
			lambda.Set(i, k, rng.NormFloat64())
		}
		mu[i] = rng.NormFloat64()
	}
	return p, x, lambda, mu
}

// BenchmarkShallowGradLaplacian measures GradLaplacian at the paper's sizes;
// GFLOP/s counts its two GEMMs, 2·2·B·N·H flops.
func BenchmarkShallowGradLaplacian(b *testing.B) {
	for _, sz := range shallowBenchSizes {
		b.Run(sz.name, func(b *testing.B) {
			p, x, _, _ := newBenchShallow(sz.name, sz.B, sz.N, sz.H)
			g := mat.NewDense(sz.B, sz.N, nil)
			l := make([]float64, sz.B)
			for b.Loop() {
				p.GradLaplacian(g, l, x)
			}
			b.ReportMetric(2*2*float64(sz.B*sz.N*sz.H)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}

// BenchmarkShallowVJP measures GradLaplacianVJP into both destinations at
// the paper's sizes; GFLOP/s counts its five GEMM-equivalents,
// 5·2·B·N·H flops ([U;G] and the parameter adjoint have inner or outer
// dimension 2B).
func BenchmarkShallowVJP(b *testing.B) {
	for _, sz := range shallowBenchSizes {
		b.Run(sz.name, func(b *testing.B) {
			p, x, lambda, mu := newBenchShallow(sz.name, sz.B, sz.N, sz.H)
			dx := mat.NewDense(sz.B, sz.N, nil)
			dp := make([]float64, len(p.Params()))
			for b.Loop() {
				p.GradLaplacianVJP(dx, dp, x, lambda, mu)
			}
			b.ReportMetric(5*2*float64(sz.B*sz.N*sz.H)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}

// TestShallowCheckPotentialLarge runs the finite-difference checks at the
// Ising size, where gonum's GEMM and the fused passes run in parallel.
func TestShallowCheckPotentialLarge(t *testing.T) {
	if testing.Short() {
		t.Skip("finite differences at N = 256 take a few seconds")
	}
	for _, act := range []flow.Activation{flow.LogCosh, flow.Softplus} {
		t.Run(act.String(), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(11, uint64(act)))
			p := flow.NewShallow(256, 512, act, act == flow.Softplus, rng)
			flowtest.CheckPotential(t, p, 4, rng, 1e-7)
		})
	}
}

func TestShallowSetIndicatorRows(t *testing.T) {
	const n, h = 6, 4
	rng := rand.New(rand.NewPCG(3, 1))
	p := flow.NewShallow(n, h, flow.LogCosh, false, rng)
	x := mat.NewDense(2, n, nil)
	for i := range n {
		x.Set(0, i, rng.NormFloat64())
		x.Set(1, i, rng.NormFloat64())
	}
	grad, lap := mat.NewDense(2, n, nil), make([]float64, 2)
	p.GradLaplacian(grad, lap, x) // the norms |a_j|² of the random rows
	a, _, w := p.Weights()
	row3 := mat.Row(nil, 3, a)
	w0 := append([]float64(nil), w...)

	sets := [][]int{{0, 1, 2, 3, 4, 5}, {3, 1}, {5}}
	if got := p.SetIndicatorRows(sets); got != len(sets) {
		t.Errorf("set %d rows, want %d", got, len(sets))
	}
	for j, set := range sets {
		c := 1 / math.Sqrt(3*float64(len(set)))
		var norm float64
		for k := range n {
			want := 0.0
			for _, s := range set {
				if s == k {
					want = c
				}
			}
			if a.At(j, k) != want {
				t.Errorf("a[%d][%d] = %v, want %v", j, k, a.At(j, k), want)
			}
			norm += a.At(j, k) * a.At(j, k)
		}
		if math.Abs(norm-1.0/3) > 1e-15 {
			t.Errorf("|a_%d|² = %v, want 1/3", j, norm)
		}
	}
	if !slices.Equal(mat.Row(nil, 3, a), row3) || !slices.Equal(w, w0) {
		t.Error("rows beyond the sets, or w, changed")
	}

	// The potential uses the new rows (and their norms) at once: the same
	// as a fresh potential with the same parameters.
	q := flow.NewShallow(n, h, flow.LogCosh, false, nil)
	copy(q.Params(), p.Params())
	gp, gq := mat.NewDense(2, n, nil), mat.NewDense(2, n, nil)
	lp, lq := make([]float64, 2), make([]float64, 2)
	p.GradLaplacian(gp, lp, x)
	q.GradLaplacian(gq, lq, x)
	if !mat.Equal(gp, gq) || !slices.Equal(lp, lq) {
		t.Errorf("after SetIndicatorRows: ∇²φ %v, want %v", lp, lq)
	}

	// More sets than hidden units: the first H.
	many := [][]int{{0}, {1}, {2}, {3}, {4}, {5}}
	if got := p.SetIndicatorRows(many); got != h {
		t.Errorf("set %d rows from %d sets, want H = %d", got, len(many), h)
	}

	for name, set := range map[string][]int{"empty": {}, "out of range": {6}, "negative": {-1}, "repeated": {2, 2}} {
		func() {
			defer func() {
				if e := recover(); e == nil || !strings.HasPrefix(fmt.Sprint(e), "flow: ") {
					t.Errorf("%s set: recovered %v, want a flow: panic", name, e)
				}
			}()
			p.SetIndicatorRows([][]int{set})
		}()
	}
}

// TestShallowSameOnAnySplit checks that the split of a call over the cores
// (by hidden units, then by coordinates, one part per core) does not change
// its results: every method at GOMAXPROCS 1 (no split) and 3 (uneven
// parts of 170–171 units and 85–86 coordinates), with and without the
// memo, in both precisions, agree to rounding.
func TestShallowSameOnAnySplit(t *testing.T) {
	const n, h, batch = 256, 512, 8
	for _, prec := range []flow.Precision{flow.Float64, flow.Float32} {
		t.Run(prec.String(), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(21, uint64(prec)))
			p := flow.NewShallow(n, h, flow.Softplus, true, rng)
			p.SetPrecision(prec)
			x, lambda := mat.NewDense(batch, n, nil), mat.NewDense(batch, n, nil)
			mu := make([]float64, batch)
			for i := range batch {
				mu[i] = rng.NormFloat64()
				for k := range n {
					x.Set(i, k, rng.NormFloat64())
					lambda.Set(i, k, rng.NormFloat64())
				}
			}
			run := func(procs int) [][]float64 {
				defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
				v, lap := make([]float64, batch), make([]float64, batch)
				grad, dx, dxm := mat.NewDense(batch, n, nil), mat.NewDense(batch, n, nil), mat.NewDense(batch, n, nil)
				dp, dpm := make([]float64, len(p.Params())), make([]float64, len(p.Params()))
				memo := make([]float64, p.MemoLen(batch))
				p.Value(v, x)
				p.GradLaplacianMemo(grad, lap, x, memo)
				p.GradLaplacianVJP(dx, dp, x, lambda, mu)
				p.GradLaplacianVJPMemo(dxm, dpm, x, lambda, mu, memo)
				return [][]float64{v, lap, grad.RawMatrix().Data, memo, dx.RawMatrix().Data, dp, dxm.RawMatrix().Data, dpm}
			}
			names := []string{"φ", "∇²φ", "∇φ", "memo", "dx", "dparams", "dx (memo)", "dparams (memo)"}
			// Float32 products of differently shaped blocks may round
			// differently (the BLAS picks its kernels by shape).
			tol := 1e-12
			if prec == flow.Float32 {
				tol = 1e-5
			}
			one, three := run(1), run(3)
			for i, name := range names {
				for k, want := range one[i] {
					if got := three[i][k]; math.Abs(got-want) > tol*(1+math.Abs(want)) {
						t.Fatalf("%s[%d]: %v with three parts, %v with one", name, k, got, want)
					}
				}
			}
		})
	}
}

// BenchmarkShallowSmallBatch is one GradLaplacian and one GradLaplacianVJP
// (with dx and dparams) of the Ising-sized potential (N = 256, H = 512) at
// small batches, where a split over the samples has few rows per core.
func BenchmarkShallowSmallBatch(b *testing.B) {
	for _, B := range []int{1, 4, 16, 64} {
		b.Run(fmt.Sprintf("B=%d", B), func(b *testing.B) {
			p, x, lambda, mu := newBenchShallow("Ising", B, 256, 512)
			g, dx := mat.NewDense(B, 256, nil), mat.NewDense(B, 256, nil)
			l, dp := make([]float64, B), make([]float64, len(p.Params()))
			for b.Loop() {
				p.GradLaplacian(g, l, x)
				p.GradLaplacianVJP(dx, dp, x, lambda, mu)
			}
		})
	}
}
