package main

import (
	"errors"
	"strings"

	"github.com/isingflow/isingflow/internal/cli"
	"github.com/isingflow/isingflow/mnist"
)

// Files the commands add to a run directory (package mnist writes the
// checkpoints, config.json and the log).
const (
	sampleFile = "samples.png"
	curveFile  = "curve.png"
)

// findCheckpoint returns the path of a run's checkpoint ("best" or "last"),
// or a usage error if dir is not a run.
func findCheckpoint(dir, which string) (string, error) {
	if dir == "" {
		return "", usagef("--run DIR is required (a directory written by mnistflow train)")
	}
	if which != "best" && which != "last" {
		return "", usagef("--checkpoint %q: want best or last", which)
	}
	path, err := mnist.FindCheckpoint(dir, which == "best")
	switch {
	case errors.Is(err, mnist.ErrNotRun):
		return "", usagef("%s (train one with mnistflow train --out %s)", plain(err), dir)
	case err != nil:
		return "", usagef("%s", plain(err))
	}
	return path, nil
}

// loadCheckpoint reads a run's checkpoint; every problem is a usage error
// naming the file.
func loadCheckpoint(path string) (*mnist.Run, error) {
	r, err := mnist.LoadCheckpoint(path)
	if err != nil {
		return nil, usagef("%s", plain(err))
	}
	return r, nil
}

// plain is an error's message on one line, without package mnist's prefix.
func plain(err error) string {
	return oneLine(strings.TrimPrefix(err.Error(), "mnist: "))
}

// checkRunMemory refuses, before its checkpoint is loaded, a run whose
// configuration (its config.json) needs more memory than the limit with
// an evaluation in batches of batch images; what names the request. A
// configuration that cannot be read is left to loadCheckpoint to report.
func checkRunMemory(dir string, batch int, what string) error {
	c, err := mnist.ReadConfig(dir)
	if err != nil || c.Validate() != nil {
		return nil
	}
	return cli.CheckMemory(what, c.MemoryEstimate(batch))
}
