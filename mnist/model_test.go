package mnist

import (
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/gonum/stat/distuv"

	"github.com/isingflow/isingflow/flow"
	"github.com/isingflow/isingflow/stats"
)

// fakeImages returns n random images of rows×cols pixels, mostly dark with
// some ink, like MNIST.
func fakeImages(n, rows, cols int, seed uint64) *Images {
	rng := rand.New(rand.NewPCG(seed, 7))
	im := &Images{N: n, Rows: rows, Cols: cols, Pixels: make([]uint8, n*rows*cols)}
	for i := range im.Pixels {
		if rng.IntN(4) == 0 {
			im.Pixels[i] = uint8(rng.IntN(256))
		}
	}
	return im
}

func shallowFlow(t *testing.T, d, hidden, steps int, eps float64, seed uint64) *flow.Flow {
	t.Helper()
	var rng *rand.Rand
	if seed != 0 {
		rng = rand.New(rand.NewPCG(seed, 1))
	}
	f, err := flow.New(flow.NewShallow(d, hidden, flow.Softplus, true, rng), steps, eps)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// With φ = 0 the flow is the identity and p_Y is the base Gaussian, so the
// NLL of every image is the analytic −ln N(y; 0, I) of its logit-space
// pixels, and bits/dim follow from it through the logit Jacobian.
func TestEvaluatorZeroPotential(t *testing.T) {
	im := fakeImages(13, 3, 4, 1)
	f := shallowFlow(t, im.Dim(), 5, 3, 0.1, 0)
	nll, logJac := make([]float64, im.N), make([]float64, im.N)
	ev := &Evaluator{Flow: f, Batch: 5}
	var calls []int
	ev.Progress = func(done int) { calls = append(calls, done) }
	st, err := ev.Evaluate(nll, logJac, im, rand.New(rand.NewPCG(3, 4)))
	if err != nil {
		t.Fatal(err)
	}
	if want := []int{5, 10, 13}; len(calls) != len(want) || calls[0] != 5 || calls[2] != 13 {
		t.Errorf("progress calls %v, want %v", calls, want)
	}
	if st.Steps != 3*3 || st.Evaluations != 4*3*3 {
		t.Errorf("stats %+v, want 9 steps in 3 batches", st)
	}

	// The same noise, drawn image by image.
	rng := rand.New(rand.NewPCG(3, 4))
	y := make([]float64, im.Dim())
	for n := range im.N {
		Dequantize(y, im.Image(n), rng)
		wantJac := LogitJacobian(y)
		Logit(y, y)
		var sq float64
		for _, v := range y {
			sq += v * v
		}
		want := 0.5*sq + 0.5*float64(im.Dim())*math.Log(2*math.Pi)
		if math.Abs(nll[n]-want) > 1e-12*want {
			t.Errorf("image %d: NLL %v, want analytic %v", n, nll[n], want)
		}
		if math.Abs(logJac[n]-wantJac) > 1e-12*math.Abs(wantJac) {
			t.Errorf("image %d: log Jacobian %v, want %v", n, logJac[n], wantJac)
		}
	}

	s := Summarize(nll, logJac, im.Dim())
	var bits []float64
	for n := range nll {
		bits = append(bits, (nll[n]-logJac[n]+float64(im.Dim())*math.Log(256))/(float64(im.Dim())*math.Ln2))
	}
	b := stats.MeanErr(bits)
	if s.Images != im.N || math.Abs(s.BitsPerDim-b.Mean) > 1e-12 || math.Abs(s.BitsPerDimErr-b.Err) > 1e-12 {
		t.Errorf("summary %+v, want bits/dim %v", s, b)
	}
	// The map nats → bits/dim is affine per image, but the Jacobian varies
	// from image to image, so the errors convert only approximately; the
	// means must agree with the mean Jacobian exactly.
	if want := BitsPerDim(s.NLL, stats.MeanErr(logJac).Mean, im.Dim()); math.Abs(s.BitsPerDim-want) > 1e-12 {
		t.Errorf("mean bits/dim %v, want %v", s.BitsPerDim, want)
	}
}

// The result does not depend on the batch size, an adaptive integrator set
// on the flow agrees with the fixed-step scheme to its discretisation
// error, and the statistics are summed over the batches.
func TestEvaluatorBatchingAndAdaptive(t *testing.T) {
	im := fakeImages(11, 4, 4, 2)
	f := shallowFlow(t, im.Dim(), 8, 20, 0.05, 5)
	eval := func(batch int, ig flow.Integrator) ([]float64, flow.Stats) {
		f.Integrator = ig
		defer func() { f.Integrator = nil }()
		nll, logJac := make([]float64, im.N), make([]float64, im.N)
		ev := &Evaluator{Flow: f, Batch: batch}
		st, err := ev.Evaluate(nll, logJac, im, rand.New(rand.NewPCG(9, 9)))
		if err != nil {
			t.Fatal(err)
		}
		return nll, st
	}
	a, _ := eval(0, nil)
	b, st := eval(4, nil)
	if want := (flow.Stats{Steps: 3 * 20, Evaluations: 3 * 80}); st != want {
		t.Errorf("fixed-step statistics of 3 batches %+v, want %+v", st, want)
	}
	ad, st := eval(3, &flow.Dopri5{RTol: 1e-10, ATol: 1e-10})
	if st.Steps < 4 || st.Evaluations < 6*st.Steps {
		t.Errorf("adaptive statistics of 4 batches %+v", st)
	}
	for n := range a {
		if math.Abs(a[n]-b[n]) > 1e-11*math.Abs(a[n]) {
			t.Errorf("image %d: NLL %v with one batch, %v with batches of 4", n, a[n], b[n])
		}
		// RK4 with h = 0.05 on this flow: global error far below 1e-5 nats.
		if math.Abs(a[n]-ad[n]) > 1e-5 {
			t.Errorf("image %d: NLL %v fixed-step, %v adaptive", n, a[n], ad[n])
		}
	}
}

// PairedDifference is the mean ± standard error of b − a and the largest
// |b − a|.
func TestPairedDifference(t *testing.T) {
	a := []float64{10, 20, 30, 40}
	b := []float64{11, 19, 33, 40}
	d, maxAbs := PairedDifference(a, b)
	// Differences 1, −1, 3, 0: mean 0.75, sample variance 2.9167.
	if math.Abs(d.Mean-0.75) > 1e-15 || math.Abs(d.Err-math.Sqrt(35.0/12/4)) > 1e-15 || maxAbs != 3 {
		t.Errorf("PairedDifference = %v, max %v; want 0.75 ± %.4f, max 3", d, maxAbs, math.Sqrt(35.0/12/4))
	}
}

// NegLogLikelihood through flow.Gradient is the gradient of the batch mean
// NLL that LogDensity evaluates (central finite differences).
func TestNegLogLikelihoodGradient(t *testing.T) {
	im := fakeImages(6, 2, 3, 3)
	f := shallowFlow(t, im.Dim(), 4, 3, 0.2, 7)
	y := mat.NewDense(im.N, im.Dim(), nil)
	idx := []int{0, 1, 2, 3, 4, 5}
	LogitBatch(y, nil, im, idx, rand.New(rand.NewPCG(1, 1)))
	// Scale the logit data down so the small flow is well inside its
	// smooth regime and differences are not swamped by |y|².
	y.Scale(0.2, y)

	params := f.Potential.Params()
	grad := make([]float64, len(params))
	loss := f.Gradient(grad, nil, y, flow.Density, NegLogLikelihood)
	meanNLL := func() float64 {
		logp := make([]float64, im.N)
		if err := f.LogDensity(logp, y); err != nil {
			t.Fatal(err)
		}
		var s float64
		for _, v := range logp {
			s -= v
		}
		return s / float64(im.N)
	}
	if m := meanNLL(); math.Abs(loss-m) > 1e-12*math.Abs(m) {
		t.Fatalf("loss %v, mean NLL %v", loss, m)
	}
	const h = 1e-6
	for _, i := range []int{0, 5, 11, 23, len(params) - 5, len(params) - 1} {
		old := params[i]
		params[i] = old + h
		up := meanNLL()
		params[i] = old - h
		down := meanNLL()
		params[i] = old
		fd := (up - down) / (2 * h)
		if math.Abs(grad[i]-fd) > 1e-6*math.Max(1, math.Abs(fd)) {
			t.Errorf("∂L/∂θ[%d] = %v, finite difference %v", i, grad[i], fd)
		}
	}
}

// With φ = 0 the flow is the identity, so a sample at temperature T is the
// logit y = T·z, z ~ N(0, I): a pixel lies in [96, 160) exactly when y lies
// between the logits of 96/256 and 160/256, with probability
// Φ(b/T) − Φ(a/T). Check that fraction at three temperatures within five
// standard errors; that T = 1 draws what flow.Flow.Sample draws; and that a
// temperature that is not positive and finite is an error.
func TestSampleImagesAt(t *testing.T) {
	f := shallowFlow(t, 12, 3, 2, 0.1, 0)
	ends := make([]float64, 2)
	Logit(ends, []float64{96.0 / Levels, 160.0 / Levels})
	for _, T := range []float64{0.5, 1, 2} {
		im, err := SampleImagesAt(f, 400, 3, 4, T, rand.New(rand.NewPCG(3, 4)))
		if err != nil {
			t.Fatal(err)
		}
		var in float64
		for _, p := range im.Pixels {
			if p >= 96 && p < 160 {
				in++
			}
		}
		n := float64(len(im.Pixels))
		frac := in / n
		want := distuv.UnitNormal.CDF(ends[1]/T) - distuv.UnitNormal.CDF(ends[0]/T)
		if se := math.Sqrt(want * (1 - want) / n); math.Abs(frac-want) > 5*se {
			t.Errorf("T = %g: %.4f of the pixels in [96, 160), want %.4f ± %.4f", T, frac, want, se)
		}
	}
	g := shallowFlow(t, 12, 3, 2, 0.1, 5) // a potential that moves the samples
	y := mat.NewDense(50, 12, nil)
	if err := g.Sample(y, nil, rand.New(rand.NewPCG(1, 2))); err != nil {
		t.Fatal(err)
	}
	b, err := SampleImagesAt(g, 50, 3, 4, 1, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		t.Fatal(err)
	}
	x, want := make([]float64, 12), make([]uint8, 12)
	for i := range 50 {
		InverseLogit(x, y.RawRowView(i))
		Quantize(want, x)
		for k, p := range want {
			if got := b.Pixels[i*12+k]; got != p {
				t.Fatalf("image %d pixel %d: %d at temperature 1, %d from flow.Flow.Sample", i, k, got, p)
			}
		}
	}
	for _, T := range []float64{0, -1, math.Inf(1), math.NaN()} {
		if _, err := SampleImagesAt(g, 5, 3, 4, T, rand.New(rand.NewPCG(1, 2))); err == nil {
			t.Errorf("temperature %g: no error", T)
		}
	}
}

// With φ = 0 the samples are z ~ N(0, I) mapped to pixels: a pixel is
// ⌊256 σ(z)⌋ (up to α), so its distribution is known; check the mean
// pixel value and the determinism of the draw.
func TestSampleImages(t *testing.T) {
	f := shallowFlow(t, 12, 3, 2, 0.1, 0)
	a, err := SampleImages(f, 200, 3, 4, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		t.Fatal(err)
	}
	b, err := SampleImages(f, 200, 3, 4, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		t.Fatal(err)
	}
	if a.N != 200 || a.Rows != 3 || a.Cols != 4 || len(a.Pixels) != 200*12 {
		t.Fatalf("images %d of %d×%d, %d pixels", a.N, a.Rows, a.Cols, len(a.Pixels))
	}
	var sum float64
	for i, p := range a.Pixels {
		if p != b.Pixels[i] {
			t.Fatal("same seed, different samples")
		}
		sum += float64(p)
	}
	// E⌊256 σ(z)⌋ = 256·½ − ½ by symmetry, σ(z) uniform-ish with SD ≈ 0.21.
	mean, n := sum/float64(len(a.Pixels)), float64(len(a.Pixels))
	if se := 256 * 0.21 / math.Sqrt(n); math.Abs(mean-127.5) > 5*se {
		t.Errorf("mean pixel %v, want 127.5 ± %v", mean, se)
	}
}
