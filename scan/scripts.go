package scan

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"
)

// DefaultSignalMargin is how long before a Slurm job's time limit its
// task is sent SIGTERM (SlurmOptions.SignalMargin): time to stop training
// with a checkpoint and evaluate the flow trained so far (about 30 s at
// L = 16 with 10 000 samples on 2 cores, a few minutes at L = 32).
const DefaultSignalMargin = 5 * time.Minute

// SlurmOptions are the settings of SlurmScript.
type SlurmOptions struct {
	Executable string // the isingflow binary, as the compute nodes see it
	Dir        string // the plan directory, as the compute nodes see it
	// CPUsPerTask is --cpus-per-task, passed to GOMAXPROCS and
	// OPENBLAS_NUM_THREADS.
	CPUsPerTask int
	// Time is the time limit of each array element (--time); 0 takes
	// the plan's bound (Plan.TaskTime of its longest task) plus the
	// signal margin and 10 minutes for the evaluations, which needs a
	// plan with a time limit.
	Time time.Duration
	// SignalMargin is how long before the time limit SIGTERM comes
	// (--signal=B:TERM@seconds); 0 means DefaultSignalMargin.
	SignalMargin time.Duration
	JobName      string // --job-name; "" means isingflow-scan
	Partition    string // --partition, when not ""
	Account      string // --account, when not ""
	Mem          string // --mem, when not "" (e.g. 4G)
	MaxRunning   int    // the array's %N: at most this many tasks at once (0: no limit)
}

// SlurmScript returns a batch script that runs every task of the plan as
// one element of a Slurm job array (sbatch --array=0-(N−1)): the array
// index is the task (SLURM_ARRAY_TASK_ID, read by "isingflow scan run"),
// GOMAXPROCS and OPENBLAS_NUM_THREADS are the CPUs of the task, and the
// batch shell execs isingflow so that --signal=B:TERM@margin reaches it: it
// stops training with a checkpoint, evaluates and exits with status 75
// (incomplete) before the time limit kills it. Submitting the same script
// again finishes what is left. Each element's output is appended to
// Dir/logs/task-I.log.
func SlurmScript(p *Plan, o SlurmOptions) (string, error) {
	if err := checkScriptPaths(o.Executable, o.Dir); err != nil {
		return "", err
	}
	if strings.ContainsAny(o.Dir, " \t") {
		return "", fmt.Errorf("%q: Slurm's #SBATCH --output cannot carry a path with spaces", o.Dir)
	}
	if o.CPUsPerTask < 1 {
		return "", fmt.Errorf("--cpus-per-task %d: must be positive", o.CPUsPerTask)
	}
	if o.MaxRunning < 0 {
		return "", fmt.Errorf("--max-running %d: must not be negative", o.MaxRunning)
	}
	margin := o.SignalMargin
	if margin == 0 {
		margin = DefaultSignalMargin
	}
	if margin < 0 {
		return "", fmt.Errorf("--signal-margin %v: must be positive", margin)
	}
	limit := o.Time
	if limit == 0 {
		for i := range p.Tasks {
			limit = max(limit, p.TaskTime(i))
		}
		if limit == 0 {
			return "", errors.New("the plan has no --time-limit to bound a task's time: give the job's --time")
		}
		limit += margin + 10*time.Minute
	}
	if limit <= margin {
		return "", fmt.Errorf("--time %v: must exceed the signal margin %v", limit, margin)
	}
	name := o.JobName
	if name == "" {
		name = "isingflow-scan"
	}
	array := fmt.Sprintf("0-%d", len(p.Tasks)-1)
	if o.MaxRunning > 0 {
		array += fmt.Sprintf("%%%d", o.MaxRunning)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "#!/bin/bash\n")
	fmt.Fprintf(&b, "# isingflow scan: the plan %s as a Slurm job array, one element per task\n", o.Dir)
	fmt.Fprintf(&b, "# (%s).\n", describePlan(p))
	fmt.Fprintf(&b, "# Submit it with \"sbatch FILE\"; submitting it again finishes whatever a time\n")
	fmt.Fprintf(&b, "# limit, a kill or a failure left: a task skips its complete points and resumes\n")
	fmt.Fprintf(&b, "# the others from their checkpoints.\n")
	fmt.Fprintf(&b, "#SBATCH --job-name=%s\n", name)
	fmt.Fprintf(&b, "#SBATCH --array=%s\n", array)
	fmt.Fprintf(&b, "#SBATCH --ntasks=1\n")
	fmt.Fprintf(&b, "#SBATCH --cpus-per-task=%d\n", o.CPUsPerTask)
	fmt.Fprintf(&b, "#SBATCH --time=%s\n", SlurmDuration(limit))
	fmt.Fprintf(&b, "#SBATCH --signal=B:TERM@%d\n", int(margin.Round(time.Second)/time.Second))
	fmt.Fprintf(&b, "#SBATCH --output=%s\n", filepath.Join(o.Dir, LogsDir, "task-%a.log"))
	fmt.Fprintf(&b, "#SBATCH --open-mode=append\n")
	for _, kv := range [][2]string{{"partition", o.Partition}, {"account", o.Account}, {"mem", o.Mem}} {
		if kv[1] != "" {
			fmt.Fprintf(&b, "#SBATCH --%s=%s\n", kv[0], kv[1])
		}
	}
	fmt.Fprintf(&b, "export GOMAXPROCS=\"${SLURM_CPUS_PER_TASK:-%d}\"\n", o.CPUsPerTask)
	fmt.Fprintf(&b, "export OPENBLAS_NUM_THREADS=\"$GOMAXPROCS\"\n")
	fmt.Fprintf(&b, "# exec: SIGTERM (--signal=B:TERM) reaches isingflow itself, which stops training\n")
	fmt.Fprintf(&b, "# with a checkpoint, evaluates and exits with status 75 (incomplete: run again).\n")
	fmt.Fprintf(&b, "exec %s scan run %s\n", shellQuote(o.Executable), shellQuote(o.Dir))
	return b.String(), nil
}

