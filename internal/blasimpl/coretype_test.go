package blasimpl

import "testing"

// Flags of real processors, shortened to what matters.
const (
	flagsZen4    = "fpu sse2 ssse3 fma sse4_1 sse4_2 avx f16c avx2 bmi2 avx512f avx512dq avx512ifma avx512cd avx512bw avx512vl avx512_bf16"
	flagsSkylake = "fpu sse2 ssse3 fma sse4_1 sse4_2 avx f16c avx2 bmi2"
	flagsIvy     = "fpu sse2 ssse3 sse4_1 sse4_2 avx f16c"
)

func TestCoreTypeFor(t *testing.T) {
	for _, test := range []struct {
		name, flags, want string
	}{
		{"zen4", flagsZen4, "SkylakeX"},
		{"skylake-client", flagsSkylake, "Haswell"},
		{"ivybridge", flagsIvy, ""},
		{"avx512f only", "avx2 fma avx512f avx512cd", "Haswell"},
		{"avx512 without fma-avx2", "avx512f avx512dq avx512bw avx512vl", "SkylakeX"},
		{"avx2 without fma", "avx avx2", ""},
		{"empty", "", ""},
		{"substring is not a flag", "xavx2 fmax avx512fx", ""},
	} {
		if got := coreTypeFor(test.flags); got != test.want {
			t.Errorf("%s: coreTypeFor = %q, want %q", test.name, got, test.want)
		}
	}
}

func TestReexecCoreType(t *testing.T) {
	env := func(kv ...string) func(string) (string, bool) {
		return func(key string) (string, bool) {
			for i := 0; i+1 < len(kv); i += 2 {
				if kv[i] == key {
					return kv[i+1], true
				}
			}
			return "", false
		}
	}
	for _, test := range []struct {
		name   string
		env    func(string) (string, bool)
		flags  string
		loaded string
		want   string
		ok     bool
	}{
		{"prescott on avx512", env(), flagsZen4, "Prescott", "SkylakeX", true},
		{"haswell on avx512", env(), flagsZen4, "Haswell", "SkylakeX", true},
		{"zen on avx512", env(), flagsZen4, "Zen", "SkylakeX", true},
		{"cooperlake on avx512", env(), flagsZen4, "Cooperlake", "", false},
		{"skylakex on avx512", env(), flagsZen4, "SkylakeX", "", false},
		{"prescott on avx2", env(), flagsSkylake, "Prescott", "Haswell", true},
		{"sandybridge on avx2", env(), flagsSkylake, "Sandybridge", "Haswell", true},
		{"haswell on avx2", env(), flagsSkylake, "Haswell", "", false},
		{"prescott on avx", env(), flagsIvy, "Prescott", "", false},
		{"unknown flags", env(), "", "Prescott", "", false},
		{"environment sets it", env(coreTypeVar, "Haswell"), flagsZen4, "Haswell", "", false},
		{"environment sets it empty", env(coreTypeVar, ""), flagsZen4, "Prescott", "", false},
		{"environment sets prescott", env(coreTypeVar, "Prescott"), flagsZen4, "Prescott", "", false},
		{"already re-executed", env(reexecGuardVar, "1"), flagsZen4, "Prescott", "", false},
		{"case of the core name", env(), flagsZen4, "SKYLAKEX", "", false},
	} {
		got, ok := reexecCoreType(test.env, test.flags, test.loaded)
		if got != test.want || ok != test.ok {
			t.Errorf("%s: reexecCoreType = %q, %t; want %q, %t", test.name, got, ok, test.want, test.ok)
		}
	}
}

func TestFlagsLine(t *testing.T) {
	const cpuinfo = "processor\t: 0\nvendor_id\t: AuthenticAMD\nflags\t\t: fpu avx2 fma\nbugs\t\t: sysret_ss_attrs\n" +
		"processor\t: 1\nflags\t\t: other\n"
	for _, test := range []struct{ in, want string }{
		{cpuinfo, "fpu avx2 fma"},
		{"processor : 0\n", ""},
		{"", ""},
		{"vmx flags\t: ept\nflags : sse2\n", "sse2"},
	} {
		if got := flagsLine(test.in); got != test.want {
			t.Errorf("flagsLine(%q) = %q, want %q", test.in, got, test.want)
		}
	}
}
