package train

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"gonum.org/v1/gonum/floats"

	"github.com/isingflow/isingflow/optim"
)

// Objective is a loss of a parameter vector, estimated afresh at every step
// (a batch of samples, a batch of images).
type Objective interface {
	// Params returns the parameters. The slice aliases the model's storage:
	// the loop updates it in place, and its length never changes.
	Params() []float64
	// Evaluate estimates the loss at the current parameters for the
	// optimisation step step (counting from 0) and writes its gradient to
	// grad (of length len(Params())). A non-finite loss or gradient is not
	// an error: the loop rejects the step. An error stops training.
	Evaluate(grad []float64, step int) (loss float64, err error)
}

// Stateful is an Objective with state of its own that a checkpoint must
// hold for a resumed run to continue bit for bit: a random stream, the
// order of a data set.
type Stateful interface {
	MarshalState() ([]byte, error)
	UnmarshalState([]byte) error
}

// Settings of a training run. The zero value of every field but Steps and
// LearningRate has a sensible meaning.
type Settings struct {
	Steps        int            // total optimisation steps, counting those before a resume
	LearningRate float64        // Adam's base rate
	Schedule     optim.Schedule // warm-up and decay of the rate
	WeightDecay  float64        // decoupled weight decay (optim.Adam.WeightDecay)
	L2           float64        // L2 penalty in the gradient (optim.Adam.L2)
	// MaxRejected is the number of consecutive rejected steps after which
	// training gives up (default 10), and MaxRejectedTotal the number of
	// rejected steps in all, over every resumption (default 100): a
	// rollback to parameters that fail again one step later resets the
	// consecutive count without ever making progress.
	MaxRejected      int
	MaxRejectedTotal int
	// Duration, when positive, ends training after this much time in this
	// process; the run then stops with StatusTimeLimit.
	Duration time.Duration
	// FitToDuration, with a positive Duration, fits the number of steps
	// to the time budget once, before the first step of the process, so
	// that the learning-rate decay (and whatever else follows the step
	// count, as vmc's anneal does) ends within the budget: see
	// Trainer.PlannedSteps and the package documentation for the rule.
	// Off, the schedule follows Steps and a run cut by Duration stops
	// before its decay ends.
	FitToDuration bool
	// CheckpointEvery, when positive, writes a checkpoint to CheckpointPath
	// every this many steps and when training stops for any reason.
	CheckpointEvery int
	CheckpointPath  string
	// CheckpointConfig is the caller's configuration stored in every
	// checkpoint (any JSON value); Restore refuses a checkpoint of another.
	CheckpointConfig any
}

// Step is what the loop reports after every step, accepted or rejected.
type Step struct {
	Step         int     // the step's index (counting from 0)
	Loss         float64 // the objective's estimate
	GradNorm     float64 // |gradient|₂
	LearningRate float64 // the rate of the update (schedule × scale)
	Rejected     bool    // the loss or gradient was not finite: rolled back
	Seconds      float64 // since the start of this process's training
	First        bool    // the first step of this process
}

// Recorder is told about every step, as gonum's optimize.Recorder is. A
// non-nil error stops training.
type Recorder interface {
	Record(Step) error
}

// RecorderFunc adapts a function to Recorder.
type RecorderFunc func(Step) error

// Record calls fn.
func (fn RecorderFunc) Record(s Step) error { return fn(s) }

// Status says why training stopped.
type Status int

// The ways a run of the loop ends.
const (
	StatusCompleted   Status = iota // Settings.Steps steps are done
	StatusTimeLimit                 // Settings.Duration or the context's deadline passed
	StatusInterrupted               // the context was cancelled (a signal)
)

func (s Status) String() string {
	switch s {
	case StatusCompleted:
		return "completed"
	case StatusTimeLimit:
		return "time limit"
	case StatusInterrupted:
		return "interrupted"
	}
	return fmt.Sprintf("Status(%d)", int(s))
}

// Result summarises one call of Run.
type Result struct {
	Status    Status
	FirstStep int     // the step this process started from
	Steps     int     // the steps done in all (Trainer.Step at the end)
	Planned   int     // the steps the run was to do (Trainer.PlannedSteps)
	Rejected  int     // steps rejected in this process
	Seconds   float64 // of training in this process
	// Fit is the fit of the plan to the time budget made by this process
	// (Settings.FitToDuration), nil when it made none.
	Fit *Fit
	// Refit is the plan that replaced Fit's after RefitFraction of the
	// budget, from the pace of the steps trained, nil when Fit's stood.
	Refit *Fit
}

// Fit is how Run fitted the number of steps to the time budget
// (Settings.FitToDuration).
type Fit struct {
	FromStep    int     // the step the plan was fitted at
	StepSeconds float64 // the measured time of a step
	Remaining   float64 // the seconds of the budget left at the fit
	Planned     int     // the fitted number of steps in all
}

