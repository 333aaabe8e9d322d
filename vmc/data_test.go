package vmc

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/isingflow/isingflow/flow"
)

// fixedData is a DataSource that fills every batch from a fixed matrix and
// records the steps it was asked for.
type fixedData struct {
	x     *mat.Dense
	steps []int
}

func (d *fixedData) Fill(x *mat.Dense, step int) {
	x.Copy(d.x)
	d.steps = append(d.steps, step)
}

// TestTrainerData checks the forward-KL term: the data source is asked for
// the first DataSteps steps only, and with DataWeight 1 the first Adam step
// moves every parameter against the sign of the mean negative
// log-likelihood's gradient on the data batch (Adam's first step is
// −lr·g/(|g| + ε) per parameter).
func TestTrainerData(t *testing.T) {
	tr := smallTrainer(t, nil, 4)
	n := tr.Flow.Dim()
	B := tr.Settings.Batch
	data := &fixedData{x: mat.NewDense(B, n, nil)}
	rng := rand.New(rand.NewPCG(9, 9))
	for i := range data.x.RawMatrix().Data {
		data.x.RawMatrix().Data[i] = 2 * rng.NormFloat64()
	}
	tr.Settings.Data, tr.Settings.DataSteps, tr.Settings.DataWeight = data, 3, 1

	params := tr.Flow.Potential.Params()
	before := slices.Clone(params)
	want := make([]float64, len(params))
	tr.Flow.Gradient(want, nil, data.x, flow.Density, flow.LossFunc(meanNLL))
	for range 5 {
		if _, err := tr.TrainStep(); err != nil {
			t.Fatal(err)
		}
		if tr.Step == 1 {
			moved := 0
			for i, g := range want {
				d := params[i] - before[i]
				if math.Abs(g) > 1e-8 {
					moved++
					if d*g >= 0 {
						t.Fatalf("parameter %d moved by %g, NLL gradient %g: not a descent step on the data", i, d, g)
					}
				}
			}
			if moved == 0 {
				t.Fatal("no parameter has a data gradient")
			}
		}
	}
	if !slices.Equal(data.steps, []int{0, 1, 2}) {
		t.Errorf("data asked for steps %v, want [0 1 2]", data.steps)
	}
}

func TestTrainerRejectsBadData(t *testing.T) {
	tr := smallTrainer(t, nil, 4)
	for _, s := range []struct {
		steps  int
		weight float64
	}{{-1, 0.5}, {3, -0.1}, {3, 1.5}, {3, math.NaN()}} {
		set := tr.Settings
		set.DataSteps, set.DataWeight = s.steps, s.weight
		if _, err := NewTrainer(tr.Flow, tr.Target, set); err == nil {
			t.Errorf("DataSteps %d, DataWeight %v: no error", s.steps, s.weight)
		}
	}
}