// ParallelOptions are the settings of ParallelCommand.
type ParallelOptions struct {
	Executable string // the isingflow binary
	Dir        string // the plan directory
	Jobs       int    // tasks at once (--jobs)
	CPUsPerJob int    // GOMAXPROCS and OPENBLAS_NUM_THREADS of each task
}

// ParallelCommand returns a shell command line that runs every task of the
// plan with GNU parallel, Jobs at a time, each task's output appended to
// Dir/logs/task-I.log. Its job log Dir/logs/parallel.joblog with
// --resume-failed makes running the same line again run only the tasks
// that did not succeed (killed, interrupted, failed) or never ran; the
// tasks themselves skip their complete points.
func ParallelCommand(p *Plan, o ParallelOptions) (string, error) {
	if err := checkScriptPaths(o.Executable, o.Dir); err != nil {
		return "", err
	}
	if o.Jobs < 1 {
		return "", fmt.Errorf("--jobs %d: must be positive", o.Jobs)
	}
	if o.CPUsPerJob < 1 {
		return "", fmt.Errorf("--cpus-per-job %d: must be positive", o.CPUsPerJob)
	}
	logs := filepath.Join(o.Dir, LogsDir)
	cmd := fmt.Sprintf("%s scan run %s --task {} >> %s 2>&1", shellQuote(o.Executable), shellQuote(o.Dir),
		shellQuote(filepath.Join(logs, "task-"))+"{}.log")
	var b strings.Builder
	fmt.Fprintf(&b, "# isingflow scan: the plan %s with GNU parallel\n", o.Dir)
	fmt.Fprintf(&b, "# (%s),\n", describePlan(p))
	fmt.Fprintf(&b, "# %d at a time, %d CPU(s) each. Running the same line again runs only the tasks\n", o.Jobs, o.CPUsPerJob)
	fmt.Fprintf(&b, "# that did not succeed; a task skips its complete points and resumes the others.\n")
	fmt.Fprintf(&b, "seq 0 %d | GOMAXPROCS=%d OPENBLAS_NUM_THREADS=%d parallel --jobs %d --env GOMAXPROCS --env OPENBLAS_NUM_THREADS --joblog %s --resume-failed \"%s\"\n",
		len(p.Tasks)-1, o.CPUsPerJob, o.CPUsPerJob, o.Jobs, shellQuote(filepath.Join(logs, "parallel.joblog")), cmd)
	return b.String(), nil
}

// describePlan summarises the plan for a script's comment: "6 tasks:
// L = 4, 6; 3 temperatures; seeds 1, 2; one chain of temperatures each".
func describePlan(p *Plan) string {
	sizes := make([]string, len(p.Sizes))
	for i, L := range p.Sizes {
		sizes[i] = fmt.Sprint(L)
	}
	seeds := make([]string, len(p.Seeds))
	for i, s := range p.Seeds {
		seeds[i] = fmt.Sprint(s)
	}
	what := "one chain of temperatures each"
	if p.Split == SplitPoint {
		what = "one point each"
	}
	return fmt.Sprintf("%d tasks: L = %s; %d temperatures; seeds %s; %s", len(p.Tasks),
		strings.Join(sizes, ", "), len(p.Temperatures), strings.Join(seeds, ", "), what)
}

// SlurmDuration formats d, rounded up to the minute, as Slurm's
// D-HH:MM:SS (HH:MM:SS under a day).
func SlurmDuration(d time.Duration) string {
	m := int((d + time.Minute - 1) / time.Minute)
	days, h, mm := m/(24*60), (m/60)%24, m%60
	if days > 0 {
		return fmt.Sprintf("%d-%02d:%02d:00", days, h, mm)
	}
	return fmt.Sprintf("%02d:%02d:00", h, mm)
}

// checkScriptPaths refuses paths that a script cannot carry: relative
// ones (a batch job starts elsewhere) and ones with characters that the
// shell would expand inside double quotes, or Slurm would misread.
func checkScriptPaths(paths ...string) error {
	for _, p := range paths {
		if !filepath.IsAbs(p) {
			return fmt.Errorf("%q: a script needs an absolute path", p)
		}
		if strings.ContainsAny(p, "\"$`\\\n%") {
			return fmt.Errorf("%q: a script cannot carry a path with any of \" $ ` \\ %% or a newline", p)
		}
	}
	return nil
}

// shellQuote quotes s for a POSIX shell when it needs it.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/._-+=:,@") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
