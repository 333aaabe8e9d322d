package scan

import (
	"math"
	"slices"
	"testing"

	"github.com/isingflow/isingflow/model"
	"github.com/isingflow/isingflow/validation"
)

func TestParseTemperatures(t *testing.T) {
	tc := validation.CriticalTemperature
	for _, test := range []struct {
		in   string
		want []float64
	}{
		{"2.0:3.0:0.1", []float64{2, 2.1, 2.2, 2.3, 2.4, 2.5, 2.6, 2.7, 2.8, 2.9, 3}},
		{"2:3:0.25", []float64{2, 2.25, 2.5, 2.75, 3}},
		{"2:2.9:0.25", []float64{2, 2.25, 2.5, 2.75}},
		{"3:2:-0.5", []float64{3, 2.5, 2}},
		{"2:2:0.1", []float64{2}},
		{"1:1.0000000001:0.1", []float64{1}},
		{"2.0,2.269,2.5", []float64{2, 2.269, 2.5}},
		{"2, Tc ,2.5", []float64{2, tc, 2.5}},
		{"Tc:2.5:0.1", []float64{tc, tc + 0.1, tc + 0.2}},
		{"2.1:Tc:0.1", []float64{2.1, 2.2}},
		{"tc", []float64{tc}},
		{"0.1:0.3:0.1", []float64{0.1, 0.2, 0.3}},
		{"Tc,2.3:2.5:0.1,2.2:2.0:-0.1", []float64{tc, 2.3, 2.4, 2.5, 2.2, 2.1, 2}},
		{"3, 2:2.5:0.25 ,1.5", []float64{3, 2, 2.25, 2.5, 1.5}},
	} {
		got, err := ParseTemperatures(test.in)
		if err != nil {
			t.Errorf("%q: unexpected error %v", test.in, err)
			continue
		}
		if len(got) != len(test.want) {
			t.Errorf("%q: got %v, want %v", test.in, got, test.want)
			continue
		}
		for i := range got {
			if math.Abs(got[i]-test.want[i]) > 1e-11 {
				t.Errorf("%q: got %v, want %v", test.in, got, test.want)
				break
			}
		}
		if got[0] != test.want[0] {
			t.Errorf("%q: the first temperature %v is not exactly %v", test.in, got[0], test.want[0])
		}
		if test.in == "2.0:3.0:0.1" && (got[3] != 2.3 || got[10] != 3) {
			t.Errorf("%q: not rounded: %v", test.in, got)
		}
	}
	for _, bad := range []string{
		"", "abc", "2:3", "2:3:0", "2:3:-0.1", "3:2:0.1", "2:3:x", "0:1:0.5", "-1,2", "2,2", "2,2.0000001",
		"1:2:1e-6", "2,,3", "2:3:NaN", "2:Inf:1",
		"2:3:0.5,2.5", "2:3:0.5,", "2,3:2:0.1", "2:3:0.1:1", "Tc,Tc:3:0.1",
	} {
		if ts, err := ParseTemperatures(bad); err == nil {
			t.Errorf("%q: no error, got %v", bad, ts)
		}
	}
}

// TestNearestTemperature checks the choice of a scan's warm start: the
// nearest temperature trained, the latest of equally near ones.
func TestNearestTemperature(t *testing.T) {
	tc := validation.CriticalTemperature
	for _, tt := range []struct {
		trained []float64
		T       float64
		want    int
	}{
		{[]float64{2.0}, 2.1, 0},
		{[]float64{2.0, 2.1, 2.2}, 2.3, 2},
		{[]float64{3.0, 2.9, 2.8}, 2.7, 2},
		{[]float64{tc, 2.3, 2.4, 2.5}, 2.2, 0},
		{[]float64{tc, 2.3, 2.4, 2.5, 2.2}, 2.1, 4},
		{[]float64{2.0, 3.0}, 2.5, 1},
		{[]float64{3.0, 2.0}, 2.5, 1},
		{[]float64{2.0, 2.6, 2.2}, 2.4, 2},
	} {
		if got := NearestTemperature(tt.trained, tt.T); got != tt.want {
			t.Errorf("nearest of %v to %v: index %d, want %d", tt.trained, tt.T, got, tt.want)
		}
	}
}

// TestWarmSettings checks the training settings of a scan's warm-started
// temperatures: no anneal and a short learning-rate warm-up, unless the
// flags say otherwise.
func TestWarmSettings(t *testing.T) {
	base := model.Training{Iterations: 1700, Warmup: 0, AnnealFrom: 1.2, LR: 1e-3}
	for _, tt := range []struct {
		name               string
		warm               int
		changed            []string
		base               model.Training
		iterations, warmup int
		annealFrom         float64
	}{
		{"defaults", 300, nil, base, 300, 50, 1},
		{"short", 100, nil, base, 100, 25, 1},
		{"no warm steps", 0, nil, base, 0, 0, 1},
		{"as --iterations", -1, nil, base, 1700, 50, 1},
		{"explicit warmup", 300, []string{"warmup"}, model.Training{Iterations: 1700, Warmup: 7, AnnealFrom: 1.2}, 300, 7, 1},
		{"explicit anneal", 300, []string{"anneal-from"}, base, 300, 50, 1.2},
	} {
		t.Run(tt.name, func(t *testing.T) {
			w := WarmSettings(tt.base, tt.warm, func(f string) bool { return slices.Contains(tt.changed, f) })
			if w.Iterations != tt.iterations || w.Warmup != tt.warmup || w.AnnealFrom != tt.annealFrom {
				t.Errorf("got iterations %d, warm-up %d, anneal from %g; want %d, %d, %g",
					w.Iterations, w.Warmup, w.AnnealFrom, tt.iterations, tt.warmup, tt.annealFrom)
			}
			if w.LR != tt.base.LR {
				t.Errorf("learning rate %g, want %g", w.LR, tt.base.LR)
			}
		})
	}
}

// TestWarmSettingsNoFlags checks that a nil changed means that no flag was
// set.
func TestWarmSettingsNoFlags(t *testing.T) {
	w := WarmSettings(model.Training{Iterations: 1700, AnnealFrom: 1.2}, 300, nil)
	if w.Iterations != 300 || w.Warmup != 50 || w.AnnealFrom != 1 {
		t.Errorf("got %+v", w)
	}
}
