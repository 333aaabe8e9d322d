package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/isingflow/isingflow/internal/cli"
	"github.com/isingflow/isingflow/internal/runio"
	"github.com/isingflow/isingflow/mnist"
	"github.com/isingflow/isingflow/optim"
	"github.com/isingflow/isingflow/train"
)

// Bad values of --blocks, --final-lr, --time-limit and
// --fit-to-time-limit are usage errors: exit status 2, one line on stderr
// naming the flag, nothing on stdout, no run directory.
func TestBudgetFlagErrors(t *testing.T) {
	t.Setenv(cli.MemoryLimitEnv, "64GiB")
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	if err := writeFakeMNIST(data, 40, 10, 4, 4, 1); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "run")
	for _, tc := range []struct {
		args []string
		msg  string
	}{
		{[]string{"--blocks", "0"}, "--blocks 0: want at least 1"},
		{[]string{"--blocks", "-2"}, "--blocks -2: want at least 1"},
		{[]string{"--blocks", "3", "--steps", "100"}, "--blocks 3: must divide steps 100"},
		{[]string{"--blocks", "3"}, "--blocks 3: must divide steps 40"}, // the default steps
		{[]string{"--blocks", "two"}, `invalid argument "two" for "--blocks"`},
		{[]string{"--final-lr", "2"}, "--final-lr 2: want a fraction of lr in [0, 1]"},
		{[]string{"--final-lr", "-0.5"}, "--final-lr -0.5: want a fraction"},
		{[]string{"--final-lr", "NaN"}, "--final-lr NaN: want a fraction"},
		{[]string{"--time-limit", "-1s"}, "--time-limit -1s: want non-negative"},
		{[]string{"--time-limit", "2"}, `invalid argument "2" for "--time-limit"`},
		{[]string{"--fit-to-time-limit"}, "--fit-to-time-limit: needs a --time-limit"},
	} {
		args := append([]string{"train", "--data", data, "--validation-size", "10", "--out", out}, tc.args...)
		var stdout, stderr strings.Builder
		if code := run(args, &stdout, &stderr); code != exitUsage {
			t.Errorf("%q: exit status %d, want %d (stderr %q)", tc.args, code, exitUsage, stderr.String())
			continue
		}
		if msg := stderr.String(); strings.Count(msg, "\n") != 1 || !strings.Contains(msg, tc.msg) {
			t.Errorf("%q: stderr %q, want one line containing %q", tc.args, msg, tc.msg)
		}
		if stdout.Len() != 0 {
			t.Errorf("%q: stdout %q", tc.args, stdout.String())
		}
		if _, err := os.Stat(out); err == nil {
			t.Fatalf("%q: the run directory was created", tc.args)
		}
	}
}

// A time limit fits the batches to it unless --fit-to-time-limit=false:
// the checkpoint holds the plan (here all the batches asked for, which fit
// in an hour many times over), and the logged rate decays over it, from
// the rate of the preset.
func TestFitToTimeLimitPlan(t *testing.T) {
	t.Setenv(cli.MemoryLimitEnv, "64GiB")
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	if err := writeFakeMNIST(data, 40, 10, 4, 4, 1); err != nil {
		t.Fatal(err)
	}
	const batches = 5
	for _, tc := range []struct {
		name    string
		flags   []string
		lr      float64
		planned int
	}{
		{"default", nil, 2e-3, batches},
		{"paper", []string{"--preset", "paper", "--fit-to-time-limit"}, 1e-3, batches},
		{"no fit", []string{"--fit-to-time-limit=false"}, 2e-3, 0},
	} {
		out := filepath.Join(dir, tc.name)
		args := append([]string{"train", "--data", data, "--hidden", "3", "--steps", "2", "--blocks", "1", "--batch", "10", "--validation-size", "10",
			"--eval-images", "5", "--max-batches", "5", "--final-lr", "0.05", "--time-limit", "1h", "--out", out}, tc.flags...)
		var stdout, stderr strings.Builder
		if code := run(args, &stdout, &stderr); code != exitOK {
			t.Fatalf("%s: exit status %d: %s", tc.name, code, stderr.String())
		}
		var meta struct {
			Planned     int `json:"planned_steps"`
			PlannedFrom int `json:"planned_from_steps"`
		}
		if _, err := runio.ReadCheckpoint(filepath.Join(out, mnist.LastCheckpoint), &meta); err != nil {
			t.Fatal(err)
		}
		if meta.Planned != tc.planned || meta.PlannedFrom != tc.planned {
			t.Errorf("%s: the checkpoint holds a plan of %d steps from %d, want %d from %d",
				tc.name, meta.Planned, meta.PlannedFrom, tc.planned, tc.planned)
		}
		recs, err := mnist.ReadLog(out)
		if err != nil {
			t.Fatal(err)
		}
		sc := optim.Schedule{Total: batches, Final: 0.05}
		var n int
		for _, rec := range recs {
			if b, ok := rec.(*mnist.BatchRecord); ok {
				if want := sc.Rate(tc.lr, n); b.LR != want {
					t.Errorf("%s: batch %d at rate %v, want %v", tc.name, b.Batch, b.LR, want)
				}
				n++
			}
		}
		if n != batches {
			t.Errorf("%s: %d batch records, want %d", tc.name, n, batches)
		}
	}
}

