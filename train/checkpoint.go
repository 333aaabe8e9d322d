package train

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/isingflow/isingflow/flow"
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
	// Layout names the parameter arrays, "params/<name>" each, and says
	// where each lies in the flat vector of the parameters and of Adam's
	// moments; absent when the parameters are the one array "params" (an
	// objective without a layout, and checkpoints written before layouts
	// existed).
	Layout []flow.ParamBlock `json:"layout,omitempty"`
	// The NaN guard: rejected steps in all and in a row.
	Rejected int `json:"rejected,omitempty"`
	InARow   int `json:"rejected_in_a_row,omitempty"`
	// The plan fitted to the time budget (Trainer.Planned, PlannedFrom).
	Planned     int `json:"planned_steps,omitempty"`
	PlannedFrom int `json:"planned_from_steps,omitempty"`
}

// ParamsArray is the name of the parameters in a checkpoint: the one flat
// array "params" for an objective without a layout, and the directory of
// the named arrays "params/<name>", each of its own shape, for an
// objective with one (see Checkpoint).
const ParamsArray = "params"

// objectiveLayout returns the named layout of the objective's parameters,
// or nil when it has none (see flow.ParamLayouter).
func (t *Trainer) objectiveLayout() []flow.ParamBlock {
	if l, ok := t.Objective.(flow.ParamLayouter); ok {
		if layout := l.ParamLayout(); flow.Named(layout) {
			return layout
		}
	}
	return nil
}

// Checkpoint writes the trainer's whole state and the caller's
// configuration (any JSON value: the model the parameters belong to) to
// path, atomically, as an .npz archive. When the objective names its
// parameters (it implements flow.ParamLayouter, as the flows of packages
// vmc and mnist do), each named array is stored as "params/<name>" with its
// shape — "params/block3/shallow/A" of shape (H, N) — and the layout, the
// offset of each in the flat parameter vector, under "layout" in the
// metadata; otherwise the parameters are the one flat array "params". The
// moments of Adam are the flat arrays "adam_first" and "adam_second", in
// the order of the flat parameters, and the JSON metadata is "meta". In
// Python:
//
//	ck = numpy.load(path)
//	A = ck["params/block3/shallow/A"]
//	layout = json.loads(bytes(ck["meta"]))["layout"]
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
	layout := t.objectiveLayout()
	st := checkpointState{
		Config:            cfg,
		Step:              t.Step,
		AdamStep:          t.Optimizer.Step,
		LearningRateScale: t.LearningRateScale,
		State:             state,
		Params:            len(params),
		Layout:            layout,
		Rejected:          t.Rejected,
		InARow:            t.inARow,
		Planned:           t.Planned,
		PlannedFrom:       t.PlannedFrom,
	}
	arrays := map[string]runio.Array{
		"adam_first":  runio.Vector(t.Optimizer.First),
		"adam_second": runio.Vector(t.Optimizer.Second),
	}
	if layout == nil {
		arrays[ParamsArray] = runio.Vector(params)
	} else {
		if err := flow.ValidateLayout(layout, len(params)); err != nil {
			return fmt.Errorf("train: the objective's parameter layout: %w", err)
		}
		for _, b := range layout {
			arrays[ParamsArray+"/"+b.Name] = runio.Array{Data: params[b.Offset : b.Offset+b.Size()], Shape: b.Shape}
		}
	}
	return runio.WriteCheckpoint(path, st, arrays)
}

// storedParams returns the flat parameter vector of a checkpoint: the
// array "params", or the named arrays "params/<name>" put together by the
// layout of its metadata.
func storedParams(path string, arrays map[string]runio.Array, st *checkpointState) ([]float64, error) {
	var named []string
	for k := range arrays {
		if strings.HasPrefix(k, ParamsArray+"/") {
			named = append(named, k)
		}
	}
	flat, hasFlat := arrays[ParamsArray]
	switch {
	case st.Layout == nil && len(named) > 0:
		return nil, fmt.Errorf("train: %s: named parameter arrays (%s) without a layout in the metadata", path, named[0])
	case st.Layout == nil && !hasFlat:
		return nil, fmt.Errorf("train: %s: no parameters (no array %q)", path, ParamsArray)
	case st.Layout == nil:
		return flat.Data, nil
	case hasFlat:
		return nil, fmt.Errorf("train: %s: both the flat array %q and named parameter arrays", path, ParamsArray)
	}
	if err := flow.ValidateLayout(st.Layout, st.Params); err != nil {
		return nil, fmt.Errorf("train: %s: %w", path, err)
	}
	if len(named) != len(st.Layout) {
		return nil, fmt.Errorf("train: %s: %d named parameter arrays, the layout lists %d", path, len(named), len(st.Layout))
	}
	params := make([]float64, st.Params)
	for _, b := range st.Layout {
		name := ParamsArray + "/" + b.Name
		a, ok := arrays[name]
		if !ok {
			return nil, fmt.Errorf("train: %s: no array %q, which the layout lists", path, name)
		}
		if !slices.Equal(a.Shape, b.Shape) {
			return nil, fmt.Errorf("train: %s: array %q has shape %v, the layout says %v", path, name, a.Shape, b.Shape)
		}
		copy(params[b.Offset:], a.Data)
	}
	return params, nil
}

