package model

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"

	"codeberg.org/sbinet/npyio/npy"
	"gonum.org/v1/gonum/mat"

	"github.com/isingflow/isingflow/flow"
	"github.com/isingflow/isingflow/internal/runio"
	"github.com/isingflow/isingflow/train"
)

// TestCheckpointArrays checks the arrays of the dense model's checkpoint:
// its parameters named by block, part and array, each of its shape, and
// Adam's moments flat.
func TestCheckpointArrays(t *testing.T) {
	rc := tinyRunConfig(t)
	rc.Model.Blocks, rc.Model.FlowSteps = 2, 2
	dir := filepath.Join(t.TempDir(), "run")
	r, err := Create(dir, rc)
	if err != nil {
		t.Fatal(err)
	}
	r.Close()
	var meta any
	arrays, err := runio.ReadCheckpoint(filepath.Join(dir, CheckpointFile), &meta)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][]int{}
	for k, a := range arrays {
		got[k] = a.Shape
	}
	n := len(r.Model.Flow.Potential.Params())
	want := map[string][]int{
		"params/block0/quadratic/spectrum": {3, 3}, "params/block0/shallow/A": {4, 9}, "params/block0/shallow/w": {4},
		"params/block1/quadratic/spectrum": {3, 3}, "params/block1/shallow/A": {4, 9}, "params/block1/shallow/w": {4},
		"adam_first": {n}, "adam_second": {n},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("arrays %v, want %v", got, want)
	}
	p, _, err := train.ReadCheckpointParams(filepath.Join(dir, CheckpointFile))
	if err != nil || !slices.Equal(p, r.Model.Flow.Potential.Params()) {
		t.Errorf("ReadCheckpointParams: %v", err)
	}
}

// flatRun is a run directory written before checkpoints named their
// arrays (isingflow -L 4 --hidden 8 --flow-steps 4 --blocks 2
// --iterations 3): its parameters are the one flat array "params".
const flatRun = "testdata/flatrun"

