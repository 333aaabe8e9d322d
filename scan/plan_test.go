package scan_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/isingflow/isingflow/model"
	"github.com/isingflow/isingflow/scan"
	"github.com/isingflow/isingflow/vmc"
)

// tinyPlan is a plan of L = 4 whose points train in a fraction of a
// second.
func tinyPlan(t *testing.T, sizes []int, temps []float64, seeds []uint64, split string) *scan.Plan {
	t.Helper()
	mc := model.Config{Dim: 2, Delta: 0.1, Potential: model.PotentialDense, Hidden: 4, FlowSteps: 2, Epsilon: 0.1}
	tc := model.DefaultTraining(&mc)
	tc.Iterations, tc.Batch = 6, 16
	p, err := scan.NewPlan(scan.Plan{
		Sizes: sizes, Temperatures: temps, Seeds: seeds, Split: split,
		Model:    mc,
		Training: tc, WarmTraining: scan.WarmSettings(tc, 3, nil),
		Evaluation:      scan.Evaluation{Samples: 100, Seed: 2},
		CheckpointEvery: 2, TimeLimit: 10 * time.Minute,
	})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestPlanTasks checks the tasks of both splits, the largest lattice
// first, and the plan's JSON round trip through its directory.
func TestPlanTasks(t *testing.T) {
	p := tinyPlan(t, []int{4, 6}, []float64{2.5, 3, 2}, []uint64{1, 2}, scan.SplitChain)
	if len(p.Tasks) != 4 || p.Points() != 12 {
		t.Fatalf("%d tasks, %d points", len(p.Tasks), p.Points())
	}
	want := []scan.Task{
		{Index: 0, L: 6, Seed: 1, Temperatures: []float64{2.5, 3, 2}},
		{Index: 1, L: 6, Seed: 2, Temperatures: []float64{2.5, 3, 2}},
		{Index: 2, L: 4, Seed: 1, Temperatures: []float64{2.5, 3, 2}},
		{Index: 3, L: 4, Seed: 2, Temperatures: []float64{2.5, 3, 2}},
	}
	if !reflect.DeepEqual(p.Tasks, want) {
		t.Errorf("tasks %+v, want %+v", p.Tasks, want)
	}
	if d := p.TaskTime(0); d != 30*time.Minute {
		t.Errorf("task time %v", d)
	}
	q := tinyPlan(t, []int{4, 6}, []float64{2.5, 3, 2}, []uint64{1, 2}, scan.SplitPoint)
	if len(q.Tasks) != 12 || q.Tasks[5].L != 6 || q.Tasks[5].Seed != 2 || !slices.Equal(q.Tasks[5].Temperatures, []float64{2}) {
		t.Errorf("point tasks %+v", q.Tasks)
	}

	rc := p.RunConfig(6, 2, 3, true)
	ev := p.EvaluationOf(2, 3) // seed 2 at the second of three temperatures: 2 + 3 + 1
	if rc.Model.L != 6 || rc.Model.T != 3 || rc.Model.InitSeed != 2 || rc.Training.Seed != 2 || rc.Training.Iterations != 3 || ev.Seed != 6 {
		t.Errorf("run config %+v, evaluation %+v", rc, ev)
	}
	if d := p.PointDir("x", 6, 2, 3); d != filepath.Join("x", "L6", "seed2", "T3.000000") {
		t.Errorf("point directory %s", d)
	}

	dir := filepath.Join(t.TempDir(), "plan")
	if err := scan.CreatePlan(dir, p); err != nil {
		t.Fatal(err)
	}
	got, err := scan.ReadPlan(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, p) {
		t.Errorf("read back\n%+v\nwant\n%+v", got, p)
	}
	if err := scan.CreatePlan(dir, p); err == nil {
		t.Error("a second plan in the same directory: no error")
	}
	// A plan whose tasks were edited is refused.
	b, _ := os.ReadFile(filepath.Join(dir, scan.PlanFile))
	b = bytes.Replace(b, []byte(`"seed": 2,`), []byte(`"seed": 7,`), 1)
	if err := os.WriteFile(filepath.Join(dir, scan.PlanFile), b, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := scan.ReadPlan(dir); err == nil || !strings.Contains(err.Error(), "task") {
		t.Errorf("edited tasks: %v", err)
	}
	if _, err := scan.ReadPlan(t.TempDir()); !errors.Is(err, scan.ErrNotPlan) {
		t.Errorf("no plan: %v", err)
	}
}

// TestEvaluationSeeds checks that every point of a plan has an evaluation
// seed of its own, that seed 1 at the first temperature keeps the plan's
// (the run "isingflow train" makes), and that a version 1 plan, read from
// its directory, keeps its one seed per seed of the grid.
func TestEvaluationSeeds(t *testing.T) {
	temps := []float64{2.5, 3, 2, 2.25}
	p := tinyPlan(t, []int{4}, temps, []uint64{1, 2, 3}, scan.SplitChain)
	seen := map[uint64]bool{}
	for _, s := range p.Seeds {
		for _, T := range temps {
			e := p.EvaluationOf(s, T)
			if seen[e.Seed] {
				t.Errorf("seed %d, T = %v: evaluation seed %d again", s, T, e.Seed)
			}
			seen[e.Seed] = true
		}
	}
	if e := p.EvaluationOf(1, temps[0]); e.Seed != p.Evaluation.Seed {
		t.Errorf("seed 1 at the first temperature: evaluation seed %d, want %d", e.Seed, p.Evaluation.Seed)
	}

	dir := filepath.Join(t.TempDir(), "plan")
	if err := scan.CreatePlan(dir, p); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, scan.PlanFile))
	if err != nil {
		t.Fatal(err)
	}
	old := []byte(`"plan_version": 2,`)
	if !bytes.Contains(b, old) {
		t.Fatalf("plan.json has no %s", old)
	}
	b = bytes.Replace(b, old, []byte(`"plan_version": 1,`), 1)
	if err := os.WriteFile(filepath.Join(dir, scan.PlanFile), b, 0o644); err != nil {
		t.Fatal(err)
	}
	v1, err := scan.ReadPlan(dir)
	if err != nil {
		t.Fatalf("a version 1 plan: %v", err)
	}
	for _, T := range temps {
		if e := v1.EvaluationOf(3, T); e.Seed != p.Evaluation.Seed+2 {
			t.Errorf("version 1, seed 3, T = %v: evaluation seed %d, want %d", T, e.Seed, p.Evaluation.Seed+2)
		}
	}
}

