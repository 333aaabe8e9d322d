package scan_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/isingflow/isingflow/lattice"
	"github.com/isingflow/isingflow/model"
	"github.com/isingflow/isingflow/scan"
)

// Train the default (multiscale) model of the 8×8 torus, made tiny, with
// a size ladder: first on the 4×4 torus for a quarter of the iterations,
// then on 8×8 from that flow, and read where the run at L = 8 started.
func ExampleLadder() {
	tmp, err := os.MkdirTemp("", "ladder")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(tmp)
	lat, err := lattice.NewHypercubic(2, 8, lattice.Periodic)
	if err != nil {
		log.Fatal(err)
	}
	cfg, err := model.Default(lat, 2.5)
	if err != nil {
		log.Fatal(err)
	}
	cfg.Channels, cfg.FlowSteps, cfg.Blocks = 1, 2, 1 // tiny: milliseconds a step
	training := model.DefaultTraining(&cfg)
	training.Iterations, training.Batch = 8, 8
	dir := filepath.Join(tmp, "run")
	res, err := scan.Ladder(context.Background(), model.RunConfig{Model: cfg, Training: training},
		scan.WarmSettings(training, -1, nil), 1,
		scan.Options{Dir: dir, Evaluation: scan.Evaluation{Samples: 100, Seed: 2}})
	if err != nil {
		log.Fatal(err)
	}
	rung, err := scan.ReadResult(filepath.Join(scan.LadderDir(dir), "L4"))
	if err != nil {
		log.Fatal(err)
	}
	rel := func(p string) string { r, _ := filepath.Rel(tmp, p); return r }
	fmt.Printf("L = %d: %d steps\n", rung.Config.L, rung.Steps)
	fmt.Printf("L = %d: %d steps from the flow of %s\n", res.Config.L, res.Steps, rel(res.InitFrom))
	// Output:
	// L = 4: 2 steps
	// L = 8: 8 steps from the flow of run.ladder/L4
}
