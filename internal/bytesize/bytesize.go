// Package bytesize is the overflow-safe arithmetic of memory sizes that
// are products of user inputs (hidden units × sites × batch × steps …),
// and their reading and printing. Every operation saturates at
// math.MaxInt64 instead of wrapping around: a size that overflows is
// larger than any machine's memory, and compares as such.
package bytesize

import (
	"fmt"
	"math"
	"math/bits"
	"strconv"
	"strings"
)

// Max is the saturated size: every overflow ends here.
const Max = math.MaxInt64

// Mul returns the product of the factors, saturated at Max. A negative
// factor counts as zero (the sizes of an invalid request are never used).
func Mul(factors ...int64) int64 {
	p := uint64(1)
	for _, f := range factors {
		if f <= 0 {
			return 0
		}
		hi, lo := bits.Mul64(p, uint64(f))
		if hi != 0 || lo > Max {
			p = Max
			// Keep scanning: a later zero factor still makes the product 0.
			continue
		}
		p = lo
	}
	return int64(p)
}

// MulInt is Mul of int factors.
func MulInt(factors ...int) int64 {
	var buf [8]int64
	f := buf[:0]
	for _, v := range factors {
		f = append(f, int64(v))
	}
	return Mul(f...)
}

// Add returns the sum of the terms, saturated at Max; negative terms count
// as zero.
func Add(terms ...int64) int64 {
	s := uint64(0)
	for _, t := range terms {
		if t <= 0 {
			continue
		}
		sum, carry := bits.Add64(s, uint64(t), 0)
		if carry != 0 || sum > Max {
			return Max
		}
		s = sum
	}
	return int64(s)
}

// Units of Parse and Format.
const (
	KiB int64 = 1 << (10 * (iota + 1))
	MiB
	GiB
	TiB
	PiB
	EiB
)

// Format prints a size in binary units with three significant digits:
// "512 B", "1.5 KiB", "23.5 GiB"; Max prints as "more than 8 EiB" (a size
// that overflowed).
func Format(n int64) string {
	if n >= Max {
		return "more than 8 EiB"
	}
	if n < KiB {
		return fmt.Sprintf("%d B", n)
	}
	units := []string{"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"}
	v, u := float64(n)/float64(KiB), 0
	for v >= 1024 && u < len(units)-1 {
		v /= 1024
		u++
	}
	switch {
	case v >= 100:
		return fmt.Sprintf("%.0f %s", v, units[u])
	case v >= 10:
		return fmt.Sprintf("%.1f %s", v, units[u])
	}
	return fmt.Sprintf("%.2f %s", v, units[u])
}

// Parse reads a size: a number of bytes with an optional unit, binary
// (K, M, G, T, P or KiB, MiB, GiB, TiB, PiB: powers of 1024) or decimal
// (kB, MB, GB, TB, PB: powers of 1000), case-insensitive, with or without
// a space: "8GiB", "8G", "8 GB", "512MiB", "1.5TiB", "17179869184". The
// size must be positive and fit in an int64.
func Parse(s string) (int64, error) {
	t := strings.TrimSpace(s)
	i := len(t)
	for i > 0 && (t[i-1] < '0' || t[i-1] > '9') && t[i-1] != '.' {
		i--
	}
	num, unit := strings.TrimSpace(t[:i]), strings.ToLower(strings.TrimSpace(t[i:]))
	mult := map[string]float64{
		"": 1, "b": 1,
		"k": 1 << 10, "kib": 1 << 10, "m": 1 << 20, "mib": 1 << 20, "g": 1 << 30, "gib": 1 << 30,
		"t": 1 << 40, "tib": 1 << 40, "p": 1 << 50, "pib": 1 << 50,
		"kb": 1e3, "mb": 1e6, "gb": 1e9, "tb": 1e12, "pb": 1e15,
	}[unit]
	v, err := strconv.ParseFloat(num, 64)
	if err != nil || num == "" {
		return 0, fmt.Errorf("%q is not a size (e.g. 8GiB)", s)
	}
	if mult == 0 {
		return 0, fmt.Errorf("%q: unknown unit %q (want B, KiB, MiB, GiB, TiB, kB, MB, GB or TB)", s, t[i:])
	}
	b := v * mult
	if !(b >= 1) || b >= math.MaxInt64 {
		return 0, fmt.Errorf("%q: a size must be at least one byte and less than 8 EiB", s)
	}
	return int64(b), nil
}
