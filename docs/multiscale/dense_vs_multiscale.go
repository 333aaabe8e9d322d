//go:build ignore

// This program draws docs/multiscale/dense_vs_multiscale.png, the training
// curves of the dense default potential beside the multiscale potential at
// L = 16 and 32, from the curves.csv and summary.csv that "isingflow
// compare" wrote for docs/ablation and docs/multiscale (the run
// directories themselves are not kept). From the repository's root:
//
//	go run docs/multiscale/dense_vs_multiscale.go
package main

import (
	"encoding/csv"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"strconv"

	"github.com/isingflow/isingflow/observables"
	"github.com/isingflow/isingflow/plots"
	"github.com/isingflow/isingflow/scan"
	"github.com/isingflow/isingflow/stats"
)

// The runs, each from the directory of docs/ whose CSVs hold it, under the
// name the plot's legend gives it.
var runs = []struct{ dir, run, name string }{
	{"docs/ablation/spectral", "P16spec10", "L = 16, dense (the default), 1700 steps"},
	{"docs/multiscale", "L16_multiscale", "L = 16, multiscale, 375 steps"},
	{"docs/ablation/L32", "L32H2048_e02_3200", "L = 32, dense H = 2048, 25 RK4 steps of 0.2"},
	{"docs/multiscale/large", "L32_from16", "L = 32, multiscale from the L = 16 flow"},
}

func main() {
	var sums []*scan.RunSummary
	for _, r := range runs {
		s, err := read(r.dir, r.run)
		if err != nil {
			log.Fatal(err)
		}
		s.Name = r.name
		sums = append(sums, s)
	}
	fig, err := plots.CompareKL(sums)
	if err != nil {
		log.Fatal(err)
	}
	if err := fig.SavePNG("docs/multiscale/dense_vs_multiscale.png"); err != nil {
		log.Fatal(err)
	}
}

// read returns the run's curve from dir/curves.csv and its evaluated
// KL/site from dir/summary.csv.
func read(dir, run string) (*scan.RunSummary, error) {
	s := &scan.RunSummary{Result: &scan.Result{Estimates: &observables.IsingEstimates{}}}
	curves, err := rows(filepath.Join(dir, "curves.csv"), run)
	if err != nil {
		return nil, err
	}
	for _, c := range curves {
		step, err1 := strconv.Atoi(c["step"])
		sec, err2 := strconv.ParseFloat(c["seconds"], 64)
		kl, err3 := strconv.ParseFloat(c["kl_per_site_batch_mean"], 64)
		if err1 != nil || err2 != nil || err3 != nil {
			return nil, fmt.Errorf("%s: run %s: a bad row %v", dir, run, c)
		}
		s.Curve = append(s.Curve, scan.CurvePoint{Step: step, Seconds: sec, KL: kl})
	}
	sum, err := rows(filepath.Join(dir, "summary.csv"), run)
	if err != nil || len(sum) != 1 {
		return nil, fmt.Errorf("%s/summary.csv: run %s: %d rows, %v", dir, run, len(sum), err)
	}
	kl, err := strconv.ParseFloat(sum[0]["kl_per_site"], 64)
	if err != nil {
		return nil, err
	}
	s.Result.Estimates.KLPerSite = stats.Estimate{Mean: kl}
	return s, nil
}

// rows returns the rows of the CSV file whose "run" column is run, as
// maps from the header's names.
func rows(path, run string) ([]map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	all, err := csv.NewReader(f).ReadAll()
	if err != nil {
		return nil, err
	}
	var out []map[string]string
	for _, r := range all[1:] {
		if r[0] != run {
			continue
		}
		m := map[string]string{}
		for i, h := range all[0] {
			if i < len(r) {
				m[h] = r[i]
			}
		}
		out = append(out, m)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no run %s", path, run)
	}
	return out, nil
}
