package scan

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/isingflow/isingflow/observables"
	"github.com/isingflow/isingflow/train"
)

// TestResultScheduleFitJSON checks that result.json keeps the fit of the
// plan to the time limit and the re-fit that replaced it, and that a
// result without them reads back without them.
func TestResultScheduleFitJSON(t *testing.T) {
	for _, want := range []*Result{
		{
			Estimates: &observables.IsingEstimates{},
			Fit:       &train.Fit{StepSeconds: 0.5, Remaining: 958, Planned: 1724},
			Refit:     &train.Fit{FromStep: 40, StepSeconds: 1.02, Remaining: 912, Planned: 844},
		},
		{Estimates: &observables.IsingEstimates{}, Fit: &train.Fit{StepSeconds: 1.5, Remaining: 700, Planned: 420}},
		{Estimates: &observables.IsingEstimates{}},
	} {
		b, err := json.Marshal(want)
		if err != nil {
			t.Fatal(err)
		}
		var got Result
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got.Fit, want.Fit) || !reflect.DeepEqual(got.Refit, want.Refit) {
			t.Errorf("read back fit %+v, re-fit %+v; wrote %+v, %+v", got.Fit, got.Refit, want.Fit, want.Refit)
		}
	}
}
