package main

import (
	"bytes"
	"encoding/json"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"codeberg.org/sbinet/npyio/npz"

	"github.com/isingflow/isingflow/internal/cli"
	"github.com/isingflow/isingflow/internal/runio"
	"github.com/isingflow/isingflow/validation"
)

// tinyModel are the flags of a model that trains in a fraction of a second.
var tinyModel = []string{"--hidden", "8", "--flow-steps", "4", "--samples", "300"}

// runOK runs the command line in-process and returns its stdout, failing
// the test on a non-zero exit status.
func runOK(t *testing.T, args ...string) []byte {
	t.Helper()
	var stdout, stderr bytes.Buffer
	if code := run(args, &stdout, &stderr); code != cli.ExitOK {
		t.Fatalf("isingflow %q: exit status %d\n%s", args, code, stderr.String())
	}
	return stdout.Bytes()
}

func decodeObject(t *testing.T, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%v\n%s", err, b)
	}
	return m
}

// TestTrainJSONAgreesWithExact checks that the exact values train --json
// prints beside its estimates are those of "isingflow exact", and that its
// KL per site is (f_var − f)/T of its own numbers.
func TestTrainJSONAgreesWithExact(t *testing.T) {
	for _, tc := range []struct {
		geom   []string
		absent []string // the keys neither command writes for this lattice
	}{
		// Kaufman and enumeration; Onsager's c diverges at T_c (null).
		{[]string{"-L", "4", "-T", "Tc"}, []string{"onsager_specific_heat_per_site"}},
		{[]string{"-L", "4", "-T", "3", "--open"}, nil}, // enumeration only
		// 3D, enumeration: no Onsager.
		{[]string{"-L", "2", "-T", "2", "-d", "3"}, []string{"onsager_free_energy_per_site", "onsager_energy_per_site", "onsager_specific_heat_per_site"}},
	} {
		geom := tc.geom
		dir := filepath.Join(t.TempDir(), "run")
		args := append([]string{"train", "--iterations", "10", "--out", dir, "--json"}, tinyModel...)
		got := decodeObject(t, runOK(t, append(args, geom...)...))
		exact := decodeObject(t, runOK(t, append([]string{"exact", "--json"}, geom...)...))

		for _, k := range []string{"L", "T"} {
			if got[k] != exact[k] {
				t.Errorf("%v: %s = %v, exact has %v", geom, k, got[k], exact[k])
			}
		}
		if got["delta"] != exact["relaxation_delta"] {
			t.Errorf("%v: delta = %v, exact has %v", geom, got["delta"], exact["relaxation_delta"])
		}
		pairs := map[string]string{
			"exact_free_energy_per_site":            "free_energy_per_site",
			"exact_energy_per_site":                 "energy_per_site",
			"exact_specific_heat_per_site":          "specific_heat_per_site",
			"exact_abs_magnetization":               "abs_magnetization",
			"exact_magnetization_sq":                "magnetization_sq",
			"exact_magnetization_4":                 "magnetization_4",
			"exact_binder":                          "binder",
			"exact_susceptibility":                  "susceptibility",
			"exact_relaxation_free_energy_per_site": "relaxation_free_energy_per_site",
			"onsager_free_energy_per_site":          "onsager_free_energy_per_site",
			"onsager_energy_per_site":               "onsager_energy_per_site",
			"onsager_specific_heat_per_site":        "onsager_specific_heat_per_site",
		}
		for tk, ek := range pairs {
			if got[tk] != exact[ek] {
				t.Errorf("%v: train %s = %v, exact %s = %v", geom, tk, got[tk], ek, exact[ek])
			}
			// Equal because both are missing tells nothing: only the
			// keys known to be absent may be.
			if _, ok := got[tk].(float64); !ok && !slices.Contains(tc.absent, tk) {
				t.Errorf("%v: train %s = %v, want a number", geom, tk, got[tk])
			}
		}
		// KL/N = βf_var − βf.
		T := got["T"].(float64)
		fvar := got["variational_free_energy_per_site"].(float64)
		f := got["exact_free_energy_per_site"].(float64)
		kl := got["kl_per_site"].(float64)
		if want := (fvar - f) / T; math.Abs(kl-want) > 1e-9*max(1, math.Abs(want)) {
			t.Errorf("%v: kl_per_site = %v, (f_var − f)/T = %v", geom, kl, want)
		}
		if kl < 0 {
			t.Errorf("%v: kl_per_site = %v < 0", geom, kl)
		}
	}
}

