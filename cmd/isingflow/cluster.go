package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"text/tabwriter"

	"github.com/spf13/pflag"

	"github.com/isingflow/isingflow/internal/cli"
	"github.com/isingflow/isingflow/internal/runio"
	"github.com/isingflow/isingflow/model"
	"github.com/isingflow/isingflow/plots"
	"github.com/isingflow/isingflow/scan"
)

// scanVerbs are the forms of "isingflow scan" that run a plan of sizes ×
// temperatures × seeds as independent tasks; any other first argument is
// the one-process scan.
var scanVerbs = map[string]func(args []string, stdout, stderr io.Writer) error{
	"plan":     runScanPlan,
	"run":      runScanRun,
	"collect":  runScanCollect,
	"fss":      runScanFSS,
	"slurm":    runScanSlurm,
	"parallel": runScanParallel,
}

// scanVerbsHelp is printed before the flags of "isingflow scan --help".
const scanVerbsHelp = `isingflow scan -L 16 -T 2.0:3.0:0.1 [flags]   one process: a warm-started temperature chain
isingflow scan plan --out DIR -L 8,16 -T ... --seeds 3 [flags]   a grid of sizes × temperatures × seeds as tasks
isingflow scan run DIR [--task I]                 one task (I from SLURM_ARRAY_TASK_ID or PARALLEL_SEQ)
isingflow scan slurm DIR | parallel DIR           a Slurm job-array script, a GNU parallel command line
isingflow scan collect DIR                        merge what has finished: results.json, results.csv, plots
isingflow scan fss DIR                            finite-size scaling: Binder crossings, c_max(L), <|m|>L^(1/8)
("isingflow scan VERB --help" for the flags of each)

`

// runScanVerb runs a verb of scan, its errors prefixed by its name.
func runScanVerb(verb string, args []string, stdout, stderr io.Writer) error {
	err := scanVerbs[verb](args, stdout, stderr)
	var ue usageError
	var se *cli.StatusError
	switch {
	case err == nil || errors.Is(err, pflag.ErrHelp):
		return err
	case errors.As(err, &ue):
		return usagef("%s: %s", verb, ue.Msg)
	case errors.As(err, &se):
		return &cli.StatusError{Err: fmt.Errorf("%s: %w", verb, se.Err), Code: se.Code}
	}
	return fmt.Errorf("%s: %w", verb, err)
}

// planDirArg parses a verb's flags and returns its one argument, the plan
// directory.
func planDirArg(fs *pflag.FlagSet, args []string) (string, error) {
	if err := cli.ParseFlagsAndArgs(fs, args); err != nil {
		return "", err
	}
	switch fs.NArg() {
	case 0:
		return "", usagef("the plan directory is required (isingflow %s DIR)", fs.Name()[len(programName)+1:])
	case 1:
		return fs.Arg(0), nil
	}
	return "", usagef("unexpected argument %q after the plan directory", fs.Arg(1))
}

// readPlan reads the plan of dir, a usage error when there is none.
func readPlan(dir string) (*scan.Plan, error) {
	p, err := scan.ReadPlan(dir)
	if errors.Is(err, scan.ErrNotPlan) {
		return nil, usagef("%v", err)
	}
	return p, err
}

