package main

import (
	"slices"
	"testing"
)

func TestTrainingClock(t *testing.T) {
	rec := func(step int, sec float64) map[string]any {
		return map[string]any{"step": float64(step), "seconds": sec}
	}
	for _, tc := range []struct {
		name string
		recs []map[string]any
		want []float64
	}{
		{"one process", []map[string]any{rec(0, 1), rec(1, 2), rec(2, 3.5)}, []float64{1, 2, 3.5}},
		{"resumed twice", []map[string]any{rec(0, 1), rec(1, 2), rec(2, 0.5), rec(3, 1.5), rec(4, 0.25)},
			[]float64{1, 2, 2.5, 3.5, 3.75}},
		{"a record without seconds", []map[string]any{rec(0, 1), {"step": 1.0}, rec(2, 3)}, []float64{1, 1, 3}},
		{"empty", nil, []float64{}},
	} {
		if got := trainingClock(tc.recs); !slices.Equal(got, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}
