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
// blocks with separators of max(2, scale) grey pixels between and around
// them.
func TestImageGrid(t *testing.T) {
	im := &mnist.Images{N: 5, Rows: 2, Cols: 3, Pixels: make([]uint8, 5*6)}
	for i := range im.Pixels {
		im.Pixels[i] = uint8(10 * i)
	}
	for _, scale := range []int{1, 2, 3} {
		g := ImageGrid(im, 3, scale)
		pad := max(2, scale)
		cw, ch := 3*scale+pad, 2*scale+pad
		// 3 columns and 2 rows of cells, and a border.
		if b := g.Bounds(); b.Dx() != 3*cw+pad || b.Dy() != 2*ch+pad {
			t.Fatalf("scale %d: grid of %v", scale, b)
		}
		for k := range im.N {
			x0, y0 := pad+(k%3)*cw, pad+(k/3)*ch
			for r := range 2 * scale {
				for c := range 3 * scale {
					if got, want := g.GrayAt(x0+c, y0+r).Y, im.Image(k)[(r/scale)*3+c/scale]; got != want {
						t.Fatalf("scale %d, image %d, pixel (%d, %d): %d, want %d", scale, k, r, c, got, want)
					}
				}
			}
			// The separator to the image's left and above it.
			for i := range pad {
				if g.GrayAt(x0-1-i, y0).Y != GridSeparator || g.GrayAt(x0, y0-1-i).Y != GridSeparator {
					t.Fatalf("scale %d, image %d: no separator", scale, k)
				}
			}
		}
		if g.GrayAt(0, 0).Y != GridSeparator || g.GrayAt(3*cw+pad-1, 2*ch+pad-1).Y != GridSeparator {
			t.Errorf("scale %d: the border is not the separators' grey", scale)
		}
	}
}

// trainingLog is a synthetic training log of n steps: KL/site decaying as
// 0.5/(step+1) with a relative noise of 30 %, annealed over the first
// fifth from 1.2 T in four levels, one second a step.
func trainingLog(n int, T float64) []vmc.Record {
	var recs []vmc.Record
	for i := range n {
		Ti := T
		if i < n/5 {
			Ti = T * (1.2 - 0.05*float64(4*i/(n/5)))
		}
		noise := 1 + 0.3*math.Sin(float64(i)*1.7)
		recs = append(recs, vmc.Record{Step: i, Temperature: Ti, KLPerSite: 0.5 / float64(i+1) * noise,
			VariationalFreeEnergyPerSite: -2 + 0.5/float64(i+1), Seconds: float64(i + 1)})
	}
	return recs
}

// TestTrainingAxes checks the training curve's logarithmic axis on logs a
// user meets: a few steps of 10²⁵ among well-behaved ones stay off the
// axis (drawn on its edge), as do estimates at or below zero; a run that
// diverged altogether gets an axis of thirty decades with some eight
// labels; a step redone after a rejection counts once, its last try; and
// without a known KL/site the figure is the variational free energy.
func TestTrainingAxes(t *testing.T) {
	cfg := model.Config{L: 4, Dim: 2, T: 2.5, Delta: 0.1}
	lat, _ := cfg.Lattice()
	exact, err := scan.NewExact(lat, cfg.T, cfg.Delta)
	if err != nil {
		t.Fatal(err)
	}
	est := &observables.IsingEstimates{Samples: 1000}
	est.KLPerSite.Mean, est.KLPerSite.Err = 0.002, 0.0002
	res := &scan.Result{Config: cfg, Exact: exact, Estimates: est}
	labelled := func(fig *Figure) []string { return labels(fig.Y.Tick.Marker.Ticks(fig.Y.Min, fig.Y.Max)) }
	draw := func(name string, fig *Figure) {
		t.Helper()
		if err := fig.SavePNG(filepath.Join(t.TempDir(), name+".png")); err != nil {
			t.Fatal(err)
		}
	}

	spiky := trainingLog(300, cfg.T)
	for _, i := range []int{100, 200, 250} {
		spiky[i].KLPerSite = 1e25
	}
	for i := 280; i < 290; i++ {
		spiky[i].KLPerSite = -1e-4
	}
	// Step 150 rejected and redone.
	redo := spiky[150]
	redo.KLPerSite = 0.7
	bad := redo
	bad.Rejected = true
	spiky = slices.Insert(spiky, 151, bad, spiky[150])
	spiky[150] = redo
	fig, err := Training(spiky, res)
	if err != nil || fig == nil {
		t.Fatalf("spiky log: %v, %v", fig, err)
	}
	if fig.Y.Max > 2 || fig.Y.Min < math.Log10(1e-5) {
		t.Errorf("spiky log: axis 10^%.3g … 10^%.3g, want about 10⁻⁴ … 1 (and room for the legend)", fig.Y.Min, fig.Y.Max)
	}
	if n := len(labelled(fig)); n < 3 || n > 9 {
		t.Errorf("spiky log: labels %q", labelled(fig))
	}
	if kept := lastTries(spiky); len(kept) != 300 || kept[150].KLPerSite != spiky[152].KLPerSite {
		t.Errorf("lastTries: %d steps, step 150 = %v", len(kept), kept[150].KLPerSite)
	}
	draw("spiky", fig)

	diverged := trainingLog(40, cfg.T)
	for i := 2; i < 40; i++ {
		diverged[i].KLPerSite = math.Pow(10, float64(i))
	}
	fig, err = Training(diverged, res)
	if err != nil || fig == nil {
		t.Fatalf("diverged log: %v, %v", fig, err)
	}
	if fig.Y.Max < 39 {
		t.Errorf("diverged log: axis up to 10^%.3g, want 10^39", fig.Y.Max)
	}
	if n := len(labelled(fig)); n < 4 || n > 9 {
		t.Errorf("diverged log: labels %q", labelled(fig))
	}
	draw("diverged", fig)

	unknown := trainingLog(50, cfg.T)
	for i := range unknown {
		unknown[i].KLPerSite = math.NaN()
	}
	fig, err = Training(unknown, &scan.Result{Config: cfg})
	if err != nil || fig == nil || !strings.Contains(fig.Title.Text, "variational free energy") {
		t.Fatalf("no KL: %v, %v", fig, err)
	}
	draw("unknown", fig)
}

