package main

import (
	"bytes"
	"encoding/json"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"codeberg.org/sbinet/npyio/npz"

	"github.com/isingflow/isingflow/internal/cli"
	"github.com/isingflow/isingflow/internal/runio"
	"github.com/isingflow/isingflow/model"
	"github.com/isingflow/isingflow/scan"
	"github.com/isingflow/isingflow/train"
)

// tinyModel are the flags of a model that trains in a fraction of a second.
var tinyModel = []string{"--potential", "dense", "--hidden", "8", "--flow-steps", "4", "--samples", "300"}

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

// TestScanWarmStart checks that each temperature of a scan starts from the
// previous one's parameters with a fresh optimiser: with no steps at the
// second temperature its checkpoint holds the first's trained parameters
// and zero Adam moments.
func TestScanWarmStart(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "scan")
	runOK(t, append([]string{"scan", "-L", "4", "-T", "2.5,3", "--iterations", "10", "--warm-iterations", "0", "--out", dir}, tinyModel...)...)
	read := func(T string) map[string][]float64 {
		path := filepath.Join(dir, T, model.CheckpointFile)
		var meta any
		a, err := runio.ReadCheckpoint(path, &meta)
		if err != nil {
			t.Fatal(err)
		}
		params, _, err := train.ReadCheckpointParams(path)
		if err != nil {
			t.Fatal(err)
		}
		return map[string][]float64{"params": params, "adam_first": a["adam_first"].Data}
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
	cfg := model.Config{L: 4, Dim: 2, T: 2.5, Delta: 0.1, Potential: model.PotentialDense, Hidden: 8, FlowSteps: 4, Epsilon: 0.1, InitSeed: 1}
	m, err := cfg.Build()
	if err != nil {
		t.Fatal(err)
	}
	if slices.Equal(m.Flow.Potential.Params(), first["params"]) {
		t.Error("the first temperature did not train")
	}
	var table []map[string]any
	b, err := os.ReadFile(filepath.Join(dir, scan.TableFile))
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

// TestTrainInitFrom checks --init-from: a multiscale flow trained at L = 4
// starts a run at L = 8 and another temperature, with the source's model
// where no flag says otherwise, its first checkpoint holding the
// transferred parameters (model.TransferFrom), no annealing, and the
// source named in result.json; sources that cannot carry over are usage
// errors.
func TestTrainInitFrom(t *testing.T) {
	tmp := t.TempDir()
	small := filepath.Join(tmp, "L4")
	runOK(t, "train", "-L", "4", "-T", "2.5", "--potential", "multiscale", "--channels", "2", "--flow-steps", "4", "--blocks", "2",
		"--iterations", "10", "--samples", "300", "--time-limit", "0", "--out", small)
	big := filepath.Join(tmp, "L8")
	res := decodeObject(t, runOK(t, "train", "-L", "8", "-T", "2.4", "--init-from", small, "--iterations", "0",
		"--samples", "300", "--time-limit", "0", "--out", big, "--json"))
	if res["init_from"] != small {
		t.Errorf("result.json: init_from %v, want %s", res["init_from"], small)
	}
	src, err := model.Load(small)
	if err != nil {
		t.Fatal(err)
	}
	dst, err := model.Load(big)
	if err != nil {
		t.Fatal(err)
	}
	c := dst.Config.Model
	if c.L != 8 || c.T != 2.4 || c.Potential != model.PotentialMultiscale || c.Channels != 2 || c.FlowSteps != 4 || c.NumBlocks() != 2 {
		t.Errorf("the L = 8 run's model %+v does not continue the L = 4 run's", c)
	}
	if tr := dst.Config.Training; tr.AnnealFrom != 1 || tr.Warmup != 0 {
		t.Errorf("the warm start anneals from %g with %d warm-up steps, want 1 and 0 (of 0 iterations)", tr.AnnealFrom, tr.Warmup)
	}
	want, err := c.Build()
	if err != nil {
		t.Fatal(err)
	}
	if err := want.TransferFrom(src.Model); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(want.Flow.Potential.Params(), dst.Model.Flow.Potential.Params()) {
		t.Error("the L = 8 run's checkpoint does not hold the transferred parameters")
	}

	dense := filepath.Join(tmp, "dense")
	runOK(t, append([]string{"train", "-L", "4", "-T", "2.5", "--iterations", "2", "--time-limit", "0", "--out", dense}, tinyModel...)...)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"-L", "8", "--init-from", dense}, "depend on the lattice's size"},
		{[]string{"-L", "8", "--init-from", small, "--channels", "3"}, "--channels"},
		{[]string{"-L", "8", "--init-from", filepath.Join(tmp, "none")}, "--init-from"},
		{[]string{"-L", "8", "--init-from", small, "--resume"}, "--resume"},
	} {
		var stdout, stderr bytes.Buffer
		args := append([]string{"train", "-T", "2.5", "--iterations", "1", "--samples", "100", "--out", filepath.Join(tmp, "refused")}, c.args...)
		if code := run(args, &stdout, &stderr); code != cli.ExitUsage || !strings.Contains(stderr.String(), c.want) {
			t.Errorf("isingflow %q: exit status %d, stderr %q; want %d naming %q", args, code, stderr.String(), cli.ExitUsage, c.want)
		}
		if _, err := os.Stat(filepath.Join(tmp, "refused")); err == nil {
			t.Errorf("isingflow %q left a run directory behind", args)
		}
	}
}
