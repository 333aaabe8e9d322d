package mnist

import (
	"math"
	"math/rand/v2"
	"runtime"
	"testing"

	"gonum.org/v1/gonum/diff/fd"
	"gonum.org/v1/gonum/mat"
)

// maxSource makes rand.Float64 return its largest value, 1 − 2⁻⁵³.
type maxSource struct{}

func (maxSource) Uint64() uint64 { return math.MaxUint64 }

func TestDequantize(t *testing.T) {
	pixels := make([]uint8, 256*200)
	for i := range pixels {
		pixels[i] = uint8(i)
	}
	x := make([]float64, len(pixels))
	Dequantize(x, pixels, rand.New(rand.NewPCG(1, 2)))
	back := make([]uint8, len(x))
	Quantize(back, x)
	var sum float64
	for i, v := range x {
		p := float64(pixels[i])
		if !(v >= p/256 && v < (p+1)/256) {
			t.Fatalf("pixel %d dequantised to %v, outside [%v, %v)", pixels[i], v, p/256, (p+1)/256)
		}
		if back[i] != pixels[i] {
			t.Fatalf("Quantize(Dequantize(%d)) = %d", pixels[i], back[i])
		}
		sum += 256*v - p // u
	}
	// The noise is U[0,1): its mean is 1/2 with standard error 1/√(12n).
	n := float64(len(x))
	if mean, se := sum/n, 1/math.Sqrt(12*n); math.Abs(mean-0.5) > 5*se {
		t.Errorf("mean noise %v, want 0.5 ± %v", mean, se)
	}

	// u = 1 − 2⁻⁵³ makes 255 + u round to 256; x must stay below 1.
	Dequantize(x[:256], pixels[:256], rand.New(maxSource{}))
	Quantize(back[:256], x[:256])
	for p := range 256 {
		if x[p] >= float64(p+1)/256 || back[p] != uint8(p) {
			t.Errorf("largest noise: pixel %d → x = %v → %d", p, x[p], back[p])
		}
	}
	if x[255] >= 1 {
		t.Errorf("x = %v for pixel 255, want < 1", x[255])
	}
}

func TestLogitRoundTrip(t *testing.T) {
	var x []float64
	for i := 0; i <= 1000; i++ {
		x = append(x, float64(i)/1000)
	}
	x = append(x, 1e-12, 1e-7, 1-1e-7, math.Nextafter(1, 0))
	y := make([]float64, len(x))
	Logit(y, x)
	back := make([]float64, len(x))
	InverseLogit(back, y)
	for i := range x {
		if math.IsInf(y[i], 0) || math.IsNaN(y[i]) {
			t.Errorf("Logit(%v) = %v", x[i], y[i])
		}
		if math.Abs(back[i]-x[i]) > 1e-12 {
			t.Errorf("InverseLogit(Logit(%v)) = %v", x[i], back[i])
		}
	}
	// The ends map to ±logit(α) ≈ ±13.8.
	if want := math.Log(Alpha / (1 - Alpha)); math.Abs(y[0]-want) > 1e-12 || math.Abs(y[1000]+want) > 1e-12 {
		t.Errorf("Logit(0), Logit(1) = %v, %v, want %v, %v", y[0], y[1000], want, -want)
	}
	// And back: y → x → y, over the range where x ∈ [0, 1].
	for _, v := range []float64{-13, -5, -1, -1e-3, 0, 0.5, 2, 7, 13} {
		var xs, ys [1]float64
		InverseLogit(xs[:], []float64{v})
		Logit(ys[:], xs[:])
		if math.Abs(ys[0]-v) > 1e-8*(1+math.Abs(v)) {
			t.Errorf("Logit(InverseLogit(%v)) = %v", v, ys[0])
		}
	}
	// Samples far out in logit space land just outside [0, 1]; Quantize clamps.
	var xs [4]float64
	InverseLogit(xs[:], []float64{-800, 800, math.Inf(-1), math.Inf(1)})
	var p [6]uint8
	Quantize(p[:], append(xs[:], math.NaN(), 0.5))
	if p != [6]uint8{0, 255, 0, 255, 0, 128} {
		t.Errorf("Quantize of extreme samples = %v", p)
	}
	if xs[0] > 0 || xs[0] < -2*Alpha || xs[1] < 1 || xs[1] > 1+2*Alpha {
		t.Errorf("InverseLogit(±800) = %v, %v", xs[0], xs[1])
	}
}

