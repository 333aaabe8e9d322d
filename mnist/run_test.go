package mnist

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/isingflow/isingflow/internal/runio"
	"github.com/isingflow/isingflow/train"
)

// fakeDataset returns a data set of random 5×5 images: nTrain for
// training, nVal for validation, 5 for testing.
func fakeDataset(nTrain, nVal int) *Dataset {
	all := fakeImages(nTrain+nVal+5, 5, 5, 3)
	set := func(lo, hi int) Set { return Set{Images: all.Slice(lo, hi), Labels: make([]uint8, hi-lo)} }
	return &Dataset{Train: set(0, nTrain), Validation: set(nTrain, nTrain+nVal), Test: set(nTrain+nVal, all.N)}
}

// tinyConfig is a flow small enough to train in milliseconds: 6 batches of
// 10 per epoch on fakeDataset(60, 10).
func tinyConfig() Config {
	c := PaperConfig()
	c.Hidden, c.Steps, c.StepSize, c.Batch, c.LearningRate = 4, 3, 0.2, 10, 0.01
	c.ValidationSize, c.EvalImages = 10, 10
	return c
}

// trainTo creates (or resumes) the run in dir and trains it to batches.
func trainTo(t *testing.T, dir string, data *Dataset, batches int, opt TrainOptions) (*Run, *train.Result) {
	t.Helper()
	var r *Run
	var err error
	if _, serr := os.Stat(filepath.Join(dir, LastCheckpoint)); serr == nil {
		r, err = Resume(dir, data, "")
	} else {
		r, err = Create(dir, tinyConfig(), data, "data")
	}
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	opt.Batches = batches
	res, err := r.Train(context.Background(), opt)
	if err != nil {
		t.Fatal(err)
	}
	return r, res
}

// sameRun reports how two runs' whole training states differ: parameters,
// Adam's moments and step, the loop's step and learning-rate scale, the
// objective's random streams and the State without its timings.
func sameRun(a, b *Run) string {
	ta, tb := a.Trainer, b.Trainer
	if ta.Step != tb.Step || ta.Optimizer.Step != tb.Optimizer.Step || ta.LearningRateScale != tb.LearningRateScale {
		return "steps or learning-rate scale differ"
	}
	for name, pair := range map[string][2][]float64{
		"params": {a.Flow.Potential.Params(), b.Flow.Potential.Params()},
		"first":  {ta.Optimizer.First, tb.Optimizer.First},
		"second": {ta.Optimizer.Second, tb.Optimizer.Second},
	} {
		if !slices.EqualFunc(pair[0], pair[1], func(x, y float64) bool { return math.Float64bits(x) == math.Float64bits(y) }) {
			return name + " differ"
		}
	}
	sa, sb := a.State(), b.State()
	sa.Elapsed, sa.TrainSeconds, sb.Elapsed, sb.TrainSeconds = 0, 0, 0, 0
	ja, _ := json.Marshal(sa)
	jb, _ := json.Marshal(sb)
	if string(ja) != string(jb) {
		return "states differ: " + string(ja) + " vs " + string(jb)
	}
	ra, _ := a.obj.pcg.MarshalBinary()
	rb, _ := b.obj.pcg.MarshalBinary()
	if string(ra) != string(rb) || string(a.obj.epochRNG) != string(b.obj.epochRNG) {
		return "random states differ"
	}
	return ""
}

// logLines returns a run's log without the timings.
func logLines(t *testing.T, dir string) []string {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, LogFile))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var rec map[string]any
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			t.Fatal(err)
		}
		delete(rec, "seconds")
		delete(rec, "elapsed")
		js, _ := json.Marshal(rec)
		lines = append(lines, string(js))
	}
	return lines
}

