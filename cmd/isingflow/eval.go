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
	// of the last process; where that process started, its seconds start
	// again from zero (a resumed run).
	steps, firstStep, seconds := 0, 0, 0.0
	if recs, err := readTrainLog(filepath.Join(*dir, trainLogFile)); err == nil && len(recs) > 0 {
		last := recs[len(recs)-1]
		if s, ok := last["step"].(float64); ok {
			steps = int(s) + 1
		}
		seconds, _ = last["seconds"].(float64)
		firstStep = lastProcessStart(recs)
	}
	fmt.Fprintf(stderr, "isingflow: evaluating %s (%s)\n", *dir, rc.Model.describe())
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

// lastProcessStart returns the step at which the last process that wrote
// the training log started: the first record of the log's last stretch of
// increasing seconds (each process counts from its own start), or 0.
func lastProcessStart(recs []map[string]any) int {
	for i := len(recs) - 1; i > 0; i-- {
		cur, _ := recs[i]["seconds"].(float64)
		prev, _ := recs[i-1]["seconds"].(float64)
		if cur < prev {
			step, _ := recs[i]["step"].(float64)
			return int(step)
		}
	}
	return 0
}
