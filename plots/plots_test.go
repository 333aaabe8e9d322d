package plots

import (
	"image/png"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"gonum.org/v1/plot"

	"github.com/isingflow/isingflow/lattice"
	"github.com/isingflow/isingflow/mnist"
	"github.com/isingflow/isingflow/model"
	"github.com/isingflow/isingflow/observables"
	"github.com/isingflow/isingflow/scan"
	"github.com/isingflow/isingflow/vmc"
)

// labels returns the labels of the labelled ticks.
func labels(ticks []plot.Tick) []string {
	var out []string
	for _, tk := range ticks {
		if tk.Label != "" {
			out = append(out, tk.Label)
		}
	}
	return out
}

// TestExactTicks checks that every labelled tick's label is its value (the
// default labels of a narrow range round them: "-2.1" at -2.15), with the
// decimals of the tick that needs the most, or, trimmed, each its own.
func TestExactTicks(t *testing.T) {
	for _, r := range []struct{ lo, hi float64 }{
		{-2.157, -1.95}, // a training curve above the exact line
		{-2.1160, -2.1010},
		{0, 1},
		{0, 5},
		{1e3, 5e3},
	} {
		for _, trim := range []bool{false, true} {
			ticks := (Ticks{Trim: trim}).Ticks(r.lo, r.hi)
			decimals := map[int]bool{}
			for _, tk := range ticks {
				if tk.Label == "" {
					continue
				}
				v, err := strconv.ParseFloat(tk.Label, 64)
				if err != nil || math.Abs(v-tk.Value) > 1e-9*max(math.Abs(r.lo), math.Abs(r.hi)) {
					t.Errorf("[%g, %g], trim %v: label %q at %g", r.lo, r.hi, trim, tk.Label, tk.Value)
				}
				d := 0
				if _, frac, ok := strings.Cut(tk.Label, "."); ok {
					d = len(frac)
					if trim && frac[len(frac)-1] == '0' {
						t.Errorf("[%g, %g]: trimmed label %q ends in 0", r.lo, r.hi, tk.Label)
					}
				}
				decimals[d] = true
			}
			if n := len(labels(ticks)); n < 2 {
				t.Errorf("[%g, %g], trim %v: %d labelled ticks", r.lo, r.hi, trim, n)
			}
			if !trim && len(decimals) != 1 {
				t.Errorf("[%g, %g]: labels %q with different decimals", r.lo, r.hi, labels(ticks))
			}
		}
	}
	if got, want := labels((Ticks{}).Ticks(0, 5)), []string{"0.0", "2.5", "5.0"}; !slices.Equal(got, want) {
		t.Errorf("[0, 5]: labels %q, want %q", got, want)
	}
	if got, want := labels((Ticks{Trim: true}).Ticks(0, 5)), []string{"0", "2.5", "5"}; !slices.Equal(got, want) {
		t.Errorf("[0, 5], trimmed: labels %q, want %q", got, want)
	}
}

// TestLogTicks checks the marks of a logarithmic axis: 1, 2 and 5 (or the
// given mantissas) labelled, the other integers as minor ticks or none, all
// labelled over less than a factor of two, none for a range that is not
// positive.
func TestLogTicks(t *testing.T) {
	for _, tc := range []struct {
		tk       Ticks
		lo, hi   float64
		labelled []string
		all      int // ticks, labelled or not
	}{
		{Ticks{Log: true}, 0.0015, 0.06, []string{"0.002", "0.005", "0.01", "0.02", "0.05"}, 5},
		{Ticks{Log: true, Labels: []float64{1, 2, 3, 5}, Minor: true}, 2000, 20000,
			[]string{"2000", "3000", "5000", "10000", "20000"}, 10},
		{Ticks{Log: true}, 3.5, 6.5, []string{"4", "5", "6"}, 3},
		{Ticks{Log: true}, 0, 1, nil, 0},
		{Ticks{Log: true}, 2, 2, nil, 0},
	} {
		ticks := tc.tk.Ticks(tc.lo, tc.hi)
		if got := labels(ticks); !slices.Equal(got, tc.labelled) || len(ticks) != tc.all {
			t.Errorf("%+v on [%g, %g]: labels %q of %d ticks, want %q of %d", tc.tk, tc.lo, tc.hi, got, len(ticks), tc.labelled, tc.all)
		}
	}
}

