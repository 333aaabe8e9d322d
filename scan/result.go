package scan

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/isingflow/isingflow/internal/provenance"
	"github.com/isingflow/isingflow/internal/runio"
	"github.com/isingflow/isingflow/model"
	"github.com/isingflow/isingflow/observables"
	"github.com/isingflow/isingflow/stats"
	"github.com/isingflow/isingflow/train"
)

// Result is the outcome of one run: the trained flow's estimates beside the
// exact values, how the run was trained and where. It is a run directory's
// result.json, one flat JSON object: the keys of
// observables.IsingEstimates, the lattice and model, the training's steps
// and time, the exact values prefixed "exact_" (finite lattice) and
// "onsager_" (L = ∞), the seeds and the provenance.
type Result struct {
	Config    model.Config
	Training  model.Training
	Exact     *Exact
	Estimates *observables.IsingEstimates
	// Steps is the number of training steps done in all; PlannedSteps the
	// number the run was to do (the iterations, or the number fitted to
	// the time limit: model.Training.FitToTimeLimit); FirstStep the step
	// this process started from (0, or the checkpoint's step when
	// resumed), and Seconds its training time.
	Steps, PlannedSteps, FirstStep int
	Seconds                        float64
	// Fit is the fit of the plan to the time limit made by this process,
	// nil when it made none (JSON "schedule_fit"); Refit the plan that
	// replaced it, from the pace of the steps trained, nil when it stood
	// (JSON "schedule_refit", train.Result.Refit).
	Fit, Refit *train.Fit
	// Stop says why training ended: "completed", "time limit" or
	// "interrupted" (train.Status).
	Stop string
	// EvalSeed is the seed of the evaluation samples.
	EvalSeed uint64
	// LogDetGap is ln p(integrated Laplacian) − ln p(discrete RK4 map) per
	// site, when the evaluation checked it.
	LogDetGap *stats.Estimate
	// WarmStartT is the temperature whose trained flow this run started
	// from, in a temperature chain; nil for a flow trained from its
	// initialisation.
	WarmStartT *float64
	// InitFrom is the run directory whose trained flow started this run
	// (Options.InitFrom), empty for one trained from its initialisation.
	InitFrom   string
	Provenance provenance.Provenance
	// Params are the trained parameters (not in JSON).
	Params []float64
}

// Completed reports whether the run did all its planned steps.
func (r *Result) Completed() bool { return r.Steps >= r.PlannedSteps }

// MarshalJSON flattens the estimates and the exact values into one object.
func (r *Result) MarshalJSON() ([]byte, error) {
	b, err := json.Marshal(r.Estimates)
	if err != nil {
		return nil, err
	}
	out := map[string]any{}
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, err
	}
	c := r.Config
	out["L"] = c.L
	out["dim"] = c.Dim
	out["open"] = c.Open
	out["T"] = c.T
	out["delta"] = c.Delta
	out["steps"] = r.Steps
	out["planned_steps"] = r.PlannedSteps
	out["completed"] = r.Completed()
	if r.Stop != "" {
		out["stop"] = r.Stop
	}
	out["seconds"] = r.Seconds
	if r.FirstStep > 0 {
		out["resumed_from_step"] = r.FirstStep
	}
	out["model"] = c
	out["training"] = r.Training
	out["seeds"] = map[string]uint64{"init": c.InitSeed, "training": r.Training.Seed, "evaluation": r.EvalSeed}
	out["provenance"] = r.Provenance
	if r.WarmStartT != nil {
		out["warm_start_T"] = *r.WarmStartT
	}
	if r.InitFrom != "" {
		out["init_from"] = r.InitFrom
	}
	if r.Fit != nil {
		out["schedule_fit"] = newFitJSON(r.Fit)
	}
	if r.Refit != nil {
		out["schedule_refit"] = newFitJSON(r.Refit)
	}
	if r.LogDetGap != nil {
		out["logdet_gap_per_site"] = r.LogDetGap.Mean
		out["logdet_gap_per_site_err"] = r.LogDetGap.Err
	}
	if x := r.Exact; x != nil {
		put := func(k string, v *float64) {
			if v != nil {
				out[k] = *v
			}
		}
		put("exact_free_energy_per_site", x.FreeEnergyPerSite)
		put("exact_energy_per_site", x.EnergyPerSite)
		put("exact_specific_heat_per_site", x.SpecificHeatPerSite)
		put("exact_abs_magnetization", x.AbsMagnetization)
		put("exact_magnetization_sq", x.MagnetizationSq)
		put("exact_magnetization_4", x.Magnetization4)
		put("exact_binder", x.Binder)
		put("exact_susceptibility", x.Susceptibility)
		put("exact_relaxation_free_energy_per_site", x.RelaxationFreeEnergy)
		put("onsager_free_energy_per_site", x.OnsagerFreeEnergy)
		put("onsager_energy_per_site", x.OnsagerEnergy)
		put("onsager_specific_heat_per_site", x.OnsagerSpecificHeat)
	}
	return json.Marshal(out)
}

