package model

import (
	"encoding/json"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/isingflow/isingflow/flow"
)

// TestModelBlocks checks the model's --blocks: K = 1 (stored as 0, absent
// from JSON, as in configurations written before the flag) builds the
// time-independent potential; K > 1 builds a flow.Piecewise whose blocks
// are initialised in order from the same stream, so block 0 is the K = 1
// potential; the flag rejects K < 1 and validate a K that does not divide
// the steps.
func TestModelBlocks(t *testing.T) {
	old := []byte(`{"L":4,"dim":2,"open":false,"T":2.5,"delta":0.1,"potential":"dense","hidden":8,"quadratic":true,"flow_steps":6,"epsilon":0.1,"init_seed":1}`)
	var c1 Config
	if err := json.Unmarshal(old, &c1); err != nil {
		t.Fatal(err)
	}
	m1, err := c1.Build()
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := m1.Flow.Potential.(flow.TimeDependent); ok || c1.NumBlocks() != 1 {
		t.Errorf("a configuration without blocks built a time-dependent potential (blocks() = %d)", c1.NumBlocks())
	}
	if b, _ := json.Marshal(c1); strings.Contains(string(b), "blocks") {
		t.Errorf("K = 1 written with a blocks key: %s", b)
	}

	c3 := c1
	c3.Blocks = 3
	m3, err := c3.Build()
	if err != nil {
		t.Fatal(err)
	}
	pw, ok := m3.Flow.Potential.(*flow.Piecewise)
	if !ok || pw.Intervals() != 3 {
		t.Fatalf("--blocks 3 built %T", m3.Flow.Potential)
	}
	p1 := m1.Flow.Potential.Params()
	if !slices.Equal(pw.BlockParams(0), p1) {
		t.Error("block 0 of K = 3 differs from the K = 1 potential")
	}
	if slices.Equal(pw.BlockParams(1), pw.BlockParams(0)) {
		t.Error("blocks 0 and 1 start with the same parameters")
	}
	if got := c3.Describe(); !strings.Contains(got, "6 RK4 steps of 0.1 in 3 independent blocks") {
		t.Errorf("describe() = %q", got)
	}
	if got := Tag(&c3, &Training{Batch: 64, Seed: 1}); !strings.Contains(got, "_H8q_K3_S6_") || !strings.HasSuffix(got, "_seed1") {
		t.Errorf("modelTag = %q", got)
	}
	// Another initialisation seed is another directory.
	c3.InitSeed = 2
	if got, want := DefaultRunDir(&c3, &Training{Batch: 64, Seed: 3}), "runs/L4_T2.500000_d0.1_H8q_K3_S6_e0.1_B64_seed3_init2"; got != filepath.FromSlash(want) {
		t.Errorf("DefaultRunDir = %q, want %q", got, want)
	}
	c3.InitSeed = 1

	c4 := c1
	c4.Blocks = 4
	if err := c4.Validate(); err == nil || !strings.Contains(err.Error(), "--blocks 4: must divide --flow-steps 6") {
		t.Errorf("4 blocks of 6 steps: %v", err)
	}
}

// TestModelInit checks --init: multiscale replaces the first rows of the
// dense (and the random) potential's A by the lattice's block indicators
// and keeps the random draws of the other parameters; random is the
// paper's initialisation and stored as absent.
func TestModelInit(t *testing.T) {
	base := Config{L: 4, Dim: 2, T: 2.5, Delta: 0.1, Potential: PotentialDense, Hidden: 32, FlowSteps: 2, Epsilon: 0.1, InitSeed: 1}
	build := func(c *Config) *flow.Shallow {
		t.Helper()
		m, err := c.Build()
		if err != nil {
			t.Fatal(err)
		}
		switch p := m.Flow.Potential.(type) {
		case *flow.Shallow:
			return p
		case flow.Wrapper:
			return p.Inner().(*flow.Shallow)
		}
		t.Fatalf("built %T", m.Flow.Potential)
		return nil
	}
	for _, pot := range []string{PotentialDense, PotentialRandom} {
		paper, ms := base, base
		paper.Potential, ms.Potential = pot, pot
		paper.Init, ms.Init = InitRandom, InitMultiscale
		sp, sm := build(&paper), build(&ms)
		if paper.Init != "" {
			t.Errorf("--init random stored as %q, want absent", paper.Init)
		}
		ap, bp, wp := sp.Weights()
		am, bm, wm := sm.Weights()
		lat, err := base.Lattice()
		if err != nil {
			t.Fatal(err)
		}
		blocks := lat.MultiscaleBlocks() // 25 on the 4×4 torus
		if len(blocks) != 25 {
			t.Fatalf("%d blocks on the 4×4 torus, want 25", len(blocks))
		}
		for j := range base.Hidden {
			rowP, rowM := ap.RawRowView(j), am.RawRowView(j)
			if j >= len(blocks) {
				if !slices.Equal(rowP, rowM) {
					t.Errorf("%s: row %d beyond the blocks differs from the random initialisation", pot, j)
				}
				continue
			}
			var sum, sq float64
			for _, v := range rowM {
				sum += v
				sq += v * v
			}
			n := float64(len(blocks[j]))
			if math.Abs(sum-n/math.Sqrt(3*n)) > 1e-12 || math.Abs(sq-1.0/3) > 1e-12 {
				t.Errorf("%s: row %d has sum %v and |a|² %v, want the indicator of %d sites with |a|² = 1/3", pot, j, sum, sq, len(blocks[j]))
			}
		}
		if !slices.Equal(bp, bm) || !slices.Equal(wp, wm) {
			t.Errorf("%s: --init changed b or w", pot)
		}
	}
	sym := base
	sym.Potential, sym.Channels, sym.Init = PotentialSymmetric, 1, InitMultiscale
	if err := sym.Validate(); err == nil || !strings.Contains(err.Error(), "--init multiscale: only for the dense, random and multiscale potentials") {
		t.Errorf("symmetric potential with --init multiscale: %v", err)
	}
}

