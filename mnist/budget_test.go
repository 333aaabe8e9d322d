package mnist

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/isingflow/isingflow/optim"
	"github.com/isingflow/isingflow/train"
)

// tickingObjective is the run's objective on a clock that advances by tick
// at every evaluation: the loop's time limit and the fit of its plan see
// steps of exactly tick, whatever the machine does.
type tickingObjective struct {
	*objective
	now  *time.Time
	tick time.Duration
}

func (o tickingObjective) Evaluate(grad []float64, step int) (float64, error) {
	*o.now = o.now.Add(o.tick)
	return o.objective.Evaluate(grad, step)
}

// onTheClock makes every evaluation of the run take a minute on the
// trainer's clock.
func onTheClock(r *Run) {
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	r.Trainer.Objective = tickingObjective{objective: r.obj, now: &now, tick: time.Minute}
	r.Trainer.Now = func() time.Time { return now }
}

// batchRates returns the learning rates of a run's batch records, in
// order.
func batchRates(t *testing.T, dir string) []float64 {
	t.Helper()
	recs, err := ReadLog(dir)
	if err != nil {
		t.Fatal(err)
	}
	var lr []float64
	for _, rec := range recs {
		if b, ok := rec.(*BatchRecord); ok {
			lr = append(lr, b.LR)
		}
	}
	return lr
}

// The learning rate of every batch in the log follows optim.Schedule's
// cosine from lr to FinalLR·lr over the run's batches, in one go or
// resumed; with FinalLR = 0 it is constant, as before the decay existed.
func TestLearningRateDecay(t *testing.T) {
	data := fakeDataset(60, 10)
	const total = 10
	for _, tc := range []struct {
		final float64
		want  optim.Schedule
	}{
		{0, optim.Schedule{}},
		{0.1, optim.Schedule{Total: total, Final: 0.1}},
		{1, optim.Schedule{Total: total, Final: 1}},
	} {
		cfg := tinyConfig()
		cfg.FinalLR = tc.final
		if got := cfg.Schedule(total); got != tc.want {
			t.Errorf("final lr %v: schedule %+v, want %+v", tc.final, got, tc.want)
		}
		root := t.TempDir()
		whole, _ := trainConfigTo(t, filepath.Join(root, "whole"), cfg, data, total, TrainOptions{})
		if got := whole.Trainer.Schedule(); got != tc.want {
			t.Errorf("final lr %v: the trainer's schedule %+v, want %+v", tc.final, got, tc.want)
		}
		// Interrupted after batch 4 (a signal) and resumed: the schedule
		// follows the run's batches, not those of each process.
		dir := filepath.Join(root, "resumed")
		r, err := Create(dir, cfg, data, "data")
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		res, err := r.Train(ctx, TrainOptions{Batches: total, Progress: func(rec Record) error {
			if b, ok := rec.(*BatchRecord); ok && b.Batch == 4 {
				cancel()
			}
			return nil
		}})
		cancel()
		r.Close()
		if err != nil || res.Status != train.StatusInterrupted {
			t.Fatalf("final lr %v: interrupted run: %v, %v", tc.final, err, res.Status)
		}
		resumed, _ := trainConfigTo(t, dir, cfg, data, total, TrainOptions{})
		if d := sameRun(whole, resumed); d != "" {
			t.Errorf("final lr %v, resumed: %s", tc.final, d)
		}
		for _, d := range []string{"whole", "resumed"} {
			lr := batchRates(t, filepath.Join(root, d))
			if len(lr) != total {
				t.Fatalf("final lr %v, %s: %d batch records", tc.final, d, len(lr))
			}
			for i, v := range lr {
				want := tc.want.Rate(cfg.LearningRate, i)
				if tc.final == 0 {
					want = cfg.LearningRate
				}
				if v != want {
					t.Errorf("final lr %v, %s: batch %d at rate %v, want %v", tc.final, d, i+1, v, want)
				}
			}
			if tc.final == 0.1 && !(lr[0] == cfg.LearningRate && lr[total-1] < 0.2*cfg.LearningRate) {
				t.Errorf("%s: rates %v do not decay from %v towards %v", d, lr, cfg.LearningRate, 0.1*cfg.LearningRate)
			}
		}
	}
}