// Trainer minimises an Objective with Adam. A step whose loss or gradient
// is not finite is rejected: the parameters and Adam's moments return to
// their state before the previous update, which is taken again at half the
// learning rate. Its whole state — parameters, moments, step, learning-rate
// scale, and the objective's own state when it is Stateful — is saved by
// Checkpoint, and a run resumed by Restore continues bit for bit (at the
// same GOMAXPROCS).
type Trainer struct {
	Objective Objective
	Settings  Settings
	Optimizer *optim.Adam

	// Step is the number of steps done; LearningRateScale multiplies the
	// scheduled rate and is halved at every rejected step; Rejected counts
	// the rejected steps (all of them, checkpoints included).
	Step              int
	LearningRateScale float64
	Rejected          int

	// Planned, when positive, is the number of steps fitted to the time
	// budget (Settings.FitToDuration), which replaces Settings.Steps;
	// PlannedFrom is the Settings.Steps it was fitted from. Checkpoints
	// hold both.
	Planned, PlannedFrom int

	// Now, when not nil, replaces time.Now as the loop's clock: the
	// seconds of its records, its time limit and the fit of the plan
	// (tests drive it).
	Now func() time.Time

	grad      []float64
	backup    []float64 // parameters and moments before the last update
	hasBackup bool
	inARow    int // consecutive rejected steps
	start     time.Time
	reported  bool
	refit     refitState
}

// New returns a trainer of the objective from its current parameters.
func New(obj Objective, s Settings) (*Trainer, error) {
	if obj == nil {
		return nil, errors.New("train: no objective")
	}
	switch {
	case s.Steps < 0:
		return nil, fmt.Errorf("train: %d steps", s.Steps)
	case !(s.LearningRate > 0) || math.IsInf(s.LearningRate, 0):
		return nil, fmt.Errorf("train: learning rate %v, need a positive finite rate", s.LearningRate)
	case !(s.WeightDecay >= 0) || math.IsInf(s.WeightDecay, 0):
		return nil, fmt.Errorf("train: weight decay %v, need a finite value ≥ 0", s.WeightDecay)
	case !(s.L2 >= 0) || math.IsInf(s.L2, 0):
		return nil, fmt.Errorf("train: L2 penalty %v, need a finite value ≥ 0", s.L2)
	case s.CheckpointEvery < 0 || s.Duration < 0:
		return nil, fmt.Errorf("train: need CheckpointEvery ≥ 0 and Duration ≥ 0, have %d and %v", s.CheckpointEvery, s.Duration)
	case s.CheckpointEvery > 0 && s.CheckpointPath == "":
		return nil, errors.New("train: CheckpointEvery without a CheckpointPath")
	}
	s = s.withDefaults()
	n := len(obj.Params())
	opt := optim.NewAdam(n, s.LearningRate)
	opt.WeightDecay = s.WeightDecay
	opt.L2 = s.L2
	return &Trainer{
		Objective:         obj,
		Settings:          s,
		Optimizer:         opt,
		LearningRateScale: 1,
		grad:              make([]float64, n),
		backup:            make([]float64, 3*n),
	}, nil
}

// now returns the loop's clock.
func (t *Trainer) now() time.Time {
	if t.Now != nil {
		return t.Now()
	}
	return time.Now()
}

// PlannedSteps returns the number of steps the run is to do: the plan
// fitted to the time budget when there is one, Settings.Steps otherwise.
func (t *Trainer) PlannedSteps() int {
	if t.Planned > 0 {
		return t.Planned
	}
	return t.Settings.Steps
}

// Schedule returns the learning-rate schedule in force: Settings.Schedule,
// whose Total, when it equals Settings.Steps (a decay over the whole run),
// becomes PlannedSteps. A plan shorter than Steps also caps the warm-up at
// a quarter of the planned steps (MaxWarmupFraction), so that the rate
// reaches its base and decays within the plan.
func (t *Trainer) Schedule() optim.Schedule {
	sc := t.Settings.Schedule
	if t.Planned > 0 && sc.Total == t.Settings.Steps {
		sc.Total = t.Planned
		if t.Planned < t.Settings.Steps {
			sc.Warmup = min(sc.Warmup, int(MaxWarmupFraction*float64(t.Planned)))
		}
	}
	return sc
}

// MaxWarmupFraction is the largest fraction of a plan fitted to the time
// budget that the learning-rate warm-up takes (Trainer.Schedule).
const MaxWarmupFraction = 0.25

// Gradient returns the gradient of the last step (aliased; overwritten by
// the next).
func (t *Trainer) Gradient() []float64 { return t.grad }