// TestMultiscaleNote checks the note printed when the multiscale
// initialisation has fewer hidden units than the lattice has blocks.
func TestMultiscaleNote(t *testing.T) {
	for _, tc := range []struct {
		L, hidden int
		potential string
		init      string
		want      string // "" for no note
	}{
		{16, 512, PotentialDense, InitMultiscale, ""}, // 425 blocks: all fit
		{16, 425, PotentialDense, InitMultiscale, ""},
		{16, 424, PotentialDense, InitMultiscale, "the 424 hidden units start as the coarsest 424 of the lattice's 425 multiscale blocks; the finest 1, single sites among them, are left out (--hidden 425 or more"},
		{32, 512, PotentialDense, InitMultiscale, "the 512 hidden units start as the coarsest 512 of the lattice's 1705 multiscale blocks; the finest 1193,"},
		{32, 512, PotentialRandom, InitMultiscale, "--hidden 1705 or more holds them all"},
		{32, 2048, PotentialDense, InitMultiscale, ""},
		{32, 512, PotentialDense, "", ""}, // the paper's random rows
	} {
		c := Config{L: tc.L, Dim: 2, T: 2.269, Delta: 0.1, Potential: tc.potential, Hidden: tc.hidden, Init: tc.init}
		lat, err := c.Lattice()
		if err != nil {
			t.Fatal(err)
		}
		got := c.MultiscaleNote(lat)
		if (tc.want == "") != (got == "") || !strings.Contains(got, tc.want) {
			t.Errorf("L = %d, H = %d, %s, init %q: note %q, want one containing %q", tc.L, tc.hidden, tc.potential, tc.init, got, tc.want)
		}
	}
}

// TestModelSpectralScale checks --quadratic-scale: a spectral configuration
// written before the scale was stored (no quadratic_scale key) builds the
// quadratic part with γ = 1, and γ = 10 makes every eigenvalue ten times
// its parameter — ten times the γ = 1 matrix for the same parameters.
func TestModelSpectralScale(t *testing.T) {
	old := []byte(`{"L":4,"dim":2,"open":false,"T":2.5,"delta":0.1,"potential":"dense","hidden":8,"quadratic":true,"quadratic_basis":"spectral","flow_steps":6,"epsilon":0.1,"init_seed":1}`)
	matrix := func(c Config) *mat.Dense {
		t.Helper()
		m, err := c.Build()
		if err != nil {
			t.Fatal(err)
		}
		q, ok := m.Flow.Potential.(*flow.Sum).Terms[0].(*flow.CirculantQuadratic)
		if !ok || !q.Spectral() {
			t.Fatalf("the quadratic part is %T, spectral %v", m.Flow.Potential.(*flow.Sum).Terms[0], ok && q.Spectral())
		}
		for i := range q.Params() {
			q.Params()[i] = math.Cos(float64(i)) // fixed, non-symmetric parameters
		}
		S := mat.NewDense(q.Dim(), q.Dim(), nil)
		q.Matrix(S)
		return S
	}
	var c1 Config
	if err := json.Unmarshal(old, &c1); err != nil {
		t.Fatal(err)
	}
	if c1.SpectralScale() != 1 {
		t.Fatalf("spectralScale() = %g for a run without the key, want 1", c1.SpectralScale())
	}
	S1 := matrix(c1)
	c10 := c1
	c10.QuadraticScale = 10
	S10 := matrix(c10)
	var want mat.Dense
	want.Scale(10, S1)
	if !mat.EqualApprox(S10, &want, 1e-12) || mat.Norm(S1, 2) == 0 {
		t.Errorf("γ = 10 does not scale S̄ by 10")
	}
	for _, bad := range []float64{-2, math.Inf(1), math.NaN()} {
		c := c10
		c.QuadraticScale = bad
		if err := c.Validate(); err == nil {
			t.Errorf("quadratic scale %v accepted", bad)
		}
	}
}
