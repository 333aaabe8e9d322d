package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"runtime"
	"time"

	"github.com/isingflow/isingflow/flow"
	"github.com/isingflow/isingflow/internal/blasimpl"
	"github.com/isingflow/isingflow/internal/cli"
	"github.com/isingflow/isingflow/internal/runio"
	"github.com/isingflow/isingflow/mnist"
)

// paperTable is Table 1 of Zhang, E and Wang (arXiv:1809.10188): test NLL
// in nats in logit space (the other rows are MAF's Table 2).
var paperTable = []struct {
	name     string
	nll, err float64 // err 0: none given
}{
	{"MADE", 1380.8, 0},
	{"Real NVP", 1323.2, 0},
	{"MAF", 1300.5, 0},
	{"Monge-Ampère flow", 1255.5, 2.0},
}

// evalReport is the output of eval --json.
type evalReport struct {
	mnist.Summary
	Checkpoint string  `json:"checkpoint"`
	Batch      int     `json:"batch"`
	Seconds    float64 `json:"seconds"`

	// With --adaptive: the same images (same noise) integrated by Dopri5,
	// and the paired difference adaptive − fixed-step per image.
	Adaptive *adaptiveReport `json:"adaptive,omitempty"`
}

// MarshalJSON writes a non-finite NLL or bits/dim (a diverged checkpoint)
// as null, since JSON has no NaN or infinity.
func (r evalReport) MarshalJSON() ([]byte, error) {
	type plain evalReport
	return json.Marshal(struct {
		plain
		NLL           *float64 `json:"nll_nats"`
		NLLErr        *float64 `json:"nll_nats_err"`
		BitsPerDim    *float64 `json:"bits_per_dim"`
		BitsPerDimErr *float64 `json:"bits_per_dim_err"`
	}{plain(r), runio.FiniteOrNull(r.NLL), runio.FiniteOrNull(r.NLLErr),
		runio.FiniteOrNull(r.BitsPerDim), runio.FiniteOrNull(r.BitsPerDimErr)})
}

type adaptiveReport struct {
	Method       string  `json:"method"`
	RTol         float64 `json:"rtol"`
	ATol         float64 `json:"atol"`
	NLL          float64 `json:"nll_nats"`
	NLLErr       float64 `json:"nll_nats_err"`
	BitsPerDim   float64 `json:"bits_per_dim"`
	Difference   float64 `json:"adaptive_minus_fixed_nats"`
	DiffErr      float64 `json:"adaptive_minus_fixed_nats_err"`
	MaxAbsDiff   float64 `json:"max_abs_difference_nats"`
	Steps        int     `json:"steps"`
	Rejected     int     `json:"rejected_steps"`
	Evaluations  int     `json:"evaluations"`
	FixedSeconds float64 `json:"fixed_seconds"`
	Seconds      float64 `json:"seconds"`
}

// testImages is the number of MNIST's test images.
const testImages = 10000