// A run interrupted (by its context, mid-epoch) and resumed, a run stopped
// at the end of an epoch and resumed, and a run whose last checkpoint is
// older than its log (a killed process) all continue bit for bit: the same
// parameters, optimiser state, random streams, State and log as a run
// trained in one go, across epoch boundaries, where the order of the
// training images is drawn anew.
func TestResumeBitForBit(t *testing.T) {
	data := fakeDataset(60, 10)
	const total = 15 // 2½ epochs of 6 batches
	root := t.TempDir()
	ref, res := trainTo(t, filepath.Join(root, "ref"), data, total, TrainOptions{CheckpointEvery: 4})
	if res.Status != train.StatusCompleted || ref.State().Batch != total || ref.Trainer.Step != total {
		t.Fatalf("reference run: status %v, batch %d, step %d", res.Status, ref.State().Batch, ref.Trainer.Step)
	}
	want := logLines(t, filepath.Join(root, "ref"))

	t.Run("interrupted", func(t *testing.T) {
		for _, every := range []int{0, 4} {
			dir := filepath.Join(t.TempDir(), "run")
			r, err := Create(dir, tinyConfig(), data, "data")
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			res, err := r.Train(ctx, TrainOptions{Batches: total, CheckpointEvery: every, Progress: func(rec Record) error {
				if b, ok := rec.(*BatchRecord); ok && b.Batch == 9 {
					cancel() // as a signal would: the loop stops before the next step
				}
				return nil
			}})
			cancel()
			r.Close()
			if err != nil || res.Status != train.StatusInterrupted || r.State().Batch != 9 {
				t.Fatalf("every %d: interrupted run: %v, status %v at batch %d", every, err, res.Status, r.State().Batch)
			}
			got, _ := trainTo(t, dir, data, total, TrainOptions{CheckpointEvery: every})
			if d := sameRun(ref, got); d != "" {
				t.Errorf("every %d: %s", every, d)
			}
			if got := logLines(t, dir); !slices.Equal(got, want) {
				t.Errorf("every %d: log\n%s\nwant\n%s", every, strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
		}
	})
	t.Run("epoch end", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "run")
		trainTo(t, dir, data, 12, TrainOptions{})
		got, _ := trainTo(t, dir, data, total, TrainOptions{})
		if d := sameRun(ref, got); d != "" {
			t.Error(d)
		}
		if got := logLines(t, dir); !slices.Equal(got, want) {
			t.Errorf("log\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	})
	t.Run("killed", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "run")
		last := filepath.Join(dir, LastCheckpoint)
		trainTo(t, dir, data, 6, TrainOptions{})
		saved, err := os.ReadFile(last)
		if err != nil {
			t.Fatal(err)
		}
		trainTo(t, dir, data, 9, TrainOptions{})
		if err := os.WriteFile(last, saved, 0o644); err != nil { // back to batch 6, the log at 9
			t.Fatal(err)
		}
		got, _ := trainTo(t, dir, data, total, TrainOptions{})
		if d := sameRun(ref, got); d != "" {
			t.Error(d)
		}
		if got := logLines(t, dir); !slices.Equal(got, want) {
			t.Errorf("log\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	})

	// The checkpoints hold the run: best.npz has the lowest validation NLL.
	best, err := LoadCheckpoint(filepath.Join(root, "ref", BestCheckpoint))
	if err != nil {
		t.Fatal(err)
	}
	st := ref.State()
	if st.BestNLL == nil || best.State().Batch != st.BestBatch || *best.State().ValNLL != *st.BestNLL {
		t.Errorf("best.npz at batch %d with validation NLL %v; the run's best %v at %d",
			best.State().Batch, best.State().ValNLL, st.BestNLL, st.BestBatch)
	}
	if best.Data != nil || best.State().Data != must(filepath.Abs("data")) {
		t.Errorf("a loaded checkpoint has data %v, directory %q", best.Data, best.State().Data)
	}
}

// ReadLog returns the records of a run, and drops a last line cut short.
func TestReadLog(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run")
	trainTo(t, dir, fakeDataset(60, 10), 8, TrainOptions{})
	path := filepath.Join(dir, LogFile)
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(`{"kind":"batch","ba`)
	f.Close()
	recs, err := ReadLog(dir)
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, rec := range recs {
		switch rec := rec.(type) {
		case *BatchRecord:
			kinds = append(kinds, "b")
		case *EpochRecord:
			kinds = append(kinds, fmt.Sprintf("e%g", rec.Epoch))
		}
	}
	if got := strings.Join(kinds, " "); got != "e0 b b b b b b e1 b b e1.3333333333333333" {
		t.Errorf("records %s", got)
	}
	f, _ = os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString("\n{}\n")
	f.Close()
	if _, err := ReadLog(dir); err == nil {
		t.Error("a bad line inside the log is no error")
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// A step whose loss is not finite is rejected: the update before it is
// undone (parameters, Adam's moments and step, the loop's step), the
// learning rate halved, the batch used up, and training goes on.
func TestRejectedStepRolledBack(t *testing.T) {
	data := fakeDataset(60, 10)
	cfg := tinyConfig()
	cfg.LearningRate = 1e200 // every update makes the next loss NaN
	r, err := Create(filepath.Join(t.TempDir(), "run"), cfg, data, "data")
	if err != nil {
		t.Fatal(err)
	}
	initial := slices.Clone(r.Flow.Potential.Params())
	var kinds []string
	var checked bool
	res, err := r.Train(context.Background(), TrainOptions{Batches: 4, Progress: func(rec Record) error {
		switch rec := rec.(type) {
		case *BatchRecord:
			kinds = append(kinds, "batch")
		case *RejectedRecord:
			kinds = append(kinds, "rejected")
			if rec.Batch != 2 || checked {
				return nil
			}
			checked = true
			tr := r.Trainer
			if !rec.Undone || rec.LRScale != 0.5 || tr.LearningRateScale != 0.5 || tr.Step != 0 || tr.Optimizer.Step != 0 {
				t.Errorf("after the rejected batch 2: %+v, step %d, Adam step %d, scale %v", rec, tr.Step, tr.Optimizer.Step, tr.LearningRateScale)
			}
			if !slices.Equal(r.Flow.Potential.Params(), initial) {
				t.Error("the update of batch 1 was not undone")
			}
			for _, v := range tr.Optimizer.First {
				if v != 0 {
					t.Fatal("Adam's first moment was not rolled back")
				}
			}
			if !strings.HasPrefix(rec.Reason, "loss ") {
				t.Errorf("reason %q", rec.Reason)
			}
		case *EpochRecord:
			kinds = append(kinds, "epoch")
		}
		return nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"epoch", "batch", "rejected", "batch", "rejected", "epoch"}
	if !checked || !slices.Equal(kinds, want) {
		t.Fatalf("records %v, want %v", kinds, want)
	}
	st := r.State()
	if res.Status != train.StatusCompleted || st.Batch != 4 || st.Rejected != 2 || r.Trainer.LearningRateScale != 0.25 {
		t.Errorf("status %v, batch %d, %d rejected, scale %v", res.Status, st.Batch, st.Rejected, r.Trainer.LearningRateScale)
	}
	for _, v := range r.Flow.Potential.Params() {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			t.Fatal("non-finite parameters after a rejected step")
		}
	}
}

// Checkpoints of mnistflow before package train are refused with a clear
// error; so are directories that are not runs, and a new run never
// overwrites one.
func TestRunDirErrors(t *testing.T) {
	dir := t.TempDir()
	old := filepath.Join(dir, "old")
	if err := os.Mkdir(old, 0o755); err != nil {
		t.Fatal(err)
	}
	oldMeta := map[string]any{"config": map[string]any{"rows": 5, "cols": 5, "hidden": 4}, "batch": 3, "lr_scale": 1, "rng": []byte{1}}
	if err := runio.WriteCheckpoint(filepath.Join(old, LastCheckpoint), oldMeta, map[string]runio.Array{"params": runio.Vector([]float64{1})}); err != nil {
		t.Fatal(err)
	}
	_, err := LoadCheckpoint(filepath.Join(old, LastCheckpoint))
	if !errors.Is(err, ErrOldCheckpoint) || !strings.Contains(err.Error(), "written by an older mnistflow; retrain") {
		t.Errorf("old checkpoint: %v", err)
	}
	if _, err := Resume(old, fakeDataset(60, 10), ""); !errors.Is(err, ErrOldCheckpoint) {
		t.Errorf("resuming an old run: %v", err)
	}

	if _, err := FindCheckpoint(dir, false); !errors.Is(err, ErrNotRun) {
		t.Errorf("FindCheckpoint of a directory without a run: %v", err)
	}
	if _, err := FindCheckpoint(filepath.Join(dir, "missing"), true); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("FindCheckpoint of a missing directory: %v", err)
	}
	if p, err := FindCheckpoint(old, true); err != nil || p != filepath.Join(old, LastCheckpoint) {
		t.Errorf("FindCheckpoint of a run without best.npz: %q, %v", p, err)
	}

	data := fakeDataset(60, 10)
	runDir := filepath.Join(dir, "run")
	trainTo(t, runDir, data, 1, TrainOptions{})
	if _, err := Create(runDir, tinyConfig(), data, "data"); !errors.Is(err, ErrRunExists) {
		t.Errorf("Create over a run: %v", err)
	}
	cfg := tinyConfig()
	cfg.Batch = 61
	var ce *ConfigError
	if _, err := Create(filepath.Join(dir, "big"), cfg, data, "data"); !errors.As(err, &ce) || ce.Field != "batch" {
		t.Errorf("a batch larger than the data: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "big")); err == nil {
		t.Error("a refused run created its directory")
	}
	other := fakeDataset(50, 10)
	if _, err := Resume(runDir, other, ""); err == nil {
		t.Error("resuming mid-epoch on data of another size")
	}
	r, err := LoadCheckpoint(filepath.Join(runDir, LastCheckpoint))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Train(context.Background(), TrainOptions{Batches: 2}); err == nil {
		t.Error("training a run without data")
	}
}

func TestConfigValidate(t *testing.T) {
	c := PaperConfig()
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		set   func(*Config)
		field string
	}{
		{func(c *Config) { c.Hidden = 0 }, "hidden"},
		{func(c *Config) { c.StepSize = math.NaN() }, "step_size"},
		{func(c *Config) { c.LearningRate = math.Inf(1) }, "lr"},
		{func(c *Config) { c.WeightDecay = -1 }, "weight_decay"},
		{func(c *Config) { c.EvalImages = -1 }, "eval_images"},
		{func(c *Config) { c.Precision = 7 }, "precision"},
		{func(c *Config) { c.Blocks = -1 }, "blocks"},
		{func(c *Config) { c.Blocks = 3 }, "blocks"}, // of 100 steps
		{func(c *Config) { c.FinalLR = 2 }, "final_lr"},
		{func(c *Config) { c.FinalLR = -0.1 }, "final_lr"},
		{func(c *Config) { c.FinalLR = math.NaN() }, "final_lr"},
		{func(c *Config) { c.FinalLR = math.Inf(1) }, "final_lr"},
	} {
		c := PaperConfig()
		tc.set(&c)
		var ce *ConfigError
		if err := c.Validate(); !errors.As(err, &ce) || ce.Field != tc.field {
			t.Errorf("%s: %v", tc.field, err)
		}
	}
	c.Rows, c.Cols = 2, 3
	f, err := c.NewFlow()
	if err != nil {
		t.Fatal(err)
	}
	if f.Dim() != 6 || len(f.Potential.Params()) != 1024*6+2*1024 || f.Duration() != 10 {
		t.Errorf("flow of dimension %d, %d parameters, T = %v", f.Dim(), len(f.Potential.Params()), f.Duration())
	}
}

// TestRunDirectoryRecovery checks that a run killed before its first
// checkpoint (config.json only, with a partial log) resumes from the
// start, and that a second process on a locked run directory is refused.
func TestRunDirectoryRecovery(t *testing.T) {
	data := fakeDataset(60, 10)
	dir := filepath.Join(t.TempDir(), "run")
	r, err := Create(dir, tinyConfig(), data, "data")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Resume(dir, data, ""); !errors.Is(err, runio.ErrLocked) {
		t.Errorf("a second process on the run: %v", err)
	}
	r.Close() // killed: config.json, no checkpoint
	if err := os.WriteFile(filepath.Join(dir, LogFile), []byte(`{"kind":"epoch","batch":0}`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r, err = Resume(dir, data, "")
	if err != nil {
		t.Fatalf("Resume of a run without a checkpoint: %v", err)
	}
	if r.State().Batch != 0 {
		t.Errorf("restarted at batch %d", r.State().Batch)
	}
	if _, err := r.Train(context.Background(), TrainOptions{Batches: 2}); err != nil {
		t.Fatal(err)
	}
	r.Close()
	recs, err := ReadLog(dir)
	if err != nil || len(recs) == 0 {
		t.Fatalf("log after the restart: %d records, %v", len(recs), err)
	}
	if e, ok := recs[0].(*EpochRecord); !ok || e.Batch != 0 || e.ValImages == 0 {
		t.Errorf("the restarted log begins with %#v, want the initial validation", recs[0])
	}
}

// Validations every ValidateEvery batches come besides those at the epochs
// and at the last batch, and leave the training as it is: the parameters,
// Adam's moments and the validations at the epochs are those of a run
// validated at the epochs only.
func TestValidateEvery(t *testing.T) {
	data := fakeDataset(60, 10)
	const total = 15 // 2½ epochs of 6 batches
	root := t.TempDir()
	ref, _ := trainTo(t, filepath.Join(root, "ref"), data, total, TrainOptions{})
	got, _ := trainTo(t, filepath.Join(root, "every4"), data, total, TrainOptions{ValidateEvery: 4})
	for name, pair := range map[string][2][]float64{
		"params": {ref.Flow.Potential.Params(), got.Flow.Potential.Params()},
		"first":  {ref.Trainer.Optimizer.First, got.Trainer.Optimizer.First},
		"second": {ref.Trainer.Optimizer.Second, got.Trainer.Optimizer.Second},
	} {
		if !slices.Equal(pair[0], pair[1]) {
			t.Errorf("%s differ", name)
		}
	}
	validations := func(dir string) map[int]*EpochRecord {
		recs, err := ReadLog(dir)
		if err != nil {
			t.Fatal(err)
		}
		m := map[int]*EpochRecord{}
		for _, rec := range recs {
			if e, ok := rec.(*EpochRecord); ok {
				m[e.Batch] = e
			}
		}
		return m
	}
	want, every := validations(filepath.Join(root, "ref")), validations(filepath.Join(root, "every4"))
	tests := []struct {
		batch   int
		partial bool
		inRef   bool
	}{
		{0, false, true}, {4, true, false}, {6, false, true}, {8, true, false},
		{12, false, true}, {15, true, true},
	}
	if len(every) != len(tests) {
		t.Errorf("validations at %d batches, want %d", len(every), len(tests))
	}
	for _, tt := range tests {
		e := every[tt.batch]
		switch {
		case e == nil:
			t.Errorf("no validation at batch %d", tt.batch)
			continue
		case e.Partial != tt.partial || e.ValNLL == nil:
			t.Errorf("batch %d: partial %v, validation NLL %v; want partial %v and a value", tt.batch, e.Partial, e.ValNLL, tt.partial)
			continue
		}
		if w := want[tt.batch]; tt.inRef && (w == nil || *w.ValNLL != *e.ValNLL) {
			t.Errorf("batch %d: validation NLL %v, the run validated at the epochs only %v", tt.batch, *e.ValNLL, w)
		}
	}
	if _, err := got.Train(context.Background(), TrainOptions{Batches: total + 1, ValidateEvery: -1}); err == nil {
		t.Error("ValidateEvery -1: no error")
	}
}
