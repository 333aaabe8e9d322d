package main

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/isingflow/isingflow/internal/cli"
	"github.com/isingflow/isingflow/model"
	"github.com/isingflow/isingflow/scan"
)

func runEval(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("eval", stderr)
	dir := fs.String("run", "", "run directory written by \"isingflow train\" (required)")
	var ev scan.Evaluation
	registerEvaluation(fs, &ev)
	asJSON := fs.Bool("json", false, "print the results as one JSON object")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *dir == "" {
		return usagef("--run DIR is required")
	}
	if err := validateEvaluation(&ev); err != nil {
		return err
	}
	// Refuse a run too large for the machine before loading (building) it.
	if rc, err := model.ReadConfig(*dir); err == nil && rc.Model.Validate() == nil {
		if err := cli.CheckMemory("evaluating the run", ev.MemoryEstimate(&rc.Model, nil)); err != nil {
			return err
		}
	}
	run, err := loadRun(*dir)
	if err != nil {
		return err
	}
	m := run.Model
	// The training log's last line gives the steps and the training time
	// of the last process, whose first record is marked.
	steps, firstStep, seconds := 0, 0, 0.0
	if recs, err := model.ReadLog(*dir); err == nil && len(recs) > 0 {
		last := recs[len(recs)-1]
		steps, seconds = last.Step+1, last.Seconds
		if i := model.LastProcessStart(recs); i > 0 {
			firstStep = recs[i].Step
		}
	}
	fmt.Fprintf(stderr, "isingflow: evaluating %s (%s)\n", *dir, m.Config.Describe())
	start := time.Now()
	ev.Progress = evaluationProgress(stderr, ev, &start)
	est, gap, err := scan.Evaluate(m, ev)
	if err != nil {
		return err
	}
	res, err := scan.NewResult(m, run.Config.Training, est, ev.Seed)
	if err != nil {
		return err
	}
	res.Steps, res.FirstStep, res.Seconds, res.LogDetGap = steps, firstStep, seconds, gap
	res.PlannedSteps = run.Trainer.PlannedSteps() // the plan fitted to the time limit, if any
	res.Provenance.CommandLine = os.Args
	if *asJSON {
		return cli.WriteJSON(stdout, res)
	}
	printResult(stdout, res)
	return nil
}

// loadRun loads a run directory; anything wrong with it is a usage error.
func loadRun(dir string) (*model.Run, error) {
	r, err := model.Load(dir)
	if err != nil {
		return nil, usagef("%v", err)
	}
	return r, nil
}
