package mnist

import (
	"context"
	"math"
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/isingflow/isingflow/flow"
	"github.com/isingflow/isingflow/internal/bytesize"
)

// liveHeap returns the bytes of live heap objects after a collection.
func liveHeap() int64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapAlloc)
}

// TestMemoryEstimate trains a run on a data set of MNIST's size (random
// 28×28 images) for two batches, evaluates 400 test images in batches of
// 200, and checks that Config.MemoryEstimate lies within a factor of two
// of the live heap the run holds, measured by runtime.MemStats: in both
// precisions, with one potential and with four blocks in time.
func TestMemoryEstimate(t *testing.T) {
	for _, tc := range []struct {
		prec   flow.Precision
		blocks int
	}{{flow.Float64, 1}, {flow.Float32, 1}, {flow.Float32, 4}} {
		prec := tc.prec
		c := PaperConfig()
		c.Hidden, c.Steps, c.Batch, c.Precision, c.EvalImages, c.Blocks = 128, 4, 50, prec, 0, tc.blocks
		before := liveHeap()
		all := fakeImages(mnistImages, mnistSide, mnistSide, 1)
		set := func(lo, hi int) Set { return Set{Images: all.Slice(lo, hi), Labels: make([]uint8, hi-lo)} }
		data := &Dataset{Train: set(0, 50000), Validation: set(50000, 60000), Test: set(60000, 70000)}
		r, err := Create(t.TempDir(), c, data, "data")
		if err != nil {
			t.Fatal(err)
		}
		if got, want := c.tapeBytes(mnistSide*mnistSide), r.Flow.TapeBytes(c.Batch); got != want {
			t.Errorf("tape: %d bytes, flow.Flow.TapeBytes %d", got, want)
		}
		if _, err := r.Train(context.Background(), TrainOptions{Batches: 2}); err != nil {
			t.Fatal(err)
		}
		const batch = 200
		test := data.Test.Images.Slice(0, 2*batch)
		nll, logJac := make([]float64, test.N), make([]float64, test.N)
		ev := &Evaluator{Flow: r.Flow, Batch: batch}
		if _, err := ev.Evaluate(nll, logJac, test, rand.New(rand.NewPCG(1, 2))); err != nil {
			t.Fatal(err)
		}
		live := liveHeap() - before
		est := r.Config.MemoryEstimate(batch)
		t.Logf("%v, %d blocks: estimate %s, live heap %s (%.2f)", prec, tc.blocks, bytesize.Format(est), bytesize.Format(live), float64(est)/float64(live))
		if ratio := float64(est) / float64(live); !(ratio >= 0.5 && ratio <= 2) {
			t.Errorf("%v, %d blocks: estimate %d bytes, live heap %d: not within a factor of two", prec, tc.blocks, est, live)
		}
		runtime.KeepAlive(ev)
		r.Close()
	}
}

// TestMemoryEstimateOverflow checks that sizes whose product overflows
// int64 saturate the estimate instead of wrapping around.
func TestMemoryEstimateOverflow(t *testing.T) {
	for _, edit := range []func(c *Config){
		func(c *Config) { c.Hidden = 1e8 },
		func(c *Config) { c.Batch = 1e9 },
		func(c *Config) { c.Steps = 1e9 },
		func(c *Config) { c.Hidden, c.Batch, c.Steps = math.MaxInt, math.MaxInt, math.MaxInt },
		func(c *Config) { c.Rows, c.Cols = math.MaxInt, math.MaxInt },
	} {
		c := PaperConfig()
		edit(&c)
		if est := c.MemoryEstimate(0); est < 1<<40 {
			t.Errorf("%+v: estimate %s, want more than 1 TiB", c, bytesize.Format(est))
		}
	}
	c := PaperConfig()
	if est := c.MemoryEstimate(0); est < 100<<20 || est > 4<<30 {
		t.Errorf("the paper's configuration: estimate %s, want between 100 MiB and 4 GiB", bytesize.Format(est))
	}
}
