package train

import (
	"context"
	"math"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// clock is a fake clock that an objective advances by a fixed time per
// evaluation: the loop sees steps of that length without sleeping.
type clock struct{ now time.Time }

func (c *clock) Now() time.Time { return c.now }

// timed is the quadratic objective whose every evaluation takes perStep on
// the clock, or slowStep after the first fastCalls evaluations when
// fastCalls is positive.
type timed struct {
	*quadratic
	clock     *clock
	perStep   time.Duration
	fastCalls int
	slowStep  time.Duration
}

func (o *timed) Evaluate(grad []float64, step int) (float64, error) {
	d := o.perStep
	if o.fastCalls > 0 && o.calls >= o.fastCalls {
		d = o.slowStep
	}
	o.clock.now = o.clock.now.Add(d)
	return o.quadratic.Evaluate(grad, step)
}

// fitted returns a trainer of a fresh quadratic on a fake clock whose steps
// take a second, with steps planned and the settings' budget.
func fitted(t *testing.T, steps int, budget time.Duration, fit bool) (*Trainer, *timed) {
	t.Helper()
	c := &clock{now: time.Unix(1e9, 0)}
	o := &timed{quadratic: newQuadratic(), clock: c, perStep: time.Second}
	s := settings(steps)
	s.Duration, s.FitToDuration = budget, fit
	tr, err := New(o, s)
	if err != nil {
		t.Fatal(err)
	}
	tr.Now = c.Now
	return tr, o
}

// run trains tr and returns its result and the learning rates and
// parameters after every step.
func run(t *testing.T, tr *Trainer) (*Result, []float64, [][]float64) {
	t.Helper()
	var rates []float64
	var params [][]float64
	res, err := tr.Run(context.Background(), RecorderFunc(func(s Step) error {
		rates = append(rates, s.LearningRate)
		params = append(params, slices.Clone(tr.Objective.Params()))
		return nil
	}))
	if err != nil {
		t.Fatal(err)
	}
	return res, rates, params
}

// TestFitToDuration checks the fit on a fake clock: 1000 steps of a second
// in a budget of 100 s are cut by the time limit before the decay ends,
// while the fitted run plans ⌊0.9·(100 − 3)⌋ = 87 steps after its three
// probe evaluations, completes them with its rate decayed to the final
// one, and follows exactly the trajectory of a run of 87 steps.
func TestFitToDuration(t *testing.T) {
	plain, _ := fitted(t, 1000, 100*time.Second, false)
	res, rates, _ := run(t, plain)
	if res.Status != StatusTimeLimit || res.Steps != 100 || res.Fit != nil || res.Planned != 1000 {
		t.Fatalf("without the fit: %+v, want 100 steps of 1000 cut by the time limit", res)
	}
	if last := rates[len(rates)-1]; !(last > 0.9*0.1) {
		t.Errorf("without the fit the last rate is %v: the decay should be far from its end", last)
	}

	tr, o := fitted(t, 1000, 100*time.Second, true)
	res, rates, params := run(t, tr)
	if res.Status != StatusCompleted || res.Steps != 87 || res.Planned != 87 || tr.PlannedSteps() != 87 {
		t.Fatalf("fitted run: %+v, want 87 planned steps completed", res)
	}
	if f := res.Fit; f == nil || f.StepSeconds != 1 || f.Remaining != 97 || f.Planned != 87 || f.FromStep != 0 {
		t.Errorf("fit %+v, want 1 s a step, 97 s remaining, 87 steps from step 0", res.Fit)
	}
	if res.Refit != nil {
		t.Errorf("steps at the probe's pace were re-planned: %+v", res.Refit)
	}
	if o.calls != 87+FitProbeSteps {
		t.Errorf("%d evaluations, want 87 steps and %d probes", o.calls, FitProbeSteps)
	}
	if got, want := rates[len(rates)-1], tr.Schedule().Rate(0.1, 86); got != want {
		t.Errorf("last rate %v, want %v", got, want)
	}
	if got, want := tr.Schedule().Rate(0.1, 87), 0.01; math.Abs(got-want) > 1e-15 {
		t.Errorf("rate after the plan %v, want the final %v", got, want)
	}

	// A run of 87 steps without the fit, on no clock at all, is the same
	// bit for bit.
	ref, err := New(newQuadratic(), settings(87))
	if err != nil {
		t.Fatal(err)
	}
	_, refRates, refParams := run(t, ref)
	if !slices.Equal(rates, refRates) {
		t.Errorf("the fitted run's rates differ from those of --iterations 87")
	}
	for i := range params {
		if !slices.Equal(params[i], refParams[i]) {
			t.Fatalf("step %d: parameters %v, the run of 87 steps has %v", i, params[i], refParams[i])
		}
	}
}

// TestFitResume checks that the plan is in the checkpoint: a fitted run
// stopped by its context and resumed, even with another budget, follows
// the plan of its first process bit for bit, while a resume with more
// steps fits a new plan.
func TestFitResume(t *testing.T) {
	dir := t.TempDir()
	whole, _ := fitted(t, 1000, 100*time.Second, true)
	_, _, want := run(t, whole)

	first, _ := fitted(t, 1000, 100*time.Second, true)
	first.Settings.CheckpointEvery = 10
	first.Settings.CheckpointPath = filepath.Join(dir, "ck.npz")
	ctx, cancel := context.WithCancel(context.Background())
	res, err := first.Run(ctx, RecorderFunc(func(s Step) error {
		if s.Step == 40 {
			cancel()
		}
		return nil
	}))
	if err != nil || res.Status != StatusInterrupted || res.Steps != 41 {
		t.Fatalf("first process: %+v, %v", res, err)
	}

	second, _ := fitted(t, 1000, 10*time.Second, true)
	if err := second.Restore(filepath.Join(dir, "ck.npz"), nil); err != nil {
		t.Fatal(err)
	}
	second.Settings.CheckpointEvery = 10
	second.Settings.CheckpointPath = filepath.Join(dir, "ck.npz")
	second.Settings.Duration = time.Hour
	res, _, got := run(t, second)
	if res.Fit != nil || res.Steps != 87 || res.Status != StatusCompleted {
		t.Fatalf("resumed: %+v, want the first plan of 87 steps, no new fit", res)
	}
	if !slices.Equal(got[len(got)-1], want[len(want)-1]) {
		t.Errorf("resumed run ends at %v, the uninterrupted one at %v", got[len(got)-1], want[len(want)-1])
	}

	third, _ := fitted(t, 2000, 50*time.Second, true)
	if err := third.Restore(filepath.Join(dir, "ck.npz"), nil); err != nil {
		t.Fatal(err)
	}
	if third.Planned != 87 || third.PlannedFrom != 1000 {
		t.Fatalf("restored plan %d from %d, want 87 from 1000", third.Planned, third.PlannedFrom)
	}
	res, _, _ = run(t, third)
	// From step 87: ⌊0.9·(50 − 3)⌋ = 42 more steps.
	if res.Fit == nil || res.Planned != 87+42 || res.Steps != 87+42 {
		t.Errorf("resume with more steps: %+v, want a new plan of %d", res, 87+42)
	}
}

// TestRefit checks the re-fit on a fake clock whose steps slow down from
// half a second to a second after the first ten evaluations. The probe
// times half a second a step and plans ⌊0.9·(budget − 1.5 s)/0.5 s⌋ steps;
// the check at 5 % of the budget, or a minute when that is later, times
// the steps since half that time (a second each) and re-plans, with a
// checkpoint at once; the run completes the new plan within the budget,
// its rate decayed over it. Without the check it would be cut with its
// rate still at half.
func TestRefit(t *testing.T) {
	for _, tc := range []struct {
		budget    time.Duration
		fit       int
		refit     Fit
		remaining time.Duration // at the end of the run
	}{
		// At 100 s, step 102: 102 + ⌊0.9·1900⌋.
		{2000 * time.Second, 3597, Fit{FromStep: 102, StepSeconds: 1, Remaining: 1900, Planned: 1812}, 190 * time.Second},
		// Not before a minute: at 60 s, step 62: 62 + ⌊0.9·140⌋.
		{200 * time.Second, 357, Fit{FromStep: 62, StepSeconds: 1, Remaining: 140, Planned: 188}, 14 * time.Second},
	} {
		ck := filepath.Join(t.TempDir(), "ck.npz")
		tr, o := fitted(t, 10000, tc.budget, true)
		o.perStep, o.fastCalls, o.slowStep = time.Second/2, 10, time.Second
		tr.Settings.CheckpointEvery = 10000 // at the fit, the re-fit and the end only
		tr.Settings.CheckpointPath = ck
		var rates []float64
		res, err := tr.Run(context.Background(), RecorderFunc(func(s Step) error {
			rates = append(rates, s.LearningRate)
			if s.Step != tc.refit.FromStep {
				return nil
			}
			// The step after the re-fit: its checkpoint holds the new plan.
			again, _ := fitted(t, 10000, time.Hour, true)
			if err := again.Restore(ck, nil); err != nil {
				return err
			}
			if again.Step != tc.refit.FromStep || again.Planned != tc.refit.Planned || again.PlannedFrom != 10000 {
				t.Errorf("budget %v: checkpoint at step %d with a plan of %d from %d, want step %d and %d from 10000",
					tc.budget, again.Step, again.Planned, again.PlannedFrom, tc.refit.FromStep, tc.refit.Planned)
			}
			return nil
		}))
		if err != nil {
			t.Fatal(err)
		}
		if res.Status != StatusCompleted || res.Steps != tc.refit.Planned || res.Planned != tc.refit.Planned {
			t.Fatalf("budget %v: %+v, want the re-fitted plan of %d steps completed", tc.budget, res, tc.refit.Planned)
		}
		if f := res.Fit; f == nil || f.StepSeconds != 0.5 || f.Planned != tc.fit {
			t.Errorf("budget %v: fit %+v, want 0.5 s a step and %d steps", tc.budget, f, tc.fit)
		}
		if f := res.Refit; f == nil || *f != tc.refit {
			t.Errorf("budget %v: re-fit %+v, want %+v", tc.budget, f, tc.refit)
		}
		if o.calls != tc.refit.Planned+FitProbeSteps {
			t.Errorf("budget %v: %d evaluations, want %d steps and %d probes", tc.budget, o.calls, tc.refit.Planned, FitProbeSteps)
		}
		if left := tc.budget - o.clock.now.Sub(time.Unix(1e9, 0)); left != tc.remaining {
			t.Errorf("budget %v: %v left at the end, want %v", tc.budget, left, tc.remaining)
		}
		// The rates follow the first plan up to the re-fit, the second after.
		first, second := tr.Schedule(), tr.Schedule()
		first.Total = tc.fit
		for i, lr := range rates {
			sc := second
			if i < tc.refit.FromStep {
				sc = first
			}
			if want := sc.Rate(0.1, i); lr != want {
				t.Errorf("budget %v: step %d: rate %v, want %v", tc.budget, i, lr, want)
				break
			}
		}
		if got := second.Rate(0.1, tc.refit.Planned); math.Abs(got-0.01) > 1e-15 {
			t.Errorf("budget %v: rate after the plan %v, want the final 0.01", tc.budget, got)
		}
	}
}

// TestRefitAllSteps checks that a plan of all the steps, which still fit
// at a pace twice the probe's, stands: no re-fit, no note of one.
func TestRefitAllSteps(t *testing.T) {
	tr, o := fitted(t, 1000, 2*time.Hour, true)
	o.perStep, o.fastCalls, o.slowStep = time.Second/2, 10, time.Second
	res, _, _ := run(t, tr)
	if res.Refit != nil || res.Planned != 1000 || res.Steps != 1000 {
		t.Errorf("%+v, re-fit %+v; want the 1000 steps done without a re-fit", res, res.Refit)
	}
}

// TestPlanSteps checks the rule's bounds.
func TestPlanSteps(t *testing.T) {
	for _, c := range []struct {
		done, steps        int
		remaining, perStep time.Duration
		want               int
	}{
		{0, 1000, 100 * time.Second, time.Second, 90},
		{0, 50, 100 * time.Second, time.Second, 50},          // fits: the plan is the steps
		{10, 1000, 100 * time.Second, 2 * time.Second, 55},   // counts from the steps done
		{10, 1000, -time.Second, time.Second, 11},            // the budget is spent: one step
		{0, 1000, 100 * time.Second, 0, 1000},                // no measure: no cut
		{0, 1000, 100 * time.Second, time.Millisecond, 1000}, // fast steps
	} {
		if got := PlanSteps(c.done, c.steps, c.remaining, c.perStep); got != c.want {
			t.Errorf("PlanSteps(%d, %d, %v, %v) = %d, want %d", c.done, c.steps, c.remaining, c.perStep, got, c.want)
		}
	}
}

// TestFitCapsWarmup checks that the warm-up follows a shortened plan: a
// warm-up of 50 steps planned for 1000 becomes ⌊87/4⌋ = 21 of the 87
// steps fitted to the budget, so that the rate reaches its base and
// decays, and the run is that of 87 steps with a warm-up of 21; a
// warm-up shorter than a quarter of the plan is kept.
func TestFitCapsWarmup(t *testing.T) {
	for _, tc := range []struct{ warmup, want int }{{50, 21}, {21, 21}, {10, 10}, {0, 0}} {
		tr, _ := fitted(t, 1000, 100*time.Second, true)
		tr.Settings.Schedule.Warmup = tc.warmup
		res, rates, params := run(t, tr)
		if res.Planned != 87 {
			t.Fatalf("warm-up %d: planned %d, want 87", tc.warmup, res.Planned)
		}
		if sc := tr.Schedule(); sc.Warmup != tc.want || sc.Total != 87 {
			t.Errorf("warm-up %d: schedule %+v, want a warm-up of %d and 87 steps", tc.warmup, sc, tc.want)
		}
		if tc.want > 0 && rates[tc.want-1] != 0.1 {
			t.Errorf("warm-up %d: rate %v at step %d, want the base 0.1", tc.warmup, rates[tc.want-1], tc.want-1)
		}
		s := settings(87)
		s.Schedule.Warmup = tc.want
		ref, err := New(newQuadratic(), s)
		if err != nil {
			t.Fatal(err)
		}
		_, refRates, refParams := run(t, ref)
		if !slices.Equal(rates, refRates) || !slices.Equal(params[86], refParams[86]) {
			t.Errorf("warm-up %d: the fitted run differs from 87 steps with a warm-up of %d", tc.warmup, tc.want)
		}
	}

	// A budget that allows every step leaves the schedule as it was.
	tr, _ := fitted(t, 100, time.Hour, true)
	tr.Settings.Schedule.Warmup = 50
	if res, _, _ := run(t, tr); res.Planned != 100 || tr.Schedule().Warmup != 50 {
		t.Errorf("unshortened plan: planned %d, warm-up %d, want 100 and 50", res.Planned, tr.Schedule().Warmup)
	}
}
