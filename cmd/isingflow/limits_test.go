package main

import (
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/isingflow/isingflow/internal/cli"
)

// TestOversizedRequestsRefusedUpFront runs requests far too large for any
// machine in process and checks that each is refused with exit status 3,
// one line with the estimate and the limit, no file written, and less
// than 16 MiB allocated (runtime.MemStats.TotalAlloc): the refusal comes
// before the lattice, the model or the samples are allocated.
func TestOversizedRequestsRefusedUpFront(t *testing.T) {
	t.Setenv(cli.MemoryLimitEnv, "64GiB")
	dir := t.TempDir()
	out := filepath.Join(dir, "run")
	for _, args := range [][]string{
		{"--potential", "dense", "--hidden", "100000000", "--out", out},
		{"--batch", "1000000000", "--out", out},
		{"--flow-steps", "1000000000", "--out", out},
		{"-L", "40000", "--out", out},
		{"-L", "4", "--samples", "1000000000000", "--out", out},
		{"-L", "4", "--mcmc", "1000000000000", "--out", out},
		{"scan", "-T", "2,3", "--potential", "dense", "--hidden", "100000000", "--out", out},
		{"mc", "--chains", "1000000000"},
		{"mc", "-L", "40000"},
		{"exact", "-L", "40000"},
	} {
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		before := ms.TotalAlloc
		var stdout, stderr strings.Builder
		code := run(args, &stdout, &stderr)
		runtime.ReadMemStats(&ms)
		allocated := ms.TotalAlloc - before
		msg := stderr.String()
		if code != cli.ExitResources {
			t.Errorf("%q: exit status %d, want %d (stderr %q)", args, code, cli.ExitResources, msg)
			continue
		}
		if strings.Count(msg, "\n") != 1 || !strings.Contains(msg, "; the limit is 64.0 GiB (ISINGFLOW_MEMORY_LIMIT=64GiB)\n") {
			t.Errorf("%q: stderr %q, want one line with the estimate and the limit", args, msg)
		}
		if allocated > 16<<20 {
			t.Errorf("%q: %d bytes allocated before the refusal", args, allocated)
		}
		if stdout.Len() > 0 {
			t.Errorf("%q: stdout %q", args, stdout.String())
		}
	}
	if ents, err := filepath.Glob(filepath.Join(dir, "*")); err != nil || len(ents) > 0 {
		t.Errorf("files written: %v %v", ents, err)
	}
}
