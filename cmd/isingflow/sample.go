package main

import (
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"

	"codeberg.org/sbinet/npyio/npz"
	"gonum.org/v1/gonum/mat"

	"github.com/isingflow/isingflow/internal/runio"
	"github.com/isingflow/isingflow/lattice"
)

// samplesPrefix is the default name of the sample files in a run directory.
const samplesPrefix = "samples"

// maxSamplePNG is the largest number of configurations drawn in the PNG;
// the .npz file holds them all.
const maxSamplePNG = 400

func runSample(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("sample", stderr)
	dir := fs.String("run", "", "run directory written by \"isingflow train\" (required)")
	n := fs.IntP("n", "n", 16, "number of samples")
	seed := fs.Uint64("seed", 1, "seed of the samples x and of the spins s ~ p(s|x)")
	out := fs.String("out", "", "prefix of the output files PREFIX.png and PREFIX.npz (default: RUN/samples)")
	wolff := fs.Bool("wolff", false, "also draw as many configurations from an exact Wolff chain and compare the distributions of |m|: percentiles, and histograms in PREFIX_magnetization.png")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *dir == "" {
		return usagef("--run DIR is required")
	}
	if *n < 1 {
		return usagef("-n %d: need at least one sample", *n)
	}
	if *wolff && *n < minExactPerGroup {
		return usagef("-n %d: --wolff compares the distributions of |m| and needs at least %d samples", *n, minExactPerGroup)
	}
	m, _, err := loadRun(*dir)
	if err != nil {
		return err
	}
	if int64(*n)*int64(m.lat.N()) > 1<<28 {
		return usagef("-n %d: %d samples of %d sites are too many for one file", *n, *n, m.lat.N())
	}
	prefix := *out
	if prefix == "" {
		prefix = filepath.Join(*dir, samplesPrefix)
	}

	s := drawSamples(m, *n, *seed)
	npzPath := prefix + ".npz"
	if err := writeSamplesNPZ(npzPath, m.lat, s); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%d samples of the %s lattice at T = %.6g: x, spins s ~ p(s|x), ln p, ln w in %s\n",
		*n, m.lat, m.cfg.T, npzPath)
	if m.lat.Dim() != 2 {
		fmt.Fprintf(stdout, "no picture: the %d-dimensional lattice has no 2D image (the spins are in the .npz file)\n", m.lat.Dim())
	} else {
		pngPath := prefix + ".png"
		shown := min(*n, maxSamplePNG)
		if err := writeSpinPNG(pngPath, m.lat, s.spins[:shown*m.lat.N()], shown); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%d spin configurations (black: s = +1, white: s = −1) in %s\n", shown, pngPath)
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, w := range s.logw {
		lo, hi = min(lo, w), max(hi, w)
	}
	var mAbs float64
	for _, v := range s.magnetization {
		mAbs += math.Abs(v)
	}
	fmt.Fprintf(stdout, "ln w = ln q̃ − ln p in [%.4g, %.4g]; unweighted mean |m| of the drawn spins %.4f\n",
		lo, hi, mAbs/float64(*n))
	if !*wolff {
		return nil
	}
	flowAbs := absValues(s.magnetization)
	wolffAbs, err := wolffAbsMagnetization(m.lat, m.cfg.T, *n, *seed)
	if err != nil {
		return err
	}
	if err := printMagnetizationPercentiles(stdout, flowAbs, wolffAbs); err != nil {
		return err
	}
	kl, klErr, groups, err := magnetizationKL(flowAbs, wolffAbs, m.lat.N())
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "KL(p‖q) of the distribution of |m| alone: %.3f ± %.3f nats (%d groups of values), %.5f per site: a lower bound on the flow's KL/site\n",
		kl, klErr, groups, kl/float64(m.lat.N()))
	plotPath := prefix + "_magnetization.png"
	title := fmt.Sprintf("%s, T = %.4g: |m| of %d samples", m.lat, m.cfg.T, *n)
	if err := plotMagnetization(plotPath, title, m.lat.N(), flowAbs, wolffAbs); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "histograms of |m| in %s\n", plotPath)
	return nil
}

// spinSamples are samples x ~ p of a flow and spins drawn from p(s|x).
type spinSamples struct {
	n, sites      int
	x             *mat.Dense // n×N
	spins         []int8     // n×N, row-major
	logp, logw    []float64  // ln p(x), ln q̃(x) − ln p(x)
	energy        []float64  // E(s) of the drawn spins, J = 1
	magnetization []float64  // m = Σs/N of the drawn spins
}

// drawSamples draws n samples of the model's flow in batches and, for each,
// the spins s_i = ±1 independently with P(s_i = +1 | x) = (1 + tanh x_i)/2.
func drawSamples(m *model, n int, seed uint64) *spinSamples {
	const batch = 256
	sites := m.lat.N()
	s := &spinSamples{
		n: n, sites: sites,
		x:             mat.NewDense(n, sites, nil),
		spins:         make([]int8, n*sites),
		logp:          make([]float64, n),
		logw:          make([]float64, n),
		energy:        make([]float64, n),
		magnetization: make([]float64, n),
	}
	m.reseed(randomStreamEval + 2)
	xrng := rand.New(rand.NewPCG(seed, 0x5a3e1))
	srng := rand.New(rand.NewPCG(seed, 0x5a3e2))
	for lo := 0; lo < n; lo += batch {
		hi := min(lo+batch, n)
		xb := s.x.Slice(lo, hi, 0, sites).(*mat.Dense)
		if err := m.flow.Sample(xb, s.logp[lo:hi], xrng); err != nil {
			panic(err) // the fixed-step flow of a loaded model does not fail
		}
		m.target.LogDensity(s.logw[lo:hi], xb)
	}
	for k := range s.logw {
		s.logw[k] -= s.logp[k]
	}
	conf := make([]float64, sites)
	for k := range n {
		row := s.x.RawRowView(k)
		sum := 0.0
		for i, xi := range row {
			v := int8(-1)
			if srng.Float64() < 0.5*(1+math.Tanh(xi)) {
				v = 1
			}
			s.spins[k*sites+i] = v
			conf[i] = float64(v)
			sum += conf[i]
		}
		s.energy[k] = m.lat.Energy(conf, 1)
		s.magnetization[k] = sum / float64(sites)
	}
	return s
}

// writeSamplesNPZ writes the samples as a NumPy archive: spins (int8) and x
// (float64) of shape (n, L, L) on a 2D lattice and (n, N) otherwise, sites
// in the lattice's row-major order; logp, logw, energy and magnetization of
// shape (n,); and lattice_shape.
func writeSamplesNPZ(path string, lat *lattice.Lattice, s *spinSamples) error {
	// Nested slices give npy their shape; the rows alias the samples.
	var spins, x any
	shape := lat.Shape()
	if lat.Dim() == 2 {
		rows, cols := shape[0], shape[1]
		sp := make([][][]int8, s.n)
		xs := make([][][]float64, s.n)
		for k := range s.n {
			sp[k] = make([][]int8, rows)
			xs[k] = make([][]float64, rows)
			xk := s.x.RawRowView(k)
			for r := range rows {
				off := k*s.sites + r*cols
				sp[k][r] = s.spins[off : off+cols]
				xs[k][r] = xk[r*cols : (r+1)*cols]
			}
		}
		spins, x = sp, xs
	} else {
		sp := make([][]int8, s.n)
		for k := range s.n {
			sp[k] = s.spins[k*s.sites : (k+1)*s.sites]
		}
		spins, x = sp, s.x
	}
	arrays := []struct {
		name string
		v    any
	}{
		{"spins", spins},
		{"x", x},
		{"logp", s.logp},
		{"logw", s.logw},
		{"energy", s.energy},
		{"magnetization", s.magnetization},
	}
	latShape := make([]int64, len(shape))
	for a, l := range shape {
		latShape[a] = int64(l)
	}
	return runio.WriteFileAtomic(path, func(f *os.File) error {
		w := npz.NewWriter(f)
		for _, a := range arrays {
			if err := w.Write(a.name, a.v); err != nil {
				return fmt.Errorf("%s: %s: %v", path, a.name, err)
			}
		}
		if err := w.Write("lattice_shape", latShape); err != nil {
			return err
		}
		return w.Close()
	})
}

// writeSpinPNG draws n spin configurations of a 2D lattice in a grid of
// panels, black for s = +1 and white for s = −1, on a grey background that
// separates the panels.
func writeSpinPNG(path string, lat *lattice.Lattice, spins []int8, n int) error {
	shape := lat.Shape()
	rows, cols := shape[0], shape[1]
	scale := max(4, 96/max(rows, cols)) // pixels per site
	gap := max(6, scale/2)
	gridCols := int(math.Ceil(math.Sqrt(float64(n))))
	gridRows := (n + gridCols - 1) / gridCols
	pw, ph := cols*scale, rows*scale
	img := image.NewGray(image.Rect(0, 0, gap+gridCols*(pw+gap), gap+gridRows*(ph+gap)))
	for i := range img.Pix {
		img.Pix[i] = 128
	}
	sites := rows * cols
	for k := range n {
		x0 := gap + (k%gridCols)*(pw+gap)
		y0 := gap + (k/gridCols)*(ph+gap)
		for i := range sites {
			c := color.Gray{Y: 255}
			if spins[k*sites+i] > 0 {
				c = color.Gray{Y: 0}
			}
			r, q := i/cols, i%cols
			for dy := range scale {
				for dx := range scale {
					img.SetGray(x0+q*scale+dx, y0+r*scale+dy, c)
				}
			}
		}
	}
	return runio.WriteFileAtomic(path, func(f *os.File) error { return png.Encode(f, img) })
}
