package scan

import (
	"math"
	"runtime"
	"runtime/debug"
	"testing"

	"github.com/isingflow/isingflow/internal/bytesize"
	"github.com/isingflow/isingflow/lattice"
	"github.com/isingflow/isingflow/model"
	"github.com/isingflow/isingflow/validation"
)

// TestEvaluationMemoryEstimate evaluates a tiny flow with many samples,
// so that the samples the evaluation keeps dominate its memory, and checks
// that Evaluation.MemoryEstimate lies between two bounds of the peak
// measured by runtime.MemStats: the live heap after each batch (the peak
// comes later, when the estimates are made) and all the bytes allocated
// with the garbage collector off.
func TestEvaluationMemoryEstimate(t *testing.T) {
	lat, err := lattice.NewHypercubic(2, 4, lattice.Periodic)
	if err != nil {
		t.Fatal(err)
	}
	c, err := model.Default(lat, validation.CriticalTemperature)
	if err != nil {
		t.Fatal(err)
	}
	c.Potential, c.Hidden, c.FlowSteps, c.Blocks = model.PotentialDense, 4, 2, 0
	c.Quadratic, c.QuadraticBasis, c.QuadraticScale = false, "", 0
	for _, e := range []Evaluation{
		{Samples: 100000, Seed: 1, Batch: 4096},
		{Samples: 2, MCMC: 100000, Seed: 1, Batch: 4096},
	} {
		m, err := c.Build()
		if err != nil {
			t.Fatal(err)
		}
		var ms runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&ms)
		before, allocated := int64(ms.HeapAlloc), int64(ms.TotalAlloc)
		var live int64
		e.Progress = func(done, total int) {
			runtime.GC()
			runtime.ReadMemStats(&ms)
			live = max(live, int64(ms.HeapAlloc)-before)
		}
		old := debug.SetGCPercent(-1)
		_, _, err = Evaluate(m, e)
		runtime.ReadMemStats(&ms)
		debug.SetGCPercent(old)
		if err != nil {
			t.Fatal(err)
		}
		allocated = int64(ms.TotalAlloc) - allocated
		est := e.MemoryEstimate(&c, nil)
		t.Logf("%d samples, %d proposals: estimate %s, live heap %s, allocated %s",
			e.Samples, e.MCMC, bytesize.Format(est), bytesize.Format(live), bytesize.Format(allocated))
		// The estimate bounds the peak from above; all bytes allocated
		// (less than it by a few per cent in some runs, as the garbage
		// collector's timing varies) bound it from above within a factor.
		if est < live || est > 2*allocated {
			t.Errorf("%d samples, %d proposals: estimate %d bytes, not between the live heap %d and twice the bytes allocated %d",
				e.Samples, e.MCMC, est, live, allocated)
		}
	}
}

// TestEvaluationMemoryEstimateOverflow checks that --samples, --mcmc and
// --eval-batch near the largest int saturate the estimate.
func TestEvaluationMemoryEstimateOverflow(t *testing.T) {
	lat, err := lattice.NewHypercubic(2, 16, lattice.Periodic)
	if err != nil {
		t.Fatal(err)
	}
	c, err := model.Default(lat, validation.CriticalTemperature)
	if err != nil {
		t.Fatal(err)
	}
	tr := model.DefaultTraining(&c)
	for _, e := range []Evaluation{
		{Samples: 1e12, Batch: 512},
		{Samples: 10000, MCMC: 1e12, Batch: 512},
		{Samples: math.MaxInt, Batch: math.MaxInt},
		{Samples: 10000, Batch: 512, LogDetCheck: math.MaxInt},
	} {
		if est := e.MemoryEstimate(&c, &tr); est < 1<<40 {
			t.Errorf("%+v: estimate %s, want more than 1 TiB", e, bytesize.Format(est))
		}
	}
	d := DefaultEvaluation()
	if est := d.MemoryEstimate(&c, &tr); est > 2<<30 {
		t.Errorf("the default run's estimate %s is more than 2 GiB", bytesize.Format(est))
	}
}