func runScanPlan(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("scan plan", stderr)
	var g geometry
	sizes := fs.StringP("L", "L", "16", "linear sizes of the lattices, comma-separated (8,16,32)")
	temps := fs.StringP("T", "T", "", "temperatures (required): T values (or Tc) and ranges START:STOP:STEP, in the order a chain trains them")
	g.registerShape(fs)
	cli.Group(fs, "lattice")
	var mc model.Config
	var tc model.Training
	var ev scan.Evaluation
	warm := registerChain(fs, &mc, &tc, &ev)
	out := fs.String("out", "", "plan directory to make (required; must not exist or be empty)")
	seeds := fs.String("seeds", "1", "seeds: a count N (1 to N) or a list S1,S2,…; seed s sets --seed and --init-seed to s; each point is evaluated with a seed of its own")
	split := fs.String("split", scan.SplitChain, "a task is a chain (one size and seed, its temperatures warm-started in turn) or a point (one T, from its initialisation)")
	var rf runFlags
	rf.register(fs)
	asJSON := fs.Bool("json", false, "print the plan as JSON (plan.json)")
	cli.Group(fs, "plan and output")
	// --seeds sets them.
	_ = fs.MarkHidden("seed")
	_ = fs.MarkHidden("init-seed")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := settleModelDefaults(fs, &mc, &tc, g.open); err != nil {
		return err
	}
	for _, f := range []string{"seed", "init-seed"} {
		if fs.Changed(f) {
			return usagef("--%s: a plan's seeds are set by --seeds", f)
		}
	}
	if *out == "" {
		return usagef("--out is required: the plan directory to make")
	}
	if *temps == "" {
		return usagef("-T is required: a range START:STOP:STEP (e.g. 2.1:2.5:0.025) or a list T1,T2,...")
	}
	ts, err := scan.ParseTemperatures(*temps)
	if err != nil {
		return usagef("%v", err)
	}
	Ls, err := scan.ParseSizes(*sizes)
	if err != nil {
		return usagef("%v", err)
	}
	ss, err := scan.ParseSeeds(*seeds)
	if err != nil {
		return usagef("%v", err)
	}
	if err := tc.Validate(); err != nil {
		return usagef("%v", err)
	}
	if *warm < -1 {
		return usagef("--warm-iterations %d: must not be negative (or -1)", *warm)
	}
	if err := validateEvaluation(&ev); err != nil {
		return err
	}
	if err := rf.validate(); err != nil {
		return err
	}
	if g.dim < 1 || g.dim > 4 {
		return usagef("-d %d: the dimension must be 1, 2, 3 or 4", g.dim)
	}
	mc.Dim, mc.Open = g.dim, g.open
	p, err := scan.NewPlan(scan.Plan{
		Sizes: Ls, Temperatures: ts, Seeds: ss, Split: *split,
		Model: mc, Training: tc, WarmTraining: scan.WarmSettings(tc, *warm, fs.Changed), Evaluation: ev,
		CheckpointEvery: rf.every, TimeLimit: rf.limit, CommandLine: os.Args,
	})
	if err != nil {
		return usagef("%v", err)
	}
	if err := scan.CreatePlan(*out, p); err != nil {
		if strings.Contains(err.Error(), "already exists") {
			return usagef("%v", err)
		}
		return err
	}
	if *asJSON {
		return cli.WriteJSON(stdout, p)
	}
	what := fmt.Sprintf("a chain of %d temperatures each (the first from its initialisation, the others warm-started)", len(p.Temperatures))
	if p.Split == scan.SplitPoint {
		what = "one point each, trained from its initialisation"
	}
	fmt.Fprintf(stdout, "plan: %s of %s (sizes %s × %s × %s), %s\n", plural(len(p.Tasks), "task"), plural(p.Points(), "point"),
		joinInts(p.Sizes), plural(len(p.Temperatures), "temperature"), plural(len(p.Seeds), "seed"), what)
	fmt.Fprintf(stdout, "model: %s; %d steps (%d warm-started), %d evaluation samples\n",
		mc.Describe(), p.Training.Iterations, p.WarmTraining.Iterations, p.Evaluation.Samples)
	fmt.Fprintf(stdout, "plan directory: %s\n", *out)
	fmt.Fprintf(stdout, "run a task:     isingflow scan run %s --task I   (I = 0 … %d)\n", *out, len(p.Tasks)-1)
	fmt.Fprintf(stdout, "or all of them: isingflow scan slurm %s > job.sh && sbatch job.sh\n", *out)
	fmt.Fprintf(stdout, "                isingflow scan parallel %s | bash\n", *out)
	fmt.Fprintf(stdout, "then:           isingflow scan collect %s\n", *out)
	return nil
}

// plural returns "1 seed", "3 seeds".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// joinInts formats sizes as "8, 16, 32".
func joinInts(v []int) string {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = fmt.Sprint(x)
	}
	return strings.Join(s, ", ")
}

