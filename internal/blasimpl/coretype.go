package blasimpl

import (
	"os"
	"strings"
)

// Environment variables read by the OpenBLAS kernel check.
const (
	// coreTypeVar is OpenBLAS's own override of its kernel choice, read
	// once when the library loads.
	coreTypeVar = "OPENBLAS_CORETYPE"
	// reexecGuardVar is set in the environment of the re-executed program
	// so that it never re-executes again.
	reexecGuardVar = "ISINGFLOW_BLAS_REEXEC"
)

// coreTypeFor returns the OpenBLAS core type whose kernels the processor
// with the given /proc/cpuinfo flags (space-separated) can run: "SkylakeX"
// with AVX-512 F, DQ, BW and VL, "Haswell" with AVX2 and FMA, and "" (no
// advice: leave the choice to OpenBLAS) otherwise.
func coreTypeFor(flags string) string {
	has := make(map[string]bool)
	for _, f := range strings.Fields(flags) {
		has[f] = true
	}
	switch {
	case has["avx512f"] && has["avx512dq"] && has["avx512bw"] && has["avx512vl"]:
		return "SkylakeX"
	case has["avx2"] && has["fma"]:
		return "Haswell"
	}
	return ""
}

// coreLevel ranks an OpenBLAS core name by the widest vector kernels it
// uses: 3 for AVX-512, 2 for AVX2 with FMA, 1 for AVX, 0 for the others
// (SSE-only kernels such as Prescott, and names it does not know).
func coreLevel(core string) int {
	switch strings.ToLower(core) {
	case "skylakex", "cooperlake", "sapphirerapids":
		return 3
	case "haswell", "zen", "excavator":
		return 2
	case "sandybridge", "bulldozer", "piledriver", "steamroller":
		return 1
	}
	return 0
}

// reexecCoreType decides whether the program should re-execute itself
// with OPENBLAS_CORETYPE set, given a lookup of the environment, the
// processor's /proc/cpuinfo flags and the core name OpenBLAS chose when it
// loaded. It returns the core type to set and true only when the
// environment sets neither OPENBLAS_CORETYPE (a value already there is
// respected, even an empty one) nor the re-exec guard, and the processor
// supports kernels of a higher level than the chosen ones.
func reexecCoreType(lookupEnv func(string) (string, bool), flags, loaded string) (string, bool) {
	if _, set := lookupEnv(coreTypeVar); set {
		return "", false
	}
	if _, set := lookupEnv(reexecGuardVar); set {
		return "", false
	}
	want := coreTypeFor(flags)
	if want == "" || coreLevel(loaded) >= coreLevel(want) {
		return "", false
	}
	return want, true
}

// cpuFlags returns the flags of the first processor in /proc/cpuinfo, or
// "" when they cannot be read.
func cpuFlags() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return ""
	}
	return flagsLine(string(b))
}

// flagsLine returns the value of the first "flags" line of a
// /proc/cpuinfo text.
func flagsLine(cpuinfo string) string {
	for line := range strings.Lines(cpuinfo) {
		key, value, ok := strings.Cut(line, ":")
		if ok && strings.TrimSpace(key) == "flags" {
			return strings.TrimSpace(value)
		}
	}
	return ""
}
