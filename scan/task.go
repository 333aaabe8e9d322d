package scan

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/isingflow/isingflow/internal/runio"
	"github.com/isingflow/isingflow/model"
)

// TaskStatusFile is the file of a task's directory (TaskDir) that says
// what the task's last process did (TaskStatus).
const TaskStatusFile = "status.json"

// States of a task. TaskStatus.State is one of the first four; Collect
// adds the others.
const (
	StateRunning     = "running"     // a process is running it, or was killed (see Collect)
	StateDone        = "done"        // every point is complete
	StateInterrupted = "interrupted" // a signal stopped it, with a checkpoint: run it again
	StateIncomplete  = "incomplete"  // a point stopped at its time limit: run it again
	StateFailed      = "failed"      // an error stopped it (TaskStatus.Error)
	StateKilled      = "killed"      // it was running on this host and its process is gone
	StateNotStarted  = "not started" // no process has run it yet
)

// TaskStatus is a task directory's status.json: the state its last
// process left it in. RunTask writes it when it starts, after every point
// and when it ends; a process killed outright leaves StateRunning.
type TaskStatus struct {
	Task      int       `json:"task"`
	State     string    `json:"state"`
	Host      string    `json:"host"`
	PID       int       `json:"pid"`
	Scheduler string    `json:"scheduler,omitempty"` // TaskOptions.Scheduler
	Started   time.Time `json:"started"`
	Updated   time.Time `json:"updated"`
	Points    int       `json:"points"`
	Done      int       `json:"points_done"`
	Error     string    `json:"error,omitempty"`
}

// TaskDir returns the directory of task i inside the plan directory dir:
// its lock and status.json.
func TaskDir(dir string, i int) string { return filepath.Join(dir, TasksDir, strconv.Itoa(i)) }

