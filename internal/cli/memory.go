package cli

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/isingflow/isingflow/internal/bytesize"
)

// MemoryLimitEnv is the environment variable that sets the memory limit
// of both commands, for a cluster job that may use less than the machine
// has, or to lift the limit: a size such as 8GiB, 512MiB or 32GB (see
// bytesize.Parse), or "off" for no limit.
const MemoryLimitEnv = "ISINGFLOW_MEMORY_LIMIT"

// DefaultMemoryLimit is the memory limit where the machine's memory cannot
// be read (systems without /proc/meminfo).
const DefaultMemoryLimit = 16 * bytesize.GiB

// meminfoPath is the file MemoryLimit reads the machine's memory from.
var meminfoPath = "/proc/meminfo"

// MemoryLimit returns the most memory a request may need, in bytes, and
// where that limit comes from: MemoryLimitEnv when it is set (0 when it is
// "off": no limit), else the machine's memory (MemTotal of /proc/meminfo
// on Linux), else DefaultMemoryLimit. A malformed MemoryLimitEnv is a
// UsageError.
func MemoryLimit() (limit int64, source string, err error) {
	if v, ok := os.LookupEnv(MemoryLimitEnv); ok && strings.TrimSpace(v) != "" {
		if strings.EqualFold(strings.TrimSpace(v), "off") {
			return 0, MemoryLimitEnv + "=off", nil
		}
		n, err := bytesize.Parse(v)
		if err != nil {
			return 0, "", Usagef("%s: %v", MemoryLimitEnv, err)
		}
		return n, MemoryLimitEnv + "=" + strings.TrimSpace(v), nil
	}
	if f, err := os.Open(meminfoPath); err == nil {
		defer f.Close()
		if n, err := parseMemTotal(f); err == nil {
			return n, "this machine's MemTotal; set " + MemoryLimitEnv + " to change it", nil
		}
	}
	return DefaultMemoryLimit, "the default where the machine's memory is unknown; set " + MemoryLimitEnv + " to change it", nil
}

// parseMemTotal reads MemTotal from the contents of /proc/meminfo
// ("MemTotal:       24683784 kB").
func parseMemTotal(r io.Reader) (int64, error) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), "MemTotal:")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) != 2 || f[1] != "kB" {
			return 0, fmt.Errorf("meminfo: MemTotal %q", rest)
		}
		kb, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil || kb <= 0 {
			return 0, fmt.Errorf("meminfo: MemTotal %q", rest)
		}
		return bytesize.Mul(kb, bytesize.KiB), nil
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	return 0, fmt.Errorf("meminfo: no MemTotal")
}

// CheckMemory refuses a request whose memory estimate need (in bytes,
// bytesize.Max when it overflowed) exceeds MemoryLimit: the error is a
// ResourceError, one line with the request (what: "the run"), the
// estimate and the limit. Commands call it before they allocate anything large or write
// any file.
func CheckMemory(what string, need int64) error {
	limit, source, err := MemoryLimit()
	if err != nil || limit == 0 || need <= limit {
		return err
	}
	amount := "about " + bytesize.Format(need) + " of memory"
	if need >= bytesize.Max {
		amount = "more than 8 EiB of memory (its size overflows)"
	}
	return Resourcef("%s needs %s; the limit is %s (%s)", what, amount, bytesize.Format(limit), source)
}
