package bytesize

import (
	"math"
	"testing"
)

func TestMulAdd(t *testing.T) {
	for _, tc := range []struct {
		got, want int64
	}{
		{Mul(), 1},
		{Mul(3, 4, 5), 60},
		{Mul(1<<40, 1<<30), Max},
		{Mul(math.MaxInt64, 2, 0), 0},
		{Mul(Max, 1), Max},
		{Mul(-5, 3), 0},
		{Mul(1<<62, 2), Max},
		{Mul(1<<62, 1), 1 << 62},
		{MulInt(math.MaxInt, math.MaxInt), Max},
		{MulInt(1152921504606846976, 256), Max},
		{Add(1, 2, 3), 6},
		{Add(Max, 1), Max},
		{Add(math.MaxInt64-1, 1), math.MaxInt64},
		{Add(-1, 4), 4},
	} {
		if tc.got != tc.want {
			t.Errorf("got %d, want %d", tc.got, tc.want)
		}
	}
}

func TestParseFormat(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
	}{
		{"8GiB", 8 << 30}, {"8G", 8 << 30}, {"8 gib", 8 << 30}, {"8GB", 8e9}, {"512MiB", 512 << 20},
		{"1.5TiB", 3 << 39}, {"17179869184", 16 << 30}, {"100kB", 100000}, {"64B", 64},
	} {
		if got, err := Parse(tc.in); err != nil || got != tc.want {
			t.Errorf("Parse(%q) = %d, %v, want %d", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{"", "GiB", "lots", "8 XB", "-1G", "0", "0.1", "1e30", "NaN", "Inf", "9EiB"} {
		if got, err := Parse(bad); err == nil {
			t.Errorf("Parse(%q) = %d, want an error", bad, got)
		}
	}
	for _, tc := range []struct {
		n    int64
		want string
	}{
		{512, "512 B"}, {1536, "1.50 KiB"}, {24683784 * 1024, "23.5 GiB"}, {300 << 40, "300 TiB"}, {Max, "more than 8 EiB"},
	} {
		if got := Format(tc.n); got != tc.want {
			t.Errorf("Format(%d) = %q, want %q", tc.n, got, tc.want)
		}
	}
}
