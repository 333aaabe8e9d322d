package vmc

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/isingflow/isingflow/internal/runio"
)

// MarshalJSON writes the record with every non-finite number as null (JSON
// has no NaN or infinity): the KL per site when the exact free energy is
// unknown, and the estimates and gradient norm of a rejected step, whose
// loss or gradient was not finite.
func (r Record) MarshalJSON() ([]byte, error) {
	type plain Record
	return json.Marshal(struct {
		plain
		ContinuousFreeEnergyPerSite  *float64 `json:"free_energy_cont_per_site"`
		ContinuousFreeEnergyErr      *float64 `json:"free_energy_cont_per_site_err"`
		VariationalFreeEnergyPerSite *float64 `json:"variational_free_energy_per_site"`
		VariationalFreeEnergyErr     *float64 `json:"variational_free_energy_per_site_err"`
		KLPerSite                    *float64 `json:"kl_per_site"`
		ESSFraction                  *float64 `json:"ess_fraction"`
		GradNorm                     *float64 `json:"grad_norm"`
	}{plain(r),
		runio.FiniteOrNull(r.ContinuousFreeEnergyPerSite), runio.FiniteOrNull(r.ContinuousFreeEnergyErr),
		runio.FiniteOrNull(r.VariationalFreeEnergyPerSite), runio.FiniteOrNull(r.VariationalFreeEnergyErr),
		runio.FiniteOrNull(r.KLPerSite), runio.FiniteOrNull(r.ESSFraction), runio.FiniteOrNull(r.GradNorm)})
}

// trainerState is the metadata of a training checkpoint beside the
// caller's configuration, which must match on resume.
type trainerState struct {
	Config            json.RawMessage `json:"config"`
	Step              int             `json:"step"`
	AdamStep          int             `json:"adam_step"`
	LearningRateScale float64         `json:"learning_rate_scale"`
	RNG               []byte          `json:"rng"`
	Params            int             `json:"params"`
}

// Checkpoint writes the trainer's whole state and the caller's
// configuration (any JSON value: the model and physics that the parameters
// belong to) to path, atomically, as an .npz archive with arrays "params",
// "adam_first", "adam_second" and the JSON metadata "meta".
func (t *Trainer) Checkpoint(path string, config any) error {
	cfg, err := json.Marshal(config)
	if err != nil {
		return fmt.Errorf("vmc: checkpoint configuration: %w", err)
	}
	rng, err := t.pcg.MarshalBinary()
	if err != nil {
		return fmt.Errorf("vmc: %w", err)
	}
	params := t.Flow.Potential.Params()
	st := trainerState{
		Config:            cfg,
		Step:              t.Step,
		AdamStep:          t.Optimizer.Step,
		LearningRateScale: t.LearningRateScale,
		RNG:               rng,
		Params:            len(params),
	}
	return runio.WriteCheckpoint(path, st, map[string][]float64{
		"params":      params,
		"adam_first":  t.Optimizer.First,
		"adam_second": t.Optimizer.Second,
	})
}

// ReadCheckpointConfig decodes only the configuration stored in a
// checkpoint, so the caller can build the matching flow before Restore.
func ReadCheckpointConfig(path string, config any) error {
	var st trainerState
	if _, err := runio.ReadCheckpoint(path, &st); err != nil {
		return err
	}
	if err := json.Unmarshal(st.Config, config); err != nil {
		return fmt.Errorf("vmc: %s: bad configuration: %v", path, err)
	}
	return nil
}

// Restore loads a checkpoint written by Checkpoint into the trainer. The
// stored configuration must equal config (compared as JSON): a checkpoint
// of another lattice, temperature or model is an error, and the trainer is
// left unchanged on any error.
func (t *Trainer) Restore(path string, config any) error {
	var st trainerState
	arrays, err := runio.ReadCheckpoint(path, &st)
	if err != nil {
		return err
	}
	want, err := json.Marshal(config)
	if err != nil {
		return fmt.Errorf("vmc: configuration: %w", err)
	}
	diffs, err := runio.JSONDifferences(st.Config, want)
	if err != nil {
		return fmt.Errorf("vmc: %s: configuration: %w", path, err)
	}
	if len(diffs) > 0 {
		return fmt.Errorf("vmc: %s belongs to another run; its configuration (there) and this one (here) differ in %s",
			path, strings.Join(diffs, "; "))
	}
	params := t.Flow.Potential.Params()
	for _, name := range []string{"params", "adam_first", "adam_second"} {
		if len(arrays[name]) != len(params) {
			return fmt.Errorf("vmc: %s: array %q has %d values, the model has %d parameters", path, name, len(arrays[name]), len(params))
		}
	}
	if err := t.pcg.UnmarshalBinary(st.RNG); err != nil {
		return fmt.Errorf("vmc: %s: random state: %v", path, err)
	}
	copy(params, arrays["params"])
	copy(t.Optimizer.First, arrays["adam_first"])
	copy(t.Optimizer.Second, arrays["adam_second"])
	t.Optimizer.Step = st.AdamStep
	t.Step = st.Step
	t.LearningRateScale = st.LearningRateScale
	t.hasBackup = false
	return nil
}