// A run that reaches its time limit stops with train.StatusTimeLimit and
// its checkpoint written, and resumes bit for bit: its parameters, state
// and log are those of a run trained in one go.
func TestTimeLimit(t *testing.T) {
	data := fakeDataset(60, 10)
	const total = 15
	root := t.TempDir()
	ref, _ := trainTo(t, filepath.Join(root, "ref"), data, total, TrainOptions{})
	want := logLines(t, filepath.Join(root, "ref"))
	for _, every := range []int{0, 4} {
		dir := filepath.Join(t.TempDir(), "run")
		r, err := Create(dir, tinyConfig(), data, "data")
		if err != nil {
			t.Fatal(err)
		}
		onTheClock(r)
		// Steps of a minute: the limit passes during the fifth.
		res, err := r.Train(context.Background(), TrainOptions{Batches: total, CheckpointEvery: every, Duration: 270 * time.Second})
		r.Close()
		if err != nil || res.Status != train.StatusTimeLimit || r.State().Batch != 5 {
			t.Fatalf("every %d: %v, status %v after batch %d, want the time limit after 5", every, err, res.Status, r.State().Batch)
		}
		last, err := LoadCheckpoint(filepath.Join(dir, LastCheckpoint))
		if err != nil {
			t.Fatal(err)
		}
		if d := sameRun(r, last); d != "" {
			t.Errorf("every %d: the checkpoint is not the stopped run: %s", every, d)
		}
		got, res := trainTo(t, dir, data, total, TrainOptions{CheckpointEvery: every})
		if res.Status != train.StatusCompleted {
			t.Errorf("every %d: resumed run %v", every, res.Status)
		}
		if d := sameRun(ref, got); d != "" {
			t.Errorf("every %d: %s", every, d)
		}
		if got := logLines(t, dir); !slices.Equal(got, want) {
			t.Errorf("every %d: log\n%s\nwant\n%s", every, strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	}
}

// With FitToDuration the run plans as many batches as fit in its budget,
// decays its learning rate over them and stops at their end with a
// validation and its checkpoints, which hold the plan: bit for bit the run
// of as many batches without a fit. A resume for the same batches follows
// the plan (here: nothing left to do); one for more batches drops it.
func TestFitToDuration(t *testing.T) {
	data := fakeDataset(60, 10)
	const total = 15
	for _, every := range []int{0, 4} {
		root := t.TempDir()
		cfg := tinyConfig()
		cfg.FinalLR = 0.1
		dir := filepath.Join(root, "fitted")
		r, err := Create(dir, cfg, data, "data")
		if err != nil {
			t.Fatal(err)
		}
		onTheClock(r)
		// Evaluations of a minute in a budget of ten: the probe takes
		// three, and 0.9 of the seven left plan six batches.
		res, err := r.Train(context.Background(), TrainOptions{
			Batches: total, CheckpointEvery: every, Duration: 10 * time.Minute, FitToDuration: true,
		})
		r.Close()
		if err != nil || res.Status != train.StatusCompleted {
			t.Fatalf("every %d: %v, status %v", every, err, res.Status)
		}
		const planned = 6
		tr := r.Trainer
		if res.Fit == nil || res.Fit.Planned != planned || tr.PlannedSteps() != planned || r.PlannedBatches(total) != planned {
			t.Fatalf("every %d: fit %+v, planned steps %d, planned batches %d; want %d", every, res.Fit, tr.PlannedSteps(), r.PlannedBatches(total), planned)
		}
		if sc := tr.Schedule(); sc.Total != planned || sc.Final != cfg.FinalLR {
			t.Errorf("every %d: schedule %+v, want a decay to %v over %d", every, sc, cfg.FinalLR, planned)
		}
		if st := r.State(); st.Batch != planned || st.ValNLL == nil {
			t.Errorf("every %d: stopped at batch %d, validation %v", every, st.Batch, st.ValNLL)
		}
		for i, lr := range batchRates(t, dir) {
			if want := tr.Schedule().Rate(cfg.LearningRate, i); lr != want {
				t.Errorf("every %d: batch %d at rate %v, want %v", every, i+1, lr, want)
			}
		}

		// The probe leaves no trace: the run of the plan's batches.
		plain, _ := trainConfigTo(t, filepath.Join(root, "plain"), cfg, data, planned, TrainOptions{CheckpointEvery: every})
		if d := sameRun(plain, r); d != "" {
			t.Errorf("every %d: the fitted run is not the run of %d batches: %s", every, planned, d)
		}
		if got, want := logLines(t, dir), logLines(t, filepath.Join(root, "plain")); !slices.Equal(got, want) {
			t.Errorf("every %d: log\n%s\nwant\n%s", every, strings.Join(got, "\n"), strings.Join(want, "\n"))
		}

		last, err := LoadCheckpoint(filepath.Join(dir, LastCheckpoint))
		if err != nil {
			t.Fatal(err)
		}
		if last.Trainer.Planned != planned || last.Trainer.PlannedFrom != total {
			t.Errorf("every %d: the checkpoint holds a plan of %d from %d", every, last.Trainer.Planned, last.Trainer.PlannedFrom)
		}
		// Resumed for the same batches, without FitToDuration: the plan is
		// done.
		again, res := trainConfigTo(t, dir, cfg, data, total, TrainOptions{CheckpointEvery: every})
		if res.Status != train.StatusCompleted || again.State().Batch != planned || again.Trainer.PlannedSteps() != planned {
			t.Errorf("every %d: resumed for the same batches: %v at batch %d, plan %d", every, res.Status, again.State().Batch, again.Trainer.PlannedSteps())
		}
		// For more batches: the plan is dropped, and the decay follows them.
		more, _ := trainConfigTo(t, dir, cfg, data, total+1, TrainOptions{CheckpointEvery: every})
		if more.State().Batch != total+1 || more.Trainer.Planned != 0 || more.Trainer.Schedule().Total != total+1 {
			t.Errorf("every %d: resumed for more batches: batch %d, plan %d, schedule %+v", every, more.State().Batch, more.Trainer.Planned, more.Trainer.Schedule())
		}
	}
}