// TestLoadFlatCheckpoint checks that a run directory whose checkpoint holds
// the flat "params" of older versions still loads, with those parameters,
// and resumes; its next checkpoint names the arrays.
func TestLoadFlatCheckpoint(t *testing.T) {
	var meta any
	arrays, err := runio.ReadCheckpoint(filepath.Join(flatRun, CheckpointFile), &meta)
	if err != nil {
		t.Fatal(err)
	}
	flat := arrays["params"].Data
	if len(flat) == 0 {
		t.Fatal("the fixture has no flat params")
	}
	r, err := Load(flatRun)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(r.Model.Flow.Potential.Params(), flat) || r.Trainer.Step != 3 {
		t.Fatalf("loaded step %d with other parameters than the checkpoint's", r.Trainer.Step)
	}
	dir := filepath.Join(t.TempDir(), "run")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{ConfigFile, CheckpointFile} {
		b, err := os.ReadFile(filepath.Join(flatRun, f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	rc := r.Config
	r2, err := Resume(dir, rc)
	if err != nil {
		t.Fatal(err)
	}
	defer r2.Close()
	if err := r2.Trainer.Checkpoint(filepath.Join(dir, CheckpointFile), rc.Model); err != nil {
		t.Fatal(err)
	}
	p, layout, err := train.ReadCheckpointParams(filepath.Join(dir, CheckpointFile))
	if err != nil || layout == nil || !slices.Equal(p, flat) {
		t.Errorf("the resumed run's checkpoint: layout %v, %v", layout, err)
	}
}

// python returns a Python 3 interpreter with NumPy, or skips the test
// saying why there is none: $ISINGFLOW_PYTHON, python3 on the PATH, then
// /usr/bin/python3, the first that imports numpy.
func python(t *testing.T) string {
	t.Helper()
	var tried []string
	for _, p := range []string{os.Getenv("ISINGFLOW_PYTHON"), "python3", "/usr/bin/python3"} {
		if p == "" {
			continue
		}
		path, err := exec.LookPath(p)
		if err != nil {
			tried = append(tried, p+": not found")
			continue
		}
		if out, err := exec.Command(path, "-c", "import numpy").CombinedOutput(); err != nil {
			tried = append(tried, fmt.Sprintf("%s: no numpy (%s)", path, bytes.TrimSpace(out)))
			continue
		}
		return path
	}
	t.Skipf("no python3 with numpy (scripts/setup.sh installs python3-numpy): %q", tried)
	return ""
}

// pyResult is the output of docs/checkpoint.py.
type pyResult struct {
	Block     int         `json:"block"`
	Phi       []float64   `json:"phi"`
	Grad      [][]float64 `json:"grad"`
	Laplacian []float64   `json:"laplacian"`
}

// TestCheckpointPython runs docs/checkpoint.py, the NumPy reader of a run
// directory, on runs of the dense model and its variants (the kernel
// basis, open boundaries and the general quadratic part, no quadratic
// part, one block) and of the multiscale model (L = 4; L = 6 with the
// kernel basis; one block without the quadratic part, whose checkpoint
// holds one flat array), each with random parameters, and on the flat
// checkpoint of an older run, and requires its φ, ∇φ and ∇²φ at random
// configurations, at times in every block, to agree with the Go
// potential's to 1e-12 relative to the larger of 1 and the value. With
// -short only the dense and multiscale models at L = 4 and the flat
// checkpoint (each run of the script takes half a second to import NumPy).
func TestCheckpointPython(t *testing.T) {
	py := python(t)
	script, err := filepath.Abs("../docs/checkpoint.py")
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(5, 6))
	worst := 0.0
	check := func(name, dir string, m *Model) {
		t.Helper()
		n := m.Lattice.N()
		x := mat.NewDense(5, n, nil)
		for i := range 5 {
			for j := range n {
				x.Set(i, j, 1.5*rng.NormFloat64())
			}
		}
		xPath := filepath.Join(t.TempDir(), "x.npy")
		f, err := os.Create(xPath)
		if err != nil {
			t.Fatal(err)
		}
		if err := npy.Write(f, x); err != nil {
			t.Fatal(err)
		}
		f.Close()
		K := m.Config.NumBlocks()
		T := float64(m.Config.FlowSteps) * m.Config.Epsilon
		for k := range K {
			tm := T * (float64(k) + 0.5) / float64(K)
			out, err := exec.Command(py, script, dir, "--t", fmt.Sprint(tm), "--x", xPath).Output()
			if err != nil {
				if ee, ok := err.(*exec.ExitError); ok {
					t.Fatalf("%s: %v\n%s", name, err, ee.Stderr)
				}
				t.Fatal(err)
			}
			var res pyResult
			if err := json.Unmarshal(out, &res); err != nil {
				t.Fatalf("%s: %v in %s", name, err, out)
			}
			if res.Block != k {
				t.Fatalf("%s: t = %g gave block %d, want %d", name, tm, res.Block, k)
			}
			p := m.Flow.Potential
			if pw, ok := p.(*flow.Piecewise); ok {
				pw.SetInterval(k)
			}
			phi, lap := make([]float64, 5), make([]float64, 5)
			grad := mat.NewDense(5, n, nil)
			p.Value(phi, x)
			p.GradLaplacian(grad, lap, x)
			cmp := func(what string, got, want float64) {
				d := math.Abs(got-want) / max(1, math.Abs(want))
				worst = max(worst, d)
				if !(d <= 1e-12) {
					t.Errorf("%s, block %d: %s = %.17g in NumPy, %.17g in Go", name, k, what, got, want)
				}
			}
			for b := range 5 {
				cmp(fmt.Sprintf("φ(x_%d)", b), res.Phi[b], phi[b])
				cmp(fmt.Sprintf("∇²φ(x_%d)", b), res.Laplacian[b], lap[b])
				for i := range n {
					cmp(fmt.Sprintf("∂φ(x_%d)/∂x_%d", b, i), res.Grad[b][i], grad.At(b, i))
				}
			}
		}
	}

	// The multiscale potential, two channels per level, its first starting
	// as the block spin; the random perturbation below moves every
	// parameter. At L = 4 the levels of side 4, 8 and 16 are the whole
	// lattice and the kernel of side 2 wraps around the torus; at L = 6 the
	// side 4 does not divide L.
	multiscale := func(c *Config) {
		c.Potential, c.Hidden, c.Channels, c.Init = PotentialMultiscale, 0, 2, InitMultiscale
	}
	for _, tc := range []struct {
		name string
		edit func(*Config)
	}{
		{"default", func(*Config) {}},
		{"one block", func(c *Config) { c.Blocks = 1 }},
		{"kernel basis", func(c *Config) { c.QuadraticBasis, c.QuadraticScale = "", 0 }},
		{"open", func(c *Config) { c.Open, c.QuadraticBasis, c.QuadraticScale = true, "", 0 }},
		{"no quadratic part", func(c *Config) { c.Quadratic, c.QuadraticBasis, c.QuadraticScale = false, "", 0 }},
		{"multiscale", multiscale},
		{"multiscale, L = 6, kernel basis", func(c *Config) {
			multiscale(c)
			c.L, c.QuadraticBasis, c.QuadraticScale = 6, "", 0
		}},
		{"multiscale, one block, no quadratic part", func(c *Config) {
			multiscale(c)
			c.Blocks, c.Quadratic, c.QuadraticBasis, c.QuadraticScale = 1, false, "", 0
		}},
	} {
		if testing.Short() && tc.name != "default" && tc.name != "multiscale" {
			continue
		}
		rc := tinyRunConfig(t)
		rc.Model.L, rc.Model.Hidden, rc.Model.FlowSteps, rc.Model.Blocks = 4, 8, 4, 2
		tc.edit(&rc.Model)
		if rc.Model.Potential == PotentialMultiscale {
			rc.Training.Precision = flow.Float64 // the only precision of the multiscale potential
		}
		dir := filepath.Join(t.TempDir(), "run")
		r, err := Create(dir, rc)
		if err != nil {
			t.Fatal(err)
		}
		for i, p := range r.Model.Flow.Potential.Params() {
			r.Model.Flow.Potential.Params()[i] = p + 0.2*rng.NormFloat64()
		}
		if err := r.Trainer.Checkpoint(filepath.Join(dir, CheckpointFile), r.Config.Model); err != nil {
			t.Fatal(err)
		}
		r.Close()
		check(tc.name, dir, r.Model)
	}
	r, err := Load(flatRun)
	if err != nil {
		t.Fatal(err)
	}
	check("flat checkpoint", flatRun, r.Model)
	t.Logf("largest relative difference between NumPy and Go: %.3g", worst)
}
