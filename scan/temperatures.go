package scan

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/isingflow/isingflow/internal/runio"
	"github.com/isingflow/isingflow/model"
	"github.com/isingflow/isingflow/train"
	"github.com/isingflow/isingflow/validation"
)

// ParseTemperature reads one temperature: a positive finite number, or Tc
// (exactly 2/ln(1+√2), validation.CriticalTemperature).
func ParseTemperature(s string) (float64, error) {
	if strings.EqualFold(s, "tc") {
		return validation.CriticalTemperature, nil
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, fmt.Errorf("%q is not a number (or Tc)", s)
	}
	if !(v > 0) || math.IsInf(v, 0) {
		return 0, fmt.Errorf("temperature must be positive and finite, have %v", v)
	}
	return v, nil
}

// MaxTemperatures bounds the number of temperatures of a scan.
const MaxTemperatures = 1000

// ParseTemperatures reads the temperatures of a scan: a comma-separated
// list whose items are a temperature (a number or Tc) or a range
// START:STOP:STEP (STOP included within rounding, STEP of either sign), e.g.
// 2.0:3.0:0.1 or Tc,2.3:3.0:0.1,2.2:2.0:-0.1.
func ParseTemperatures(s string) ([]float64, error) {
	one := func(v string) (float64, error) {
		t, err := ParseTemperature(strings.TrimSpace(v))
		if err != nil {
			return 0, fmt.Errorf("-T %q: %v", s, err)
		}
		return t, nil
	}
	var ts []float64
	for _, item := range strings.Split(s, ",") {
		if !strings.Contains(item, ":") {
			t, err := one(item)
			if err != nil {
				return nil, err
			}
			ts = append(ts, t)
		} else {
			r, err := parseTemperatureRange(s, item, one)
			if err != nil {
				return nil, err
			}
			ts = append(ts, r...)
		}
		if len(ts) > MaxTemperatures {
			return nil, fmt.Errorf("-T %q: more than %d temperatures", s, MaxTemperatures)
		}
	}
	seen := map[string]bool{}
	for _, t := range ts {
		d := RunDir(t)
		if seen[d] {
			return nil, fmt.Errorf("-T %q: the temperature %.6f appears twice", s, t)
		}
		seen[d] = true
	}
	return ts, nil
}

// parseTemperatureRange reads one range START:STOP:STEP of the scan s,
// its end points read by one.
func parseTemperatureRange(s, item string, one func(string) (float64, error)) ([]float64, error) {
	parts := strings.Split(item, ":")
	if len(parts) != 3 {
		return nil, fmt.Errorf("-T %q: %q: want a range START:STOP:STEP or a temperature", s, item)
	}
	start, err := one(parts[0])
	if err != nil {
		return nil, err
	}
	stop, err := one(parts[1])
	if err != nil {
		return nil, err
	}
	step, err := strconv.ParseFloat(strings.TrimSpace(parts[2]), 64)
	if err != nil || step == 0 || math.IsInf(step, 0) || math.IsNaN(step) {
		return nil, fmt.Errorf("-T %q: the step %q must be a non-zero number", s, parts[2])
	}
	// Count the points, STOP included when within 1e-6 steps of the grid.
	r := (stop - start) / step
	if r < -1e-6 {
		return nil, fmt.Errorf("-T %q: a step of %v never reaches %v from %v", s, step, stop, start)
	}
	if r > MaxTemperatures {
		return nil, fmt.Errorf("-T %q: more than %d temperatures", s, MaxTemperatures)
	}
	n := int(math.Floor(r+1e-6)) + 1
	ts := make([]float64, 0, n)
	for i := range n {
		t := start + float64(i)*step
		switch {
		case i == 0:
			t = start
		case math.Abs(t-stop) < 1e-6*math.Abs(step):
			t = stop
		default:
			t = math.Round(t*1e12) / 1e12 // 2.3, not 2.3000000000000003
		}
		if !(t > 0) {
			return nil, fmt.Errorf("-T %q: the temperature %v is not positive", s, t)
		}
		ts = append(ts, t)
	}
	return ts, nil
}

