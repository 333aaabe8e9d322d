package model

import (
	"context"
	"math"
	"math/rand/v2"
	"runtime"
	"strings"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/isingflow/isingflow/flow"
	"github.com/isingflow/isingflow/internal/bytesize"
	"github.com/isingflow/isingflow/lattice"
	"github.com/isingflow/isingflow/validation"
)

// liveHeap returns the bytes of live heap objects after a collection.
func liveHeap() int64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapAlloc)
}

// TestMemoryEstimate builds small models of each kind, trains them for two
// steps and then samples them in batches of 256, and checks that
// Config.MemoryEstimate lies within a factor of two of the live heap they
// hold, measured by runtime.MemStats, after training and after sampling.
func TestMemoryEstimate(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(c *Config, tr *Training)
	}{
		{"default, H = 256", func(c *Config, tr *Training) { c.Hidden = 256 }},
		{"float64, kernel basis, batch 256", func(c *Config, tr *Training) {
			c.Hidden, c.FlowSteps, c.Blocks = 64, 20, 0
			c.QuadraticBasis, c.QuadraticScale = "", 0
			tr.Precision, tr.Batch = flow.Float64, 256
		}},
		{"no quadratic part, L = 16", func(c *Config, tr *Training) {
			c.L, c.Hidden, c.FlowSteps, c.Blocks = 16, 128, 8, 2
			c.Quadratic, c.QuadraticBasis, c.QuadraticScale = false, "", 0
		}},
		{"random", func(c *Config, tr *Training) {
			c.Potential, c.Hidden, c.FlowSteps, c.Blocks = PotentialRandom, 64, 4, 2
		}},
		{"open", func(c *Config, tr *Training) {
			c.Open, c.QuadraticBasis, c.QuadraticScale = true, "", 0
			c.Hidden, c.FlowSteps, c.Blocks = 64, 10, 2
		}},
		{"multiscale, L = 32", func(c *Config, tr *Training) {
			c.L, c.Potential, c.FlowSteps, c.Blocks = 32, PotentialMultiscale, 4, 2
			tr.Precision = flow.Float64
		}},
		{"dense, L = 32, float64: the FFT's quadratic part", func(c *Config, tr *Training) {
			c.L, c.Hidden, c.FlowSteps, c.Blocks = 32, 32, 4, 2
			tr.Precision = flow.Float64
		}},
		{"symmetric", func(c *Config, tr *Training) {
			c.Potential, c.Init, c.FlowSteps, c.Blocks = PotentialSymmetric, "", 4, 2
			tr.Precision = flow.Float64
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lat, err := lattice.NewHypercubic(2, 8, lattice.Periodic)
			if err != nil {
				t.Fatal(err)
			}
			c, err := Default(lat, validation.CriticalTemperature)
			if err != nil {
				t.Fatal(err)
			}
			c.Potential = PotentialDense // the cases edit the dense model
			tr := DefaultTraining(&c)
			tr.Iterations = 2
			tc.edit(&c, &tr)
			if err := c.Validate(); err != nil {
				t.Fatal(err)
			}
			within := func(what string, est, live int64) {
				t.Helper()
				t.Logf("%s: estimate %s, live heap %s (%.2f)", what, bytesize.Format(est), bytesize.Format(live), float64(est)/float64(live))
				if r := float64(est) / float64(live); !(r >= 0.5 && r <= 2) {
					t.Errorf("%s: estimate %d bytes, live heap %d: not within a factor of two", what, est, live)
				}
			}

			before := liveHeap()
			m, err := c.Build()
			if err != nil {
				t.Fatal(err)
			}
			if got, want := c.tapeBytes(tr.Batch), m.Flow.TapeBytes(tr.Batch); got != want {
				t.Errorf("tape of %d samples: %d bytes, flow.Flow.TapeBytes %d", tr.Batch, got, want)
			}
			trainer, err := m.NewTrainer(&tr)
			if err != nil {
				t.Fatal(err)
			}
			flow.SetPrecision(m.Flow.Potential, tr.Precision)
			if _, err := trainer.Run(context.Background(), nil); err != nil {
				t.Fatal(err)
			}
			flow.SetPrecision(m.Flow.Potential, flow.Float64)
			within("trained", c.MemoryEstimate(&tr, 0), liveHeap()-before)

			const batch = 256
			x := mat.NewDense(batch, int(c.Sites()), nil)
			logp := make([]float64, batch)
			m.Reseed(StreamEvaluation)
			if err := m.Flow.Sample(x, logp, rand.New(rand.NewPCG(1, 2))); err != nil {
				t.Fatal(err)
			}
			within("sampled", c.MemoryEstimate(&tr, batch), liveHeap()-before)
			runtime.KeepAlive(trainer)
		})
	}
}