// ReadTaskStatus reads the status of task i of the plan directory dir; it
// returns nil and no error when the task has never been run.
func ReadTaskStatus(dir string, i int) (*TaskStatus, error) {
	path := filepath.Join(TaskDir(dir, i), TaskStatusFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var s TaskStatus
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	return &s, nil
}

// ErrIncomplete is returned (wrapped) by RunTask for a task that stopped
// before all its points were complete — on a signal (the context) or a
// point's time limit — with everything saved: running the task again
// continues it.
var ErrIncomplete = errors.New("incomplete")

// TaskOptions are the settings of RunTask besides the plan.
type TaskOptions struct {
	// Point is the template of each point's options: RunTask sets its
	// Dir, Resume, Init, WarmStartT, CheckpointEvery, Duration and
	// Evaluation (but its Progress) from the plan; its hooks report
	// progress.
	Point Options
	// Scheduler, recorded in the status, names what started the process
	// ("slurm job 1234_5"; see SchedulerFromEnv).
	Scheduler string
	// Begin, when not nil, is called before each point that is trained:
	// its index in the task, whether it resumes from a checkpoint, and the
	// temperature whose flow it starts from (nil: its initialisation, or a
	// resumed run's checkpoint from anywhere).
	Begin func(i int, T float64, resume bool, from *float64)
	// Done, when not nil, is called after each point, with skipped true
	// for one that was already complete.
	Done func(i int, r *Result, skipped bool)
}

// TaskReport is what RunTask did: each temperature's result (nil where
// there is none), how many points were already complete and how many it
// trained.
type TaskReport struct {
	Task    Task
	Results []*Result
	Skipped int
	Trained int
}

// Complete reports whether every point of the task is complete.
func (r *TaskReport) Complete() bool {
	for _, res := range r.Results {
		if res == nil || !res.Completed() {
			return false
		}
	}
	return true
}

// RunTask runs task index of the plan p in the plan directory dir. It is
// idempotent and resumable: a point whose result.json is complete is
// skipped; a point with a run directory (a process killed or stopped
// mid-training) resumes from its checkpoint (model.Resume); the others are
// created, a chain's later temperatures warm-started from the trained flow
// of the nearest temperature done (read back from its run directory when
// an earlier process trained it). It holds the task's lock (a second
// process on the same task fails at once) and keeps the task's status
// file.
//
// When ctx ends (a signal: a scheduler's time limit), the point in
// training stops with a checkpoint and is evaluated (scan.Point), and
// RunTask returns an error wrapping ErrIncomplete without starting
// another; so it does when a point stopped at the plan's time limit. Any
// other error is a failure, recorded in the status.
func RunTask(ctx context.Context, dir string, p *Plan, index int, opt TaskOptions) (rep *TaskReport, err error) {
	task, err := p.Task(index)
	if err != nil {
		return nil, err
	}
	tdir := TaskDir(dir, index)
	if err := os.MkdirAll(tdir, 0o755); err != nil {
		return nil, err
	}
	unlock, err := runio.Lock(tdir)
	if err != nil {
		return nil, fmt.Errorf("task %d: %w", index, err)
	}
	defer unlock()
	host, _ := os.Hostname()
	now := time.Now().UTC()
	st := TaskStatus{Task: index, State: StateRunning, Host: host, PID: os.Getpid(), Scheduler: opt.Scheduler,
		Started: now, Updated: now, Points: len(task.Temperatures)}
	if err := writeTaskStatus(tdir, &st); err != nil {
		return nil, err
	}
	rep = &TaskReport{Task: task, Results: make([]*Result, len(task.Temperatures))}
	defer func() {
		st.Done = 0
		for _, r := range rep.Results {
			if r != nil && r.Completed() {
				st.Done++
			}
		}
		st.Updated = time.Now().UTC()
		switch {
		case err == nil:
			st.State = StateDone
		case errors.Is(err, ErrIncomplete) && ctx.Err() != nil:
			st.State = StateInterrupted
		case errors.Is(err, ErrIncomplete):
			st.State = StateIncomplete
		default:
			st.State, st.Error = StateFailed, err.Error()
		}
		if werr := writeTaskStatus(tdir, &st); werr != nil && err == nil {
			err = werr
		}
	}()
	ts := task.Temperatures
	for i, T := range ts {
		pdir := p.PointDir(dir, task.L, task.Seed, T)
		if r, ok := completedResult(pdir, task.L, T); ok {
			rep.Results[i] = r
			rep.Skipped++
			if opt.Done != nil {
				opt.Done(i, r, true)
			}
			continue
		}
		if ctx.Err() != nil {
			break
		}
		resume, err := hasRun(pdir)
		if err != nil {
			return rep, err
		}
		o := opt.Point
		o.Dir, o.Resume, o.Init, o.WarmStartT = pdir, resume, nil, nil
		o.CheckpointEvery, o.Duration = p.CheckpointEvery, p.TimeLimit
		progress := o.Evaluation.Progress
		o.Evaluation = p.EvaluationOf(task.Seed, T)
		o.Evaluation.Progress = progress
		if i > 0 {
			k := NearestTemperature(ts[:i], T)
			o.WarmStartT = &ts[k]
			if !resume {
				if o.Init, err = trainedParams(rep.Results[k], p.PointDir(dir, task.L, task.Seed, ts[k])); err != nil {
					return rep, fmt.Errorf("task %d: the warm start of T = %g from T = %g: %w", index, T, ts[k], err)
				}
			}
		}
		if opt.Begin != nil {
			var from *float64
			if !resume {
				from = o.WarmStartT
			}
			opt.Begin(i, T, resume, from)
		}
		r, err := Point(ctx, p.RunConfig(task.L, task.Seed, T, i > 0), o)
		if err != nil {
			return rep, fmt.Errorf("task %d, T = %g: %w", index, T, err)
		}
		rep.Results[i] = r
		rep.Trained++
		st.Done++
		st.Updated = time.Now().UTC()
		if err := writeTaskStatus(tdir, &st); err != nil {
			return rep, err
		}
		if opt.Done != nil {
			opt.Done(i, r, false)
		}
	}
	if rep.Complete() {
		return rep, nil
	}
	done := 0
	for _, r := range rep.Results {
		if r != nil && r.Completed() {
			done++
		}
	}
	why := "a point stopped at its time limit"
	if ctx.Err() != nil {
		why = "interrupted"
	}
	return rep, fmt.Errorf("task %d %w (%s): %d of %d points complete, the rest continue when the task runs again",
		index, ErrIncomplete, why, done, len(ts))
}

// completedResult returns the result of the run directory pdir when it is
// complete and is the point (L, T).
func completedResult(pdir string, L int, T float64) (*Result, bool) {
	r, err := ReadResult(pdir)
	if err != nil || !r.Completed() || r.Config.L != L || RunDir(r.Config.T) != RunDir(T) {
		return nil, false
	}
	return r, true
}

// hasRun reports whether pdir holds a run to resume (its config.json). A
// directory without one, left by a process killed while creating it, is
// cleared of the temporary files of its interrupted writes so that
// model.Create takes it; the caller holds the task's lock, and no other
// task writes there.
func hasRun(pdir string) (bool, error) {
	_, err := model.ReadConfig(pdir)
	switch {
	case err == nil:
		return true, nil
	case !errors.Is(err, model.ErrNotRun):
		return false, err
	}
	if _, err := os.Stat(pdir); err == nil {
		if err := runio.RemoveTemporaryFiles(pdir); err != nil {
			return false, err
		}
	}
	return false, nil
}

// trainedParams returns the trained parameters of a point: those of its
// result when this process trained it, else those of the last checkpoint
// of its run directory (written at the end of training).
func trainedParams(r *Result, pdir string) ([]float64, error) {
	if r != nil && r.Params != nil {
		return r.Params, nil
	}
	run, err := model.Load(pdir)
	if err != nil {
		return nil, err
	}
	return slices.Clone(run.Model.Flow.Potential.Params()), nil
}

func writeTaskStatus(tdir string, st *TaskStatus) error {
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	return runio.WriteBytesAtomic(filepath.Join(tdir, TaskStatusFile), append(b, '\n'))
}

// Environment variables that carry a task's index (TaskIndexFromEnv).
const (
	EnvSlurmArrayTaskID = "SLURM_ARRAY_TASK_ID" // Slurm's array index, 0-based in the scripts of SlurmScript
	EnvParallelSeq      = "PARALLEL_SEQ"        // GNU parallel's job sequence number {#}, 1-based
)

// TaskIndexFromEnv returns the task index that a scheduler gives the
// process through getenv (os.Getenv): SLURM_ARRAY_TASK_ID as it is (the
// array of SlurmScript counts from 0), or else GNU parallel's
// PARALLEL_SEQ less one (it counts from 1); and the variable it came from.
// ok is false when neither is set.
func TaskIndexFromEnv(getenv func(string) string) (index int, from string, ok bool, err error) {
	for _, v := range []struct {
		name   string
		offset int
	}{{EnvSlurmArrayTaskID, 0}, {EnvParallelSeq, 1}} {
		s := strings.TrimSpace(getenv(v.name))
		if s == "" {
			continue
		}
		n, err := strconv.Atoi(s)
		if err != nil || n-v.offset < 0 {
			return 0, v.name, true, fmt.Errorf("%s=%q is not a task index", v.name, s)
		}
		return n - v.offset, v.name, true, nil
	}
	return 0, "", false, nil
}

// SchedulerFromEnv describes, for a task's status, the scheduler job
// that runs the process: "slurm job 1234_5 on node7", "GNU parallel job 3",
// or "" outside either.
func SchedulerFromEnv(getenv func(string) string) string {
	if id := getenv("SLURM_ARRAY_JOB_ID"); id != "" {
		s := "slurm job " + id + "_" + getenv(EnvSlurmArrayTaskID)
		if n := getenv("SLURMD_NODENAME"); n != "" {
			s += " on " + n
		}
		return s
	}
	if id := getenv("SLURM_JOB_ID"); id != "" {
		return "slurm job " + id
	}
	if seq := getenv(EnvParallelSeq); seq != "" {
		return "GNU parallel job " + seq
	}
	return ""
}
