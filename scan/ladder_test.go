package scan

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/isingflow/isingflow/lattice"
	"github.com/isingflow/isingflow/model"
	"github.com/isingflow/isingflow/vmc"
)

func TestLadderSizes(t *testing.T) {
	for _, tc := range []struct {
		L, rungs int
		want     []int // nil: an error
	}{
		{16, 0, []int{}},
		{16, 1, []int{8}},
		{16, 2, []int{4, 8}},
		{64, 3, []int{8, 16, 32}},
		{12, 1, []int{6}},
		{10, 1, []int{5}},
		{8, 1, []int{4}},
		{8, 2, nil},  // L = 2 is below LadderMinSize
		{6, 1, nil},  // L = 3
		{18, 2, nil}, // 9 is odd
		{16, -1, nil},
	} {
		got, err := LadderSizes(tc.L, tc.rungs)
		switch {
		case tc.want == nil && err == nil:
			t.Errorf("LadderSizes(%d, %d) = %v, want an error", tc.L, tc.rungs, got)
		case tc.want != nil && (err != nil || !slices.Equal(got, tc.want)):
			t.Errorf("LadderSizes(%d, %d) = %v, %v; want %v", tc.L, tc.rungs, got, err, tc.want)
		}
	}
}

// tinyLadderConfig is a multiscale model of L = 8 whose steps take
// milliseconds.
func tinyLadderConfig(t *testing.T) model.RunConfig {
	t.Helper()
	lat, err := lattice.NewHypercubic(2, 8, lattice.Periodic)
	if err != nil {
		t.Fatal(err)
	}
	c, err := model.Default(lat, 2.5)
	if err != nil {
		t.Fatal(err)
	}
	c.Channels, c.FlowSteps, c.Blocks = 1, 2, 1
	tr := model.DefaultTraining(&c)
	tr.Iterations, tr.Batch = 8, 8
	return model.RunConfig{Model: c, Training: tr}
}

// TestLadder checks a ladder of one rung, L = 4 then 8, by iterations: the
// rung trains a quarter of the iterations with the first run's settings
// and is evaluated on 1000 samples, the run at L starts from its flow with
// the warm-start settings; a second start on the same directory is
// refused, and a resume after losing the run at L and the rung's result —
// a kill between the rung's training and its result — gives the same
// flow bit for bit, as does a resume of the finished run.
func TestLadder(t *testing.T) {
	rc := tinyLadderConfig(t)
	warm := WarmSettings(rc.Training, -1, nil)
	dir := filepath.Join(t.TempDir(), "run")
	opt := Options{Dir: dir, Evaluation: Evaluation{Samples: 50, Seed: 2}}
	res, err := Ladder(context.Background(), rc, warm, 1, opt)
	if err != nil {
		t.Fatal(err)
	}
	rung := filepath.Join(LadderDir(dir), "L4")
	rr, err := ReadResult(rung)
	if err != nil {
		t.Fatal(err)
	}
	if rr.Steps != 2 || rr.Estimates.Samples != 1000 || rr.InitFrom != "" {
		t.Errorf("the rung at L = 4: %d steps, %d samples, init_from %q; want 2, 1000 and none", rr.Steps, rr.Estimates.Samples, rr.InitFrom)
	}
	rungRun, err := model.Load(rung)
	if err != nil {
		t.Fatal(err)
	}
	if c := rungRun.Config; c.Model.L != 4 || c.Training.AnnealFrom != rc.Training.AnnealFrom {
		t.Errorf("the rung's configuration %+v: want L = 4 and the first run's training", c)
	}
	if res.Steps != 8 || res.InitFrom != rung || res.Estimates.Samples != 50 {
		t.Errorf("the run at L = 8: %d steps, init_from %q, %d samples; want 8, %s and 50", res.Steps, res.InitFrom, res.Estimates.Samples, rung)
	}
	final, err := model.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if final.Config.Training != warm {
		t.Errorf("the run at L = 8 trained with %+v, want the warm start's %+v", final.Config.Training, warm)
	}

	var bad *ConfigError
	if _, err := Ladder(context.Background(), rc, warm, 1, opt); !errors.As(err, &bad) {
		t.Errorf("a second ladder on %s: %v, want a ConfigError", dir, err)
	}

	// A kill after the rung's training, before its result.json, and
	// before the run at L: the rung resumes and the rest follows as
	// before.
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(rung, model.ResultFile)); err != nil {
		t.Fatal(err)
	}
	resumed := opt
	resumed.Resume = true
	again, err := Ladder(context.Background(), rc, warm, 1, resumed)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(again.Params, res.Params) {
		t.Error("the resumed ladder's flow differs from the first one's")
	}
	// Resuming the finished run, twice, continues the run at L with its
	// own settings and keeps the flow it started from.
	for range 2 {
		again, err = Ladder(context.Background(), rc, warm, 1, resumed)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(again.Params, res.Params) || again.InitFrom != rung {
			t.Errorf("resuming the finished ladder changed its flow, or its init_from to %q", again.InitFrom)
		}
	}

	// A signal during the rung: the ladder stops with ErrIncomplete, and a
	// resume continues the rung rather than keeping its interrupted
	// result, to the same flow.
	cut := filepath.Join(t.TempDir(), "cut")
	ctx, cancel := context.WithCancel(context.Background())
	interrupted := opt
	interrupted.Dir = cut
	interrupted.Record = func(vmc.Record) error { cancel(); return nil }
	if _, err := Ladder(ctx, rc, warm, 1, interrupted); !errors.Is(err, ErrIncomplete) {
		t.Fatalf("a ladder cut in its rung: %v, want ErrIncomplete", err)
	}
	cancel()
	if exists(cut) {
		t.Error("a ladder cut in its rung made the run at L")
	}
	resumed.Dir = cut
	again, err = Ladder(context.Background(), rc, warm, 1, resumed)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(again.Params, res.Params) {
		t.Error("the ladder resumed after a signal in its rung differs from the uncut one")
	}
}