// TestLogitJacobian compares ln|dy/dx| with central finite differences of
// Logit, pixel by pixel (the Jacobian is diagonal), and the two forms of
// the sum with each other.
func TestLogitJacobian(t *testing.T) {
	logit := func(v float64) float64 {
		var y [1]float64
		Logit(y[:], []float64{v})
		return y[0]
	}
	for _, v := range []float64{1e-3, 0.01, 0.1, 0.3, 0.5, 0.77, 0.9, 0.99, 0.999} {
		h := 1e-4 * min(v, 1-v)
		d := fd.Derivative(logit, v, &fd.Settings{Formula: fd.Central, Step: h})
		want := math.Log(d)
		if got := LogitJacobian([]float64{v}); math.Abs(got-want) > 1e-7 {
			t.Errorf("x = %v: ln dy/dx = %v, finite differences %v", v, got, want)
		}
	}
	rng := rand.New(rand.NewPCG(3, 4))
	x := make([]float64, 784)
	for i := range x {
		x[i] = rng.Float64()
	}
	x[0], x[1], x[2] = 0, 1, 0.5
	y := make([]float64, len(x))
	Logit(y, x)
	a, b := LogitJacobian(x), LogitJacobianFromLogit(y)
	if math.Abs(a-b) > 1e-9*math.Abs(a) {
		t.Errorf("LogitJacobian = %v, LogitJacobianFromLogit = %v", a, b)
	}
	// At x = 0 the derivative is (1−2α)/(α(1−α)): ln ≈ −ln α = 13.8.
	if got, want := LogitJacobian([]float64{0}), math.Log((1-2*Alpha)/(Alpha*(1-Alpha))); math.Abs(got-want) > 1e-12 {
		t.Errorf("ln dy/dx at 0 = %v, want %v", got, want)
	}
}

func TestBitsPerDim(t *testing.T) {
	const d = 784
	// Arithmetic: (1000 − 4000 + 784 ln 256)/(784 ln 2) = 8 − 3000/(784 ln 2).
	if got, want := BitsPerDim(1000, 4000, d), 8-3000/(784*math.Ln2); math.Abs(got-want) > 1e-12 {
		t.Errorf("BitsPerDim(1000, 4000, 784) = %v, want %v", got, want)
	}
	if got, want := PixelNLL(1000, 4000, d), 1000-4000+784*8*math.Ln2; math.Abs(got-want) > 1e-9 {
		t.Errorf("PixelNLL = %v, want %v", got, want)
	}

	// The uniform density on [0,1]^D: p_Y = exp(−logJac), 8 bits exactly.
	rng := rand.New(rand.NewPCG(5, 6))
	pixels := make([]uint8, d)
	for i := range pixels {
		pixels[i] = uint8(rng.IntN(256))
	}
	x := make([]float64, d)
	Dequantize(x, pixels, rng)
	lj := LogitJacobian(x)
	// −ln p_Y(y) = Σ ln |dy/dx_i|, written out from s = α + (1−2α)x,
	// dy/dx = (1−2α)/(s(1−s)), independently of LogitJacobian.
	var nllUniform float64
	for _, v := range x {
		s := Alpha + (1-2*Alpha)*v
		nllUniform += math.Log((1 - 2*Alpha) / (s * (1 - s)))
	}
	if got := BitsPerDim(nllUniform, lj, d); math.Abs(got-8) > 1e-9 {
		t.Errorf("uniform density: %v bits/dim, want 8", got)
	}

	// The standard logistic density in logit space, p_Y(y) = Π σ(y)σ(−y):
	// then s = σ(y) is uniform, x = (s−α)/(1−2α) has density 1−2α, and
	// bits/dim = 8 − log₂(1−2α).
	y := make([]float64, d)
	Logit(y, x)
	var nll float64
	for _, v := range y {
		nll -= math.Log(sigmoid(v)) + math.Log(sigmoid(-v))
	}
	if got, want := BitsPerDim(nll, lj, d), 8-math.Log2(1-2*Alpha); math.Abs(got-want) > 1e-12 {
		t.Errorf("logistic density: %v bits/dim, want %v", got, want)
	}
}