// TrainStep takes one step: it evaluates the objective and its gradient and
// updates the parameters with Adam, or rejects the step when the loss or
// the gradient is not finite. The error is non-nil when the objective fails
// or Settings.MaxRejected consecutive steps have been rejected.
func (t *Trainer) TrainStep() (Step, error) {
	if t.start.IsZero() {
		t.start = t.now()
	}
	s := t.Settings
	params := t.Objective.Params()
	loss, err := t.Objective.Evaluate(t.grad, t.Step)
	if err != nil {
		return Step{Step: t.Step}, err
	}
	gnorm := floats.Norm(t.grad, 2)
	lr := t.Schedule().Rate(s.LearningRate, t.Step) * t.LearningRateScale
	st := Step{
		Step:         t.Step,
		Loss:         loss,
		GradNorm:     gnorm,
		LearningRate: lr,
		Seconds:      t.now().Sub(t.start).Seconds(),
		First:        !t.reported,
	}
	t.reported = true
	if !finite(loss) || !finite(gnorm) {
		st.Rejected = true
		t.inARow++
		t.Rejected++
		if t.hasBackup {
			t.restoreBackup(params)
		}
		t.LearningRateScale *= 0.5
		s = s.withDefaults()
		switch {
		case t.inARow >= s.MaxRejected:
			return st, fmt.Errorf("train: %d consecutive steps had a non-finite loss or gradient", t.inARow)
		case t.Rejected >= s.MaxRejectedTotal:
			return st, fmt.Errorf("train: %d steps in all had a non-finite loss or gradient", t.Rejected)
		}
		return st, nil
	}
	t.inARow = 0
	t.saveBackup(params)
	t.Optimizer.Update(params, t.grad, lr)
	t.Step++
	return st, nil
}

// Run trains until PlannedSteps steps are done, Settings.Duration has
// passed, the context is done, the recorder returns an error, or too many
// consecutive steps are rejected. With Settings.FitToDuration it first
// fits the plan to the time budget (see the package documentation). With
// Settings.CheckpointEvery it writes a checkpoint every so many steps and
// when it stops. A stop by the context or the time limit is not an error:
// Result.Status says which.
func (t *Trainer) Run(ctx context.Context, rec Recorder) (*Result, error) {
	begin := t.now()
	res := &Result{FirstStep: t.Step}
	t.refit = refitState{}
	err := t.fitPlan(begin, res)
	if err == nil {
		err = t.loop(ctx, rec, res, begin)
	}
	res.Steps = t.Step
	res.Planned = t.PlannedSteps()
	res.Seconds = t.now().Sub(begin).Seconds()
	if t.Settings.CheckpointEvery > 0 {
		if cerr := t.Checkpoint(t.Settings.CheckpointPath, t.Settings.CheckpointConfig); cerr != nil && err == nil {
			err = cerr
		}
	}
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		res.Status, err = StatusTimeLimit, nil
	case errors.Is(err, context.Canceled):
		res.Status, err = StatusInterrupted, nil
	}
	return res, err
}

func (t *Trainer) loop(ctx context.Context, rec Recorder, res *Result, begin time.Time) error {
	every := t.Settings.CheckpointEvery
	limit := t.Settings.Duration
	for t.Step < t.PlannedSteps() {
		if err := ctx.Err(); err != nil {
			return err
		}
		if limit > 0 && t.now().Sub(begin) >= limit {
			return context.DeadlineExceeded
		}
		st, err := t.TrainStep()
		if st.Rejected {
			res.Rejected++
		}
		if rec != nil {
			if rerr := rec.Record(st); rerr != nil {
				return rerr
			}
		}
		if err != nil {
			return err
		}
		if every > 0 && !st.Rejected && t.Step%every == 0 {
			if err := t.Checkpoint(t.Settings.CheckpointPath, t.Settings.CheckpointConfig); err != nil {
				return err
			}
		}
		if err := t.refitPlan(begin, res); err != nil {
			return err
		}
	}
	return nil
}

func (t *Trainer) saveBackup(params []float64) {
	n := len(params)
	copy(t.backup[:n], params)
	copy(t.backup[n:2*n], t.Optimizer.First)
	copy(t.backup[2*n:], t.Optimizer.Second)
	t.hasBackup = true
}

func (t *Trainer) restoreBackup(params []float64) {
	n := len(params)
	copy(params, t.backup[:n])
	copy(t.Optimizer.First, t.backup[n:2*n])
	copy(t.Optimizer.Second, t.backup[2*n:])
	t.Optimizer.Step--
	t.Step--
	t.hasBackup = false
}

// withDefaults returns s with the defaults of its zero fields.
func (s Settings) withDefaults() Settings {
	if s.MaxRejected <= 0 {
		s.MaxRejected = 10
	}
	if s.MaxRejectedTotal <= 0 {
		s.MaxRejectedTotal = 100
	}
	return s
}

func finite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }
