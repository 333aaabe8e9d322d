package runio

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzReadCheckpoint feeds arbitrary bytes to ReadCheckpoint: it must never
// panic or allocate what a header merely claims, must fail with an error
// naming the file, and when it succeeds must return arrays whose sizes
// agree with their shapes. The seeds are a valid checkpoint and a few
// mutilations; run it longer with
//
//	go test ./internal/runio -run '^$' -fuzz FuzzReadCheckpoint -fuzztime 60s
func FuzzReadCheckpoint(f *testing.F) {
	dir := f.TempDir()
	path := filepath.Join(dir, "seed.npz")
	in := map[string]Array{"params": {Data: []float64{1, 2, 3, 4, 5, 6}, Shape: []int{2, 3}}, "adam_first": Vector([]float64{0.5})}
	if err := WriteCheckpoint(path, meta{Step: 3, Name: "seed"}, in); err != nil {
		f.Fatal(err)
	}
	good, err := os.ReadFile(path)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add(good[:len(good)/2])
	f.Add(append(append([]byte{}, good...), "trailing"...))
	f.Add([]byte("PK\x03\x04"))
	f.Fuzz(func(t *testing.T, data []byte) {
		p := filepath.Join(t.TempDir(), "fuzz.npz")
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		var m meta
		arrays, err := ReadCheckpoint(p, &m)
		if err != nil {
			if !strings.Contains(err.Error(), p) {
				t.Fatalf("error %q does not name the file", err)
			}
			return
		}
		for name, a := range arrays {
			n := 1
			for _, d := range a.Shape {
				n *= d
			}
			if len(a.Shape) > 0 && n != len(a.Data) {
				t.Fatalf("array %q: shape %v, %d values", name, a.Shape, len(a.Data))
			}
		}
	})
}
