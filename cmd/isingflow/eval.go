package main

import (
	"fmt"
	"io"
	"path/filepath"
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
	m, rc, err := loadRun(*dir)
	if err != nil {
		return err
	}
	ref, err := exactReference(m.cfg.geometry(), m.lat, m.cfg.Delta)
	if err != nil {
		return err
	}
	// The training log's last line gives the steps and the training time
	// (of the last process, for a resumed run).
	steps, seconds := 0, 0.0
	if recs, err := readTrainLog(filepath.Join(*dir, trainLogFile)); err == nil && len(recs) > 0 {
		last := recs[len(recs)-1]
		if s, ok := last["step"].(float64); ok {
			steps = int(s) + 1
		}
		seconds, _ = last["seconds"].(float64)
	}
	fmt.Fprintf(stderr, "isingflow: evaluating %s (%s)\n", *dir, rc.Model.describe())
	res, err := evaluate(m, &ev, stderr)
	if err != nil {
		return err
	}
	report := newReport(m, ref, res, steps, seconds)
	if report.logdetGap, err = logDetCheck(m, &ev, stderr); err != nil {
		return err
	}
	if *asJSON {
		return writeJSON(stdout, report)
	}
	report.print(stdout)
	return nil
}
