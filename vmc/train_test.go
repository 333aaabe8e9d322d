package vmc

import (
	"context"
	"encoding/json"
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"gonum.org/v1/gonum/mat"

	"github.com/isingflow/isingflow/flow"
	"github.com/isingflow/isingflow/ising"
	"github.com/isingflow/isingflow/lattice"
	"github.com/isingflow/isingflow/optim"
	"github.com/isingflow/isingflow/train"
	"github.com/isingflow/isingflow/validation"
)

func smallTrainer(t *testing.T, p flow.Potential, seed uint64) *Trainer {
	t.Helper()
	lat, _ := lattice.NewHypercubic(2, 3, lattice.Periodic)
	rel, err := ising.NewRelaxation(lat, 2.5, ising.DefaultDelta)
	if err != nil {
		t.Fatal(err)
	}
	if p == nil {
		p = flow.NewShallow(lat.N(), 8, flow.LogCosh, false, rand.New(rand.NewPCG(seed, 1)))
	}
	f, err := flow.New(p, 4, 0.1)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := NewTrainer(f, rel, Settings{Settings: train.Settings{Steps: 6, LearningRate: 1e-2}, Batch: 16, Seed: seed})
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

type testConfig struct {
	L int     `json:"L"`
	T float64 `json:"T"`
}

func TestTrainingLowersFreeEnergyAndRespectsBound(t *testing.T) {
	for _, path := range []bool{false, true} {
		t.Run(map[bool]string{false: "full gradient", true: "path gradient"}[path], func(t *testing.T) {
			tr := smallTrainer(t, nil, 1)
			tr.Settings.Steps = 300
			tr.Settings.PathGradient = path
			var recs []Record
			if _, err := tr.Run(context.Background(), RecorderFunc(func(r Record) error {
				recs = append(recs, r)
				return nil
			})); err != nil {
				t.Fatal(err)
			}
			first, last := mean10(recs[:10]), mean10(recs[len(recs)-10:])
			if !(last < first-0.05) {
				t.Errorf("free energy per site did not fall: first %v, last %v", first, last)
			}
			// The bound: F_var(cont) ≥ −ln Z_cont, exactly, by enumeration of
			// the 3×3 torus; the last ten batch estimates, averaged, may
			// fall below it only by their own error (4σ).
			lat, _ := lattice.NewHypercubic(2, 3, lattice.Periodic)
			exact := -tr.Target.ContinuousLnZ(mustEnumerate(t, lat, tr.Target.Temperature())) / float64(lat.N())
			var v float64
			for _, r := range recs[len(recs)-10:] {
				v += r.ContinuousFreeEnergyErr * r.ContinuousFreeEnergyErr
			}
			sigma := math.Sqrt(v) / 10
			if !(last >= exact-4*sigma) {
				t.Errorf("variational bound violated: F_var(cont)/N = %.5f ± %.5f over the last ten steps, exact −ln Z_cont/N = %.5f", last, sigma, exact)
			}
			t.Logf("F_var(cont)/N: first ten steps %.4f, last ten %.4f ± %.4f, exact %.4f", first, last, sigma, exact)
		})
	}
}

func mean10(rs []Record) float64 {
	s := 0.0
	for _, r := range rs {
		s += r.ContinuousFreeEnergyPerSite
	}
	return s / float64(len(rs))
}

func TestResumeIsBitIdentical(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig{L: 3, T: 2.5}
	// Straight through: six steps.
	a := smallTrainer(t, nil, 7)
	if _, err := a.Run(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	// Three steps, checkpoint, a fresh trainer restores and does three more.
	b := smallTrainer(t, nil, 7)
	b.Settings.Steps = 3
	if _, err := b.Run(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "ck.npz")
	if err := b.Checkpoint(path, cfg); err != nil {
		t.Fatal(err)
	}
	c := smallTrainer(t, nil, 99) // different initial parameters and seed: all restored
	if err := c.Restore(path, cfg); err != nil {
		t.Fatal(err)
	}
	// The resumed trainer's first record, and only it, marks the start of
	// its process (its Seconds count from there).
	var starts []int
	if _, err := c.Run(context.Background(), RecorderFunc(func(r Record) error {
		if r.ProcessStart {
			starts = append(starts, r.Step)
		}
		return nil
	})); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(starts, []int{3}) {
		t.Errorf("records marked as a process's first at steps %v, want [3]", starts)
	}
	if c.Step != 6 {
		t.Fatalf("resumed trainer at step %d", c.Step)
	}
	pa, pc := a.Flow.Potential.Params(), c.Flow.Potential.Params()
	for i := range pa {
		if math.Float64bits(pa[i]) != math.Float64bits(pc[i]) {
			t.Fatalf("parameter %d differs after resume: %v vs %v", i, pa[i], pc[i])
		}
	}
	if !slices.Equal(a.Optimizer.Second, c.Optimizer.Second) {
		t.Fatal("Adam moments differ after resume")
	}
}

func TestRestoreRejectsOtherRuns(t *testing.T) {
	dir := t.TempDir()
	a := smallTrainer(t, nil, 1)
	path := filepath.Join(dir, "ck.npz")
	if err := a.Checkpoint(path, testConfig{L: 3, T: 2.5}); err != nil {
		t.Fatal(err)
	}
	b := smallTrainer(t, nil, 2)
	before := slices.Clone(b.Flow.Potential.Params())
	err := b.Restore(path, testConfig{L: 3, T: 2.0})
	if err == nil || !strings.Contains(err.Error(), "another run") {
		t.Errorf("restoring another temperature: %v", err)
	}
	// A model with another number of parameters.
	lat, _ := lattice.NewHypercubic(2, 3, lattice.Periodic)
	c := smallTrainer(t, flow.NewShallow(lat.N(), 5, flow.LogCosh, false, nil), 3)
	if err := c.Restore(path, testConfig{L: 3, T: 2.5}); err == nil {
		t.Error("restored parameters into a model of another size")
	}
	if !slices.Equal(before, b.Flow.Potential.Params()) {
		t.Error("a failed restore changed the parameters")
	}
	var cfg testConfig
	if err := train.ReadCheckpointConfig(path, &cfg); err != nil || cfg.L != 3 {
		t.Errorf("ReadCheckpointConfig = %+v, %v", cfg, err)
	}
}

// poisoned wraps a potential and makes the Laplacian NaN on chosen calls of
// GradLaplacian, as an overflowing model would.
type poisoned struct {
	flow.Potential
	calls  int
	poison func(call int) bool
}

func (p *poisoned) GradLaplacian(grad *mat.Dense, lap []float64, x *mat.Dense) {
	p.Potential.GradLaplacian(grad, lap, x)
	p.calls++
	if p.poison(p.calls) {
		lap[0] = math.NaN()
	}
}

func TestNaNGuardRejectsStepAndRecovers(t *testing.T) {
	lat, _ := lattice.NewHypercubic(2, 3, lattice.Periodic)
	inner := flow.NewShallow(lat.N(), 8, flow.LogCosh, false, rand.New(rand.NewPCG(4, 1)))
	const stagesPerStep = 4 * 4 // 4 RK4 steps of 4 stages
	p := &poisoned{Potential: inner, poison: func(c int) bool {
		return c > 2*stagesPerStep && c <= 3*stagesPerStep // the third step
	}}
	tr := smallTrainer(t, p, 5)
	var recs []Record
	if _, err := tr.Run(context.Background(), RecorderFunc(func(r Record) error {
		recs = append(recs, r)
		for _, v := range inner.Params() {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				t.Fatalf("non-finite parameter after step %d", r.Step)
			}
		}
		return nil
	})); err != nil {
		t.Fatal(err)
	}
	if !recs[2].Rejected {
		t.Fatalf("the poisoned step was not rejected: %+v", recs[2])
	}
	if tr.LearningRateScale != 0.5 {
		t.Errorf("learning-rate scale %v after one rejection, want 0.5", tr.LearningRateScale)
	}
	// The rejection rolled back the second update: the step counter went
	// back by one, and training still reached its six steps.
	if recs[3].Step != 1 || tr.Step != 6 {
		t.Errorf("after the rejection the step is %d (want 1); final step %d", recs[3].Step, tr.Step)
	}
	// Every record, the rejected one with its non-finite estimates among
	// them, is valid JSON for the training log, NaN and ±Inf written as null.
	for _, r := range recs {
		b, err := json.Marshal(r)
		if err != nil {
			t.Fatalf("step %d (rejected %v): %v", r.Step, r.Rejected, err)
		}
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("step %d: %v in %s", r.Step, err, b)
		}
		if r.Rejected && m["free_energy_cont_per_site"] != nil {
			t.Errorf("rejected step written as %s, want null estimates", b)
		}
	}

	// A model that is always NaN stops with an error instead of looping.
	always := &poisoned{Potential: flow.NewShallow(lat.N(), 8, flow.LogCosh, false, nil), poison: func(int) bool { return true }}
	tr = smallTrainer(t, always, 6)
	tr.Settings.Steps = 100
	if _, err := tr.Run(context.Background(), nil); err == nil || !strings.Contains(err.Error(), "non-finite") {
		t.Errorf("always-NaN model: %v", err)
	}
}

