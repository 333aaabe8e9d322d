package vmc

import (
	"encoding/json"
	"fmt"
	"math"

	"github.com/isingflow/isingflow/internal/runio"
)

// MarshalJSON writes the record with a non-finite KL per site (unknown
// exact free energy) as null.
func (r Record) MarshalJSON() ([]byte, error) {
	type plain Record
	var kl *float64
	if !math.IsNaN(r.KLPerSite) && !math.IsInf(r.KLPerSite, 0) {
		kl = &r.KLPerSite
	}
	return json.Marshal(struct {
		plain
		KLPerSite *float64 `json:"kl_per_site"`
	}{plain(r), kl})
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
	if !jsonEqual(st.Config, want) {
		return fmt.Errorf("vmc: %s belongs to another run: its configuration is %s, this run's is %s", path, st.Config, want)
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

func jsonEqual(a, b []byte) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	ja, _ := json.Marshal(x)
	jb, _ := json.Marshal(y)
	return string(ja) == string(jb)
}
