package scan

import (
	"cmp"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strconv"
	"syscall"

	"github.com/isingflow/isingflow/observables"
	"github.com/isingflow/isingflow/stats"
)

// PointResult is the result of one complete point of a plan, with the
// task and the seed it belongs to.
type PointResult struct {
	Task int
	Seed uint64
	*Result
}

// MarshalJSON writes the result's object (Result.MarshalJSON) with the
// keys "task" and "seed" added.
func (p PointResult) MarshalJSON() ([]byte, error) {
	b, err := json.Marshal(p.Result)
	if err != nil {
		return nil, err
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	m["task"] = json.RawMessage(strconv.Itoa(p.Task))
	m["seed"] = json.RawMessage(strconv.FormatUint(p.Seed, 10))
	return json.Marshal(m)
}

// TaskState is what Collect found of one task.
type TaskState struct {
	Task
	// State is StateDone when every point is complete; otherwise the
	// state of the task's status file, StateKilled for a task that was
	// running on this host in a process that no longer exists, or
	// StateNotStarted.
	State  string      `json:"state"`
	Done   int         `json:"points_done"`
	Status *TaskStatus `json:"status,omitempty"`
}

// Collection is everything that has finished in a plan directory.
type Collection struct {
	Dir  string
	Plan *Plan
	// Points are the complete points, ordered by size, temperature and
	// seed.
	Points []PointResult
	// Tasks are the states of every task, in order.
	Tasks []TaskState
	// FSS is the finite-size-scaling analysis of the points.
	FSS *FSS
}

// Collect reads the plan directory dir: every point whose result.json is
// complete, the state of every task, and the finite-size-scaling analysis
// of the points (NewFSS). It reads only, so it can run while tasks are
// running.
func Collect(dir string) (*Collection, error) {
	p, err := ReadPlan(dir)
	if err != nil {
		return nil, err
	}
	c := &Collection{Dir: dir, Plan: p}
	host, _ := os.Hostname()
	for _, t := range p.Tasks {
		ts := TaskState{Task: t}
		for _, T := range t.Temperatures {
			if r, ok := completedResult(p.PointDir(dir, t.L, t.Seed, T), t.L, T); ok {
				c.Points = append(c.Points, PointResult{Task: t.Index, Seed: t.Seed, Result: r})
				ts.Done++
			}
		}
		if ts.Status, err = ReadTaskStatus(dir, t.Index); err != nil {
			return nil, err
		}
		switch s := ts.Status; {
		case ts.Done == len(t.Temperatures):
			ts.State = StateDone
		case s == nil && ts.Done == 0:
			ts.State = StateNotStarted
		case s == nil || s.State == StateDone:
			ts.State = StateIncomplete // a point's result was removed, or no status was written
		case s.State == StateRunning && s.Host == host && !processExists(s.PID):
			ts.State = StateKilled
		default:
			ts.State = s.State
		}
		c.Tasks = append(c.Tasks, ts)
	}
	slices.SortStableFunc(c.Points, func(a, b PointResult) int {
		return cmp.Or(cmp.Compare(a.Config.L, b.Config.L), cmp.Compare(a.Config.T, b.Config.T), cmp.Compare(a.Seed, b.Seed))
	})
	c.FSS = NewFSS(c.Points)
	return c, nil
}

// processExists reports whether a process pid exists on this host.
func processExists(pid int) bool {
	if pid <= 0 {
		return false
	}
	proc, err := os.FindProcess(pid)
	if err != nil {
		return false
	}
	err = proc.Signal(syscall.Signal(0))
	return err == nil || errors.Is(err, syscall.EPERM)
}

// Complete reports whether every point of the plan is complete.
func (c *Collection) Complete() bool { return len(c.Points) == c.Plan.Points() }

// NotDone returns the tasks that are not done, in order.
func (c *Collection) NotDone() []TaskState {
	var out []TaskState
	for _, t := range c.Tasks {
		if t.State != StateDone {
			out = append(out, t)
		}
	}
	return out
}

// Failed returns the indices of the tasks that failed or were killed: the
// ones to look at before running them again.
func (c *Collection) Failed() []int {
	var out []int
	for _, t := range c.Tasks {
		if t.State == StateFailed || t.State == StateKilled {
			out = append(out, t.Index)
		}
	}
	return out
}

// Missing returns the indices of the tasks that are not done and did not
// fail: not started, running, interrupted or incomplete.
func (c *Collection) Missing() []int {
	var out []int
	for _, t := range c.NotDone() {
		if t.State != StateFailed && t.State != StateKilled {
			out = append(out, t.Index)
		}
	}
	return out
}

// MarshalJSON writes the collection as one object: "points" (each point's
// result.json object with its task and seed), "tasks" (TaskState),
// "missing" and "failed" (task indices), "points_done", "points_planned",
// "complete" and "fss" (FSS.MarshalJSON).
func (c *Collection) MarshalJSON() ([]byte, error) {
	return json.Marshal(map[string]any{
		"fss":            c.FSS,
		"points":         nonNilSlice(c.Points),
		"tasks":          c.Tasks,
		"missing":        nonNilSlice(c.Missing()),
		"failed":         nonNilSlice(c.Failed()),
		"points_done":    len(c.Points),
		"points_planned": c.Plan.Points(),
		"complete":       c.Complete(),
	})
}

func nonNilSlice[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// csvObservable is one observable of the CSV: its estimate and, when
// known, the exact value beside it.
type csvObservable struct {
	name  string
	get   func(*observables.IsingEstimates) stats.Estimate
	exact func(*Exact) *float64
}

var csvObservables = []csvObservable{
	{"variational_free_energy_per_site", func(e *observables.IsingEstimates) stats.Estimate { return e.VariationalFreeEnergyPerSite }, nil},
	{"kl_per_site", func(e *observables.IsingEstimates) stats.Estimate { return e.KLPerSite }, nil},
	{"free_energy_per_site", func(e *observables.IsingEstimates) stats.Estimate { return e.FreeEnergyPerSite }, func(x *Exact) *float64 { return x.FreeEnergyPerSite }},
	{"energy_per_site", func(e *observables.IsingEstimates) stats.Estimate { return e.EnergyPerSite }, func(x *Exact) *float64 { return x.EnergyPerSite }},
	{"specific_heat_per_site", func(e *observables.IsingEstimates) stats.Estimate { return e.SpecificHeatPerSite }, func(x *Exact) *float64 { return x.SpecificHeatPerSite }},
	{"abs_magnetization", func(e *observables.IsingEstimates) stats.Estimate { return e.AbsMagnetization }, func(x *Exact) *float64 { return x.AbsMagnetization }},
	{"magnetization_sq", func(e *observables.IsingEstimates) stats.Estimate { return e.MagnetizationSq }, func(x *Exact) *float64 { return x.MagnetizationSq }},
	{"magnetization_4", func(e *observables.IsingEstimates) stats.Estimate { return e.Magnetization4 }, func(x *Exact) *float64 { return x.Magnetization4 }},
	{"binder", func(e *observables.IsingEstimates) stats.Estimate { return e.Binder }, func(x *Exact) *float64 { return x.Binder }},
	{"susceptibility", func(e *observables.IsingEstimates) stats.Estimate { return e.Susceptibility }, func(x *Exact) *float64 { return x.Susceptibility }},
	{"flow_abs_magnetization", func(e *observables.IsingEstimates) stats.Estimate { return e.FlowAbsMagnetization }, nil},
}

// CSVHeader returns the columns of WriteCSV.
func CSVHeader() []string {
	h := []string{"L", "T", "seed", "task", "steps", "planned_steps", "seconds", "warm_start_T", "samples", "ess_fraction"}
	for _, o := range csvObservables {
		h = append(h, o.name, o.name+"_err")
		if o.exact != nil {
			h = append(h, "exact_"+o.name)
		}
	}
	return append(h, "onsager_free_energy_per_site", "onsager_energy_per_site", "onsager_specific_heat_per_site")
}

// WriteCSV writes one row per complete point (the order of Points): the
// size, temperature, seed and task, the training's steps and time, and
// every observable with its error and, beside it, the exact value on the
// same lattice where one is known (Kaufman or enumeration), then
// Onsager's infinite-lattice values. An unknown or non-finite number is
// an empty field.
func (c *Collection) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(CSVHeader()); err != nil {
		return err
	}
	num := func(v float64) string {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return ""
		}
		return strconv.FormatFloat(v, 'g', -1, 64)
	}
	opt := func(v *float64) string {
		if v == nil {
			return ""
		}
		return num(*v)
	}
	for _, p := range c.Points {
		r, e, x := p.Result, p.Estimates, p.Exact
		if x == nil {
			x = &Exact{}
		}
		row := []string{strconv.Itoa(r.Config.L), num(r.Config.T), strconv.FormatUint(p.Seed, 10), strconv.Itoa(p.Task),
			strconv.Itoa(r.Steps), strconv.Itoa(r.PlannedSteps), num(r.Seconds), opt(r.WarmStartT),
			strconv.Itoa(e.Samples), num(e.ESSFraction)}
		for _, o := range csvObservables {
			v := o.get(e)
			row = append(row, num(v.Mean), num(v.Err))
			if o.exact != nil {
				row = append(row, opt(o.exact(x)))
			}
		}
		row = append(row, opt(x.OnsagerFreeEnergy), opt(x.OnsagerEnergy), opt(x.OnsagerSpecificHeat))
		if err := cw.Write(row); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// Describe returns one line on a task that is not done: its state, the
// points done and what its status says ("killed: 1 of 3 points done; was
// process 4242 on node7 (slurm job 12_3), last update 2025-…").
func (t TaskState) Describe() string {
	s := fmt.Sprintf("task %d (L = %d, seed %d): %s, %d of %d points done", t.Index, t.L, t.Seed, t.State, t.Done, len(t.Temperatures))
	if st := t.Status; st != nil && t.State != StateDone {
		s += fmt.Sprintf("; last process %d on %s", st.PID, st.Host)
		if st.Scheduler != "" {
			s += " (" + st.Scheduler + ")"
		}
		s += ", updated " + st.Updated.Format("2006-01-02 15:04:05 MST")
		if st.Error != "" {
			s += ": " + st.Error
		}
	}
	return s
}
