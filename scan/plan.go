package scan

import (
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

// Ways of cutting a Plan into tasks (Plan.Split).
const (
	// SplitChain makes one task per size and seed: its temperatures in
	// the order given, the first trained from the initialisation and every
	// later one warm-started from the nearest one done, as Chain does. The
	// default: a warm-started temperature costs Plan.WarmTraining's steps
	// instead of Plan.Training's.
	SplitChain = "chain"
	// SplitPoint makes one task per size, temperature and seed, each
	// trained from its initialisation with Plan.Training: the most tasks
	// at the most steps, for when the wall-clock time matters more than
	// the CPU time.
	SplitPoint = "point"
)

// Files and directories of a plan directory. The run directory of each
// point is PointDir.
const (
	PlanFile = "plan.json" // the Plan
	TasksDir = "tasks"     // TasksDir/I holds task I's lock and TaskStatusFile
	LogsDir  = "logs"      // the schedulers' output, one file per task
)

// PlanVersion is the version of the plan.json format that this package
// writes. It reads version 1 too, whose points of a seed share one
// evaluation seed (see EvaluationOf).
const PlanVersion = 2

// MaxTasks bounds the number of tasks of a plan (Slurm's default
// MaxArraySize is 1001).
const MaxTasks = 100000

// Plan is a grid of runs — lattice sizes × temperatures × seeds — cut into
// tasks that a batch scheduler runs independently (RunTask), each in its
// own process, in any order, any number of times. Its JSON form is a plan
// directory's plan.json.
//
// Every point is the model Model on the lattice of size L (its Dim and
// Open; L and T set per point) trained with Training (WarmTraining for a
// warm-started temperature of a chain), evaluated with Evaluation.
// Seed s sets the model's InitSeed and the training's Seed to s; every
// point has an evaluation seed of its own (EvaluationOf), and seed 1 at
// the first temperature is the run that "isingflow train" makes with the
// same flags and its default seeds.
type Plan struct {
	Version      int       `json:"plan_version"`
	Sizes        []int     `json:"sizes"`
	Temperatures []float64 `json:"temperatures"` // in the order a chain trains them
	Seeds        []uint64  `json:"seeds"`
	Split        string    `json:"split"` // SplitChain or SplitPoint

	Model        model.Config   `json:"model"`
	Training     model.Training `json:"training"`
	WarmTraining model.Training `json:"warm_training"`
	Evaluation   Evaluation     `json:"evaluation"`
	// CheckpointEvery and TimeLimit are those of Options: the steps
	// between checkpoints, and the training time of one point after which
	// it stops (0: no limit; a point stopped so is not complete, and the
	// next run of its task continues it).
	CheckpointEvery int           `json:"checkpoint_every"`
	TimeLimit       time.Duration `json:"-"`

	Tasks []Task `json:"tasks"`
	// CommandLine is the command that made the plan.
	CommandLine []string `json:"command_line,omitempty"`
}

// Task is one unit of a plan: the temperatures of one size and seed, in
// the order trained (one temperature when the plan's Split is SplitPoint).
type Task struct {
	Index        int       `json:"index"`
	L            int       `json:"L"`
	Seed         uint64    `json:"seed"`
	Temperatures []float64 `json:"temperatures"`
}

// planJSON is Plan without its methods, for MarshalJSON.
type planJSON Plan

// MarshalJSON writes the plan with its time limit as a duration string
// ("16m0s").
func (p *Plan) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		*planJSON
		TimeLimit string `json:"time_limit"`
	}{(*planJSON)(p), p.TimeLimit.String()})
}

// UnmarshalJSON reads what MarshalJSON writes.
func (p *Plan) UnmarshalJSON(b []byte) error {
	v := struct {
		*planJSON
		TimeLimit string `json:"time_limit"`
	}{planJSON: (*planJSON)(p)}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	p.TimeLimit = 0
	if v.TimeLimit != "" {
		d, err := time.ParseDuration(v.TimeLimit)
		if err != nil {
			return fmt.Errorf("time_limit: %v", err)
		}
		p.TimeLimit = d
	}
	return nil
}

