package model

import (
	"slices"
	"testing"

	"github.com/isingflow/isingflow/vmc"
)

func TestTrainingClock(t *testing.T) {
	for _, tc := range []struct {
		name string
		recs []vmc.Record
		want []float64
	}{
		{"one process", []vmc.Record{rec(0, 1), rec(1, 2), rec(2, 3.5)}, []float64{1, 2, 3.5}},
		{"resumed twice", []vmc.Record{rec(0, 1), rec(1, 2), rec(2, 0.5), rec(3, 1.5), rec(4, 0.25)},
			[]float64{1, 2, 2.5, 3.5, 3.75}},
		// A resumed process whose first step took longer than the whole
		// earlier run: only the mark tells.
		{"resumed, marked", []vmc.Record{started(rec(0, 0.01)), rec(1, 0.02), started(rec(2, 0.05)), rec(3, 0.06)},
			[]float64{0.01, 0.02, 0.07, 0.08}},
		{"empty", nil, []float64{}},
	} {
		if got := TrainingClock(tc.recs); !slices.Equal(got, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestLastProcessStart(t *testing.T) {
	for _, tc := range []struct {
		name string
		recs []vmc.Record
		want int
	}{
		{"one process", []vmc.Record{started(rec(0, 1)), rec(1, 2)}, 0},
		{"resumed, marked, slower first step", []vmc.Record{started(rec(0, 0.01)), rec(1, 0.02), started(rec(2, 0.05)), rec(3, 0.06)}, 2},
		{"resumed twice, unmarked (an older log)", []vmc.Record{rec(0, 1), rec(1, 2), rec(2, 0.5), rec(3, 1.5), rec(4, 0.25), rec(5, 1)}, 4},
		{"empty", nil, 0},
	} {
		if got := LastProcessStart(tc.recs); got != tc.want {
			t.Errorf("%s: %d, want %d", tc.name, got, tc.want)
		}
	}
}

func rec(step int, sec float64) vmc.Record { return vmc.Record{Step: step, Seconds: sec} }

// started marks a record as the first of its process.
func started(r vmc.Record) vmc.Record {
	r.ProcessStart = true
	return r
}