func runScanRun(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("scan run", stderr)
	task := fs.Int("task", -1, "the task to run (default: SLURM_ARRAY_TASK_ID, or GNU parallel's PARALLEL_SEQ − 1)")
	asJSON := fs.Bool("json", false, "print the task's results as a JSON array, one object per temperature with a result")
	dir, err := planDirArg(fs, args)
	if err != nil {
		return err
	}
	p, err := readPlan(dir)
	if err != nil {
		return err
	}
	index, from := *task, "--task"
	if !fs.Changed("task") {
		var ok bool
		index, from, ok, err = scan.TaskIndexFromEnv(os.Getenv)
		if err != nil {
			return usagef("%v", err)
		}
		if !ok {
			return usagef("no --task, and neither %s nor %s is set", scan.EnvSlurmArrayTaskID, scan.EnvParallelSeq)
		}
	}
	t, err := p.Task(index)
	if err != nil {
		return usagef("%v (from %s)", err, from)
	}
	ctx, stop := cli.StopContext(context.Background())
	defer stop()
	opt := scan.TaskOptions{
		Point:     pointOptions(runOptions{eval: p.Evaluation}, stderr),
		Scheduler: scan.SchedulerFromEnv(os.Getenv),
	}
	n := len(t.Temperatures)
	fmt.Fprintf(stderr, "isingflow scan run: task %d of %s (L = %d, seed %d, %d temperatures) on %s\n",
		index, dir, t.L, t.Seed, n, hostname())
	opt.Begin = func(i int, T float64, resume bool, fromT *float64) {
		how := "from its initialisation"
		switch {
		case resume:
			how = "resumed from its checkpoint"
		case fromT != nil:
			how = fmt.Sprintf("warm start from T = %.6g", *fromT)
		}
		fmt.Fprintf(stderr, "isingflow scan run: task %d, T = %.6g (%d of %d), %s\n", index, T, i+1, n, how)
	}
	opt.Done = func(i int, r *scan.Result, skipped bool) {
		if skipped {
			fmt.Fprintf(stderr, "isingflow scan run: task %d, T = %.6g (%d of %d) already complete\n", index, r.Config.T, i+1, n)
			return
		}
		if err := writePlots(p.PointDir(dir, t.L, t.Seed, r.Config.T), r); err != nil {
			fmt.Fprintf(stderr, "isingflow: plots: %v\n", err)
		}
	}
	rep, err := scan.RunTask(ctx, dir, p, index, opt)
	if rep != nil {
		done := []*scan.Result{}
		for _, r := range rep.Results {
			if r != nil {
				done = append(done, r)
			}
		}
		if *asJSON {
			if werr := cli.WriteJSON(stdout, done); werr != nil && err == nil {
				err = werr
			}
		} else {
			printScan(stdout, done)
			fmt.Fprintf(stdout, "\ntask %d: %d of %d points complete (%d already, %d trained now)\n",
				index, countComplete(rep.Results), n, rep.Skipped, rep.Trained)
		}
	}
	if errors.Is(err, scan.ErrIncomplete) {
		return &cli.StatusError{Err: err, Code: cli.ExitIncomplete}
	}
	return err
}

func countComplete(rs []*scan.Result) int {
	n := 0
	for _, r := range rs {
		if r != nil && r.Completed() {
			n++
		}
	}
	return n
}

func hostname() string {
	h, err := os.Hostname()
	if err != nil {
		return "an unknown host"
	}
	return h
}

// Files that "isingflow scan collect" writes into a plan directory.
const (
	collectJSONFile = "results.json"
	collectCSVFile  = "results.csv"
	fssCSVFile      = "fss.csv"
	plotsDir        = "plots"
)

func runScanCollect(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("scan collect", stderr)
	strict := fs.Bool("strict", false, "exit with status 1 unless every point is complete")
	asJSON := fs.Bool("json", false, "print results.json on stdout instead of the summary")
	dir, c, err := collectPlan(fs, args)
	if err != nil {
		return err
	}
	b, err := jsonIndent(c)
	if err != nil {
		return err
	}
	if err := runio.WriteBytesAtomic(filepath.Join(dir, collectJSONFile), b); err != nil {
		return err
	}
	var csv bytes.Buffer
	if err := c.WriteCSV(&csv); err != nil {
		return err
	}
	if err := runio.WriteBytesAtomic(filepath.Join(dir, collectCSVFile), csv.Bytes()); err != nil {
		return err
	}
	csv.Reset()
	if err := c.FSS.WriteCSV(&csv); err != nil {
		return err
	}
	if err := runio.WriteBytesAtomic(filepath.Join(dir, fssCSVFile), csv.Bytes()); err != nil {
		return err
	}
	drawn := drawCollection(dir, c, stderr)
	if *asJSON {
		if _, err := stdout.Write(b); err != nil {
			return err
		}
	} else {
		printCollection(stdout, c)
		if len(c.Points) > 0 {
			fmt.Fprintln(stdout)
			printFSS(stdout, c.FSS)
		}
		fmt.Fprintf(stdout, "\nwritten: %s, %s, %s", filepath.Join(dir, collectJSONFile), filepath.Join(dir, collectCSVFile), filepath.Join(dir, fssCSVFile))
		if len(drawn) > 0 {
			fmt.Fprintf(stdout, "; plots in %s: %s", filepath.Join(dir, plotsDir), strings.Join(drawn, ", "))
		}
		fmt.Fprintln(stdout)
	}
	if *strict && !c.Complete() {
		return fmt.Errorf("%d of %d points complete (--strict)", len(c.Points), c.Plan.Points())
	}
	return nil
}

