package main

import "testing"

func TestNiceLog(t *testing.T) {
	for _, tc := range []struct {
		v    float64
		up   bool
		want float64
	}{
		{2050, false, 2000}, {2050, true, 3000}, {15500, true, 20000}, {15500, false, 10000},
		{1000, false, 1000}, {1000, true, 1000}, {4.2, false, 3}, {4.2, true, 5}, {0.06, true, 0.1},
	} {
		if got := niceLog(tc.v, tc.up); got != tc.want {
			t.Errorf("niceLog(%v, %v) = %v, want %v", tc.v, tc.up, got, tc.want)
		}
	}
}

// The log ticks label 1, 2, 3 and 5 times powers of ten inside the range.
func TestLogTicks(t *testing.T) {
	var labels []string
	for _, tk := range (logTicks{}).Ticks(2000, 20000) {
		if tk.Label != "" {
			labels = append(labels, tk.Label)
		}
	}
	want := []string{"2000", "3000", "5000", "10000", "20000"}
	if len(labels) != len(want) {
		t.Fatalf("labels %v, want %v", labels, want)
	}
	for i := range want {
		if labels[i] != want[i] {
			t.Fatalf("labels %v, want %v", labels, want)
		}
	}
}
