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
	// of the last process, whose first record is marked (processStarts).
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
// the training log started (see processStarts), or 0.
func lastProcessStart(recs []map[string]any) int {
	for i := len(recs) - 1; i > 0; i-- {
		if processStarts(recs, i) {
			step, _ := recs[i]["step"].(float64)
			return int(step)
		}
	}
	return 0
}

// processStarts reports whether recs[i] is the first record of a process
// (each process counts its "seconds" from its own start): marked so by
// the trainer (vmc.Record.ProcessStart), or, in a log written before the
// mark existed, where the seconds fall below the record before.
func processStarts(recs []map[string]any, i int) bool {
	if start, _ := recs[i]["process_start"].(bool); start {
		return true
	}
	if i == 0 {
		return false
	}
	cur, ok := recs[i]["seconds"].(float64)
	if !ok {
		return false
	}
	prev, _ := recs[i-1]["seconds"].(float64)
	return cur < prev
}
