package mnist

import (
	"bufio"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"

	"github.com/isingflow/isingflow/flow"
	"github.com/isingflow/isingflow/optim"
	"github.com/isingflow/isingflow/train"
)

// fixture is a run written by mnistflow before blocks, the learning-rate
// decay and the time budget existed: tinyConfig on fakeDataset(60, 10),
// trained to batch 3 (config.json, log.jsonl, last.npz, best.npz), and in
// resumed.jsonl.want the log of that code after a resume to batch 8.
const fixture = "testdata/format2"

// readRecords reads a log as JSON objects without their timings.
func readRecords(t *testing.T, path string) []map[string]any {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var recs []map[string]any
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var rec map[string]any
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			t.Fatal(err)
		}
		delete(rec, "seconds")
		delete(rec, "elapsed")
		recs = append(recs, rec)
	}
	return recs
}

// sameRecords reports the first difference of two logs: their keys and
// other values equal, their numbers to a relative 1e-9 (they are equal bit
// for bit on the machine that wrote the fixture; another architecture's
// fused multiply-adds round differently).
func sameRecords(got, want []map[string]any) (int, bool) {
	if len(got) != len(want) {
		return min(len(got), len(want)), false
	}
	for i := range got {
		if len(got[i]) != len(want[i]) {
			return i, false
		}
		for k, w := range want[i] {
			g, ok := got[i][k]
			wf, isNum := w.(float64)
			gf, _ := g.(float64)
			switch {
			case !ok:
				return i, false
			case isNum && !(math.Abs(gf-wf) <= 1e-9*math.Abs(wf)):
				return i, false
			case !isNum && !reflect.DeepEqual(g, w):
				return i, false
			}
		}
	}
	return 0, true
}

// A checkpoint written before blocks and the decay existed loads as a run
// of one potential at a constant rate, and resumes to the trajectory that
// code continued on; a new run of the same configuration follows it too.
func TestCheckpointBeforeBlocksAndDecay(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run")
	if err := os.CopyFS(dir, os.DirFS(fixture)); err != nil {
		t.Fatal(err)
	}
	os.Remove(filepath.Join(dir, "resumed.jsonl.want"))
	path := filepath.Join(dir, LastCheckpoint)
	var raw struct {
		Config map[string]any `json:"mnist"`
	}
	if err := train.ReadCheckpointConfig(path, &raw); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"blocks", "final_lr"} {
		if _, ok := raw.Config[key]; ok || raw.Config["hidden"] == nil {
			t.Fatalf("the fixture's configuration %v has %q: not a checkpoint from before it", raw.Config, key)
		}
	}
	old, err := LoadCheckpoint(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := old.Flow.Potential.(*flow.Shallow); !ok || old.Config.NumBlocks() != 1 || old.Config.FinalLR != 0 {
		t.Errorf("the fixture loads with a %T potential, %d blocks, final lr %v", old.Flow.Potential, old.Config.NumBlocks(), old.Config.FinalLR)
	}
	if sc := old.Trainer.Schedule(); sc != (optim.Schedule{}) || old.State().Batch != 3 {
		t.Errorf("the fixture loads at batch %d with the schedule %+v", old.State().Batch, sc)
	}

	want := readRecords(t, filepath.Join(fixture, "resumed.jsonl.want"))
	data := fakeDataset(60, 10)
	trainTo(t, dir, data, 8, TrainOptions{})
	if i, ok := sameRecords(readRecords(t, filepath.Join(dir, LogFile)), want); !ok {
		t.Errorf("resumed from the fixture, the log differs from record %d on", i+1)
	}
	// In one go, without the validation where the fixture's process
	// stopped.
	want = slices.DeleteFunc(want, func(rec map[string]any) bool { return rec["partial"] == true && rec["batch"] == 3.0 })
	fresh := filepath.Join(t.TempDir(), "fresh")
	trainTo(t, fresh, data, 8, TrainOptions{})
	if i, ok := sameRecords(readRecords(t, filepath.Join(fresh, LogFile)), want); !ok {
		t.Errorf("a new run of the fixture's configuration differs from record %d on", i+1)
	}
}
