package flow_test

import (
	"encoding/json"
	"flag"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/isingflow/isingflow/flow"
	"github.com/isingflow/isingflow/internal/blasimpl"
)

var update = flag.Bool("update", false, "rewrite testdata/gradient_golden.json from this build")

// gradientGolden is the content of testdata/gradient_golden.json: the
// loss and gradients of Flow.Gradient on fixed inputs, written by the
// pure-Go build (go test ./flow -run TestGradientSameOnEveryBLAS -update).
type gradientGolden struct {
	BLAS    string               `json:"blas"`
	Cases   map[string]goldenRun `json:"cases"`
	Comment string               `json:"comment"`
}

// goldenRun holds the loss and, for each gradient, its largest entry and
// its projections on fixed random unit vectors (a change of any entry
// shows in them, and the file stays small).
type goldenRun struct {
	Loss    float64   `json:"loss"`
	DParams []float64 `json:"dparams"` // max |entry|, then the projections
	DStart  []float64 `json:"dstart"`
}

// fingerprint returns max |v_i| followed by the projections of v on 8
// random unit vectors drawn from a fixed seed.
func fingerprint(v []float64) []float64 {
	rng := rand.New(rand.NewPCG(99, uint64(len(v))))
	var m float64
	for _, x := range v {
		m = math.Max(m, math.Abs(x))
	}
	out := []float64{m}
	u := make([]float64, len(v))
	for range 8 {
		var norm, dot float64
		for i := range u {
			u[i] = rng.NormFloat64()
			norm += u[i] * u[i]
		}
		for i, x := range v {
			dot += u[i] * x
		}
		out = append(out, dot/math.Sqrt(norm))
	}
	return out
}

// goldenCases are the flows of TestGradientSameOnEveryBLAS: each run on
// the same seeded inputs, big enough that the products are split over the
// cores, small enough for a committed file.
func goldenCases() map[string]func() (*flow.Flow, flow.Direction) {
	// B·N·H = 40·64·64 is above the size at which Shallow splits its calls
	// over two cores.
	const n, h = 64, 64
	shallow := func(seed uint64, act flow.Activation, bias bool) *flow.Shallow {
		p := flow.NewShallow(n, h, act, bias, rand.New(rand.NewPCG(seed, 1)))
		for i := range p.Params() {
			p.Params()[i] *= 3 // a flow far enough from the identity
		}
		return p
	}
	circulant := func(seed uint64) *flow.CirculantQuadratic {
		q := flow.NewCirculantQuadratic([]int{8, 8})
		rng := rand.New(rand.NewPCG(seed, 2))
		for i := range q.Params() {
			q.Params()[i] = 0.2 * rng.NormFloat64()
		}
		return q
	}
	mk := func(p flow.Potential, steps int, eps float64) *flow.Flow {
		f, err := flow.New(p, steps, eps)
		if err != nil {
			panic(err)
		}
		return f
	}
	return map[string]func() (*flow.Flow, flow.Direction){
		"shallow-lncosh-sampling": func() (*flow.Flow, flow.Direction) {
			return mk(shallow(1, flow.LogCosh, false), 6, 0.1), flow.Sampling
		},
		"shallow-softplus-density": func() (*flow.Flow, flow.Direction) {
			return mk(shallow(2, flow.Softplus, true), 6, 0.1), flow.Density
		},
		"piecewise-sum-sampling": func() (*flow.Flow, flow.Direction) {
			p := flow.NewPiecewise(
				flow.NewSum(circulant(3), shallow(4, flow.LogCosh, false)),
				flow.NewSum(circulant(5), shallow(6, flow.LogCosh, false)))
			f := mk(p, 6, 0.1)
			f.KineticWeight = 0.3
			return f, flow.Sampling
		},
	}
}

func runGolden(f *flow.Flow, dir flow.Direction) goldenRun {
	const B = 40
	n := f.Potential.Dim()
	rng := rand.New(rand.NewPCG(7, 7))
	start := mat.NewDense(B, n, nil)
	for i := range start.RawMatrix().Data {
		start.RawMatrix().Data[i] = rng.NormFloat64()
	}
	dparams := make([]float64, len(f.Potential.Params()))
	dstart := mat.NewDense(B, n, nil)
	loss := f.Gradient(dparams, dstart, start, dir, flow.LossFunc(variationalLoss))
	return goldenRun{Loss: loss, DParams: fingerprint(dparams), DStart: fingerprint(dstart.RawMatrix().Data)}
}

// TestGradientSameOnEveryBLAS checks that the loss and gradients of
// Flow.Gradient agree to 1e-10 (relative to the largest entry) with the
// ones the pure-Go build wrote into testdata: CI runs it in both builds, so
// the OpenBLAS path, with its own kernels, batch slicing and threads, is
// held to the pure-Go one.
func TestGradientSameOnEveryBLAS(t *testing.T) {
	path := filepath.Join("testdata", "gradient_golden.json")
	got := gradientGolden{
		BLAS:    blasimpl.Name(),
		Cases:   map[string]goldenRun{},
		Comment: "written by go test ./flow -run TestGradientSameOnEveryBLAS -update in the pure-Go build",
	}
	for name, mk := range goldenCases() {
		got.Cases[name] = runGolden(mk())
	}
	if *update {
		if blasimpl.OpenBLAS {
			t.Fatal("write the golden file from the pure-Go build")
		}
		data, err := json.MarshalIndent(got, "", " ")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, append(data, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var want gradientGolden
	if err := json.Unmarshal(data, &want); err != nil {
		t.Fatal(err)
	}
	if len(want.Cases) != len(got.Cases) {
		t.Fatalf("golden file has %d cases, the test %d: regenerate it with -update", len(want.Cases), len(got.Cases))
	}
	for name, g := range got.Cases {
		w, ok := want.Cases[name]
		if !ok {
			t.Errorf("%s: not in the golden file", name)
			continue
		}
		if d := math.Abs(g.Loss - w.Loss); !(d <= 1e-10*math.Max(1, math.Abs(w.Loss))) { // NaN fails
			t.Errorf("%s: loss %.17g on %s, %.17g on %s", name, g.Loss, got.BLAS, w.Loss, want.BLAS)
		}
		for _, v := range []struct {
			what      string
			got, want []float64
		}{{"dparams", g.DParams, w.DParams}, {"dstart", g.DStart, w.DStart}} {
			if len(v.got) != len(v.want) {
				t.Errorf("%s: %s has %d entries, golden %d", name, v.what, len(v.got), len(v.want))
				continue
			}
			// The projections are of order the entries' root mean square,
			// at most √len times the largest entry v.want[0].
			scale := v.want[0]
			var worst float64
			for i := range v.want {
				worst = math.Max(worst, math.Abs(v.got[i]-v.want[i]))
			}
			if !(worst <= 1e-10*scale) { // math.Max carries a NaN: it fails here
				t.Errorf("%s: %s differs from the golden file by %.3g (largest entry %.3g) on %s", name, v.what, worst, scale, got.BLAS)
			}
		}
	}
}