// ReadCheckpointParams returns the parameters stored in a checkpoint as
// one flat vector, the objective's Params, whichever form they are stored
// in, and their layout (nil when the checkpoint holds the one flat array
// "params").
func ReadCheckpointParams(path string) (params []float64, layout []flow.ParamBlock, err error) {
	var st checkpointState
	arrays, err := runio.ReadCheckpoint(path, &st)
	if err != nil {
		return nil, nil, err
	}
	if params, err = storedParams(path, arrays, &st); err != nil {
		return nil, nil, err
	}
	return params, st.Layout, nil
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

// Restore loads a checkpoint written by Checkpoint into the trainer, with
// the parameters in either form: named arrays, or the one flat array
// "params" of an objective without a layout and of every checkpoint
// written before layouts existed. The stored configuration must equal
// config (compared as JSON): a checkpoint of another model is an error, as
// is a layout other than the objective's, and the trainer is left
// unchanged on any error.
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
	stored, err := storedParams(path, arrays, &st)
	if err != nil {
		return err
	}
	if len(stored) != len(params) {
		return fmt.Errorf("train: %s: %d parameters, the model has %d", path, len(stored), len(params))
	}
	for _, name := range []string{"adam_first", "adam_second"} {
		if n := len(arrays[name].Data); n != len(params) {
			return fmt.Errorf("train: %s: array %q has %d values, the model has %d parameters", path, name, n, len(params))
		}
	}
	if want := t.objectiveLayout(); st.Layout != nil && want != nil && !equalLayouts(st.Layout, want) {
		return fmt.Errorf("train: %s: its parameters are laid out as %s, the model's as %s", path, describeLayout(st.Layout), describeLayout(want))
	}
	switch {
	case st.Step < 0 || st.AdamStep < 0:
		return fmt.Errorf("train: %s: step %d and Adam step %d, need both ≥ 0", path, st.Step, st.AdamStep)
	case !(st.LearningRateScale > 0 && st.LearningRateScale <= 1):
		return fmt.Errorf("train: %s: learning-rate scale %v, need a value in (0, 1]", path, st.LearningRateScale)
	case st.Rejected < 0 || st.InARow < 0 || st.InARow > st.Rejected:
		return fmt.Errorf("train: %s: %d rejected steps, %d in a row", path, st.Rejected, st.InARow)
	case st.Planned < 0 || st.PlannedFrom < 0 || (st.Planned > 0) != (st.PlannedFrom > 0):
		return fmt.Errorf("train: %s: a plan of %d steps fitted from %d", path, st.Planned, st.PlannedFrom)
	case st.Params != len(params):
		return fmt.Errorf("train: %s: %d parameters, the model has %d", path, st.Params, len(params))
	}
	for i, v := range arrays["adam_second"].Data {
		if v < 0 {
			return fmt.Errorf("train: %s: Adam's second moment %d is negative (%v)", path, i, v)
		}
	}
	if s, ok := t.Objective.(Stateful); ok {
		if err := s.UnmarshalState(st.State); err != nil {
			return fmt.Errorf("train: %s: objective state: %v", path, err)
		}
	}
	copy(params, stored)
	copy(t.Optimizer.First, arrays["adam_first"].Data)
	copy(t.Optimizer.Second, arrays["adam_second"].Data)
	t.Optimizer.Step = st.AdamStep
	t.Step = st.Step
	t.LearningRateScale = st.LearningRateScale
	t.hasBackup = false
	t.Rejected, t.inARow = st.Rejected, st.InARow
	t.Planned, t.PlannedFrom = st.Planned, st.PlannedFrom
	return nil
}

// equalLayouts reports whether two layouts are the same blocks.
func equalLayouts(a, b []flow.ParamBlock) bool {
	return slices.EqualFunc(a, b, func(x, y flow.ParamBlock) bool {
		return x.Name == y.Name && x.Offset == y.Offset && slices.Equal(x.Shape, y.Shape)
	})
}

// describeLayout lists a layout's blocks, name[shape] each, the first few
// and the count of the others.
func describeLayout(l []flow.ParamBlock) string {
	const most = 4
	var parts []string
	for i, b := range l {
		if i == most {
			parts = append(parts, fmt.Sprintf("and %d more", len(l)-most))
			break
		}
		parts = append(parts, fmt.Sprintf("%s%v", b.Name, b.Shape))
	}
	return strings.Join(parts, ", ")
}
