package mnist

import (
	"context"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/isingflow/isingflow/flow"
	"github.com/isingflow/isingflow/internal/runio"
	"github.com/isingflow/isingflow/train"
)

// trainConfigTo creates the run of cfg in dir (or resumes it) and trains
// it to batches.
func trainConfigTo(t *testing.T, dir string, cfg Config, data *Dataset, batches int, opt TrainOptions) (*Run, *train.Result) {
	t.Helper()
	var r *Run
	var err error
	if _, serr := os.Stat(filepath.Join(dir, LastCheckpoint)); serr == nil {
		r, err = Resume(dir, data, "")
	} else {
		r, err = Create(dir, cfg, data, "data")
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

// The flow of K blocks is a flow.Piecewise of K Shallow potentials drawn
// one after the other from the stream StreamInit: K = 1 (Blocks 0 or 1) is
// exactly the one Shallow potential of the paper's flow, and the first of
// K blocks has its parameters. Blocks must divide Steps.
func TestNewFlowBlocks(t *testing.T) {
	base := tinyConfig()
	base.Rows, base.Cols, base.Steps = 5, 5, 6
	// The potentials of the stream, as NewFlow drew the one potential
	// before blocks existed.
	rng := rand.New(rand.NewPCG(base.Seed, StreamInit))
	var draws [][]float64
	for range 3 {
		draws = append(draws, slices.Clone(flow.NewShallow(25, base.Hidden, base.Activation, true, rng).Params()))
	}
	for _, tc := range []struct {
		blocks int
		want   int // blocks of the flow; 0: a ConfigError naming blocks
	}{
		{0, 1}, {1, 1}, {2, 2}, {3, 3}, {6, 6},
		{4, 0}, {5, 0}, {7, 0}, {-1, 0},
	} {
		c := base
		c.Blocks = tc.blocks
		f, err := c.NewFlow()
		if tc.want == 0 {
			var ce *ConfigError
			if !errors.As(err, &ce) || ce.Field != "blocks" {
				t.Errorf("blocks %d with %d steps: %v, want a ConfigError naming blocks", tc.blocks, c.Steps, err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("blocks %d: %v", tc.blocks, err)
		}
		if c.NumBlocks() != tc.want {
			t.Errorf("blocks %d: NumBlocks %d", tc.blocks, c.NumBlocks())
		}
		if tc.want == 1 {
			if _, ok := f.Potential.(*flow.Shallow); !ok || !slices.Equal(f.Potential.Params(), draws[0]) {
				t.Errorf("blocks %d: potential %T, not the paper's Shallow potential of the stream", tc.blocks, f.Potential)
			}
			continue
		}
		p, ok := f.Potential.(*flow.Piecewise)
		if !ok || p.Intervals() != tc.want {
			t.Fatalf("blocks %d: potential %T, want a Piecewise of %d blocks", tc.blocks, f.Potential, tc.want)
		}
		for k, b := range p.Blocks {
			if _, ok := b.(*flow.Shallow); !ok {
				t.Errorf("blocks %d: block %d is a %T", tc.blocks, k, b)
			}
			if k < len(draws) && !slices.Equal(p.BlockParams(k), draws[k]) {
				t.Errorf("blocks %d: block %d has not the stream's potential %d", tc.blocks, k, k)
			}
		}
		if len(p.Params()) != tc.want*len(draws[0]) {
			t.Errorf("blocks %d: %d parameters, want %d", tc.blocks, len(p.Params()), tc.want*len(draws[0]))
		}
	}
}

// A run of K = 1 given as Blocks 1 is the run of today's configuration:
// stored without a "blocks" key, with the same trajectory. A run of K = 3
// blocks stores its blocks' parameters as named arrays and resumes bit for
// bit.
func TestRunBlocks(t *testing.T) {
	data := fakeDataset(60, 10)
	root := t.TempDir()
	ref, _ := trainTo(t, filepath.Join(root, "ref"), data, 8, TrainOptions{})
	one := tinyConfig()
	one.Blocks = 1
	got, _ := trainConfigTo(t, filepath.Join(root, "one"), one, data, 8, TrainOptions{})
	if d := sameRun(ref, got); d != "" {
		t.Errorf("Blocks 1: %s", d)
	}
	js, err := os.ReadFile(filepath.Join(root, "one", ConfigFile))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(js), "blocks") || got.Config.Blocks != 0 {
		t.Errorf("Blocks 1 is stored as %d:\n%s", got.Config.Blocks, js)
	}

	three := tinyConfig()
	three.Blocks = 3 // one RK4 step each
	whole, _ := trainConfigTo(t, filepath.Join(root, "three"), three, data, 8, TrainOptions{})
	if d := sameRun(ref, whole); d == "" {
		t.Error("three blocks trained as one")
	}
	dir := filepath.Join(root, "three-resumed")
	trainConfigTo(t, dir, three, data, 4, TrainOptions{})
	resumed, _ := trainConfigTo(t, dir, three, data, 8, TrainOptions{})
	if d := sameRun(whole, resumed); d != "" {
		t.Errorf("three blocks resumed: %s", d)
	}
	if resumed.Config.NumBlocks() != 3 {
		t.Errorf("resumed with %d blocks", resumed.Config.NumBlocks())
	}
	arrays, err := runio.ReadCheckpoint(filepath.Join(dir, LastCheckpoint), new(map[string]any))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"params/block0/shallow/A", "params/block2/shallow/w"} {
		if _, ok := arrays[name]; !ok {
			t.Errorf("the checkpoint has no array %s", name)
		}
	}
}

// DefaultRunDir names the blocks and the decay only when they differ from
// the paper's settings.
func TestDefaultRunDirBlocksAndDecay(t *testing.T) {
	for _, tc := range []struct {
		blocks int
		final  float64
		want   string
	}{
		{0, 0, "mnist_H1024_S100_eps0.1_B100_lr0.001_seed1"},
		{1, 0, "mnist_H1024_S100_eps0.1_B100_lr0.001_seed1"},
		{10, 0, "mnist_H1024_S100_K10_eps0.1_B100_lr0.001_seed1"},
		{0, 0.02, "mnist_H1024_S100_eps0.1_B100_lr0.001_final0.02_seed1"},
		{4, 1, "mnist_H1024_S100_K4_eps0.1_B100_lr0.001_final1_seed1"},
	} {
		c := PaperConfig()
		c.Blocks, c.FinalLR = tc.blocks, tc.final
		if got := DefaultRunDir(&c); got != filepath.Join("runs", tc.want) {
			t.Errorf("blocks %d, final lr %v: %s, want runs/%s", tc.blocks, tc.final, got, tc.want)
		}
	}
}