// UnmarshalJSON reads what MarshalJSON writes, the exact values too (a
// result.json written before the provenance and the seeds existed reads
// with those left zero).
func (r *Result) UnmarshalJSON(b []byte) error {
	var est observables.IsingEstimates
	if err := json.Unmarshal(b, &est); err != nil {
		return err
	}
	var v struct {
		Model        model.Config                `json:"model"`
		Training     model.Training              `json:"training"`
		Steps        int                         `json:"steps"`
		PlannedSteps *int                        `json:"planned_steps"`
		Seconds      float64                     `json:"seconds"`
		Resumed      int                         `json:"resumed_from_step"`
		Stop         string                      `json:"stop"`
		Seeds        struct{ Evaluation uint64 } `json:"seeds"`
		Provenance   provenance.Provenance       `json:"provenance"`
		WarmStartT   *float64                    `json:"warm_start_T"`
		InitFrom     string                      `json:"init_from"`
		Fit          *fitJSON                    `json:"schedule_fit"`
		Refit        *fitJSON                    `json:"schedule_refit"`
		Gap          *float64                    `json:"logdet_gap_per_site"`
		GapErr       *float64                    `json:"logdet_gap_per_site_err"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	exact := map[string]*float64{}
	for _, k := range []string{"exact_free_energy_per_site", "exact_energy_per_site", "exact_specific_heat_per_site",
		"exact_abs_magnetization", "exact_magnetization_sq", "exact_magnetization_4", "exact_binder",
		"exact_susceptibility", "exact_relaxation_free_energy_per_site", "onsager_free_energy_per_site",
		"onsager_energy_per_site", "onsager_specific_heat_per_site"} {
		if m, ok := raw[k]; ok {
			var x float64
			if err := json.Unmarshal(m, &x); err != nil {
				return fmt.Errorf("%s: %v", k, err)
			}
			exact[k] = &x
		}
	}
	*r = Result{
		Config: v.Model, Training: v.Training, Estimates: &est,
		Steps: v.Steps, PlannedSteps: v.Steps, FirstStep: v.Resumed, Seconds: v.Seconds, Stop: v.Stop,
		EvalSeed: v.Seeds.Evaluation, WarmStartT: v.WarmStartT, InitFrom: v.InitFrom, Provenance: v.Provenance,
		Exact: &Exact{
			L: v.Model.L, Dim: v.Model.Dim, T: v.Model.T, Beta: 1 / v.Model.T, RelaxationDelta: v.Model.Delta,
			FreeEnergyPerSite:    exact["exact_free_energy_per_site"],
			EnergyPerSite:        exact["exact_energy_per_site"],
			SpecificHeatPerSite:  exact["exact_specific_heat_per_site"],
			AbsMagnetization:     exact["exact_abs_magnetization"],
			MagnetizationSq:      exact["exact_magnetization_sq"],
			Magnetization4:       exact["exact_magnetization_4"],
			Binder:               exact["exact_binder"],
			Susceptibility:       exact["exact_susceptibility"],
			RelaxationFreeEnergy: exact["exact_relaxation_free_energy_per_site"],
			OnsagerFreeEnergy:    exact["onsager_free_energy_per_site"],
			OnsagerEnergy:        exact["onsager_energy_per_site"],
			OnsagerSpecificHeat:  exact["onsager_specific_heat_per_site"],
		},
	}
	if v.PlannedSteps != nil {
		r.PlannedSteps = *v.PlannedSteps
	}
	r.Fit, r.Refit = v.Fit.fit(), v.Refit.fit()
	if v.Gap != nil && v.GapErr != nil {
		r.LogDetGap = &stats.Estimate{Mean: *v.Gap, Err: *v.GapErr}
	}
	return nil
}

// WriteResult writes r as the result.json of the run directory dir,
// atomically.
func WriteResult(dir string, r *Result) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return runio.WriteBytesAtomic(filepath.Join(dir, model.ResultFile), append(b, '\n'))
}

// ReadResult reads the result.json of the run directory dir.
func ReadResult(dir string) (*Result, error) {
	path := filepath.Join(dir, model.ResultFile)
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var r Result
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	return &r, nil
}

// fitJSON is a train.Fit in result.json.
type fitJSON struct {
	FromStep    int     `json:"from_step"`
	StepSeconds float64 `json:"step_seconds"`
	Remaining   float64 `json:"remaining_seconds"`
	Planned     int     `json:"planned_steps"`
}

func newFitJSON(f *train.Fit) *fitJSON {
	return &fitJSON{FromStep: f.FromStep, StepSeconds: f.StepSeconds, Remaining: f.Remaining, Planned: f.Planned}
}

// fit returns the train.Fit of f, nil for nil.
func (f *fitJSON) fit() *train.Fit {
	if f == nil {
		return nil
	}
	return &train.Fit{FromStep: f.FromStep, StepSeconds: f.StepSeconds, Remaining: f.Remaining, Planned: f.Planned}
}