// TestPlanErrors checks that a bad grid or setting is refused.
func TestPlanErrors(t *testing.T) {
	good := *tinyPlan(t, []int{4}, []float64{2.5}, []uint64{1}, "")
	for name, edit := range map[string]func(p *scan.Plan){
		"no size":     func(p *scan.Plan) { p.Sizes = nil },
		"size 1":      func(p *scan.Plan) { p.Sizes = []int{1} },
		"same size":   func(p *scan.Plan) { p.Sizes = []int{4, 4} },
		"no T":        func(p *scan.Plan) { p.Temperatures = nil },
		"same T":      func(p *scan.Plan) { p.Temperatures = []float64{2, 2.0000001} },
		"T ≤ 0":       func(p *scan.Plan) { p.Temperatures = []float64{0} },
		"no seed":     func(p *scan.Plan) { p.Seeds = nil },
		"seed 0":      func(p *scan.Plan) { p.Seeds = []uint64{0} },
		"same seed":   func(p *scan.Plan) { p.Seeds = []uint64{3, 3} },
		"split":       func(p *scan.Plan) { p.Split = "size" },
		"checkpoints": func(p *scan.Plan) { p.CheckpointEvery = 0 },
		"time limit":  func(p *scan.Plan) { p.TimeLimit = -time.Second },
		"training":    func(p *scan.Plan) { p.Training.Batch = 1 },
		"evaluation":  func(p *scan.Plan) { p.Evaluation.Samples = 1 },
		"model":       func(p *scan.Plan) { p.Model.Hidden = 0 },
	} {
		p := good
		edit(&p)
		if _, err := scan.NewPlan(p); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestParseSizesAndSeeds(t *testing.T) {
	if got, err := scan.ParseSizes("8, 16,32"); err != nil || !slices.Equal(got, []int{8, 16, 32}) {
		t.Errorf("sizes %v, %v", got, err)
	}
	for _, bad := range []string{"", "8,x", "1", "8,8", "8,,16"} {
		if _, err := scan.ParseSizes(bad); err == nil {
			t.Errorf("sizes %q: no error", bad)
		}
	}
	if got, err := scan.ParseSeeds("3"); err != nil || !slices.Equal(got, []uint64{1, 2, 3}) {
		t.Errorf("seeds 3: %v, %v", got, err)
	}
	if got, err := scan.ParseSeeds("7,2"); err != nil || !slices.Equal(got, []uint64{7, 2}) {
		t.Errorf("seeds 7,2: %v, %v", got, err)
	}
	for _, bad := range []string{"", "0", "-1", "x", "1,1", "1,0", "2,"} {
		if _, err := scan.ParseSeeds(bad); err == nil {
			t.Errorf("seeds %q: no error", bad)
		}
	}
}

func TestTaskIndexFromEnv(t *testing.T) {
	for _, tt := range []struct {
		env      map[string]string
		index    int
		from     string
		ok, fail bool
	}{
		{map[string]string{}, 0, "", false, false},
		{map[string]string{"SLURM_ARRAY_TASK_ID": "4"}, 4, "SLURM_ARRAY_TASK_ID", true, false},
		{map[string]string{"PARALLEL_SEQ": "4"}, 3, "PARALLEL_SEQ", true, false},
		{map[string]string{"SLURM_ARRAY_TASK_ID": "0", "PARALLEL_SEQ": "9"}, 0, "SLURM_ARRAY_TASK_ID", true, false},
		{map[string]string{"PARALLEL_SEQ": "0"}, 0, "PARALLEL_SEQ", true, true},
		{map[string]string{"SLURM_ARRAY_TASK_ID": "x"}, 0, "SLURM_ARRAY_TASK_ID", true, true},
	} {
		i, from, ok, err := scan.TaskIndexFromEnv(func(k string) string { return tt.env[k] })
		if (err != nil) != tt.fail || ok != tt.ok || from != tt.from || (err == nil && i != tt.index) {
			t.Errorf("%v: %d from %q (%v, %v)", tt.env, i, from, ok, err)
		}
	}
	env := map[string]string{"SLURM_ARRAY_JOB_ID": "12", "SLURM_ARRAY_TASK_ID": "3", "SLURMD_NODENAME": "n7"}
	if s := scan.SchedulerFromEnv(func(k string) string { return env[k] }); s != "slurm job 12_3 on n7" {
		t.Errorf("scheduler %q", s)
	}
}

// estimates returns the JSON of the estimates of each point of a task,
// the part of result.json that a resumed run reproduces bit for bit.
func estimates(t *testing.T, dir string, p *scan.Plan, task scan.Task) []string {
	t.Helper()
	var out []string
	for _, T := range task.Temperatures {
		r, err := scan.ReadResult(p.PointDir(dir, task.L, task.Seed, T))
		if err != nil {
			t.Fatal(err)
		}
		b, err := json.Marshal(r.Estimates)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, string(b))
	}
	return out
}

// TestRunTaskResume runs a task that a signal interrupts and another that
// was killed, runs both again, and checks that they complete with the
// results of tasks that ran straight through, and what Collect reports at
// each stage.
func TestRunTaskResume(t *testing.T) {
	p := tinyPlan(t, []int{4}, []float64{2.5, 3}, []uint64{1, 2}, scan.SplitChain)
	straight, dir := t.TempDir(), filepath.Join(t.TempDir(), "plan")
	for _, d := range []string{straight, dir} {
		if err := scan.CreatePlan(d, p); err != nil {
			t.Fatal(err)
		}
	}
	ctx := context.Background()
	evalSeeds := map[uint64]bool{}
	for i := range p.Tasks {
		rep, err := scan.RunTask(ctx, straight, p, i, scan.TaskOptions{})
		if err != nil || !rep.Complete() || rep.Trained != 2 {
			t.Fatalf("task %d: %+v, %v", i, rep, err)
		}
		for k, r := range rep.Results {
			if want := p.EvaluationOf(p.Tasks[i].Seed, p.Tasks[i].Temperatures[k]).Seed; r.EvalSeed != want || evalSeeds[want] {
				t.Errorf("task %d, point %d: evaluation seed %d, want %d, not used before", i, k, r.EvalSeed, want)
			}
			evalSeeds[r.EvalSeed] = true
		}
	}

	// Task 0: a signal during the first temperature's training.
	sig, cancel := context.WithCancel(ctx)
	opt := scan.TaskOptions{Point: scan.Options{Record: func(r vmc.Record) error {
		if r.Step == 2 {
			cancel()
		}
		return nil
	}}}
	rep, err := scan.RunTask(sig, dir, p, 0, opt)
	if !errors.Is(err, scan.ErrIncomplete) || rep.Trained != 1 || rep.Complete() {
		t.Fatalf("interrupted task: %+v, %v", rep, err)
	}
	if r := rep.Results[0]; r.Stop != "interrupted" || r.Steps != 3 || r.Completed() {
		t.Errorf("interrupted point: stop %q after %d steps", r.Stop, r.Steps)
	}
	c, err := scan.Collect(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Points) != 0 || c.Tasks[0].State != scan.StateInterrupted || c.Tasks[1].State != scan.StateNotStarted ||
		!slices.Equal(c.Missing(), []int{0, 1}) || c.Complete() {
		t.Errorf("after the signal: %d points, tasks %+v", len(c.Points), c.Tasks)
	}

	// Task 1: complete, then its second point's result removed and its
	// status left running by a process that no longer exists: a kill
	// between the last checkpoint and result.json.
	if _, err := scan.RunTask(ctx, dir, p, 1, scan.TaskOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(p.PointDir(dir, 4, 2, 3), model.ResultFile)); err != nil {
		t.Fatal(err)
	}
	gone := exec.Command("true")
	if err := gone.Run(); err != nil {
		t.Skip("no true(1) to make a finished process:", err)
	}
	host, _ := os.Hostname()
	st, _ := json.Marshal(scan.TaskStatus{Task: 1, State: scan.StateRunning, Host: host, PID: gone.Process.Pid, Points: 2, Done: 1})
	if err := os.WriteFile(filepath.Join(scan.TaskDir(dir, 1), scan.TaskStatusFile), st, 0o644); err != nil {
		t.Fatal(err)
	}
	if c, err = scan.Collect(dir); err != nil {
		t.Fatal(err)
	}
	if len(c.Points) != 1 || c.Tasks[1].State != scan.StateKilled || !slices.Equal(c.Failed(), []int{1}) {
		t.Errorf("after the kill: %d points, tasks %+v", len(c.Points), c.Tasks)
	}

	// Both run again: each trains what is left, from the checkpoints.
	var resumed []bool
	opt = scan.TaskOptions{Begin: func(i int, T float64, resume bool, from *float64) { resumed = append(resumed, resume) }}
	rep, err = scan.RunTask(ctx, dir, p, 0, opt)
	if err != nil || rep.Trained != 2 || rep.Results[0].FirstStep != 3 || !slices.Equal(resumed, []bool{true, false}) {
		t.Fatalf("task 0 again: %+v (resumed %v), %v", rep, resumed, err)
	}
	resumed = nil
	rep, err = scan.RunTask(ctx, dir, p, 1, opt)
	if err != nil || rep.Skipped != 1 || rep.Trained != 1 || !slices.Equal(resumed, []bool{true}) {
		t.Fatalf("task 1 again: %+v (resumed %v), %v", rep, resumed, err)
	}
	for i, task := range p.Tasks {
		if got, want := estimates(t, dir, p, task), estimates(t, straight, p, task); !slices.Equal(got, want) {
			t.Errorf("task %d resumed: estimates\n%v\nwant (straight through)\n%v", i, got, want)
		}
	}
	// A third run has nothing to do.
	rep, err = scan.RunTask(ctx, dir, p, 0, scan.TaskOptions{})
	if err != nil || rep.Skipped != 2 || rep.Trained != 0 {
		t.Errorf("task 0 a third time: %+v, %v", rep, err)
	}
	if st, err := scan.ReadTaskStatus(dir, 0); err != nil || st.State != scan.StateDone || st.Done != 2 {
		t.Errorf("status %+v, %v", st, err)
	}

	c, err = scan.Collect(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !c.Complete() || len(c.NotDone()) != 0 || len(c.Points) != 4 {
		t.Fatalf("collection: %d points, tasks %+v", len(c.Points), c.Tasks)
	}
	var buf bytes.Buffer
	if err := c.WriteCSV(&buf); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 5 || !slices.Equal(rows[0], scan.CSVHeader()) || rows[1][0] != "4" || rows[1][1] != "2.5" || rows[1][2] != "1" || rows[2][2] != "2" {
		t.Errorf("CSV rows %q", rows)
	}
	col := slices.Index(rows[0], "exact_energy_per_site")
	if !strings.HasPrefix(rows[1][col], "-1.379116") {
		t.Errorf("exact energy %q", rows[1][col])
	}
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	var obj struct {
		Points []map[string]any `json:"points"`
		Tasks  []map[string]any `json:"tasks"`
		FSS    map[string]any   `json:"fss"`
		Done   int              `json:"points_done"`
	}
	if err := json.Unmarshal(b, &obj); err != nil {
		t.Fatal(err)
	}
	if len(obj.Points) != 4 || obj.Points[1]["seed"] != 2.0 || obj.Points[1]["task"] != 1.0 || obj.Done != 4 || obj.FSS["sizes"] == nil {
		t.Errorf("JSON %s", b)
	}
}

// TestRunTaskErrors checks a task out of range and a task that another
// process holds.
func TestRunTaskErrors(t *testing.T) {
	p := tinyPlan(t, []int{4}, []float64{2.5}, []uint64{1}, scan.SplitPoint)
	dir := t.TempDir()
	if err := scan.CreatePlan(dir, p); err != nil {
		t.Fatal(err)
	}
	if _, err := scan.RunTask(context.Background(), dir, p, 1, scan.TaskOptions{}); err == nil {
		t.Error("task 1 of 1: no error")
	}
	// A point whose run directory has another model fails the task.
	pdir := p.PointDir(dir, 4, 1, 2.5)
	other := p.RunConfig(4, 1, 2.5, false)
	other.Model.Hidden = 6
	r, err := model.Create(pdir, other)
	if err != nil {
		t.Fatal(err)
	}
	r.Close()
	if _, err := scan.RunTask(context.Background(), dir, p, 0, scan.TaskOptions{}); err == nil {
		t.Error("a point of another model: no error")
	}
	if st, err := scan.ReadTaskStatus(dir, 0); err != nil || st.State != scan.StateFailed || st.Error == "" {
		t.Errorf("status %+v, %v", st, err)
	}
}

// TestScripts checks the Slurm script and the GNU parallel line.
func TestScripts(t *testing.T) {
	p := tinyPlan(t, []int{4, 6}, []float64{2.5, 3}, []uint64{1, 2, 3}, scan.SplitChain)
	s, err := scan.SlurmScript(p, scan.SlurmOptions{Executable: "/opt/bin/isingflow", Dir: "/scratch/plan", CPUsPerTask: 4, MaxRunning: 2, Partition: "short"})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"#!/bin/bash\n", "\n#SBATCH --array=0-5%2\n", "\n#SBATCH --cpus-per-task=4\n", "\n#SBATCH --time=00:35:00\n",
		"\n#SBATCH --signal=B:TERM@300\n", "\n#SBATCH --output=/scratch/plan/logs/task-%a.log\n", "\n#SBATCH --partition=short\n",
		"\nexport GOMAXPROCS=\"${SLURM_CPUS_PER_TASK:-4}\"\n", "\nexport OPENBLAS_NUM_THREADS=\"$GOMAXPROCS\"\n",
		"\nexec /opt/bin/isingflow scan run /scratch/plan\n",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("the Slurm script has no %q:\n%s", want, s)
		}
	}
	if strings.Contains(s, "--account") || strings.Contains(s, "--mem") {
		t.Errorf("options not asked for:\n%s", s)
	}
	if s, err = scan.SlurmScript(p, scan.SlurmOptions{Executable: "/b/isingflow", Dir: "/p", CPUsPerTask: 1, Time: 90 * time.Minute, SignalMargin: time.Minute}); err != nil ||
		!strings.Contains(s, "--time=01:30:00\n") || !strings.Contains(s, "--signal=B:TERM@60\n") {
		t.Errorf("with --time: %v\n%s", err, s)
	}
	noLimit := *p
	noLimit.TimeLimit = 0
	for name, o := range map[string]scan.SlurmOptions{
		"relative":   {Executable: "isingflow", Dir: "/p", CPUsPerTask: 1},
		"dollar":     {Executable: "/b/isingflow", Dir: "/p$x", CPUsPerTask: 1},
		"cpus":       {Executable: "/b/isingflow", Dir: "/p", CPUsPerTask: 0},
		"short time": {Executable: "/b/isingflow", Dir: "/p", CPUsPerTask: 1, Time: time.Minute},
	} {
		if _, err := scan.SlurmScript(p, o); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if _, err := scan.SlurmScript(&noLimit, scan.SlurmOptions{Executable: "/b/isingflow", Dir: "/p", CPUsPerTask: 1}); err == nil {
		t.Error("no time limit anywhere: no error")
	}

	line, err := scan.ParallelCommand(p, scan.ParallelOptions{Executable: "/opt/bin/isingflow", Dir: "/scratch/my plan", Jobs: 3, CPUsPerJob: 2})
	if err != nil {
		t.Fatal(err)
	}
	want := "seq 0 5 | GOMAXPROCS=2 OPENBLAS_NUM_THREADS=2 parallel --jobs 3 --env GOMAXPROCS --env OPENBLAS_NUM_THREADS " +
		"--joblog '/scratch/my plan/logs/parallel.joblog' --resume-failed " +
		`"/opt/bin/isingflow scan run '/scratch/my plan' --task {} >> '/scratch/my plan/logs/task-'{}.log 2>&1"` + "\n"
	if !strings.HasSuffix(line, want) {
		t.Errorf("the parallel line\n%s\nwant it to end with\n%s", line, want)
	}
	if _, err := scan.ParallelCommand(p, scan.ParallelOptions{Executable: "/b/i", Dir: "/p", Jobs: 0, CPUsPerJob: 1}); err == nil {
		t.Error("--jobs 0: no error")
	}
	if got := scan.SlurmDuration(25*time.Hour + 30*time.Second); got != "1-01:01:00" {
		t.Errorf("SlurmDuration: %s", got)
	}
}