func jsonIndent(v any) ([]byte, error) {
	var b bytes.Buffer
	if err := cli.WriteJSON(&b, v); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// printCollection prints how far the plan is: the points complete, and
// one line per task that is not done.
func printCollection(w io.Writer, c *scan.Collection) {
	done := len(c.Tasks) - len(c.NotDone())
	fmt.Fprintf(w, "%d of %d points complete; %d of %d tasks done\n", len(c.Points), c.Plan.Points(), done, len(c.Tasks))
	for _, t := range c.NotDone() {
		fmt.Fprintf(w, "  %s\n", t.Describe())
	}
	if m := c.Missing(); len(m) > 0 {
		fmt.Fprintf(w, "missing tasks: %s\n", joinInts(m))
	}
	if f := c.Failed(); len(f) > 0 {
		fmt.Fprintf(w, "failed or killed tasks: %s (their logs: %s)\n", joinInts(f), filepath.Join(c.Dir, scan.LogsDir))
	}
	if !c.Complete() {
		fmt.Fprintf(w, "rerun the tasks (the same sbatch script or parallel line): complete points are skipped, the others resume\n")
	}
}

// drawCollection draws the plots of a collection into dir/plots — each
// size's temperature scan (u, c, <|m|>, KL/site with the exact curves, every
// seed) and the three finite-size-scaling figures — and returns the files
// drawn. A plot that fails is reported on stderr.
func drawCollection(dir string, c *scan.Collection, stderr io.Writer) []string {
	if len(c.Points) == 0 {
		return nil
	}
	pdir := filepath.Join(dir, plotsDir)
	if err := os.MkdirAll(pdir, 0o755); err != nil {
		fmt.Fprintf(stderr, "isingflow scan: plots: %v\n", err)
		return nil
	}
	var drawn []string
	bySize := map[int][]*scan.Result{}
	var sizes []int
	for _, p := range c.Points {
		if bySize[p.Config.L] == nil {
			sizes = append(sizes, p.Config.L)
		}
		bySize[p.Config.L] = append(bySize[p.Config.L], p.Result)
	}
	for _, L := range sizes {
		name := fmt.Sprintf("scan_%s.png", c.Plan.SizeDir(L))
		img, err := plots.Scan(bySize[L])
		if err == nil && img != nil {
			err = plots.SavePNG(filepath.Join(pdir, name), img)
		}
		if err != nil {
			fmt.Fprintf(stderr, "isingflow scan: plot %s: %v\n", name, err)
			continue
		}
		drawn = append(drawn, name)
	}
	return append(drawn, drawFSS(pdir, c.FSS, stderr)...)
}

// drawFSS draws the finite-size-scaling figures into dir and returns the
// files drawn.
func drawFSS(dir string, f *scan.FSS, stderr io.Writer) []string {
	var drawn []string
	for _, fig := range []struct {
		name string
		draw func(*scan.FSS) (*plots.Figure, error)
	}{
		{"binder.png", plots.Binder},
		{"cmax.png", plots.SpecificHeatMax},
		{"magnetization_scaled.png", plots.ScaledMagnetization},
	} {
		img, err := fig.draw(f)
		if err == nil && img != nil {
			err = img.SavePNG(filepath.Join(dir, fig.name))
			if err == nil {
				drawn = append(drawn, fig.name)
			}
		}
		if err != nil {
			fmt.Fprintf(stderr, "isingflow scan: plot %s: %v\n", fig.name, err)
		}
	}
	return drawn
}

func runScanFSS(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("scan fss", stderr)
	asJSON := fs.Bool("json", false, "print the analysis as JSON")
	dir, c, err := collectPlan(fs, args)
	if err != nil {
		return err
	}
	if len(c.Points) == 0 {
		return fmt.Errorf("no complete point in %s yet", dir)
	}
	pdir := filepath.Join(dir, plotsDir)
	if err := os.MkdirAll(pdir, 0o755); err != nil {
		return err
	}
	drawn := drawFSS(pdir, c.FSS, stderr)
	if *asJSON {
		return cli.WriteJSON(stdout, c.FSS)
	}
	if !c.Complete() {
		fmt.Fprintf(stdout, "(%d of %d points complete: the analysis uses those)\n\n", len(c.Points), c.Plan.Points())
	}
	printFSS(stdout, c.FSS)
	if len(drawn) > 0 {
		fmt.Fprintf(stdout, "\nplots in %s: %s\n", pdir, strings.Join(drawn, ", "))
	}
	return nil
}

// printFSS prints the finite-size-scaling tables: the Binder crossings of
// successive sizes beside T_c, and the specific-heat maxima beside
// Kaufman's.
func printFSS(w io.Writer, f *scan.FSS) {
	fmt.Fprintf(w, "finite-size scaling (the seeds of each point combined); T_c = %.6f\n", f.Tc)
	if len(f.Crossings) > 0 {
		fmt.Fprintf(w, "\nBinder cumulant crossings of successive sizes (U* → %g as L → ∞):\n", scan.CriticalBinder)
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "L1\tL2\tT*\tT* − T_c\tdeviation\tU*\tsign changes\t")
		for _, c := range f.Crossings {
			if c.Err != "" {
				fmt.Fprintf(tw, "%d\t%d\t—\t\t\t\t%d\t  %s\n", c.L1, c.L2, c.SignChanges, c.Err)
				continue
			}
			fmt.Fprintf(tw, "%d\t%d\t%v\t%+.4f\t%s\t%.4f\t%d\t\n", c.L1, c.L2, c.T, c.T.Mean-f.Tc, sigma(c.T.Deviation(f.Tc)), c.U, c.SignChanges)
		}
		tw.Flush()
	}
	if len(f.Peaks) > 0 {
		fmt.Fprintf(w, "\nmaximum of the specific heat (a parabola through the largest c and two temperatures either side):\n")
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "L\tln L\tT_max\tc_max\tKaufman T_max\tKaufman c_max\tsame fit on Kaufman\tdeviation\t")
		for _, p := range f.Peaks {
			note, T := "", p.T.String()
			if p.Edge {
				note, T = "  (largest c at the end of the T range: a bound)", fmt.Sprintf("%.6g", p.T.Mean)
			}
			fmt.Fprintf(tw, "%d\t%.4f\t%s\t%v\t%s\t%s\t%s\t%s\t%s\n", p.L, math.Log(float64(p.L)), T, p.C,
				fmtNum(p.ExactT), fmtNum(p.ExactC), fmtNum(p.ExactFitC), sigma(p.C.Deviation(p.ExactFitC)), note)
		}
		tw.Flush()
	}
	if len(f.Sizes) > 0 {
		fmt.Fprintf(w, "\n<|m|>·L^(1/8) at the temperature nearest T_c:\n")
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "L\tT\t<|m|>·L^(1/8)\texact\tU\texact U\t")
		for _, s := range f.Sizes {
			k := 0
			for i, q := range s.Points {
				if math.Abs(q.T-f.Tc) < math.Abs(s.Points[k].T-f.Tc) {
					k = i
				}
			}
			q := s.Points[k]
			exactM := "—"
			if q.ExactAbsMagnetization != nil {
				exactM = fmt.Sprintf("%.6f", *q.ExactAbsMagnetization*math.Pow(float64(s.L), scan.MagnetizationExponent))
			}
			fmt.Fprintf(tw, "%d\t%.6g\t%v\t%s\t%v\t%s\t\n", s.L, q.T, q.ScaledMagnetization, exactM, q.Binder, fmtOpt(q.ExactBinder, 6))
		}
		tw.Flush()
	}
}

