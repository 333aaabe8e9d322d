package mnist

import (
	"path/filepath"
	"reflect"
	"testing"
)

// ReadHistory on a hand-written log (testdata/history): windows of the
// accepted batches' NLL with a shorter last one, every finite validation
// at the training time of its batch, rejected steps and a non-finite
// validation left out of the curves.
func TestReadHistory(t *testing.T) {
	validation := []CurvePoint{{0, 0, 100, 2}, {4, 4, 75, 1.5}, {7, 9, 45, 1}}
	tests := []struct {
		window int
		train  []CurvePoint
	}{
		{1, []CurvePoint{{1, 1, 90, 0}, {2, 2, 80, 0}, {4, 4, 70, 0}, {5, 5, 60, 0}, {6, 6, 50, 0}, {7, 9, 40, 0}}},
		{2, []CurvePoint{{2, 2, 85, 0}, {5, 5, 65, 0}, {7, 9, 45, 0}}},
		{4, []CurvePoint{{5, 5, 75, 0}, {7, 9, 45, 0}}},
		{100, []CurvePoint{{7, 9, 65, 0}}},
	}
	for _, tt := range tests {
		h, err := ReadHistory(filepath.Join("testdata", "history"), tt.window)
		if err != nil {
			t.Fatal(err)
		}
		if h.Name != "history" || h.Config.Hidden != 4 || h.Batches != 7 || h.Seconds != 9 || h.ValidationImages != 8 {
			t.Errorf("window %d: name %q, hidden %d, %d batches, %g s, %d images; want history, 4, 7, 9 s, 8",
				tt.window, h.Name, h.Config.Hidden, h.Batches, h.Seconds, h.ValidationImages)
		}
		if !reflect.DeepEqual(h.Train, tt.train) {
			t.Errorf("window %d: training curve %v, want %v", tt.window, h.Train, tt.train)
		}
		if !reflect.DeepEqual(h.Validation, validation) {
			t.Errorf("window %d: validations %v, want %v", tt.window, h.Validation, validation)
		}
	}
	for _, c := range []struct {
		dir    string
		window int
	}{{filepath.Join("testdata", "history"), 0}, {t.TempDir(), 10}} {
		if _, err := ReadHistory(c.dir, c.window); err == nil {
			t.Errorf("ReadHistory(%s, %d): no error", c.dir, c.window)
		}
	}
}