func TestNiceLog(t *testing.T) {
	for _, tc := range []struct {
		v    float64
		up   bool
		want float64
	}{
		{2050, false, 2000}, {2050, true, 3000}, {15500, true, 20000}, {15500, false, 10000},
		{1000, false, 1000}, {1000, true, 1000}, {4.2, false, 3}, {4.2, true, 5}, {0.06, true, 0.1},
	} {
		if got := niceLog(tc.v, tc.up); got != tc.want {
			t.Errorf("niceLog(%v, %v) = %v, want %v", tc.v, tc.up, got, tc.want)
		}
	}
}

// TestSpinGrid checks the layout of the spin panels: 7 configurations of a
// 6×6 lattice in 3×3 panels of 16 pixels a site, 8 pixels apart, black for
// +1 and white for −1 on grey.
func TestSpinGrid(t *testing.T) {
	lat, err := lattice.NewHypercubic(2, 6, lattice.Periodic)
	if err != nil {
		t.Fatal(err)
	}
	const n, l = 7, 6
	spins := make([]int8, n*l*l)
	for i := range spins {
		spins[i] = int8(2*((i*7919/3)%2) - 1)
	}
	img, err := SpinGrid(lat, spins)
	if err != nil {
		t.Fatal(err)
	}
	scale, gap, cols := 96/l, 8, 3
	if b := img.Bounds(); b.Dx() != gap+cols*(l*scale+gap) || b.Dy() != gap+3*(l*scale+gap) {
		t.Fatalf("image of %v", b)
	}
	for k := range n {
		x0, y0 := gap+(k%cols)*(l*scale+gap), gap+(k/cols)*(l*scale+gap)
		for i := range l * l {
			want := uint8(255)
			if spins[k*l*l+i] > 0 {
				want = 0
			}
			if y := img.GrayAt(x0+(i%l)*scale+scale/2, y0+(i/l)*scale+scale/2).Y; y != want {
				t.Fatalf("panel %d, site %d: grey %d, want %d", k, i, y, want)
			}
		}
	}
	if y := img.GrayAt(0, 0).Y; y != 128 {
		t.Errorf("background %d, want grey 128", y)
	}
	chain, _ := lattice.NewHypercubic(1, 8, lattice.Periodic)
	if _, err := SpinGrid(chain, make([]int8, 8)); err == nil {
		t.Error("a one-dimensional lattice: no error")
	}
	if _, err := SpinGrid(lat, spins[:40]); err == nil {
		t.Error("a partial configuration: no error")
	}
}

// TestImageGrid checks the grid of MNIST images: cells of scale×scale
// blocks with one pixel of grey between them.
func TestImageGrid(t *testing.T) {
	im := &mnist.Images{N: 5, Rows: 2, Cols: 3, Pixels: make([]uint8, 5*6)}
	for i := range im.Pixels {
		im.Pixels[i] = uint8(10 * i)
	}
	g := ImageGrid(im, 3, 2)
	// 3 columns and 2 rows of cells of 3·2+1 by 2·2+1 pixels, and a border.
	if b := g.Bounds(); b.Dx() != 3*7+1 || b.Dy() != 2*5+1 {
		t.Fatalf("grid of %v", b)
	}
	for k := range im.N {
		x0, y0 := 1+(k%3)*7, 1+(k/3)*5
		for r := range 4 {
			for c := range 6 {
				if got, want := g.GrayAt(x0+c, y0+r).Y, im.Image(k)[(r/2)*3+c/2]; got != want {
					t.Fatalf("image %d, pixel (%d, %d): %d, want %d", k, r, c, got, want)
				}
			}
		}
	}
	if g.GrayAt(0, 0).Y != 96 || g.GrayAt(21, 10).Y != 96 {
		t.Error("the border is not grey")
	}
}

