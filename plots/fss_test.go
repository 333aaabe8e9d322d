package plots

import (
	"math"
	"path/filepath"
	"testing"

	"github.com/isingflow/isingflow/model"
	"github.com/isingflow/isingflow/observables"
	"github.com/isingflow/isingflow/scan"
	"github.com/isingflow/isingflow/stats"
)

// TestFSSFigures draws the three finite-size-scaling figures of synthetic
// results of L = 4 (with the enumerated exact values) and L = 8, and none
// of no results.
func TestFSSFigures(t *testing.T) {
	var points []scan.PointResult
	for _, L := range []int{4, 8} {
		for i := range 9 {
			T := 2.1 + 0.05*float64(i)
			cfg := model.Config{L: L, Dim: 2, T: T, Delta: 0.1}
			lat, err := cfg.Lattice()
			if err != nil {
				t.Fatal(err)
			}
			x, err := scan.NewExact(lat, T, cfg.Delta)
			if err != nil {
				t.Fatal(err)
			}
			e := &observables.IsingEstimates{}
			e.Binder = stats.Estimate{Mean: 0.61 - 0.3*math.Tanh((T-2.28)*float64(L)/4), Err: 0.01}
			e.SpecificHeatPerSite = stats.Estimate{Mean: *x.SpecificHeatPerSite, Err: 0.02}
			e.AbsMagnetization = stats.Estimate{Mean: 0.9 - 0.1*T, Err: 0.01}
			points = append(points, scan.PointResult{Seed: 1, Result: &scan.Result{Config: cfg, Exact: x, Estimates: e}})
		}
	}
	f := scan.NewFSS(points)
	dir := t.TempDir()
	for name, draw := range map[string]func(*scan.FSS) (*Figure, error){
		"binder": Binder, "cmax": SpecificHeatMax, "magnetization": ScaledMagnetization,
	} {
		fig, err := draw(f)
		if err != nil || fig == nil {
			t.Fatalf("%s: %v, %v", name, fig, err)
		}
		path := filepath.Join(dir, name+".png")
		if err := fig.SavePNG(path); err != nil {
			t.Fatal(err)
		}
		checkPNG(t, path, int(fig.Width.Dots(96)+0.5), int(fig.Height.Dots(96)+0.5))
		if fig, err := draw(scan.NewFSS(nil)); fig != nil || err != nil {
			t.Errorf("%s of nothing: %v, %v", name, fig, err)
		}
	}
}