// NewPlan checks the grid and the settings of p, builds the model at every
// size (so that a bad model fails here, not in a task) and returns the
// plan with its tasks: for SplitChain one per size and seed, for
// SplitPoint one per size, temperature and seed; the largest lattices
// first, which a scheduler that starts the tasks in order finishes
// soonest, since they take longest.
func NewPlan(p Plan) (*Plan, error) {
	p.Version = PlanVersion
	p.Sizes = slices.Clone(p.Sizes)
	p.Temperatures = slices.Clone(p.Temperatures)
	p.Seeds = slices.Clone(p.Seeds)
	if p.Split == "" {
		p.Split = SplitChain
	}
	if err := p.checkSettings(); err != nil {
		return nil, err
	}
	for _, L := range p.Sizes {
		c := p.Model
		c.L, c.T = L, p.Temperatures[0]
		if _, err := c.Build(); err != nil {
			return nil, fmt.Errorf("-L %d: %v", L, err)
		}
	}
	sizes := slices.Clone(p.Sizes)
	slices.SortFunc(sizes, func(a, b int) int { return b - a })
	p.Tasks = nil
	for _, L := range sizes {
		for _, s := range p.Seeds {
			if p.Split == SplitChain {
				p.Tasks = append(p.Tasks, Task{L: L, Seed: s, Temperatures: slices.Clone(p.Temperatures)})
				continue
			}
			for _, T := range p.Temperatures {
				p.Tasks = append(p.Tasks, Task{L: L, Seed: s, Temperatures: []float64{T}})
			}
		}
	}
	if len(p.Tasks) > MaxTasks {
		return nil, fmt.Errorf("%d tasks: at most %d", len(p.Tasks), MaxTasks)
	}
	for i := range p.Tasks {
		p.Tasks[i].Index = i
	}
	return &p, nil
}

// checkSettings checks everything of the plan but its tasks; its errors
// name the command-line flags.
func (p *Plan) checkSettings() error {
	switch {
	case p.Version != 1 && p.Version != PlanVersion:
		return fmt.Errorf("plan version %d: this isingflow reads versions 1 to %d", p.Version, PlanVersion)
	case len(p.Sizes) == 0:
		return errors.New("-L: no lattice size")
	case len(p.Temperatures) == 0:
		return errors.New("-T: no temperature")
	case len(p.Temperatures) > MaxTemperatures:
		return fmt.Errorf("-T: more than %d temperatures", MaxTemperatures)
	case len(p.Seeds) == 0:
		return errors.New("--seeds: no seed")
	case p.Split != SplitChain && p.Split != SplitPoint:
		return fmt.Errorf("--split %q: want %s or %s", p.Split, SplitChain, SplitPoint)
	case p.CheckpointEvery < 1:
		return fmt.Errorf("--checkpoint-every %d: must be positive", p.CheckpointEvery)
	case p.TimeLimit < 0:
		return fmt.Errorf("--time-limit %v: must not be negative", p.TimeLimit)
	}
	seen := map[int]bool{}
	for _, L := range p.Sizes {
		if L < 2 {
			return fmt.Errorf("-L %d: the linear size must be at least 2", L)
		}
		if seen[L] {
			return fmt.Errorf("-L: the size %d appears twice", L)
		}
		seen[L] = true
	}
	temps := map[string]bool{}
	for _, T := range p.Temperatures {
		if !(T > 0) || T > 1e300 {
			return fmt.Errorf("-T: the temperature %v is not positive and finite", T)
		}
		d := RunDir(T)
		if temps[d] {
			return fmt.Errorf("-T: the temperature %.6f appears twice", T)
		}
		temps[d] = true
	}
	seeds := map[uint64]bool{}
	for _, s := range p.Seeds {
		if s < 1 {
			return errors.New("--seeds: the seeds must be positive")
		}
		if seeds[s] {
			return fmt.Errorf("--seeds: the seed %d appears twice", s)
		}
		seeds[s] = true
	}
	if err := p.Training.Validate(); err != nil {
		return err
	}
	if err := p.WarmTraining.Validate(); err != nil {
		return fmt.Errorf("warm-started temperatures: %v", err)
	}
	return p.Evaluation.Validate()
}

// Validate checks a plan read from a file: its settings, and tasks that
// are those NewPlan makes of them.
func (p *Plan) Validate() error {
	if err := p.checkSettings(); err != nil {
		return err
	}
	q, err := NewPlan(*p)
	if err != nil {
		return err
	}
	if len(q.Tasks) != len(p.Tasks) {
		return fmt.Errorf("%d tasks, the grid makes %d", len(p.Tasks), len(q.Tasks))
	}
	for i, t := range p.Tasks {
		u := q.Tasks[i]
		if t.Index != u.Index || t.L != u.L || t.Seed != u.Seed || !slices.Equal(t.Temperatures, u.Temperatures) {
			return fmt.Errorf("task %d is not the grid's (%+v, want %+v)", i, t, u)
		}
	}
	return nil
}

// Points returns the number of points of the plan (sizes × temperatures ×
// seeds).
func (p *Plan) Points() int { return len(p.Sizes) * len(p.Temperatures) * len(p.Seeds) }

// Task returns task i, or an error naming the valid range.
func (p *Plan) Task(i int) (Task, error) {
	if i < 0 || i >= len(p.Tasks) {
		return Task{}, fmt.Errorf("task %d: the plan has tasks 0 to %d", i, len(p.Tasks)-1)
	}
	return p.Tasks[i], nil
}

// SizeDir names the directory of the points of size L inside a plan
// directory: model.LatticeTag, "L16".
func (p *Plan) SizeDir(L int) string {
	c := p.Model
	c.L = L
	return model.LatticeTag(&c)
}

