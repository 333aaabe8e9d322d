package model

import (
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/isingflow/isingflow/internal/runio"
	"github.com/isingflow/isingflow/lattice"
	"github.com/isingflow/isingflow/vmc"
)

func TestTrainingClock(t *testing.T) {
	for _, tc := range []struct {
		name string
		recs []vmc.Record
		want []float64
	}{
		{"one process", []vmc.Record{rec(0, 1), rec(1, 2), rec(2, 3.5)}, []float64{1, 2, 3.5}},
		{"resumed twice", []vmc.Record{rec(0, 1), rec(1, 2), rec(2, 0.5), rec(3, 1.5), rec(4, 0.25)},
			[]float64{1, 2, 2.5, 3.5, 3.75}},
		// A resumed process whose first step took longer than the whole
		// earlier run: only the mark tells.
		{"resumed, marked", []vmc.Record{started(rec(0, 0.01)), rec(1, 0.02), started(rec(2, 0.05)), rec(3, 0.06)},
			[]float64{0.01, 0.02, 0.07, 0.08}},
		{"empty", nil, []float64{}},
	} {
		if got := TrainingClock(tc.recs); !slices.Equal(got, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestLastProcessStart(t *testing.T) {
	for _, tc := range []struct {
		name string
		recs []vmc.Record
		want int
	}{
		{"one process", []vmc.Record{started(rec(0, 1)), rec(1, 2)}, 0},
		{"resumed, marked, slower first step", []vmc.Record{started(rec(0, 0.01)), rec(1, 0.02), started(rec(2, 0.05)), rec(3, 0.06)}, 2},
		{"resumed twice, unmarked (an older log)", []vmc.Record{rec(0, 1), rec(1, 2), rec(2, 0.5), rec(3, 1.5), rec(4, 0.25), rec(5, 1)}, 4},
		{"empty", nil, 0},
	} {
		if got := LastProcessStart(tc.recs); got != tc.want {
			t.Errorf("%s: %d, want %d", tc.name, got, tc.want)
		}
	}
}

func rec(step int, sec float64) vmc.Record { return vmc.Record{Step: step, Seconds: sec} }

// started marks a record as the first of its process.
func started(r vmc.Record) vmc.Record {
	r.ProcessStart = true
	return r
}

func tinyRunConfig(t *testing.T) RunConfig {
	t.Helper()
	lat, err := lattice.NewHypercubic(2, 3, lattice.Periodic)
	if err != nil {
		t.Fatal(err)
	}
	c, err := Default(lat, 2.5)
	if err != nil {
		t.Fatal(err)
	}
	c.Potential, c.Hidden, c.FlowSteps, c.Blocks = PotentialDense, 4, 2, 1
	tr := DefaultTraining(&c)
	tr.Iterations, tr.Batch = 4, 8
	return RunConfig{Model: c, Training: tr}
}

// TestRunDirectoryIsAlwaysRecoverable checks the life of a run directory:
// Create writes a first checkpoint (a run killed before its first periodic
// one resumes from step 0), a second process on a locked directory is
// refused, Resume removes the temporary files a killed write left, a
// directory whose process died between config.json and the first
// checkpoint resumes from the initialisation, and an empty directory left
// by a failed start is taken by Create.
func TestRunDirectoryIsAlwaysRecoverable(t *testing.T) {
	rc := tinyRunConfig(t)
	dir := filepath.Join(t.TempDir(), "run")
	r, err := Create(dir, rc)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, CheckpointFile)); err != nil {
		t.Errorf("no first checkpoint: %v", err)
	}
	if _, err := Resume(dir, rc); !errors.Is(err, runio.ErrLocked) {
		t.Errorf("Resume of a locked directory: %v", err)
	}
	if _, err := Create(dir, rc); err == nil {
		t.Error("Create over an existing run")
	}
	r.Close()

	tmp := filepath.Join(dir, "."+CheckpointFile+".tmp42")
	if err := os.WriteFile(tmp, []byte("half a checkpoint"), 0o644); err != nil {
		t.Fatal(err)
	}
	r, err = Resume(dir, rc)
	if err != nil {
		t.Fatalf("Resume after a kill before the first periodic checkpoint: %v", err)
	}
	if r.Trainer.Step != 0 {
		t.Errorf("resumed at step %d, want 0", r.Trainer.Step)
	}
	if _, err := os.Stat(tmp); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("temporary file left: %v", err)
	}
	if _, err := r.Train(context.Background(), TrainOptions{}); err != nil {
		t.Fatal(err)
	}
	r.Close()

	if err := os.Remove(filepath.Join(dir, CheckpointFile)); err != nil {
		t.Fatal(err)
	}
	r, err = Resume(dir, rc)
	if err != nil || r.Trainer.Step != 0 {
		t.Fatalf("Resume without a checkpoint: %v", err)
	}
	r.Close()

	empty := filepath.Join(t.TempDir(), "empty")
	if err := os.Mkdir(empty, 0o755); err != nil {
		t.Fatal(err)
	}
	r, err = Create(empty, rc)
	if err != nil {
		t.Fatalf("Create in an empty directory: %v", err)
	}
	r.Close()
}

// TestCreateWithInit checks that the parameters CreateWith's init sets
// are those of the first checkpoint, so that a warm-started run killed
// before its first periodic checkpoint resumes from them and not from the
// initialisation, and that an error of init leaves no directory.
func TestCreateWithInit(t *testing.T) {
	rc := tinyRunConfig(t)
	dir := filepath.Join(t.TempDir(), "run")
	var want []float64
	r, err := CreateWith(dir, rc, func(m *Model) error {
		p := m.Flow.Potential.Params()
		for i := range p {
			p[i] = float64(i%7) / 10
		}
		want = slices.Clone(p)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	r.Close()
	r, err = Resume(dir, rc)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if got := r.Model.Flow.Potential.Params(); r.Trainer.Step != 0 || !slices.Equal(got, want) {
		t.Errorf("resumed at step %d without the parameters init set", r.Trainer.Step)
	}

	failed := filepath.Join(t.TempDir(), "failed")
	if _, err := CreateWith(failed, rc, func(*Model) error { return errors.New("no source") }); err == nil || err.Error() != "no source" {
		t.Errorf("CreateWith: %v, want init's error", err)
	}
	if _, err := os.Stat(failed); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a failed CreateWith left %s: %v", failed, err)
	}
}

// TestReadLogCutOffLine checks that a last line cut off by a kill is
// dropped (the steps before it still count) and that a bad line before
// the last is an error naming the file and line.
func TestReadLogCutOffLine(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, LogFile)
	good := `{"step":0,"T":2.5,"kl_per_site":0.5,"seconds":1,"process_start":true}` + "\n" +
		`{"step":1,"T":2.5,"kl_per_site":null,"seconds":2}` + "\n"
	if err := os.WriteFile(path, []byte(good+`{"step":2,"T":2.`), 0o644); err != nil {
		t.Fatal(err)
	}
	recs, err := ReadLog(dir)
	if err != nil || len(recs) != 2 || recs[1].Step != 1 || recs[1].Seconds != 2 || !math.IsNaN(recs[1].KLPerSite) {
		t.Fatalf("ReadLog = %+v, %v; want the two whole records, the null KL as NaN", recs, err)
	}
	if err := os.WriteFile(path, []byte(`{"step":0,`+"\n"+good), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadLog(dir); err == nil || !strings.Contains(err.Error(), LogFile+":1") {
		t.Errorf("a bad first line: %v", err)
	}
}