func TestRecordJSONWritesNonFiniteAsNull(t *testing.T) {
	for _, tc := range []struct {
		name string
		r    Record
		want []string
	}{
		{"unknown KL", Record{Step: 3, KLPerSite: math.NaN(), GradNorm: 2.5},
			[]string{`"step":3`, `"kl_per_site":null`, `"grad_norm":2.5`}},
		{"rejected step", Record{Step: 7, ContinuousFreeEnergyPerSite: math.NaN(), ContinuousFreeEnergyErr: math.Inf(1),
			VariationalFreeEnergyPerSite: math.NaN(), VariationalFreeEnergyErr: math.NaN(), KLPerSite: math.Inf(-1),
			ESSFraction: math.NaN(), GradNorm: math.Inf(1), LearningRate: 1e-3, Rejected: true},
			[]string{`"free_energy_cont_per_site":null`, `"free_energy_cont_per_site_err":null`,
				`"variational_free_energy_per_site":null`, `"variational_free_energy_per_site_err":null`,
				`"kl_per_site":null`, `"ess_fraction":null`, `"grad_norm":null`, `"learning_rate":0.001`, `"rejected":true`}},
	} {
		b, err := json.Marshal(tc.r)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		for _, w := range tc.want {
			if !strings.Contains(string(b), w) {
				t.Errorf("%s: JSON %s lacks %s", tc.name, b, w)
			}
		}
	}
}