// TestLadderBudget checks a ladder by time: the rung gets a quarter of the
// time limit and the run at L what remains, each fitted to its share.
func TestLadderBudget(t *testing.T) {
	if testing.Short() {
		t.Skip("trains for 4 s")
	}
	rc := tinyLadderConfig(t)
	rc.Training.Iterations = 1 << 30
	warm := WarmSettings(rc.Training, -1, nil)
	dir := filepath.Join(t.TempDir(), "run")
	const budget = 4 * time.Second
	opt := Options{Dir: dir, Duration: budget, Evaluation: Evaluation{Samples: 50, Seed: 2}}
	start := time.Now()
	res, err := Ladder(context.Background(), rc, warm, 1, opt)
	if err != nil {
		t.Fatal(err)
	}
	rr, err := ReadResult(filepath.Join(LadderDir(dir), "L4"))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("the rung: %d steps in %.2f s; the run at L: %d steps in %.2f s; %.2f s in all",
		rr.Steps, rr.Seconds, res.Steps, res.Seconds, time.Since(start).Seconds())
	if rr.Seconds > 0.25*budget.Seconds()+0.5 || rr.Steps < 2 {
		t.Errorf("the rung trained %d steps for %.2f s of a quarter of %v", rr.Steps, rr.Seconds, budget)
	}
	if rr.Seconds+res.Seconds > budget.Seconds()+0.5 || res.Steps < 2 {
		t.Errorf("the ladder trained %.2f s (%d steps at L) within %v", rr.Seconds+res.Seconds, res.Steps, budget)
	}
}

// TestLadderRefused checks the ladders that cannot run: a potential or a
// quadratic part whose parameters depend on L, a lattice that cannot be
// halved, a time limit all taken by the rungs, and a resume of nothing.
func TestLadderRefused(t *testing.T) {
	rc := tinyLadderConfig(t)
	warm := WarmSettings(rc.Training, -1, nil)
	dense := rc
	dense.Model.Potential, dense.Model.Hidden = model.PotentialDense, 4
	kernel := rc
	kernel.Model.QuadraticBasis, kernel.Model.QuadraticScale = "", 0
	tmp := t.TempDir()
	for _, tc := range []struct {
		name   string
		rc     model.RunConfig
		rungs  int
		resume bool
	}{
		{"dense", dense, 1, false},
		{"kernel basis", kernel, 1, false},
		{"L = 8, two rungs", rc, 2, false},
		{"resume of nothing", rc, 1, true},
	} {
		dir := filepath.Join(tmp, tc.name)
		_, err := Ladder(context.Background(), tc.rc, warm, tc.rungs, Options{Dir: dir, Resume: tc.resume, Evaluation: Evaluation{Samples: 50, Seed: 2}})
		var bad *ConfigError
		if !errors.As(err, &bad) {
			t.Errorf("%s: %v, want a ConfigError", tc.name, err)
		}
		if exists(dir) || exists(LadderDir(dir)) {
			t.Errorf("%s: a directory was left behind", tc.name)
		}
	}
	big := rc
	big.Model.L = 64
	if err := CheckLadder(&big.Model, 3, time.Hour); err != nil {
		t.Errorf("three rungs of a quarter: %v", err)
	}
	if err := CheckLadder(&big.Model, 4, time.Hour); err == nil {
		t.Error("four rungs of a quarter of the time limit accepted")
	}
	if err := CheckLadder(&big.Model, 4, 0); err != nil {
		t.Errorf("four rungs without a time limit: %v", err)
	}
}

// TestDefaultLadder checks the default run's choice: one halving for the
// multiscale model at L ≥ 16 on a torus, none below, from another run's
// flow, or where the ladder cannot run.
func TestDefaultLadder(t *testing.T) {
	base := tinyLadderConfig(t).Model
	for _, tc := range []struct {
		name     string
		edit     func(c *model.Config)
		initFrom string
		want     int
	}{
		{"L = 16", func(c *model.Config) { c.L = 16 }, "", 1},
		{"L = 32", func(c *model.Config) { c.L = 32 }, "", 1},
		{"L = 8", func(c *model.Config) { c.L = 8 }, "", 0},
		{"L = 18", func(c *model.Config) { c.L = 18 }, "", 1},
		{"--init-from", func(c *model.Config) { c.L = 16 }, "runs/x", 0},
		{"dense", func(c *model.Config) { c.L, c.Potential = 16, model.PotentialDense }, "", 0},
		{"kernel basis", func(c *model.Config) { c.L, c.QuadraticBasis = 16, "" }, "", 0},
	} {
		c := base
		tc.edit(&c)
		if got := DefaultLadder(&c, tc.initFrom); got != tc.want {
			t.Errorf("%s: DefaultLadder = %d, want %d", tc.name, got, tc.want)
		}
	}
}