// fmtNum formats a number with 6 decimals, "—" when it is not finite.
func fmtNum(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "—"
	}
	return fmt.Sprintf("%.6f", v)
}

// sigma formats a deviation in units of σ: "+1.2σ", "—" when unknown.
func sigma(d float64) string {
	if math.IsNaN(d) || math.IsInf(d, 0) {
		return "—"
	}
	return fmt.Sprintf("%+.1fσ", d)
}

// executableFlag adds --isingflow, the binary a script runs.
func executableFlag(fs *pflag.FlagSet) *string {
	return fs.String("isingflow", "", "the isingflow binary the script runs, as the nodes see it (default: this one)")
}

// scriptPaths returns the absolute binary and plan directory of a script,
// warning on stderr when the binary is a temporary build of "go run".
func scriptPaths(exe, dir string, stderr io.Writer) (string, string, error) {
	if exe == "" {
		e, err := os.Executable()
		if err != nil {
			return "", "", fmt.Errorf("the path of this binary: %v (give --isingflow)", err)
		}
		exe = e
		if strings.Contains(exe, "go-build") {
			fmt.Fprintf(stderr, "isingflow scan: warning: %s is a temporary build of go run; give --isingflow (scripts/isingflow builds bin/isingflow)\n", exe)
		}
	}
	absExe, err := filepath.Abs(exe)
	if err != nil {
		return "", "", err
	}
	absDir, err := filepath.Abs(dir)
	if err != nil {
		return "", "", err
	}
	return absExe, absDir, nil
}