// PointDir returns the run directory of the point (L, seed, T) inside the
// plan directory dir: dir/L16/seed2/T2.269185.
func (p *Plan) PointDir(dir string, L int, seed uint64, T float64) string {
	return filepath.Join(dir, p.SizeDir(L), "seed"+strconv.FormatUint(seed, 10), RunDir(T))
}

// RunConfig returns the model and training of the point (L, seed, T):
// Training, or WarmTraining when warm, with the seed's InitSeed and
// training seed.
func (p *Plan) RunConfig(L int, seed uint64, T float64, warm bool) model.RunConfig {
	c := p.Model
	c.L, c.T, c.InitSeed = L, T, seed
	t := p.Training
	if warm {
		t = p.WarmTraining
	}
	t.Seed = seed
	return model.RunConfig{Model: c, Training: t}
}

// EvaluationOf returns the evaluation of the point of seed s at
// temperature T: the plan's, with the seed Evaluation.Seed + (s − 1)·n + i
// for the i-th of the plan's n temperatures, so that no two points of a
// plan with consecutive seeds draw the same base samples. (Points of a
// chain sharing their samples would have errors that move together across
// T, through flows warm-started from each other, which the fits of the
// finite-size scaling take to be independent.) A version 1 plan kept one
// seed, Evaluation.Seed + s − 1, for every temperature. T is one of the
// plan's temperatures, as every point of its tasks is (another counts as
// the first).
func (p *Plan) EvaluationOf(s uint64, T float64) Evaluation {
	e := p.Evaluation
	if p.Version == 1 {
		e.Seed += s - 1
		return e
	}
	i := slices.Index(p.Temperatures, T)
	e.Seed += (s-1)*uint64(len(p.Temperatures)) + uint64(max(i, 0))
	return e
}

// TaskTime returns an upper bound of task i's training time: its points
// times the plan's TimeLimit (0 when there is no limit).
func (p *Plan) TaskTime(i int) time.Duration {
	if i < 0 || i >= len(p.Tasks) {
		return 0
	}
	return time.Duration(len(p.Tasks[i].Temperatures)) * p.TimeLimit
}

// CreatePlan writes the plan into a new plan directory dir (plan.json,
// and the empty directories of the tasks and the logs). It never
// overwrites: an existing dir that holds anything is an error.
func CreatePlan(dir string, p *Plan) error {
	if ents, err := os.ReadDir(dir); err == nil && len(ents) > 0 {
		return fmt.Errorf("plan directory %s already exists: choose another with --out", dir)
	}
	for _, d := range []string{dir, filepath.Join(dir, TasksDir), filepath.Join(dir, LogsDir)} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	b, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return err
	}
	return runio.WriteBytesAtomic(filepath.Join(dir, PlanFile), append(b, '\n'))
}

// ErrNotPlan is returned (wrapped) by ReadPlan for a directory without a
// plan.
var ErrNotPlan = errors.New("not an isingflow plan directory")

// ReadPlan reads and checks the plan of the plan directory dir.
func ReadPlan(dir string) (*Plan, error) {
	path := filepath.Join(dir, PlanFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%s is %w (no %s; make one with \"isingflow scan plan\")", dir, ErrNotPlan, PlanFile)
	}
	if err != nil {
		return nil, err
	}
	var p Plan
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	if err := p.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	return &p, nil
}

// ParseSizes reads a comma-separated list of lattice sizes: "8,16,32".
func ParseSizes(s string) ([]int, error) {
	var sizes []int
	for _, f := range strings.Split(s, ",") {
		L, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil {
			return nil, fmt.Errorf("-L %q: %q is not an integer", s, f)
		}
		if L < 2 {
			return nil, fmt.Errorf("-L %q: the linear size must be at least 2, have %d", s, L)
		}
		if slices.Contains(sizes, L) {
			return nil, fmt.Errorf("-L %q: the size %d appears twice", s, L)
		}
		sizes = append(sizes, L)
	}
	return sizes, nil
}

// ParseSeeds reads the seeds of a plan: a count N (the seeds 1 to N) or a
// comma-separated list of positive seeds with at least two ("3,7").
func ParseSeeds(s string) ([]uint64, error) {
	if !strings.Contains(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("--seeds %q: want a count N ≥ 1 (seeds 1 to N) or a list S1,S2,…", s)
		}
		if n > MaxTasks {
			return nil, fmt.Errorf("--seeds %d: at most %d", n, MaxTasks)
		}
		seeds := make([]uint64, n)
		for i := range seeds {
			seeds[i] = uint64(i + 1)
		}
		return seeds, nil
	}
	var seeds []uint64
	for _, f := range strings.Split(s, ",") {
		v, err := strconv.ParseUint(strings.TrimSpace(f), 10, 64)
		if err != nil || v < 1 {
			return nil, fmt.Errorf("--seeds %q: %q is not a positive integer", s, f)
		}
		if slices.Contains(seeds, v) {
			return nil, fmt.Errorf("--seeds %q: the seed %d appears twice", s, v)
		}
		seeds = append(seeds, v)
	}
	return seeds, nil
}