// TestMemoryEstimateOverflow checks that the estimate of requests whose
// sizes overflow int64 saturates instead of wrapping around to a small or
// negative number, and that it grows with every size.
func TestMemoryEstimateOverflow(t *testing.T) {
	lat, err := lattice.NewHypercubic(2, 16, lattice.Periodic)
	if err != nil {
		t.Fatal(err)
	}
	base, err := Default(lat, validation.CriticalTemperature)
	if err != nil {
		t.Fatal(err)
	}
	tr := DefaultTraining(&base)
	if ref := base.MemoryEstimate(&tr, 512); ref < 50<<20 || ref > 2<<30 {
		t.Errorf("the default model's estimate %s is not between 50 MiB and 2 GiB", bytesize.Format(ref))
	}
	base.Potential = PotentialDense // the cases edit the dense model
	tr = DefaultTraining(&base)
	if ref := base.MemoryEstimate(&tr, 512); ref < 50<<20 || ref > 2<<30 {
		t.Errorf("the dense model's estimate %s is not between 50 MiB and 2 GiB", bytesize.Format(ref))
	}
	for _, tc := range []struct {
		name string
		edit func(c *Config, tr *Training) int
		huge bool // saturates
	}{
		{"--hidden 1e8", func(c *Config, tr *Training) int { c.Hidden = 1e8; return 512 }, false},
		{"--batch 1e9", func(c *Config, tr *Training) int { tr.Batch = 1e9; return 512 }, false},
		{"--flow-steps 1e9", func(c *Config, tr *Training) int { c.FlowSteps, c.Blocks = 1e9, 0; return 512 }, false},
		{"-L 40000", func(c *Config, tr *Training) int { c.L = 40000; return 512 }, false}, // N·H, the quadratic part by FFT
		{"-L 40000 --open", func(c *Config, tr *Training) int {
			c.L, c.Open, c.QuadraticBasis, c.QuadraticScale = 40000, true, "", 0
			return 512
		}, true}, // a dense N×N S
		{"-L 2^31 -d 4", func(c *Config, tr *Training) int { c.L, c.Dim = 1<<31, 4; return 512 }, true},
		{"--hidden and --batch MaxInt", func(c *Config, tr *Training) int {
			c.Hidden, tr.Batch = math.MaxInt, math.MaxInt
			return math.MaxInt
		}, true},
		{"--eval-batch MaxInt", func(c *Config, tr *Training) int { return math.MaxInt }, true},
	} {
		c, tr := base, DefaultTraining(&base)
		batch := tc.edit(&c, &tr)
		est := c.MemoryEstimate(&tr, batch)
		switch {
		case tc.huge && est != bytesize.Max:
			t.Errorf("%s: estimate %d, want it saturated at %d", tc.name, est, int64(bytesize.Max))
		case est < 1<<40:
			t.Errorf("%s: estimate %s, want more than 1 TiB", tc.name, bytesize.Format(est))
		}
	}
}

// TestValidateTemperature checks that Validate refuses temperatures whose β
// overflows the energies or swamps the relaxation's shift, naming -T.
func TestValidateTemperature(t *testing.T) {
	lat, err := lattice.NewHypercubic(2, 4, lattice.Periodic)
	if err != nil {
		t.Fatal(err)
	}
	for _, T := range []float64{1e-320, 1e-200, 1e-20} {
		c, err := Default(lat, 1)
		if err != nil {
			t.Fatal(err)
		}
		c.T = T
		if err := c.Validate(); err == nil || !strings.HasPrefix(err.Error(), "-T ") || !strings.Contains(err.Error(), "too small") {
			t.Errorf("T = %g: Validate = %v, want -T …: too small", T, err)
		}
	}
	if _, err := Default(lat, 1e-9); err != nil {
		t.Errorf("T = 1e-9: %v", err)
	}
}
