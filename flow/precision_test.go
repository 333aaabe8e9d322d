package flow_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/floats"
	"gonum.org/v1/gonum/mat"

	"github.com/isingflow/isingflow/flow"
)

// relDiff returns |a − b|₂ / |b|₂.
func relDiff(a, b []float64) float64 {
	d := make([]float64, len(a))
	floats.SubTo(d, a, b)
	return floats.Norm(d, 2) / floats.Norm(b, 2)
}

// TestFloat32Products compares every method of a Shallow potential with
// float32 products against the same potential in float64: the results agree
// to the rounding of float32 (relative 1e-5 in the 2-norm) and differ by more
// than float64 rounding (so the float32 path ran). Sizes cover a single
// slice and several, the memo and plain adjoints, and both activations;
// one case saturates half the units (biases ±96, σ”(u) below the least
// normal float32), whose operands the float32 path flushes to zero.
func TestFloat32Products(t *testing.T) {
	for i, tc := range []struct {
		act        flow.Activation
		bias       bool
		B, N, H    int
		largeParam bool
		saturate   bool
	}{
		{flow.LogCosh, false, 3, 5, 7, false, false},
		{flow.Softplus, true, 4, 6, 3, true, false},
		{flow.LogCosh, false, 64, 256, 512, false, false},
		{flow.Softplus, true, 37, 100, 130, true, false},
		{flow.Softplus, true, 20, 50, 64, false, true},
	} {
		name := fmt.Sprintf("%v/bias=%t/B=%d/N=%d/H=%d/saturated=%t", tc.act, tc.bias, tc.B, tc.N, tc.H, tc.saturate)
		t.Run(name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(uint64(i), 32))
			p := flow.NewShallow(tc.N, tc.H, tc.act, tc.bias, rng)
			if tc.largeParam {
				scaleShallowParams(p, rng, 0.5)
			}
			if tc.saturate {
				flow.SaturateHalf(p)
			}
			x, lambda := mat.NewDense(tc.B, tc.N, nil), mat.NewDense(tc.B, tc.N, nil)
			mu := make([]float64, tc.B)
			for b := range tc.B {
				for k := range tc.N {
					x.Set(b, k, rng.NormFloat64())
					lambda.Set(b, k, rng.NormFloat64())
				}
				mu[b] = rng.NormFloat64()
			}
			type results struct {
				value, lap, grad, memo, dx, dp, dxMemo, dpMemo []float64
			}
			eval := func() results {
				var r results
				r.value = make([]float64, tc.B)
				p.Value(r.value, x)
				g := mat.NewDense(tc.B, tc.N, nil)
				r.lap = make([]float64, tc.B)
				r.memo = make([]float64, p.MemoLen(tc.B))
				p.GradLaplacianMemo(g, r.lap, x, r.memo)
				r.grad = g.RawMatrix().Data
				dx := mat.NewDense(tc.B, tc.N, nil)
				r.dp = make([]float64, len(p.Params()))
				p.GradLaplacianVJP(dx, r.dp, x, lambda, mu)
				r.dx = dx.RawMatrix().Data
				dxm := mat.NewDense(tc.B, tc.N, nil)
				r.dpMemo = make([]float64, len(p.Params()))
				p.GradLaplacianVJPMemo(dxm, r.dpMemo, x, lambda, mu, r.memo)
				r.dxMemo = dxm.RawMatrix().Data
				return r
			}
			want := eval()
			p.SetPrecision(flow.Float32)
			if p.Precision() != flow.Float32 {
				t.Fatalf("Precision() = %v after SetPrecision(Float32)", p.Precision())
			}
			got := eval()
			for _, c := range []struct {
				what      string
				got, want []float64
			}{
				{"Value", got.value, want.value},
				{"Laplacian", got.lap, want.lap},
				{"gradient", got.grad, want.grad},
				{"memo", got.memo, want.memo},
				{"VJP dx", got.dx, want.dx},
				{"VJP dparams", got.dp, want.dp},
				{"memo VJP dx", got.dxMemo, want.dxMemo},
				{"memo VJP dparams", got.dpMemo, want.dpMemo},
			} {
				d := relDiff(c.got, c.want)
				if !(d < 1e-5) || !(d > 1e-12) {
					t.Errorf("%s: relative difference %.3g from float64, want in (1e-12, 1e-5)", c.what, d)
				}
			}
			p.SetPrecision(flow.Float64)
			back := eval()
			if d := relDiff(back.dp, want.dp); d != 0 {
				t.Errorf("back in float64: dparams differ by %.3g", d)
			}
		})
	}
}