func TestAnnealTemperature(t *testing.T) {
	a := Anneal{From: 2, Fraction: 0.5, Levels: 4}
	for _, tc := range []struct {
		step int
		want float64
	}{
		{0, 2}, {12, 2}, {13, math.Pow(2, 0.75)}, {37, math.Sqrt2}, {38, math.Pow(2, 0.25)}, {49, math.Pow(2, 0.25)}, {50, 1}, {99, 1},
	} {
		if got := a.Temperature(1, tc.step, 100); math.Abs(got-tc.want) > 1e-15 {
			t.Errorf("step %d: T = %v, want %v", tc.step, got, tc.want)
		}
	}
	if got := (Anneal{}).Temperature(2.5, 0, 100); got != 2.5 {
		t.Errorf("no annealing: T = %v", got)
	}
}

func TestTrainerAnnealsAndReportsTemperature(t *testing.T) {
	tr := smallTrainer(t, nil, 8)
	tr.Settings.Steps = 8
	tr.Settings.Anneal = Anneal{From: 1.5, Fraction: 0.5, Levels: 2}
	lnZ := 0.0
	tr.ExactLnZPerSite = func(T float64) float64 { lnZ = T; return 0 }
	var temps []float64
	if _, err := tr.Run(context.Background(), RecorderFunc(func(r Record) error {
		temps = append(temps, r.Temperature)
		if r.Temperature != lnZ {
			t.Errorf("KL at step %d used the exact value at T = %v, trained at %v", r.Step, lnZ, r.Temperature)
		}
		return nil
	})); err != nil {
		t.Fatal(err)
	}
	want := []float64{3.75, 3.75, 2.5 * math.Sqrt(1.5), 2.5 * math.Sqrt(1.5), 2.5, 2.5, 2.5, 2.5}
	for i := range want {
		if math.Abs(temps[i]-want[i]) > 1e-12 {
			t.Fatalf("temperatures %v, want %v", temps, want)
		}
	}
}

// mustEnumerate returns the exact ln Z_Ising of lat at T by enumeration.
func mustEnumerate(t *testing.T, lat *lattice.Lattice, T float64) float64 {
	t.Helper()
	e, err := validation.Enumerate(lat, T)
	if err != nil {
		t.Fatal(err)
	}
	return e.LnZ
}

// TestFitToDurationFollowsThePlan checks that the anneal follows the plan
// fitted to the time budget (train.Settings.FitToDuration): on a fake clock
// advanced a second per evaluation, 60 steps in 20 s become ⌊0.9·17⌋ = 15
// after three probes, the run reaches T by step 8 and has the records of a
// run of 15 steps without the fit, bit for bit.
func TestFitToDurationFollowsThePlan(t *testing.T) {
	records := func(steps int, fit bool) ([]Record, *train.Result) {
		tr := smallTrainer(t, nil, 3)
		tr.Settings.Steps = steps
		tr.Settings.Schedule = optim.Schedule{Total: steps, Final: 0.1}
		tr.Settings.Anneal = Anneal{From: 1.5, Fraction: 0.5, Levels: 5}
		now := time.Unix(1e9, 0)
		tr.Now = func() time.Time { return now }
		tr.BeforeStep = func(int) { now = now.Add(time.Second) }
		if fit {
			tr.Settings.Duration, tr.Settings.FitToDuration = 20*time.Second, true
		}
		var recs []Record
		res, err := tr.Run(context.Background(), RecorderFunc(func(r Record) error {
			r.Seconds = 0   // the clocks differ by the probes
			r.KLPerSite = 0 // NaN: no exact value here
			recs = append(recs, r)
			return nil
		}))
		if err != nil {
			t.Fatal(err)
		}
		return recs, res
	}
	got, res := records(60, true)
	if res.Status != train.StatusCompleted || res.Planned != 15 || len(got) != 15 {
		t.Fatalf("fitted run: %+v with %d records, want 15 planned steps completed", res, len(got))
	}
	want, _ := records(15, false)
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("step %d: %+v, the run of 15 steps has %+v", i, got[i], want[i])
		}
	}
	T := 2.5
	for _, r := range got[8:] {
		if r.Temperature != T {
			t.Errorf("step %d at T = %v: the anneal should have ended at step 7.5", r.Step, r.Temperature)
		}
	}
	if got[0].Temperature <= T {
		t.Errorf("step 0 at T = %v, want annealing", got[0].Temperature)
	}
}
