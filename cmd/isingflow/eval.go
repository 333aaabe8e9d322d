package main

import (
	"fmt"
	"io"

	"github.com/isingflow/isingflow/model"
)

func runEval(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("eval", stderr)
	dir := fs.String("run", "", "run directory written by \"isingflow train\" (required)")
	var ev evalFlags
	ev.register(fs)
	asJSON := fs.Bool("json", false, "print the results as one JSON object")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *dir == "" {
		return usagef("--run DIR is required")
	}
	if err := ev.validate(); err != nil {
		return err
	}
	run, err := loadRun(*dir)
	if err != nil {
		return err
	}
	m := run.Model
	ref, err := exactReference(geometryOf(&m.Config), m.Lattice, m.Config.Delta)
	if err != nil {
		return err
	}
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
	res, err := evaluate(m, &ev, stderr)
	if err != nil {
		return err
	}
	report := newReport(m, ref, res, firstStep, steps, seconds)
	if report.logdetGap, err = logDetCheck(m, &ev, stderr); err != nil {
		return err
	}
	if *asJSON {
		return writeJSON(stdout, report)
	}
	report.print(stdout)
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
