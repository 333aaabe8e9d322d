package train

import (
	"context"
	"encoding/binary"
	"errors"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/isingflow/isingflow/flow"
	"github.com/isingflow/isingflow/internal/runio"
	"github.com/isingflow/isingflow/optim"
)

// quadratic is the loss ½|θ − c|² plus noise from its own stream, with a
// NaN at the steps in nan: once at each unless always is set.
type quadratic struct {
	theta, c []float64
	state    uint64
	nan      map[int]bool
	always   bool
	calls    int
}

func (q *quadratic) Params() []float64 { return q.theta }

func (q *quadratic) Evaluate(grad []float64, step int) (float64, error) {
	q.calls++
	q.state = q.state*6364136223846793005 + 1442695040888963407
	noise := float64(q.state>>11)/(1<<53) - 0.5
	loss := 0.0
	for i := range q.theta {
		d := q.theta[i] - q.c[i]
		loss += 0.5 * d * d
		grad[i] = d + 0.01*noise
	}
	if q.nan[step] {
		if !q.always {
			delete(q.nan, step)
		}
		return math.NaN(), nil
	}
	return loss, nil
}

func (q *quadratic) MarshalState() ([]byte, error) {
	return binary.LittleEndian.AppendUint64(nil, q.state), nil
}

func (q *quadratic) UnmarshalState(b []byte) error {
	if len(b) != 8 {
		return errors.New("bad state")
	}
	q.state = binary.LittleEndian.Uint64(b)
	return nil
}

func newQuadratic() *quadratic {
	return &quadratic{theta: []float64{3, -2, 1}, c: []float64{1, 1, 1}, state: 7}
}

func settings(steps int) Settings {
	return Settings{Steps: steps, LearningRate: 0.1, Schedule: optim.Schedule{Total: steps, Final: 0.1}}
}

func TestRunMinimises(t *testing.T) {
	q := newQuadratic()
	tr, err := New(q, settings(300))
	if err != nil {
		t.Fatal(err)
	}
	var steps []int
	res, err := tr.Run(context.Background(), RecorderFunc(func(s Step) error {
		steps = append(steps, s.Step)
		if s.First != (s.Step == 0) {
			t.Errorf("step %d: First = %v", s.Step, s.First)
		}
		return nil
	}))
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != StatusCompleted || res.Steps != 300 || res.FirstStep != 0 || len(steps) != 300 {
		t.Errorf("result %+v after %d records", res, len(steps))
	}
	for i, v := range q.theta {
		if math.Abs(v-q.c[i]) > 0.05 {
			t.Errorf("θ = %v, want near %v", q.theta, q.c)
			break
		}
	}
}

// TestRejectedStepRollsBack checks the NaN guard: the parameters and the
// moments go back to their state before the previous update, the step
// count with them, and the rate is halved.
func TestRejectedStepRollsBack(t *testing.T) {
	q := newQuadratic()
	q.nan = map[int]bool{3: true}
	tr, err := New(q, settings(10))
	if err != nil {
		t.Fatal(err)
	}
	var before2 []float64
	for tr.Step < 3 {
		if tr.Step == 2 {
			before2 = slices.Clone(q.theta)
		}
		if _, err := tr.TrainStep(); err != nil {
			t.Fatal(err)
		}
	}
	st, err := tr.TrainStep()
	if err != nil || !st.Rejected {
		t.Fatalf("step 3: %+v, %v; want a rejected step", st, err)
	}
	if tr.Step != 2 || !slices.Equal(q.theta, before2) || tr.Optimizer.Step != 2 || tr.LearningRateScale != 0.5 || tr.Rejected != 1 {
		t.Errorf("after the rejection: step %d, Adam step %d, scale %v, rejected %d, θ %v (want %v)",
			tr.Step, tr.Optimizer.Step, tr.LearningRateScale, tr.Rejected, q.theta, before2)
	}
}