// TestDequantisationBoundTight checks the whole chain on a case where the
// bound is an equality: pixels independent with probabilities P(p), so that
// the dequantised density is piecewise constant, p_X(x) = Π 256·P(p_i), and
// the logit-space NLL of the batch converts back to exactly −Σ ln P(p_i).
func TestDequantisationBoundTight(t *testing.T) {
	const d, batch = 10, 7
	prob := make([]float64, 256)
	var z float64
	for p := range prob {
		prob[p] = 1 + float64(p%17)
		z += prob[p]
	}
	im := &Images{N: 20, Rows: 2, Cols: 5, Pixels: make([]uint8, 20*d)}
	rng := rand.New(rand.NewPCG(7, 8))
	for i := range im.Pixels {
		im.Pixels[i] = uint8(rng.IntN(256))
	}
	idx := []int{3, 0, 19, 7, 7, 11, 2}
	y := mat.NewDense(batch, d, nil)
	logJac := make([]float64, batch)
	LogitBatch(y, logJac, im, idx, rng)
	for b, i := range idx {
		var lnPX, lnP float64
		for _, p := range im.Image(i) {
			lnP += math.Log(prob[p] / z)
			lnPX += math.Log(256 * prob[p] / z)
		}
		// p_Y = p_X / |dy/dx|, with ln |dy/dx| = ln(1−2α) − ln σ(y) − ln σ(−y)
		// from y itself, independently of the logJac LogitBatch computed
		// from x.
		nllY := -lnPX
		for _, v := range y.RawRowView(b) {
			nllY += math.Log(1-2*Alpha) - math.Log(sigmoid(v)) - math.Log(sigmoid(-v))
		}
		if got := PixelNLL(nllY, logJac[b], d); math.Abs(got+lnP) > 1e-9 {
			t.Errorf("image %d: PixelNLL = %v, want −ln P = %v", i, got, -lnP)
		}
		if lj := LogitJacobianFromLogit(y.RawRowView(b)); math.Abs(lj-logJac[b]) > 1e-9*math.Abs(lj) {
			t.Errorf("row %d: logJac %v, from y %v", b, logJac[b], lj)
		}
	}
}

func TestLogitBatch(t *testing.T) {
	im := &Images{N: 300, Rows: 28, Cols: 28, Pixels: make([]uint8, 300*784)}
	src := rand.New(rand.NewPCG(9, 10))
	for i := range im.Pixels {
		im.Pixels[i] = uint8(src.IntN(256))
	}
	idx := make([]int, 64)
	for b := range idx {
		idx[b] = src.IntN(im.N)
	}
	// Reference: Dequantize then Logit, row by row, from the same stream.
	ref := mat.NewDense(len(idx), 784, nil)
	refJac := make([]float64, len(idx))
	rng := rand.New(rand.NewPCG(11, 12))
	for b, i := range idx {
		row := ref.RawRowView(b)
		Dequantize(row, im.Image(i), rng)
		refJac[b] = LogitJacobian(row)
		Logit(row, row)
	}
	for _, procs := range []int{1, 2, 4} {
		old := runtime.GOMAXPROCS(procs)
		got := mat.NewDense(len(idx), 784, nil)
		jac := make([]float64, len(idx))
		LogitBatch(got, jac, im, idx, rand.New(rand.NewPCG(11, 12)))
		runtime.GOMAXPROCS(old)
		if !mat.Equal(got, ref) {
			t.Errorf("GOMAXPROCS=%d: batch differs from the row-by-row reference", procs)
		}
		for b := range jac {
			if jac[b] != refJac[b] {
				t.Errorf("GOMAXPROCS=%d: logJac[%d] = %v, want %v", procs, b, jac[b], refJac[b])
				break
			}
		}
	}
	// logJac may be nil.
	LogitBatch(mat.NewDense(2, 784, nil), nil, im, []int{0, 1}, rng)

	for name, f := range map[string]func(){
		"rows":   func() { LogitBatch(mat.NewDense(3, 784, nil), nil, im, []int{0, 1}, rng) },
		"cols":   func() { LogitBatch(mat.NewDense(2, 783, nil), nil, im, []int{0, 1}, rng) },
		"logJac": func() { LogitBatch(mat.NewDense(2, 784, nil), make([]float64, 3), im, []int{0, 1}, rng) },
		"index":  func() { LogitBatch(mat.NewDense(2, 784, nil), nil, im, []int{0, 300}, rng) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s mismatch did not panic", name)
				}
			}()
			f()
		}()
	}
}

func BenchmarkLogitBatch(b *testing.B) {
	im := &Images{N: 100, Rows: 28, Cols: 28, Pixels: make([]uint8, 100*784)}
	idx := make([]int, 100)
	for i := range idx {
		idx[i] = i
	}
	dst := mat.NewDense(100, 784, nil)
	jac := make([]float64, 100)
	rng := rand.New(rand.NewPCG(1, 1))
	for b.Loop() {
		LogitBatch(dst, jac, im, idx, rng)
	}
}