// TestFigures draws every figure from small inputs and saves it; with
// nothing to draw, each returns nil.
func TestFigures(t *testing.T) {
	cfg := model.Config{L: 4, Dim: 2, T: 2.5, Delta: 0.1}
	lat, err := cfg.Lattice()
	if err != nil {
		t.Fatal(err)
	}
	exact, err := scan.NewExact(lat, cfg.T, cfg.Delta)
	if err != nil {
		t.Fatal(err)
	}
	est := &observables.IsingEstimates{LogWeights: []float64{-1, -0.5, -0.2, 0, 0.1}, ESSFraction: 0.9}
	est.KLPerSite.Mean, est.KLPerSite.Err = 0.01, 0.001
	est.EnergyPerSite.Mean, est.EnergyPerSite.Err = -1.4, 0.01
	res := &scan.Result{Config: cfg, Exact: exact, Estimates: est}
	var recs []vmc.Record
	for i := range 50 {
		recs = append(recs, vmc.Record{Step: i, VariationalFreeEnergyPerSite: *exact.FreeEnergyPerSite + 1/float64(i+1),
			KLPerSite: 0.5 / float64(i+1), Seconds: float64(i)})
	}
	res2 := *res
	res2.Config.T = 3
	summary := &scan.RunSummary{Name: "run", Result: res, Curve: scan.KLCurve(recs, 5)}
	mrecs := []mnist.Record{&mnist.BatchRecord{Batch: 1, NLL: 900}, &mnist.BatchRecord{Batch: 2, NLL: 850}}

	dir := t.TempDir()
	figure := func(name string, fig *Figure, err error) {
		t.Helper()
		if err != nil || fig == nil {
			t.Fatalf("%s: %v, %v", name, fig, err)
		}
		if err := fig.SavePNG(filepath.Join(dir, name+".png")); err != nil {
			t.Fatal(err)
		}
		checkPNG(t, filepath.Join(dir, name+".png"), int(fig.Width.Dots(96)+0.5), int(fig.Height.Dots(96)+0.5))
	}
	fig, err := Training(recs, res)
	figure("training", fig, err)
	fig, err = LogWeights(est)
	figure("logweights", fig, err)
	fig, err = Magnetization(lat, cfg.T, []float64{0.5, 0.75, 1}, []float64{0, 0.25, 0.5, 0.5, 1})
	figure("magnetization", fig, err)
	fig, err = CompareKL([]*scan.RunSummary{summary})
	figure("compare", fig, err)
	fig, err = MNISTCurve("run", mrecs)
	figure("mnist", fig, err)
	img, err := Scan([]*scan.Result{res, &res2})
	if err != nil || img == nil {
		t.Fatalf("Scan: %v, %v", img, err)
	}
	if err := SavePNG(filepath.Join(dir, "scan.png"), img); err != nil {
		t.Fatal(err)
	}
	checkPNG(t, filepath.Join(dir, "scan.png"), 1024, 748)

	for name, f := range map[string]func() (*Figure, error){
		"Training":   func() (*Figure, error) { return Training(nil, res) },
		"LogWeights": func() (*Figure, error) { return LogWeights(&observables.IsingEstimates{}) },
		"CompareKL":  func() (*Figure, error) { return CompareKL([]*scan.RunSummary{{Name: "short"}}) },
		"MNISTCurve": func() (*Figure, error) { return MNISTCurve("empty", nil) },
	} {
		if fig, err := f(); fig != nil || err != nil {
			t.Errorf("%s of nothing: %v, %v", name, fig, err)
		}
	}
	if img, err := Scan(nil); img != nil || err != nil {
		t.Errorf("Scan of nothing: %v, %v", img, err)
	}
}

// checkPNG checks that path is a PNG image of w×h pixels.
func checkPNG(t *testing.T, path string, w, h int) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	c, err := png.DecodeConfig(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if c.Width != w || c.Height != h {
		t.Errorf("%s is %d×%d, want %d×%d", filepath.Base(path), c.Width, c.Height, w, h)
	}
}
