package mnist_test

import (
	"context"
	"fmt"
	"log"
	"math/rand/v2"
	"os"
	"path/filepath"

	"github.com/isingflow/isingflow/mnist"
)

// Training a flow in a run directory, interrupting it and resuming it. The
// data here are random 6×6 images; mnist.LoadSplit reads the real ones.
func ExampleCreate() {
	rng := rand.New(rand.NewPCG(1, 2))
	im := &mnist.Images{N: 70, Rows: 6, Cols: 6, Pixels: make([]uint8, 70*36)}
	for i := range im.Pixels {
		if rng.IntN(3) == 0 {
			im.Pixels[i] = uint8(rng.IntN(256))
		}
	}
	data := &mnist.Dataset{
		Train:      mnist.Set{Images: im.Slice(0, 60), Labels: make([]uint8, 60)},
		Validation: mnist.Set{Images: im.Slice(60, 70), Labels: make([]uint8, 10)},
	}
	cfg := mnist.PaperConfig()
	cfg.Hidden, cfg.Steps, cfg.Batch = 8, 4, 20
	cfg.ValidationSize, cfg.EvalImages = 10, 10

	dir, err := os.MkdirTemp("", "mnist-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	run := filepath.Join(dir, "run")
	r, err := mnist.Create(run, cfg, data, "")
	if err != nil {
		log.Fatal(err)
	}
	// A context cancelled after batch 4, as a signal would (cmd/mnistflow
	// uses internal/cli.StopContext).
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	res, err := r.Train(ctx, mnist.TrainOptions{Batches: 9, Progress: func(rec mnist.Record) error {
		if b, ok := rec.(*mnist.BatchRecord); ok && b.Batch == 4 {
			cancel()
		}
		return nil
	}})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%v after %d batches (%d per epoch)\n", res.Status, r.State().Batch, r.BatchesPerEpoch())
	r.Close() // the process ends here: its lock on the directory goes

	// Resume from last.npz and finish, validating every 4 batches besides
	// the epochs: bit for bit the run that was never stopped.
	r, err = mnist.Resume(run, data, "")
	if err != nil {
		log.Fatal(err)
	}
	defer r.Close()
	res, err = r.Train(context.Background(), mnist.TrainOptions{Batches: 9, ValidateEvery: 4})
	if err != nil {
		log.Fatal(err)
	}
	st := r.State()
	fmt.Printf("%v after %d batches, %d rejected; best validation at batch %d\n", res.Status, st.Batch, st.Rejected, st.BestBatch)
	for _, name := range []string{mnist.LastCheckpoint, mnist.BestCheckpoint, mnist.ConfigFile, mnist.LogFile} {
		if _, err := os.Stat(filepath.Join(run, name)); err == nil {
			fmt.Println(name)
		}
	}

	// The curves, from the log, as mnistflow compare draws them.
	h, err := mnist.ReadHistory(run, 3)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%d windows of 3 batches; validations at batches", len(h.Train))
	for _, v := range h.Validation {
		fmt.Print(" ", v.Batch)
	}
	fmt.Println()
	// Output:
	// interrupted after 4 batches (3 per epoch)
	// completed after 9 batches, 0 rejected; best validation at batch 9
	// last.npz
	// best.npz
	// config.json
	// log.jsonl
	// 3 windows of 3 batches; validations at batches 0 3 6 8 9
}
