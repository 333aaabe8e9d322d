package runio

import (
	"bufio"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

type meta struct {
	Step int    `json:"step"`
	Name string `json:"name"`
	RNG  []byte `json:"rng"`
}

func TestCheckpointRoundTrip(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "ck.npz")
	in := map[string][]float64{
		"params": {1, -2.5, math.Pi, 1e-300, math.Nextafter(1, 2)},
		"adam_m": {0, 0},
	}
	m := meta{Step: 17, Name: "L4", RNG: []byte{1, 2, 3}}
	if err := WriteCheckpoint(path, m, in); err != nil {
		t.Fatal(err)
	}
	var got meta
	out, err := ReadCheckpoint(path, &got)
	if err != nil {
		t.Fatal(err)
	}
	if got.Step != 17 || got.Name != "L4" || string(got.RNG) != "\x01\x02\x03" {
		t.Errorf("metadata %+v", got)
	}
	for k, v := range in {
		w := out[k]
		if len(w) != len(v) {
			t.Fatalf("%s: %d values, want %d", k, len(w), len(v))
		}
		for i := range v {
			if math.Float64bits(w[i]) != math.Float64bits(v[i]) {
				t.Errorf("%s[%d] = %v, want %v bit for bit", k, i, w[i], v[i])
			}
		}
	}
	// No temporary files are left behind.
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		t.Errorf("directory holds %d entries", len(ents))
	}
}

func TestReadCheckpointErrors(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.npz")
	if err := WriteCheckpoint(good, meta{Step: 1}, map[string][]float64{"params": {1, 2, 3}}); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(good)
	truncated := filepath.Join(dir, "truncated.npz")
	os.WriteFile(truncated, data[:len(data)/2], 0o644)
	flipped := filepath.Join(dir, "flipped.npz")
	bad := append([]byte(nil), data...)
	for i := len(bad) / 3; i < len(bad)/3+40; i++ {
		bad[i] ^= 0x5a
	}
	os.WriteFile(flipped, bad, 0o644)
	text := filepath.Join(dir, "text.npz")
	os.WriteFile(text, []byte("not a zip file"), 0o644)
	nan := filepath.Join(dir, "nan.npz")
	WriteCheckpoint(nan, meta{}, map[string][]float64{"params": {1, math.NaN()}})
	for _, p := range []string{filepath.Join(dir, "missing.npz"), truncated, flipped, text, nan} {
		var m meta
		_, err := ReadCheckpoint(p, &m)
		if err == nil {
			t.Errorf("%s: read without error", filepath.Base(p))
			continue
		}
		if !strings.Contains(err.Error(), filepath.Base(p)) {
			t.Errorf("error %q does not name the file", err)
		}
	}
}

func TestWriteFileAtomicKeepsOldFileOnError(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f")
	os.WriteFile(path, []byte("old"), 0o644)
	err := WriteFileAtomic(path, func(f *os.File) error {
		f.WriteString("partial")
		return os.ErrInvalid
	})
	if err == nil {
		t.Fatal("error lost")
	}
	if b, _ := os.ReadFile(path); string(b) != "old" {
		t.Errorf("file now %q", b)
	}
}

func TestJSONL(t *testing.T) {
	path := filepath.Join(t.TempDir(), "log.jsonl")
	for _, appending := range []bool{false, true} {
		l, err := CreateJSONL(path, appending)
		if err != nil {
			t.Fatal(err)
		}
		l.Write(map[string]int{"step": 1})
		l.Write(map[string]int{"step": 2})
		l.Close()
	}
	f, _ := os.Open(path)
	defer f.Close()
	sc := bufio.NewScanner(f)
	n := 0
	for sc.Scan() {
		var v map[string]int
		if err := json.Unmarshal(sc.Bytes(), &v); err != nil {
			t.Fatal(err)
		}
		n++
	}
	if n != 4 {
		t.Errorf("%d lines, want 4", n)
	}
}

func TestProgressOffTerminalDoesNothing(t *testing.T) {
	var sb strings.Builder
	p := NewProgress(&sb, 10, "x")
	p.Set(5, "F = 1")
	p.Finish()
	if sb.Len() != 0 {
		t.Errorf("progress wrote %q off a terminal", sb.String())
	}
}
