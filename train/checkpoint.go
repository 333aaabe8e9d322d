package train

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/isingflow/isingflow/internal/runio"
)

// checkpointState is the metadata of a checkpoint beside the caller's
// configuration, which must match on resume. The objective's own state is
// stored under "rng", the name it had when it was only the sample stream.
type checkpointState struct {
	Config            json.RawMessage `json:"config"`
	Step              int             `json:"step"`
	AdamStep          int             `json:"adam_step"`
	LearningRateScale float64         `json:"learning_rate_scale"`
	State             []byte          `json:"rng,omitempty"`
	Params            int             `json:"params"`
	// The NaN guard: rejected steps in all and in a row.
	Rejected int `json:"rejected,omitempty"`
	InARow   int `json:"rejected_in_a_row,omitempty"`
}

// Checkpoint writes the trainer's whole state and the caller's
// configuration (any JSON value: the model the parameters belong to) to
// path, atomically, as an .npz archive with the arrays "params",
// "adam_first", "adam_second" and the JSON metadata "meta".
func (t *Trainer) Checkpoint(path string, config any) error {
	cfg, err := json.Marshal(config)
	if err != nil {
		return fmt.Errorf("train: checkpoint configuration: %w", err)
	}
	var state []byte
	if s, ok := t.Objective.(Stateful); ok {
		if state, err = s.MarshalState(); err != nil {
			return fmt.Errorf("train: objective state: %w", err)
		}
	}
	params := t.Objective.Params()
	st := checkpointState{
		Config:            cfg,
		Step:              t.Step,
		AdamStep:          t.Optimizer.Step,
		LearningRateScale: t.LearningRateScale,
		State:             state,
		Params:            len(params),
		Rejected:          t.Rejected,
		InARow:            t.inARow,
	}
	return runio.WriteCheckpoint(path, st, map[string][]float64{
		"params":      params,
		"adam_first":  t.Optimizer.First,
		"adam_second": t.Optimizer.Second,
	})
}

// ReadCheckpointConfig decodes only the configuration stored in a
// checkpoint, so that the caller can build the matching model before
// Restore.
func ReadCheckpointConfig(path string, config any) error {
	var st checkpointState
	if _, err := runio.ReadCheckpoint(path, &st); err != nil {
		return err
	}
	if err := json.Unmarshal(st.Config, config); err != nil {
		return fmt.Errorf("train: %s: bad configuration: %v", path, err)
	}
	return nil
}

// Restore loads a checkpoint written by Checkpoint into the trainer. The
// stored configuration must equal config (compared as JSON): a checkpoint
// of another model is an error, and the trainer is left unchanged on any
// error.
func (t *Trainer) Restore(path string, config any) error {
	var st checkpointState
	arrays, err := runio.ReadCheckpoint(path, &st)
	if err != nil {
		return err
	}
	want, err := json.Marshal(config)
	if err != nil {
		return fmt.Errorf("train: configuration: %w", err)
	}
	diffs, err := runio.JSONDifferences(st.Config, want)
	if err != nil {
		return fmt.Errorf("train: %s: configuration: %w", path, err)
	}
	if len(diffs) > 0 {
		return fmt.Errorf("train: %s belongs to another run; its configuration (there) and this one (here) differ in %s",
			path, strings.Join(diffs, "; "))
	}
	params := t.Objective.Params()
	for _, name := range []string{"params", "adam_first", "adam_second"} {
		if len(arrays[name]) != len(params) {
			return fmt.Errorf("train: %s: array %q has %d values, the model has %d parameters", path, name, len(arrays[name]), len(params))
		}
	}
	switch {
	case st.Step < 0 || st.AdamStep < 0:
		return fmt.Errorf("train: %s: step %d and Adam step %d, need both ≥ 0", path, st.Step, st.AdamStep)
	case !(st.LearningRateScale > 0 && st.LearningRateScale <= 1):
		return fmt.Errorf("train: %s: learning-rate scale %v, need a value in (0, 1]", path, st.LearningRateScale)
	case st.Rejected < 0 || st.InARow < 0 || st.InARow > st.Rejected:
		return fmt.Errorf("train: %s: %d rejected steps, %d in a row", path, st.Rejected, st.InARow)
	case st.Params != len(params):
		return fmt.Errorf("train: %s: %d parameters, the model has %d", path, st.Params, len(params))
	}
	for i, v := range arrays["adam_second"] {
		if v < 0 {
			return fmt.Errorf("train: %s: Adam's second moment %d is negative (%v)", path, i, v)
		}
	}
	if s, ok := t.Objective.(Stateful); ok {
		if err := s.UnmarshalState(st.State); err != nil {
			return fmt.Errorf("train: %s: objective state: %v", path, err)
		}
	}
	copy(params, arrays["params"])
	copy(t.Optimizer.First, arrays["adam_first"])
	copy(t.Optimizer.Second, arrays["adam_second"])
	t.Optimizer.Step = st.AdamStep
	t.Step = st.Step
	t.LearningRateScale = st.LearningRateScale
	t.hasBackup = false
	t.Rejected, t.inARow = st.Rejected, st.InARow
	return nil
}