// RunDir names the run directory of one temperature inside a scan
// directory.
func RunDir(T float64) string { return fmt.Sprintf("T%.6f", T) }

// WarmStartWarmup is the longest learning-rate warm-up of a warm-started
// temperature (see WarmSettings).
const WarmStartWarmup = 50

// WarmSettings returns the training settings of the warm-started
// temperatures of a scan: tc with warm steps (unless warm is -1), without
// annealing, and with a linear learning-rate warm-up over
// min(WarmStartWarmup, steps/4) steps, unless changed reports that the
// command line set "anneal-from" or "warmup" (nil: nothing was set). The
// quarter is train.MaxWarmupFraction, which also caps the warm-up of a
// plan fitted to a time limit, so that the fitted run is the run of as
// many steps. A
// warm start begins from the flow of the neighbouring temperature, which
// is what annealing would provide. Its optimiser is fresh, and the first
// step of a fresh Adam moves every parameter by the full learning rate
// whatever its gradient; the warm-up lets the moments form first (why it
// matters is measured in docs/ablation.md).
func WarmSettings(tc model.Training, warm int, changed func(flag string) bool) model.Training {
	w := tc
	if warm >= 0 {
		w.Iterations = warm
	}
	if changed == nil {
		changed = func(string) bool { return false }
	}
	if !changed("anneal-from") {
		w.AnnealFrom = 1
	}
	if !changed("warmup") {
		w.Warmup = min(WarmStartWarmup, int(train.MaxWarmupFraction*float64(w.Iterations)))
	}
	return w
}

// NearestTemperature returns the index in trained of the temperature
// nearest T, the latest of equally near ones: the flow a chain warm-starts
// T from. Along a monotone scan that is the previous temperature; a scan
// Tc,2.3:3.0:0.1,2.2:2.0:-0.1 goes out from T_c on both sides.
func NearestTemperature(trained []float64, T float64) int {
	best := -1
	for i, t := range trained {
		if best < 0 || math.Abs(t-T) <= math.Abs(trained[best]-T) {
			best = i
		}
	}
	return best
}

// TableFile is the file of a scan directory that holds the results of its
// temperatures so far, as a JSON array.
const TableFile = "scan.json"

// Chain trains the model rc at each temperature ts[i] in turn, each run in
// the directory dir/RunDir(T): the first from its initialisation with
// rc.Training, every later one warm-started from the trained flow of the
// nearest temperature already done (NearestTemperature) with warm. After
// each temperature it writes the results so far to dir/scan.json and calls
// done (nil for none). It stops after the temperature during which ctx
// ended. opt gives every run's options (its Dir and Init are set here);
// the i-th temperature is evaluated with the seed opt.Evaluation.Seed + i,
// so that the temperatures' errors are independent.
func Chain(ctx context.Context, rc model.RunConfig, warm model.Training, ts []float64, dir string, opt Options, done func(i int, from *float64, r *Result)) ([]*Result, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	var results []*Result
	for i, T := range ts {
		o := opt
		o.Dir = filepath.Join(dir, RunDir(T))
		o.Evaluation.Seed = opt.Evaluation.Seed + uint64(i)
		c := rc
		c.Model.T = T
		var from *float64
		if i > 0 {
			// Warm start: the nearest trained temperature's parameters,
			// fresh Adam.
			k := NearestTemperature(ts[:i], T)
			from = &ts[k]
			o.Init, o.WarmStartT = results[k].Params, from
			c.Training = warm
		}
		r, err := Point(ctx, c, o)
		if err != nil {
			return results, err
		}
		results = append(results, r)
		b, err := json.MarshalIndent(results, "", "  ")
		if err != nil {
			return results, err
		}
		if err := runio.WriteBytesAtomic(filepath.Join(dir, TableFile), append(b, '\n')); err != nil {
			return results, err
		}
		if done != nil {
			done(i, from, r)
		}
		if ctx.Err() != nil {
			break
		}
	}
	return results, nil
}
