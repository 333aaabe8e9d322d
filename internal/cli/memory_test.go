package cli

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/isingflow/isingflow/internal/bytesize"
)

func TestParseMemTotal(t *testing.T) {
	n, err := parseMemTotal(strings.NewReader("MemTotal:       24683784 kB\nMemFree:        22575152 kB\n"))
	if err != nil || n != 24683784*1024 {
		t.Errorf("parseMemTotal = %d, %v, want %d", n, err, 24683784*1024)
	}
	for _, bad := range []string{"", "MemFree: 1 kB\n", "MemTotal: x kB\n", "MemTotal: 12 MB\n", "MemTotal: -1 kB\n"} {
		if _, err := parseMemTotal(strings.NewReader(bad)); err == nil {
			t.Errorf("parseMemTotal(%q) succeeded", bad)
		}
	}
}

// TestMemoryLimit checks the sources of the limit in order: the variable,
// the machine's MemTotal, the default.
func TestMemoryLimit(t *testing.T) {
	t.Setenv(MemoryLimitEnv, "8GiB")
	if n, src, err := MemoryLimit(); err != nil || n != 8<<30 || src != MemoryLimitEnv+"=8GiB" {
		t.Errorf("%s=8GiB: MemoryLimit = %d, %q, %v", MemoryLimitEnv, n, src, err)
	}
	t.Setenv(MemoryLimitEnv, "off")
	if n, _, err := MemoryLimit(); err != nil || n != 0 {
		t.Errorf("%s=off: MemoryLimit = %d, %v, want no limit", MemoryLimitEnv, n, err)
	}
	t.Setenv(MemoryLimitEnv, "lots")
	var ue UsageError
	if _, _, err := MemoryLimit(); !errors.As(err, &ue) || !strings.HasPrefix(err.Error(), MemoryLimitEnv+": ") {
		t.Errorf("%s=lots: error %v, want a usage error naming the variable", MemoryLimitEnv, err)
	}

	t.Setenv(MemoryLimitEnv, "")
	meminfoPath = filepath.Join(t.TempDir(), "meminfo")
	t.Cleanup(func() { meminfoPath = "/proc/meminfo" })
	if n, src, err := MemoryLimit(); err != nil || n != DefaultMemoryLimit || !strings.Contains(src, "default") {
		t.Errorf("no meminfo: MemoryLimit = %d, %q, %v, want the default", n, src, err)
	}
}

func TestCheckMemory(t *testing.T) {
	t.Setenv(MemoryLimitEnv, "1GiB")
	if err := CheckMemory("the run", 1<<30); err != nil {
		t.Errorf("at the limit: %v", err)
	}
	var re ResourceError
	err := CheckMemory("the run", 3<<30)
	if want := "the run needs about 3.00 GiB of memory; the limit is 1.00 GiB (ISINGFLOW_MEMORY_LIMIT=1GiB)"; !errors.As(err, &re) || err.Error() != want {
		t.Errorf("above the limit: %v, want the ResourceError %q", err, want)
	}
	err = CheckMemory("the run", bytesize.Max)
	if !errors.As(err, &re) || !strings.Contains(err.Error(), "more than 8 EiB of memory (its size overflows)") {
		t.Errorf("overflowed: %v", err)
	}
	t.Setenv(MemoryLimitEnv, "off")
	if err := CheckMemory("the run", bytesize.Max); err != nil {
		t.Errorf("no limit: %v", err)
	}
}