// The progress on stderr says when the plan is fitted to the time limit
// and when the check after 5 % of it re-plans, and says nothing of a plan
// at a rejected batch, which moves the batch count but not the plan.
func TestProgressNotesPlans(t *testing.T) {
	r := tinyRun(t)
	const total = 15
	var stderr strings.Builder
	p := newProgress(r, total, &stderr)
	r.Trainer.Planned, r.Trainer.PlannedFrom = 9, total // the fit
	steps := []struct {
		rec  mnist.Record
		plan int // the trainer's plan after the record
		note string
	}{
		{&mnist.BatchRecord{Batch: 1}, 9, "  9 batches planned to fit the time limit (of 15); the learning rate decays over them\n"},
		{&mnist.RejectedRecord{Batch: 2}, 9, "  batch 2 rejected"},
		{&mnist.BatchRecord{Batch: 3}, 6, ""},
		{&mnist.BatchRecord{Batch: 4}, 6, "  6 batches re-planned to the pace of the batches so far (9 were planned); the learning rate decays over them\n"},
		{&mnist.BatchRecord{Batch: 5}, 6, ""},
	}
	for _, st := range steps {
		stderr.Reset()
		if err := p.record(st.rec); err != nil {
			t.Fatal(err)
		}
		if got := stderr.String(); !strings.HasPrefix(got, st.note) || (st.note == "" && strings.Contains(got, "planned")) {
			t.Errorf("record %+v: stderr %q, want %q", st.rec, got, st.note)
		}
		r.Trainer.Planned = st.plan
	}
	if p.total != 6 {
		t.Errorf("the progress counts to %d, want the re-planned 6", p.total)
	}
}

// The summary names the batch of the last validation: for a run stopped
// between validations, the one before the stop, not the stop's batch.
func TestSummaryValidationBatch(t *testing.T) {
	r := tinyRun(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	res, err := r.Train(ctx, mnist.TrainOptions{Batches: 3, Progress: func(rec mnist.Record) error {
		if b, ok := rec.(*mnist.BatchRecord); ok && b.Batch == 2 {
			cancel()
		}
		return nil
	}})
	if err != nil || res.Status != train.StatusInterrupted || r.State().Batch != 2 {
		t.Fatalf("%v, %+v at batch %d; want an interruption after batch 2", err, res, r.State().Batch)
	}
	var out strings.Builder
	summary(&out, r)
	if !strings.Contains(out.String(), "(5 images, batch 0)") {
		t.Errorf("summary:\n%s\nwant the validation of batch 0", out.String())
	}
}

// tinyRun returns a new run of a tiny model on fake data, closed when the
// test ends.
func tinyRun(t *testing.T) *mnist.Run {
	t.Helper()
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	if err := writeFakeMNIST(data, 40, 10, 4, 4, 1); err != nil {
		t.Fatal(err)
	}
	ds, err := mnist.LoadSplit(data, 10)
	if err != nil {
		t.Fatal(err)
	}
	cfg := mnist.BudgetConfig()
	cfg.Hidden, cfg.Steps, cfg.Blocks, cfg.Batch, cfg.ValidationSize, cfg.EvalImages = 3, 2, 0, 10, 10, 5
	r, err := mnist.Create(filepath.Join(dir, "run"), cfg, ds, data)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}