// TestStepTicks checks the ticks of a step axis: about five labels at 1,
// 2 or 5 times a power of ten, whole numbers only.
func TestStepTicks(t *testing.T) {
	for _, tc := range []struct {
		lo, hi float64
		want   []string
	}{
		{0, 199, []string{"0", "50", "100", "150"}},
		{0, 1700, []string{"0", "500", "1000", "1500"}},
		{0, 13, []string{"0", "5", "10"}},
		{-0.5, 3, []string{"0", "1", "2", "3"}},
		{1400, 3000, []string{"1500", "2000", "2500", "3000"}},
	} {
		ticks := stepTicks(tc.lo, tc.hi)
		if got := labels(ticks); !slices.Equal(got, tc.want) {
			t.Errorf("[%g, %g]: labels %q, want %q", tc.lo, tc.hi, got, tc.want)
		}
		for _, tk := range ticks {
			if tk.Value != math.Round(tk.Value) {
				t.Errorf("[%g, %g]: a tick at %g", tc.lo, tc.hi, tk.Value)
			}
		}
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
	// A log of many decades (a logarithmic axis), with validation errors.
	vNLL, vErr, tNLL := 300.0, 5.0, 320.0
	mlog := []mnist.Record{&mnist.BatchRecord{Batch: 1, NLL: 9000}, &mnist.BatchRecord{Batch: 2, NLL: 400},
		&mnist.EpochRecord{Batch: 2, TrainNLL: &tNLL, ValNLL: &vNLL, ValNLLErr: &vErr}}
	// A scan result whose KL/site is not positive: left out of the
	// logarithmic panel.
	res3 := *res
	res3.Config.T = 3.5
	est3 := *est
	est3.KLPerSite.Mean = -0.001
	res3.Estimates = &est3

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
	hist := []*mnist.History{
		{Name: "a", Train: []mnist.CurvePoint{{Batch: 50, Seconds: 40, NLL: 3000}, {Batch: 100, Seconds: 80, NLL: 1600}},
			Validation: []mnist.CurvePoint{{Batch: 0, NLL: 15000, Err: 20}, {Batch: 100, Seconds: 80, NLL: 1550, Err: 4}}},
		{Name: "no validation", Train: []mnist.CurvePoint{{Batch: 50, Seconds: 900, NLL: 2000}, {Batch: 100, Seconds: 1800, NLL: 1500}}},
	}
	fig, err = CompareMNIST(hist)
	figure("compare_mnist", fig, err)
	if fig.Y.Min != 0.98*1500 || fig.Y.Max != 1.5*1500 || fig.X.Label.Text != "training time (min)" {
		t.Errorf("CompareMNIST: NLL axis %g to %g, want 1470 to 2250; x label %q", fig.Y.Min, fig.Y.Max, fig.X.Label.Text)
	}
	fig, err = MNISTCurve("run", mlog)
	figure("mnist_log", fig, err)
	if _, ok := fig.Y.Tick.Marker.(log10Ticks); !ok {
		t.Error("MNISTCurve over a factor of 20: no logarithmic axis")
	}
	img, err := Scan([]*scan.Result{res, &res2, &res3})
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
		"CompareMNIST": func() (*Figure, error) {
			return CompareMNIST([]*mnist.History{{Name: "empty"}, {Name: "one batch", Train: []mnist.CurvePoint{{Batch: 1, NLL: 9}}}})
		},
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

// TestLogTicksWide checks that a range of many decades keeps some eight
// labels at powers of ten, formatted without rounding noise.
func TestLogTicksWide(t *testing.T) {
	for _, tc := range []struct {
		lo, hi   float64
		labelled []string
	}{
		{3e-5, 0.3, []string{"0.0001", "0.001", "0.01", "0.1"}},
		{1e-3, 1e36, []string{"1", "1e+05", "1e+10", "1e+15", "1e+20", "1e+25", "1e+30", "1e+35"}},
		{2e-7, 5e-2, []string{"1e-06", "1e-05", "0.0001", "0.001", "0.01"}},
	} {
		ticks := Ticks{Log: true, Minor: true}.Ticks(tc.lo, tc.hi)
		if got := labels(ticks); !slices.Equal(got, tc.labelled) {
			t.Errorf("[%g, %g]: labels %q, want %q", tc.lo, tc.hi, got, tc.labelled)
		}
		if len(ticks) > 60 {
			t.Errorf("[%g, %g]: %d ticks", tc.lo, tc.hi, len(ticks))
		}
	}
	if got := labels(Ticks{Log: true}.Ticks(3e-5, 9e-5)); !slices.Equal(got, []string{"5e-05"}) {
		t.Errorf("[3e-5, 9e-5]: labels %q", got)
	}
}