// TestRejectionCaps checks that training gives up after MaxRejected
// consecutive rejections, and after MaxRejectedTotal in all when each
// rollback succeeds once and fails again (the consecutive count then never
// reaches its cap).
func TestRejectionCaps(t *testing.T) {
	q := newQuadratic()
	q.nan, q.always = map[int]bool{0: true}, true
	tr, _ := New(q, settings(10))
	_, err := tr.Run(context.Background(), nil)
	if err == nil || !strings.Contains(err.Error(), "10 consecutive") {
		t.Errorf("always NaN: %v", err)
	}

	q = newQuadratic()
	q.nan, q.always = map[int]bool{5: true}, true // step 4 succeeds again after every rollback
	s := settings(10)
	s.MaxRejectedTotal = 7
	tr, _ = New(q, s)
	_, err = tr.Run(context.Background(), nil)
	if err == nil || !strings.Contains(err.Error(), "7 steps in all") {
		t.Errorf("alternating: %v", err)
	}
}

// TestCheckpointResumesBitForBit checks that a run stopped, checkpointed
// and restored into a fresh trainer and objective continues exactly as an
// uninterrupted one, the objective's stream and the NaN guard included.
func TestCheckpointResumesBitForBit(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ck.npz")
	cfg := map[string]int{"n": 3}

	a := newQuadratic()
	a.nan = map[int]bool{4: true}
	ta, _ := New(a, settings(20))
	if _, err := ta.Run(context.Background(), nil); err != nil {
		t.Fatal(err)
	}

	b := newQuadratic()
	b.nan = map[int]bool{4: true}
	s := settings(20)
	s.Steps = 7 // stopped at step 7 of a 20-step schedule
	s.CheckpointEvery, s.CheckpointPath, s.CheckpointConfig = 3, path, cfg
	tb, _ := New(b, s)
	if _, err := tb.Run(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	c := newQuadratic()
	c.theta = []float64{0, 0, 0}
	tc, _ := New(c, settings(20))
	if err := tc.Restore(path, cfg); err != nil {
		t.Fatal(err)
	}
	if tc.Step != 7 || tc.Rejected != 1 {
		t.Errorf("restored step %d, rejected %d; want 7 and 1", tc.Step, tc.Rejected)
	}
	if _, err := tc.Run(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(a.theta, c.theta) || !slices.Equal(ta.Optimizer.Second, tc.Optimizer.Second) || a.state != c.state {
		t.Errorf("resumed run differs: θ %v against %v", c.theta, a.theta)
	}
	if err := tc.Restore(path, map[string]int{"n": 4}); err == nil || !strings.Contains(err.Error(), "another run") {
		t.Errorf("a checkpoint of another configuration: %v", err)
	}
}

// TestRestoreValidatesMetadata checks that a checkpoint whose step, rate
// scale, moments or NaN-guard counts are impossible is refused and leaves
// the trainer unchanged.
func TestRestoreValidatesMetadata(t *testing.T) {
	dir := t.TempDir()
	good := checkpointState{Config: []byte(`{}`), Step: 5, AdamStep: 5, LearningRateScale: 1, State: make([]byte, 8), Params: 3}
	arrays := map[string][]float64{"params": {1, 2, 3}, "adam_first": {0, 0, 0}, "adam_second": {1, 1, 1}}
	type arrs = map[string][]float64
	named := func(s *checkpointState, a arrs) {
		s.Layout = []flow.ParamBlock{{Name: "x", Offset: 0, Shape: []int{1}}, {Name: "y/z", Offset: 1, Shape: []int{2, 1}}}
		a["params/x"], a["params/y/z"] = a["params"][:1], a["params"][1:]
		delete(a, "params")
	}
	for _, tc := range []struct {
		name   string
		edit   func(*checkpointState, arrs)
		reason string
	}{
		{"good", func(*checkpointState, arrs) {}, ""},
		{"good, named", named, ""},
		{"negative step", func(s *checkpointState, _ arrs) { s.Step = -5 }, "step"},
		{"negative Adam step", func(s *checkpointState, _ arrs) { s.AdamStep = -100 }, "Adam step"},
		{"zero rate scale", func(s *checkpointState, _ arrs) { s.LearningRateScale = 0 }, "learning-rate scale"},
		{"gradient ascent", func(s *checkpointState, _ arrs) { s.LearningRateScale = -1 }, "learning-rate scale"},
		{"negative second moment", func(_ *checkpointState, a arrs) { a["adam_second"] = []float64{1, -1, 1} }, "second moment"},
		{"rejections", func(s *checkpointState, _ arrs) { s.Rejected, s.InARow = 1, 3 }, "rejected"},
		{"parameter count", func(s *checkpointState, _ arrs) { s.Params = 4 }, "parameters"},
		{"short moments", func(_ *checkpointState, a arrs) { a["adam_first"] = a["adam_first"][:2] }, `"adam_first" has 2 values`},
		{"no parameters", func(_ *checkpointState, a arrs) { delete(a, "params") }, "no parameters"},
		{"named without layout", func(s *checkpointState, a arrs) { named(s, a); s.Layout = nil }, "without a layout"},
		{"named and flat", func(s *checkpointState, a arrs) { named(s, a); a["params"] = []float64{1, 2, 3} }, "both"},
		{"named, one missing", func(s *checkpointState, a arrs) { named(s, a); delete(a, "params/x") }, "1 named parameter arrays, the layout lists 2"},
		{"named, bad layout", func(s *checkpointState, a arrs) { named(s, a); s.Layout[1].Offset = 2 }, "starts at 2"},
		{"named, wrong shape", func(s *checkpointState, a arrs) { named(s, a); s.Layout[1].Shape = []int{1, 2} }, "has shape [2 1], the layout says [1 2]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := good
			a := arrs{}
			for k, v := range arrays {
				a[k] = slices.Clone(v)
			}
			tc.edit(&st, a)
			path := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "_")+".npz")
			ra := map[string]runio.Array{}
			for k, v := range a {
				ra[k] = runio.Vector(v)
			}
			for _, b := range st.Layout {
				if v, ok := a["params/"+b.Name]; ok && len(v) == 2 {
					ra["params/"+b.Name] = runio.Array{Data: v, Shape: []int{2, 1}}
				}
			}
			if err := runio.WriteCheckpoint(path, st, ra); err != nil {
				t.Fatal(err)
			}
			q := newQuadratic()
			tr, _ := New(q, settings(10))
			err := tr.Restore(path, map[string]any{})
			if tc.reason == "" {
				if err != nil || tr.Step != 5 {
					t.Fatalf("good checkpoint: %v, step %d", err, tr.Step)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.reason) {
				t.Errorf("error %v, want one about %q", err, tc.reason)
			}
			if tr.Step != 0 || !slices.Equal(q.theta, []float64{3, -2, 1}) {
				t.Error("a refused checkpoint changed the trainer")
			}
		})
	}
}