func runEval(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("eval", stderr)
	runDir := fs.String("run", "", "run directory written by mnistflow train")
	which := fs.String("checkpoint", "best", "which checkpoint: best (lowest validation NLL) or last")
	data := fs.String("data", "", "MNIST directory (default: the run's)")
	limit := fs.Int("limit", 0, "evaluate only the first N test images (0: all); a prefix, not a random sample: MNIST's first 5000 test images are the cleaner, easier half")
	batch := fs.Int("batch", mnist.DefaultEvalBatch, "images integrated at once")
	seed := fs.Uint64("seed", 1, "seed of the dequantisation noise of the test images")
	asJSON := fs.Bool("json", false, "print the results as one JSON object")
	adaptive := fs.Bool("adaptive", false, "also integrate with adaptive Dopri5 and report the difference")
	rtol := fs.Float64("rtol", 1e-6, "relative tolerance of --adaptive")
	atol := fs.Float64("atol", 1e-8, "absolute tolerance of --adaptive")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	switch {
	case *limit < 0:
		return usagef("--limit %d: want non-negative", *limit)
	case *batch < 1:
		return usagef("--batch %d: want at least 1", *batch)
	case !(*rtol > 0) || !(*atol > 0) || math.IsInf(*rtol, 0) || math.IsInf(*atol, 0):
		return usagef("--rtol %v --atol %v: want positive tolerances", *rtol, *atol)
	}
	path, err := findCheckpoint(*runDir, *which)
	if err != nil {
		return err
	}
	// The evaluator's batch is at most the test images.
	evalBatch := min(*batch, testImages)
	if *limit > 0 {
		evalBatch = min(evalBatch, *limit)
	}
	if err := checkRunMemory(*runDir, evalBatch, "evaluating the run"); err != nil {
		return err
	}
	r, err := loadCheckpoint(path)
	if err != nil {
		return err
	}
	st := r.State()
	dir := *data
	if dir == "" {
		dir = resolveDataDir(st.Data, false)
	}
	ds, err := mnist.LoadSplit(dir, 0)
	if err != nil {
		return usageError{Msg: oneLine(err.Error())}
	}
	test := ds.Test.Images
	c := &r.Config
	if test.Rows != c.Rows || test.Cols != c.Cols {
		return usagef("the run has %d×%d images but %s holds %d×%d", c.Rows, c.Cols, dir, test.Rows, test.Cols)
	}
	if *limit > 0 && *limit < test.N {
		test = test.Slice(0, *limit)
	}
	fmt.Fprintf(stderr, "mnistflow eval: %s (batch %d), %d test images from %s\n", path, st.Batch, test.N, dir)
	fmt.Fprintf(stderr, "  potential: %s; flow: %d RK4 steps of ε = %g; BLAS: %s, GOMAXPROCS %d\n",
		describePotential(c, len(r.Flow.Potential.Params())), c.Steps, c.StepSize, blasimpl.Name(), runtime.GOMAXPROCS(0))

	nll, logJac := make([]float64, test.N), make([]float64, test.N)
	ev := &mnist.Evaluator{Flow: r.Flow, Batch: *batch}
	start := time.Now()
	if err := evaluate(ev, nll, logJac, test, *seed, "fixed-step RK4", stderr); err != nil {
		return err
	}
	rep := evalReport{
		Summary: mnist.Summarize(nll, logJac, test.Dim()), Checkpoint: path, Batch: st.Batch,
		Seconds: time.Since(start).Seconds(),
	}
	if *adaptive {
		ig := &flow.Dopri5{RTol: *rtol, ATol: *atol}
		ev.Flow.Integrator = ig
		anll, alogJac := make([]float64, test.N), make([]float64, test.N)
		start := time.Now()
		ist, err := ev.Evaluate(anll, alogJac, test, rand.New(rand.NewPCG(*seed, mnist.StreamTest)))
		if err != nil {
			return fmt.Errorf("adaptive integration: %v", err)
		}
		as := mnist.Summarize(anll, alogJac, test.Dim())
		d, maxAbs := mnist.PairedDifference(nll, anll)
		rep.Adaptive = &adaptiveReport{
			Method: "dopri5", RTol: *rtol, ATol: *atol,
			NLL: as.NLL, NLLErr: as.NLLErr, BitsPerDim: as.BitsPerDim,
			Difference: d.Mean, DiffErr: d.Err, MaxAbsDiff: maxAbs,
			Steps: ist.Steps, Rejected: ist.Rejected, Evaluations: ist.Evaluations,
			FixedSeconds: rep.Seconds, Seconds: time.Since(start).Seconds(),
		}
	}
	if *asJSON {
		return cli.WriteJSON(stdout, rep)
	}
	printEval(stdout, &rep)
	return nil
}

// evaluate runs ev over the images with a progress bar.
func evaluate(ev *mnist.Evaluator, nll, logJac []float64, im *mnist.Images, seed uint64, what string, stderr io.Writer) error {
	bar := runio.NewProgress(stderr, im.N, what)
	ev.Progress = func(done int) { bar.Set(done, what) }
	defer func() { ev.Progress = nil }()
	_, err := ev.Evaluate(nll, logJac, im, rand.New(rand.NewPCG(seed, mnist.StreamTest)))
	bar.Finish()
	return err
}

func printEval(w io.Writer, r *evalReport) {
	fmt.Fprintf(w, "checkpoint   %s (batch %d)\n", r.Checkpoint, r.Batch)
	fmt.Fprintf(w, "test images  %d\n", r.Images)
	fmt.Fprintf(w, "NLL          %.2f ± %.2f nats (logit space, ± one standard error)\n", r.NLL, r.NLLErr)
	fmt.Fprintf(w, "bits/dim     %.4f ± %.4f (8-bit pixels, through the logit Jacobian)\n", r.BitsPerDim, r.BitsPerDimErr)
	fmt.Fprintf(w, "time         %.1f s\n", r.Seconds)
	if a := r.Adaptive; a != nil {
		fmt.Fprintf(w, "\nadaptive     %s (rtol %g, atol %g): NLL %.3f ± %.2f nats, %.4f bits/dim\n",
			a.Method, a.RTol, a.ATol, a.NLL, a.NLLErr, a.BitsPerDim)
		fmt.Fprintf(w, "             adaptive − fixed-step = %.4f ± %.4f nats per image (max |Δ| %.4f), %d steps (%d rejected), %.1f s\n",
			a.Difference, a.DiffErr, a.MaxAbsDiff, a.Steps, a.Rejected, a.Seconds)
	}
	fmt.Fprintf(w, "\nTest NLL, nats in logit space (arXiv:1809.10188, Table 1):\n")
	for _, row := range paperTable {
		if row.err > 0 {
			fmt.Fprintf(w, "  %-18s %7.1f ± %.1f\n", row.name, row.nll, row.err)
		} else {
			fmt.Fprintf(w, "  %-18s %7.1f\n", row.name, row.nll)
		}
	}
	fmt.Fprintf(w, "  %-18s %7.1f ± %.1f   (%d test images)\n", "this run", r.NLL, r.NLLErr, r.Images)
}
