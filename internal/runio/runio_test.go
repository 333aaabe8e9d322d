package runio

import (
	"archive/zip"
	"bufio"
	"encoding/json"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

type meta struct {
	Step int    `json:"step"`
	Name string `json:"name"`
	RNG  []byte `json:"rng"`
}

// TestCheckpointRoundTrip writes arrays of one to three dimensions, an
// empty one and a scalar, and reads them back bit for bit with their shapes.
func TestCheckpointRoundTrip(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "ck.npz")
	in := map[string]Array{
		"params":        Vector([]float64{1, -2.5, math.Pi, 1e-300, math.Nextafter(1, 2)}),
		"adam_m":        Vector([]float64{0, 0}),
		"params/blk/A":  {Data: []float64{1, 2, 3, 4, 5, 6}, Shape: []int{3, 2}},
		"params/blk/s":  {Data: []float64{1, 2, 3, 4, 5, 6, 7, 8}, Shape: []int{2, 2, 2}},
		"empty":         {Data: []float64{}, Shape: []int{0, 4}},
		"scalar":        {Data: []float64{-0.5}, Shape: []int{}},
		"long/one/name": Vector(make([]float64, 3000)),
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
	if len(out) != len(in) {
		t.Errorf("%d arrays, want %d", len(out), len(in))
	}
	for k, a := range in {
		v, w := a.Data, out[k].Data
		if shape, _ := a.shape(); !slices.Equal(out[k].Shape, shape) {
			t.Errorf("%s: shape %v, want %v", k, out[k].Shape, shape)
		}
		if len(w) != len(v) {
			t.Fatalf("%s: %d values, want %d", k, len(w), len(v))
		}
		for i := range v {
			if math.Float64bits(w[i]) != math.Float64bits(v[i]) {
				t.Errorf("%s[%d] = %v, want %v bit for bit", k, i, w[i], v[i])
			}
		}
	}
	// Every entry is stored, as numpy.savez writes them, not deflated.
	z, err := zip.OpenReader(path)
	if err != nil {
		t.Fatal(err)
	}
	defer z.Close()
	for _, f := range z.File {
		if f.Method != zip.Store {
			t.Errorf("entry %q: compression method %d, want %d (stored)", f.Name, f.Method, zip.Store)
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
	if err := WriteCheckpoint(good, meta{Step: 1}, map[string]Array{"params": Vector([]float64{1, 2, 3})}); err != nil {
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
	WriteCheckpoint(nan, meta{}, map[string]Array{"params": Vector([]float64{1, math.NaN()})})
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

func TestTrimJSONL(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "log.jsonl")
	const log = `{"step":0,"f":1}
{"step":1,"f":null}
{"step":2,"rejected":true}
{"step":2}
{"f":3}
{"step":3}
{"step":"4"}
{"step":4,"f":`
	for _, tc := range []struct {
		last int
		want string
	}{
		{2, "{\"step\":0,\"f\":1}\n{\"step\":1,\"f\":null}\n{\"step\":2,\"rejected\":true}\n{\"step\":2}\n"},
		{0, "{\"step\":0,\"f\":1}\n"},
		{-1, ""},
	} {
		if err := os.WriteFile(path, []byte(log), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := TrimJSONL(path, "step", tc.last); err != nil {
			t.Fatal(err)
		}
		got, _ := os.ReadFile(path)
		if string(got) != tc.want {
			t.Errorf("last %d: kept %q, want %q", tc.last, got, tc.want)
		}
	}
	// A log with nothing to drop is left as it is, and a missing one is
	// not an error.
	whole := "{\"step\":0}\n{\"step\":1}\n"
	os.WriteFile(path, []byte(whole), 0o644)
	if err := TrimJSONL(path, "step", 5); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(path); string(got) != whole {
		t.Errorf("untouched log became %q", got)
	}
	if err := TrimJSONL(filepath.Join(dir, "none.jsonl"), "step", 1); err != nil {
		t.Errorf("missing log: %v", err)
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

func TestJSONDifferences(t *testing.T) {
	for _, tc := range []struct {
		name, there, here string
		want              []string
	}{
		{"equal, keys in another order", `{"L":4,"hidden":8,"model":{"a":1,"b":[1,2]}}`, `{"model":{"b":[1,2],"a":1},"hidden":8,"L":4}`, nil},
		{"changed values", `{"L":4,"hidden":8,"lr":0.001}`, `{"L":6,"hidden":8,"lr":0.01}`,
			[]string{"L: 4 there, 6 here", "lr: 0.001 there, 0.01 here"}},
		{"nested and absent", `{"model":{"hidden":8,"init":"random"},"old":true}`, `{"model":{"hidden":16},"new":"x"}`,
			[]string{"model.hidden: 8 there, 16 here", "model.init: \"random\" there, absent here",
				"new: absent there, \"x\" here", "old: true there, absent here"}},
		{"types differ", `{"a":[1,2]}`, `{"a":{"x":1}}`, []string{`a: [1,2] there, {"x":1} here`}},
		{"not objects", `3`, `4`, []string{"(the whole value): 3 there, 4 here"}},
	} {
		got, err := JSONDifferences([]byte(tc.there), []byte(tc.here))
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s:\n got %q\nwant %q", tc.name, got, tc.want)
		}
	}
	if _, err := JSONDifferences([]byte(`{`), []byte(`{}`)); err == nil {
		t.Error("no error for a value that is not JSON")
	}
}

// TestLock checks that a second holder of a run directory is refused at
// once with a message naming the first, and that the lock is free again
// after unlock.
func TestLock(t *testing.T) {
	dir := t.TempDir()
	unlock, err := Lock(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Lock(dir); err == nil || !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), "process ") {
		t.Errorf("second lock: %v", err)
	}
	if err := unlock(); err != nil {
		t.Fatal(err)
	}
	unlock, err = Lock(dir)
	if err != nil {
		t.Fatalf("lock after unlock: %v", err)
	}
	unlock()
}

func TestRemoveTemporaryFiles(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []string{".checkpoint.npz.tmp123", "checkpoint.npz", ".lock", "train.jsonl"} {
		if err := os.WriteFile(filepath.Join(dir, n), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := RemoveTemporaryFiles(dir); err != nil {
		t.Fatal(err)
	}
	ents, _ := os.ReadDir(dir)
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	if !slices.Equal(names, []string{".lock", "checkpoint.npz", "train.jsonl"}) {
		t.Errorf("left %v", names)
	}
}

// BenchmarkWriteCheckpoint writes a checkpoint of the size of the MNIST
// default's (1.6 million parameters and Adam's two moments, 38.6 MB of
// float64 values, trained-like: normal draws) to a temporary file,
// synced, as the training loop does every --checkpoint-every batches.
func BenchmarkWriteCheckpoint(b *testing.B) {
	const n = 1609728
	rng := rand.New(rand.NewPCG(1, 1))
	in := map[string]Array{}
	for _, name := range []string{"params", "adam_m", "adam_v"} {
		v := make([]float64, n)
		for i := range v {
			v[i] = 1e-2 * rng.NormFloat64()
		}
		in[name] = Vector(v)
	}
	path := filepath.Join(b.TempDir(), "ck.npz")
	b.SetBytes(3 * n * 8)
	for b.Loop() {
		if err := WriteCheckpoint(path, meta{Step: 1}, in); err != nil {
			b.Fatal(err)
		}
	}
}