// TestRunStops checks the time limit and a cancelled context: both end the
// run without an error, with a checkpoint, and say why.
func TestRunStops(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ck.npz")
	s := settings(1 << 30)
	s.Duration, s.CheckpointEvery, s.CheckpointPath, s.CheckpointConfig = 20*time.Millisecond, 1<<20, path, "x"
	tr, _ := New(newQuadratic(), s)
	res, err := tr.Run(context.Background(), nil)
	if err != nil || res.Status != StatusTimeLimit || res.Steps == 0 {
		t.Fatalf("time limit: %+v, %v", res, err)
	}
	var meta checkpointState
	if _, err := runio.ReadCheckpoint(path, &meta); err != nil || meta.Step != res.Steps {
		t.Errorf("checkpoint at step %d (%v), want %d", meta.Step, err, res.Steps)
	}
	ctx, cancel := context.WithCancel(context.Background())
	tr.Settings.Duration = 0
	n := 0
	res, err = tr.Run(ctx, RecorderFunc(func(Step) error {
		if n++; n == 5 {
			cancel()
		}
		return nil
	}))
	if err != nil || res.Status != StatusInterrupted || res.Steps != res.FirstStep+5 {
		t.Errorf("cancelled: %+v, %v", res, err)
	}
}

func TestNewRejectsBadSettings(t *testing.T) {
	for _, s := range []Settings{
		{Steps: -1, LearningRate: 1},
		{Steps: 1, LearningRate: 0},
		{Steps: 1, LearningRate: math.Inf(1)},
		{Steps: 1, LearningRate: 1, WeightDecay: -1},
		{Steps: 1, LearningRate: 1, L2: math.NaN()},
		{Steps: 1, LearningRate: 1, CheckpointEvery: 5},
		{Steps: 1, LearningRate: 1, Duration: -time.Second},
	} {
		if _, err := New(newQuadratic(), s); err == nil {
			t.Errorf("%+v accepted", s)
		}
	}
	if _, err := New(nil, settings(1)); err == nil {
		t.Error("nil objective accepted")
	}
}