// TestFloat32FlowGradient trains-step-compares a flow of five blocks of
// (quadratic + Shallow) potentials: with float32 products the loss and the
// gradient of a Flow.Gradient agree with float64 to 1e-5 relative.
func TestFloat32FlowGradient(t *testing.T) {
	const B, N, H = 16, 36, 48
	rng := rand.New(rand.NewPCG(5, 5))
	blocks := make([]flow.Potential, 5)
	for k := range blocks {
		blocks[k] = flow.NewSum(flow.NewCirculantQuadratic([]int{6, 6}), flow.NewShallow(N, H, flow.LogCosh, false, rng))
	}
	f, err := flow.New(flow.NewPiecewise(blocks...), 10, 0.1)
	if err != nil {
		t.Fatal(err)
	}
	z := mat.NewDense(B, N, nil)
	for i := range z.RawMatrix().Data {
		z.RawMatrix().Data[i] = rng.NormFloat64()
	}
	loss := flow.LossFunc(func(dy *mat.Dense, dlogp []float64, y *mat.Dense, logp []float64) float64 {
		var L float64
		for b := range B {
			yr, dr := y.RawRowView(b), dy.RawRowView(b)
			for k, v := range yr {
				L += (0.5*v*v - math.Log(math.Cosh(v))) / B
				dr[k] = (v - math.Tanh(v)) / B
			}
			L += logp[b] / B
			dlogp[b] = 1.0 / B
		}
		return L
	})
	grad := func(prec flow.Precision) (float64, []float64) {
		if !flow.SetPrecision(f.Potential, prec) {
			t.Fatal("Piecewise is not a PrecisionSetter")
		}
		g := make([]float64, len(f.Potential.Params()))
		return f.Gradient(g, nil, z, flow.Sampling, loss), g
	}
	l64, g64 := grad(flow.Float64)
	l32, g32 := grad(flow.Float32)
	if d := math.Abs(l32-l64) / math.Abs(l64); !(d < 1e-5) {
		t.Errorf("loss %v with float32 products, %v in float64: relative difference %.3g", l32, l64, d)
	}
	if d := relDiff(g32, g64); !(d < 1e-5) || !(d > 1e-12) {
		t.Errorf("gradient: relative difference %.3g from float64, want in (1e-12, 1e-5)", d)
	}
}

func TestParsePrecision(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want flow.Precision
		ok   bool
	}{
		{"float64", flow.Float64, true},
		{"float32", flow.Float32, true},
		{"double", 0, false},
		{"", 0, false},
	} {
		got, err := flow.ParsePrecision(tc.in)
		if (err == nil) != tc.ok || (tc.ok && got != tc.want) {
			t.Errorf("ParsePrecision(%q) = %v, %v", tc.in, got, err)
		}
		if tc.ok && got.String() != tc.in {
			t.Errorf("%v.String() = %q, want %q", got, got.String(), tc.in)
		}
	}
}

// TestFloat32CirculantQuadratic compares the circulant quadratic potential
// with float32 products against float64, on a torus and a 3D box with an
// odd side, and in its spectral parametrisation: the gradient and both
// adjoints agree to float32 rounding and differ by more than float64
// rounding.
func TestFloat32CirculantQuadratic(t *testing.T) {
	for i, c := range []struct {
		shape    []int
		spectral bool
	}{{[]int{8, 8}, false}, {[]int{3, 4, 5}, false}, {[]int{8, 8}, true}} {
		shape := c.shape
		rng := rand.New(rand.NewPCG(uint64(i), 64))
		q := flow.NewCirculantQuadratic(shape)
		if c.spectral {
			q = flow.NewSpectralQuadratic(shape, 4)
		}
		flow.SetCirculantPath(q, "dense") // the FFT path is float64 always
		for k := range q.Params() {
			q.Params()[k] = rng.NormFloat64()
		}
		n := q.Dim()
		const B = 7
		x, lambda := mat.NewDense(B, n, nil), mat.NewDense(B, n, nil)
		mu := make([]float64, B)
		for b := range B {
			for k := range n {
				x.Set(b, k, rng.NormFloat64())
				lambda.Set(b, k, rng.NormFloat64())
			}
			mu[b] = rng.NormFloat64()
		}
		eval := func() (grad, dx, dp []float64) {
			g := mat.NewDense(B, n, nil)
			q.GradLaplacian(g, make([]float64, B), x)
			d := mat.NewDense(B, n, nil)
			dp = make([]float64, n)
			q.GradLaplacianVJP(d, dp, x, lambda, mu)
			return g.RawMatrix().Data, d.RawMatrix().Data, dp
		}
		g64, dx64, dp64 := eval()
		if !flow.SetPrecision(q, flow.Float32) {
			t.Fatal("CirculantQuadratic is not a PrecisionSetter")
		}
		g32, dx32, dp32 := eval()
		for _, c := range []struct {
			what      string
			got, want []float64
		}{{"gradient", g32, g64}, {"VJP dx", dx32, dx64}, {"VJP dparams", dp32, dp64}} {
			if d := relDiff(c.got, c.want); !(d < 1e-5) || !(d > 1e-12) {
				t.Errorf("%v %s: relative difference %.3g from float64, want in (1e-12, 1e-5)", shape, c.what, d)
			}
		}
		flow.SetPrecision(q, flow.Float64)
		if g, _, _ := eval(); relDiff(g, g64) != 0 {
			t.Errorf("%v: back in float64 the gradient differs", shape)
		}
	}
}