func runScanSlurm(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("scan slurm", stderr)
	var o scan.SlurmOptions
	fs.IntVar(&o.CPUsPerTask, "cpus-per-task", 2, "CPUs of each task: --cpus-per-task, GOMAXPROCS and OPENBLAS_NUM_THREADS")
	fs.DurationVar(&o.Time, "time", 0, "time limit of each task (default: the plan's --time-limit × its temperatures + the margin + 10m)")
	fs.DurationVar(&o.SignalMargin, "signal-margin", scan.DefaultSignalMargin, "send SIGTERM this long before the time limit: enough to checkpoint and evaluate")
	fs.StringVar(&o.JobName, "job-name", "isingflow-scan", "--job-name")
	fs.StringVar(&o.Partition, "partition", "", "--partition (default: the cluster's)")
	fs.StringVar(&o.Account, "account", "", "--account")
	fs.StringVar(&o.Mem, "mem", "", "--mem per task, e.g. 4G (default: the cluster's)")
	fs.IntVar(&o.MaxRunning, "max-running", 0, "run at most this many tasks at once (--array=0-N%M; 0: no limit)")
	exe := executableFlag(fs)
	dir, err := planDirArg(fs, args)
	if err != nil {
		return err
	}
	p, err := readPlan(dir)
	if err != nil {
		return err
	}
	if o.SignalMargin <= 0 {
		return usagef("--signal-margin %v: must be positive", o.SignalMargin)
	}
	if o.Executable, o.Dir, err = scriptPaths(*exe, dir, stderr); err != nil {
		return err
	}
	s, err := scan.SlurmScript(p, o)
	if err != nil {
		return usagef("%v", err)
	}
	_, err = io.WriteString(stdout, s)
	return err
}

func runScanParallel(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("scan parallel", stderr)
	var o scan.ParallelOptions
	fs.IntVar(&o.CPUsPerJob, "cpus-per-job", 1, "CPUs of each task: GOMAXPROCS and OPENBLAS_NUM_THREADS")
	fs.IntVar(&o.Jobs, "jobs", 0, "tasks at once (default: the CPUs of this machine / --cpus-per-job)")
	exe := executableFlag(fs)
	dir, err := planDirArg(fs, args)
	if err != nil {
		return err
	}
	p, err := readPlan(dir)
	if err != nil {
		return err
	}
	if o.CPUsPerJob < 1 {
		return usagef("--cpus-per-job %d: must be positive", o.CPUsPerJob)
	}
	if !fs.Changed("jobs") {
		o.Jobs = max(1, runtime.NumCPU()/o.CPUsPerJob)
	}
	if o.Executable, o.Dir, err = scriptPaths(*exe, dir, stderr); err != nil {
		return err
	}
	s, err := scan.ParallelCommand(p, o)
	if err != nil {
		return usagef("%v", err)
	}
	_, err = io.WriteString(stdout, s)
	return err
}

// collectPlan parses the flags and the plan directory argument of collect
// and fss, checks that the directory holds a plan and collects its results.
func collectPlan(fs *pflag.FlagSet, args []string) (string, *scan.Collection, error) {
	dir, err := planDirArg(fs, args)
	if err != nil {
		return "", nil, err
	}
	if _, err := readPlan(dir); err != nil {
		return "", nil, err
	}
	c, err := scan.Collect(dir)
	return dir, c, err
}