// laidOut is the quadratic objective with its three parameters named as
// the array "a" of one entry and "b/c" of shape (2, 1).
type laidOut struct{ *quadratic }

func (laidOut) ParamLayout() []flow.ParamBlock {
	return []flow.ParamBlock{{Name: "a", Offset: 0, Shape: []int{1}}, {Name: "b/c", Offset: 1, Shape: []int{2, 1}}}
}

// TestCheckpointNamedParams checks the checkpoint of an objective that
// names its parameters: each array stored under "params/<name>" with its
// shape and no flat "params", the layout in the metadata, Adam's moments
// flat; it restores bit for bit, into an objective without a layout too,
// and a flat checkpoint (an objective without a layout, or one written
// before layouts existed) restores into the named objective.
func TestCheckpointNamedParams(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "named.npz")
	a := laidOut{newQuadratic()}
	ta, _ := New(a, settings(10))
	if _, err := ta.Run(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	if err := ta.Checkpoint(path, "cfg"); err != nil {
		t.Fatal(err)
	}
	var st checkpointState
	arrays, err := runio.ReadCheckpoint(path, &st)
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for k := range arrays {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	if want := []string{"adam_first", "adam_second", "params/a", "params/b/c"}; !slices.Equal(keys, want) {
		t.Errorf("arrays %q, want %q", keys, want)
	}
	if got := arrays["params/b/c"]; !slices.Equal(got.Shape, []int{2, 1}) || !slices.Equal(got.Data, a.theta[1:]) {
		t.Errorf("params/b/c = %v of shape %v, want %v of shape [2 1]", got.Data, got.Shape, a.theta[1:])
	}
	if !equalLayouts(st.Layout, a.ParamLayout()) || st.Params != 3 {
		t.Errorf("metadata layout %v of %d", st.Layout, st.Params)
	}
	if p, l, err := ReadCheckpointParams(path); err != nil || !slices.Equal(p, a.theta) || !equalLayouts(l, a.ParamLayout()) {
		t.Errorf("ReadCheckpointParams = %v, %v, %v; want %v", p, l, err, a.theta)
	}

	// Into a named objective and a plain one.
	for _, obj := range []Objective{laidOut{newQuadratic()}, newQuadratic()} {
		tb, _ := New(obj, settings(10))
		if err := tb.Restore(path, "cfg"); err != nil {
			t.Fatalf("%T: %v", obj, err)
		}
		if !slices.Equal(obj.Params(), a.theta) || !slices.Equal(tb.Optimizer.First, ta.Optimizer.First) || tb.Step != 10 {
			t.Errorf("%T: restored %v, want %v", obj, obj.Params(), a.theta)
		}
	}

	// A flat checkpoint into the named objective.
	flat := filepath.Join(dir, "flat.npz")
	tf, _ := New(newQuadratic(), settings(10))
	if _, err := tf.Run(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	if err := tf.Checkpoint(flat, "cfg"); err != nil {
		t.Fatal(err)
	}
	if p, l, err := ReadCheckpointParams(flat); err != nil || l != nil || !slices.Equal(p, tf.Objective.Params()) {
		t.Errorf("ReadCheckpointParams of a flat checkpoint = %v, %v, %v", p, l, err)
	}
	c := laidOut{newQuadratic()}
	tc, _ := New(c, settings(10))
	if err := tc.Restore(flat, "cfg"); err != nil || !slices.Equal(c.theta, tf.Objective.Params()) {
		t.Errorf("flat checkpoint into a named objective: %v, θ %v", err, c.theta)
	}

	// Another layout of as many parameters is refused.
	other := renamed{newQuadratic()}
	to, _ := New(other, settings(10))
	if err := to.Restore(path, "cfg"); err == nil || !strings.Contains(err.Error(), "laid out as a[1], b/c[2 1], the model's as w[3]") {
		t.Errorf("another layout: %v", err)
	}
}

// renamed is the quadratic objective with its parameters the one array "w".
type renamed struct{ *quadratic }

func (renamed) ParamLayout() []flow.ParamBlock {
	return []flow.ParamBlock{{Name: "w", Offset: 0, Shape: []int{3}}}
}
