package train

import (
	"fmt"
	"math"
	"time"
)

// The rule of the fit of the plan to the time budget (see the package
// documentation).
const (
	// FitProbeSteps is the number of steps Run evaluates, without
	// updating anything, to time a step: the first warms up (its one-time
	// allocations), the others are timed.
	FitProbeSteps = 3
	// FitMargin is the fraction of the remaining budget the plan fills,
	// leaving the rest for slower steps, checkpoints and the log.
	FitMargin = 0.9
	// RefitFraction is the fraction of the budget after which Run checks
	// the plan against the pace of the steps trained in the second half
	// of that time (refitPlan), but not before RefitMinimum.
	RefitFraction = 0.05
	// RefitMinimum is the earliest time of the check: the pace of a
	// process's first minute is not the pace of the rest (see the package
	// documentation).
	RefitMinimum = time.Minute
	// RefitTolerance is the fraction by which the time of a step at that
	// pace must differ from the probe's for the plan to be fitted anew.
	RefitTolerance = 0.05
)

// refitState is the check of the plan against the pace of the steps
// trained (refitPlan), armed in a process that fitted the plan.
type refitState struct {
	armed    bool      // the plan was fitted by this process, not yet checked
	probe    float64   // the seconds of a step the plan was fitted with
	marked   bool      // the window of the pace has begun
	markTime time.Time // its start
	markStep int       // the step at its start
}

// fitPlan fits the number of steps to the time budget when
// Settings.FitToDuration asks for it and no plan fitted from the same
// Settings.Steps is in force (one restored from a checkpoint is kept, so
// that a resumed run follows the plan of its first process), and writes a
// checkpoint holding the plan. A step's time is that of the objective's
// evaluation (timeStep) plus, with checkpoints, the time of writing one
// divided by CheckpointEvery.
func (t *Trainer) fitPlan(begin time.Time, res *Result) error {
	s := t.Settings
	if t.Planned > 0 && (!s.FitToDuration || t.PlannedFrom != s.Steps) {
		t.Planned, t.PlannedFrom = 0, 0 // a plan of other settings
	}
	if !s.FitToDuration || s.Duration <= 0 || t.Planned > 0 || t.Step >= s.Steps {
		return nil
	}
	// A checkpoint every CheckpointEvery steps is part of a step's cost:
	// time one (of the state as it is) and spread it over its steps.
	var perCheckpoint time.Duration
	if s.CheckpointEvery > 0 {
		t0 := t.now()
		if err := t.Checkpoint(s.CheckpointPath, s.CheckpointConfig); err != nil {
			return err
		}
		perCheckpoint = t.now().Sub(t0) / time.Duration(s.CheckpointEvery)
	}
	perStep, err := t.timeStep()
	if err != nil {
		return err
	}
	perStep += perCheckpoint
	remaining := s.Duration - t.now().Sub(begin)
	planned := PlanSteps(t.Step, s.Steps, remaining, perStep)
	t.Planned, t.PlannedFrom = planned, s.Steps
	res.Fit = &Fit{FromStep: t.Step, StepSeconds: perStep.Seconds(), Remaining: remaining.Seconds(), Planned: planned}
	t.refit = refitState{armed: true, probe: perStep.Seconds()}
	if s.CheckpointEvery > 0 {
		return t.Checkpoint(s.CheckpointPath, s.CheckpointConfig)
	}
	return nil
}

// refitPlan checks, once, the plan fitted by this process against the
// pace of the steps trained: the steps that end between half and all of
// RefitFraction of the budget (or RefitMinimum, whichever is later) give
// the time of a step, records, checkpoints and validations included. When
// it differs from the probe's by more than RefitTolerance, PlanSteps plans
// anew from it, and the plan replaces the one in force (Result.Refit),
// with a checkpoint: a probe timed before the machine slowed down (or sped
// up) is corrected before the plan's decay has gone far.
func (t *Trainer) refitPlan(begin time.Time, res *Result) error {
	rf := &t.refit
	if !rf.armed {
		return nil
	}
	s := t.Settings
	now := t.now()
	elapsed := now.Sub(begin)
	at := max(time.Duration(RefitFraction*float64(s.Duration)), RefitMinimum)
	switch {
	case !rf.marked:
		if elapsed >= at/2 {
			rf.marked, rf.markTime, rf.markStep = true, now, t.Step
		}
		return nil
	case elapsed < at || t.Step <= rf.markStep:
		return nil
	}
	rf.armed = false
	perStep := now.Sub(rf.markTime) / time.Duration(t.Step-rf.markStep)
	if math.Abs(perStep.Seconds()-rf.probe) <= RefitTolerance*rf.probe {
		return nil // the probe was right: the plan stands
	}
	remaining := s.Duration - elapsed
	planned := PlanSteps(t.Step, s.Steps, remaining, perStep)
	if planned == t.Planned {
		return nil // all the steps still fit: nothing to re-plan
	}
	t.Planned = planned
	res.Refit = &Fit{FromStep: t.Step, StepSeconds: perStep.Seconds(), Remaining: remaining.Seconds(), Planned: planned}
	if s.CheckpointEvery > 0 {
		return t.Checkpoint(s.CheckpointPath, s.CheckpointConfig)
	}
	return nil
}

// PlanSteps is the rule of the fit: from step done, with the time
// remaining in the budget and a step's measured time perStep, the run
// plans done + ⌊FitMargin·remaining/perStep⌋ steps in all, at least
// done + 1 and at most steps.
func PlanSteps(done, steps int, remaining, perStep time.Duration) int {
	n := steps - done
	if perStep > 0 {
		fit := math.Floor(FitMargin * remaining.Seconds() / perStep.Seconds())
		if fit < float64(n) {
			n = int(max(fit, 1))
		}
	}
	return done + n
}

// timeStep measures the time of a step by evaluating the objective
// FitProbeSteps times at the current step without updating the
// parameters, the optimiser or the step, and restores the objective's
// state (Stateful) afterwards: the trajectory is the one the run would
// have without the probe. An objective that is not Stateful has no state
// a step depends on, by the contract of Stateful.
func (t *Trainer) timeStep() (time.Duration, error) {
	var state []byte
	st, stateful := t.Objective.(Stateful)
	if stateful {
		var err error
		if state, err = st.MarshalState(); err != nil {
			return 0, fmt.Errorf("train: objective state: %w", err)
		}
	}
	var t0 time.Time
	for i := range FitProbeSteps {
		if i == 1 {
			t0 = t.now()
		}
		if _, err := t.Objective.Evaluate(t.grad, t.Step); err != nil {
			return 0, err
		}
	}
	perStep := t.now().Sub(t0) / (FitProbeSteps - 1)
	if stateful {
		if err := st.UnmarshalState(state); err != nil {
			return 0, fmt.Errorf("train: objective state: %w", err)
		}
	}
	return perStep, nil
}