func TestParseTemperatures(t *testing.T) {
	tc := validation.CriticalTemperature
	for _, test := range []struct {
		in   string
		want []float64
	}{
		{"2.0:3.0:0.1", []float64{2, 2.1, 2.2, 2.3, 2.4, 2.5, 2.6, 2.7, 2.8, 2.9, 3}},
		{"2:3:0.25", []float64{2, 2.25, 2.5, 2.75, 3}},
		{"2:2.9:0.25", []float64{2, 2.25, 2.5, 2.75}},
		{"3:2:-0.5", []float64{3, 2.5, 2}},
		{"2:2:0.1", []float64{2}},
		{"1:1.0000000001:0.1", []float64{1}},
		{"2.0,2.269,2.5", []float64{2, 2.269, 2.5}},
		{"2, Tc ,2.5", []float64{2, tc, 2.5}},
		{"Tc:2.5:0.1", []float64{tc, tc + 0.1, tc + 0.2}},
		{"2.1:Tc:0.1", []float64{2.1, 2.2}},
		{"tc", []float64{tc}},
		{"0.1:0.3:0.1", []float64{0.1, 0.2, 0.3}},
		{"Tc,2.3:2.5:0.1,2.2:2.0:-0.1", []float64{tc, 2.3, 2.4, 2.5, 2.2, 2.1, 2}},
		{"3, 2:2.5:0.25 ,1.5", []float64{3, 2, 2.25, 2.5, 1.5}},
	} {
		got, err := parseTemperatures(test.in)
		if err != nil {
			t.Errorf("%q: unexpected error %v", test.in, err)
			continue
		}
		if len(got) != len(test.want) {
			t.Errorf("%q: got %v, want %v", test.in, got, test.want)
			continue
		}
		for i := range got {
			if math.Abs(got[i]-test.want[i]) > 1e-11 {
				t.Errorf("%q: got %v, want %v", test.in, got, test.want)
				break
			}
		}
		if got[0] != test.want[0] {
			t.Errorf("%q: the first temperature %v is not exactly %v", test.in, got[0], test.want[0])
		}
		if test.in == "2.0:3.0:0.1" && (got[3] != 2.3 || got[10] != 3) {
			t.Errorf("%q: not rounded: %v", test.in, got)
		}
	}
	for _, bad := range []string{
		"", "abc", "2:3", "2:3:0", "2:3:-0.1", "3:2:0.1", "2:3:x", "0:1:0.5", "-1,2", "2,2", "2,2.0000001",
		"1:2:1e-6", "2,,3", "2:3:NaN", "2:Inf:1",
		"2:3:0.5,2.5", "2:3:0.5,", "2,3:2:0.1", "2:3:0.1:1", "Tc,Tc:3:0.1",
	} {
		if ts, err := parseTemperatures(bad); err == nil {
			t.Errorf("%q: no error, got %v", bad, ts)
		} else if _, ok := err.(usageError); !ok {
			t.Errorf("%q: %v is not a usage error", bad, err)
		}
	}
}

// TestNearestTemperature checks the choice of a scan's warm start: the
// nearest temperature trained, the latest of equally near ones.
func TestNearestTemperature(t *testing.T) {
	tc := validation.CriticalTemperature
	for _, tt := range []struct {
		trained []float64
		T       float64
		want    int
	}{
		{[]float64{2.0}, 2.1, 0},
		{[]float64{2.0, 2.1, 2.2}, 2.3, 2},
		{[]float64{3.0, 2.9, 2.8}, 2.7, 2},
		{[]float64{tc, 2.3, 2.4, 2.5}, 2.2, 0},
		{[]float64{tc, 2.3, 2.4, 2.5, 2.2}, 2.1, 4},
		{[]float64{2.0, 3.0}, 2.5, 1},
		{[]float64{3.0, 2.0}, 2.5, 1},
		{[]float64{2.0, 2.6, 2.2}, 2.4, 2},
	} {
		if got := nearestTemperature(tt.trained, tt.T); got != tt.want {
			t.Errorf("nearest of %v to %v: index %d, want %d", tt.trained, tt.T, got, tt.want)
		}
	}
}

// TestDrawSamplesSpins checks the spins drawn given x against their exact
// conditional law: Σ(s_i − tanh x_i) has mean 0 and variance Σ(1 − tanh²x_i).
func TestDrawSamplesSpins(t *testing.T) {
	cfg := modelConfig{L: 6, Dim: 2, T: 2.5, Delta: 0.1, Potential: potentialDense, Hidden: 4, FlowSteps: 2, Epsilon: 0.5, InitSeed: 3}
	m, err := cfg.build()
	if err != nil {
		t.Fatal(err)
	}
	const n = 700 // more than one batch
	s := drawSamples(m, n, 7)
	var sum, variance float64
	for k := range n {
		row := s.x.RawRowView(k)
		var mag float64
		conf := make([]float64, len(row))
		for i, x := range row {
			si := s.spins[k*s.sites+i]
			if si != 1 && si != -1 {
				t.Fatalf("spin %d of sample %d is %d", i, k, si)
			}
			th := math.Tanh(x)
			sum += float64(si) - th
			variance += 1 - th*th
			mag += float64(si)
			conf[i] = float64(si)
		}
		if got, want := s.magnetization[k], mag/float64(s.sites); got != want {
			t.Fatalf("sample %d: magnetization %v, want %v", k, got, want)
		}
		if got, want := s.energy[k], m.lat.Energy(conf, 1); got != want {
			t.Fatalf("sample %d: energy %v, want %v", k, got, want)
		}
	}
	if z := sum / math.Sqrt(variance); math.Abs(z) > 4 {
		t.Errorf("Σ(s − tanh x) = %.4g, %.1fσ from 0", sum, z)
	}
	// ln w = ln q̃ − ln p, from the target and the flow.
	logq := make([]float64, n)
	m.target.LogDensity(logq, s.x)
	logp := make([]float64, n)
	if err := m.flow.LogDensity(logp, s.x); err != nil {
		t.Fatal(err)
	}
	for k := range n {
		if got, want := s.logw[k], logq[k]-s.logp[k]; math.Abs(got-want) > 1e-12*max(1, math.Abs(want)) {
			t.Fatalf("sample %d: ln w = %v, want %v", k, got, want)
		}
		if math.Abs(logp[k]-s.logp[k]) > 1e-6*max(1, math.Abs(logp[k])) {
			t.Fatalf("sample %d: ln p = %v from sampling, %v from the density", k, s.logp[k], logp[k])
		}
	}
	// The same seed draws the same samples.
	again := drawSamples(m, n, 7)
	if !slices.Equal(again.spins, s.spins) || !slices.Equal(again.logw, s.logw) {
		t.Error("the same seed drew different samples")
	}
}

// TestSampleFiles checks the .npz file against the PNG: the shapes, and
// every site's colour in every panel.
func TestSampleFiles(t *testing.T) {
	dir := t.TempDir()
	run := filepath.Join(dir, "run")
	runOK(t, append([]string{"-L", "6", "-T", "2.5", "--iterations", "5", "--out", run}, tinyModel...)...)
	const n = 7
	runOK(t, "sample", "--run", run, "-n", "7", "--seed", "4")

	r, err := npz.Open(filepath.Join(run, "samples.npz"))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for name, want := range map[string][]int{
		"spins": {n, 6, 6}, "x": {n, 6, 6}, "logp": {n}, "logw": {n}, "energy": {n}, "magnetization": {n}, "lattice_shape": {2},
	} {
		h := r.Header(name)
		if h == nil {
			t.Errorf("samples.npz: no array %q", name)
			continue
		}
		if !slices.Equal(h.Descr.Shape, want) {
			t.Errorf("samples.npz: %s has shape %v, want %v", name, h.Descr.Shape, want)
		}
	}
	var spins []int8
	if err := r.Read("spins", &spins); err != nil {
		t.Fatal(err)
	}
	var x, mag []float64
	if err := r.Read("x", &x); err != nil {
		t.Fatal(err)
	}
	if err := r.Read("magnetization", &mag); err != nil {
		t.Fatal(err)
	}
	if len(spins) != n*36 || len(x) != n*36 {
		t.Fatalf("samples.npz: %d spins and %d x, want %d", len(spins), len(x), n*36)
	}
	for k := range n {
		sum := 0
		for _, s := range spins[k*36 : (k+1)*36] {
			sum += int(s)
		}
		if float64(sum)/36 != mag[k] {
			t.Errorf("sample %d: magnetization %v, spins sum to %d", k, mag[k], sum)
		}
	}

	f, err := os.Open(filepath.Join(run, "samples.png"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	// The layout of writeSpinPNG: 3×3 panels of 6×6 sites.
	const l = 6
	scale, gap, cols := 96/l, 8, 3
	if b := img.Bounds(); b.Dx() != gap+cols*(l*scale+gap) || b.Dy() != gap+3*(l*scale+gap) {
		t.Fatalf("samples.png is %v", b)
	}
	for k := range n {
		x0, y0 := gap+(k%cols)*(l*scale+gap), gap+(k/cols)*(l*scale+gap)
		for i := range l * l {
			px, py := x0+(i%l)*scale+scale/2, y0+(i/l)*scale+scale/2
			y, _, _, _ := img.At(px, py).RGBA()
			want := uint32(0xffff) // white: −1
			if spins[k*l*l+i] > 0 {
				want = 0 // black: +1
			}
			if y != want {
				t.Fatalf("panel %d, site %d: grey %#x, want %#x", k, i, y, want)
			}
		}
	}
	// The gap is grey, and the unused panels too.
	if y, _, _, _ := img.At(0, 0).RGBA(); y == 0 || y == 0xffff {
		t.Errorf("the background is not grey: %#x", y)
	}
}

// TestWarmSettings checks the training settings of a scan's warm-started
// temperatures: no anneal and a short learning-rate warm-up, unless the
// flags say otherwise.
func TestWarmSettings(t *testing.T) {
	base := trainConfig{Iterations: 1700, Warmup: 0, AnnealFrom: 1.2, LR: 1e-3}
	for _, tt := range []struct {
		name               string
		warm               int
		changed            []string
		base               trainConfig
		iterations, warmup int
		annealFrom         float64
	}{
		{"defaults", 300, nil, base, 300, 50, 1},
		{"short", 100, nil, base, 100, 25, 1},
		{"no warm steps", 0, nil, base, 0, 0, 1},
		{"as --iterations", -1, nil, base, 1700, 50, 1},
		{"explicit warmup", 300, []string{"warmup"}, trainConfig{Iterations: 1700, Warmup: 7, AnnealFrom: 1.2}, 300, 7, 1},
		{"explicit anneal", 300, []string{"anneal-from"}, base, 300, 50, 1.2},
	} {
		t.Run(tt.name, func(t *testing.T) {
			w := warmSettings(tt.base, tt.warm, func(f string) bool { return slices.Contains(tt.changed, f) })
			if w.Iterations != tt.iterations || w.Warmup != tt.warmup || w.AnnealFrom != tt.annealFrom {
				t.Errorf("got iterations %d, warm-up %d, anneal from %g; want %d, %d, %g",
					w.Iterations, w.Warmup, w.AnnealFrom, tt.iterations, tt.warmup, tt.annealFrom)
			}
			if w.LR != tt.base.LR {
				t.Errorf("learning rate %g, want %g", w.LR, tt.base.LR)
			}
		})
	}
}

// TestScanWarmStart checks that each temperature of a scan starts from the
// previous one's parameters with a fresh optimiser: with no steps at the
// second temperature its checkpoint holds the first's trained parameters
// and zero Adam moments.
func TestScanWarmStart(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "scan")
	runOK(t, append([]string{"scan", "-L", "4", "-T", "2.5,3", "--iterations", "10", "--warm-iterations", "0", "--out", dir}, tinyModel...)...)
	read := func(T string) map[string][]float64 {
		var meta any
		a, err := runio.ReadCheckpoint(filepath.Join(dir, T, checkpointFile), &meta)
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	first, second := read("T2.500000"), read("T3.000000")
	if !slices.Equal(first["params"], second["params"]) {
		t.Error("the second temperature did not start from the first's parameters")
	}
	if slices.Equal(first["adam_first"], second["adam_first"]) {
		t.Error("the optimiser state was carried over")
	}
	for _, v := range second["adam_first"] {
		if v != 0 {
			t.Fatal("the second temperature's Adam moments are not fresh")
		}
	}
	// The first temperature trained from the initial parameters.
	cfg := modelConfig{L: 4, Dim: 2, T: 2.5, Delta: 0.1, Potential: potentialDense, Hidden: 8, FlowSteps: 4, Epsilon: 0.1, InitSeed: 1}
	m, err := cfg.build()
	if err != nil {
		t.Fatal(err)
	}
	if slices.Equal(m.flow.Potential.Params(), first["params"]) {
		t.Error("the first temperature did not train")
	}
	var table []map[string]any
	b, err := os.ReadFile(filepath.Join(dir, scanTableFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &table); err != nil {
		t.Fatal(err)
	}
	if len(table) != 2 || table[0]["T"] != 2.5 || table[1]["T"] != 3.0 || table[0]["steps"] != 10.0 || table[1]["steps"] != 0.0 {
		t.Errorf("scan.json: T and steps %v %v, %v %v", table[0]["T"], table[0]["steps"], table[1]["T"], table[1]["steps"])
	}
}
