package runio

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// TestCheckpointByteFlips flips every byte of a checkpoint, one at a time,
// and requires each corrupted file either to be refused or to load exactly
// the original metadata and arrays (a flip in a field the reader ignores,
// such as a file's modification time): none may load with a different
// result.
func TestCheckpointByteFlips(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "ck.npz")
	in := map[string]Array{
		"params/A":    {Data: []float64{1, -2.5, 3.25, 7, 1e-3, 0}, Shape: []int{2, 3}},
		"adam_first":  {Data: []float64{0.5, 0.25}, Shape: []int{2}},
		"adam_second": {Data: []float64{1e-8, 2e-8}, Shape: []int{2}},
	}
	m := meta{Step: 17, Name: "L4", RNG: []byte{1, 2, 3, 4}}
	if err := WriteCheckpoint(path, m, in); err != nil {
		t.Fatal(err)
	}
	orig, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "bad.npz")
	refused, same := 0, 0
	for i := range orig {
		for _, mask := range []byte{0x01, 0x80} {
			b := bytes.Clone(orig)
			b[i] ^= mask
			if err := os.WriteFile(bad, b, 0o644); err != nil {
				t.Fatal(err)
			}
			var got meta
			out, err := ReadCheckpoint(bad, &got)
			if err != nil {
				refused++
				if !strings.Contains(err.Error(), bad) {
					t.Fatalf("byte %d: error %q does not name the file", i, err)
				}
				continue
			}
			if !reflect.DeepEqual(got, m) || !reflect.DeepEqual(out, in) {
				t.Fatalf("byte %d ^ %#x loaded a different checkpoint: %+v %v", i, mask, got, out)
			}
			same++
		}
	}
	t.Logf("%d bytes: %d flips refused, %d loaded the original", len(orig), refused, same)
	if refused < len(orig) {
		t.Errorf("only %d of %d flips refused", refused, 2*len(orig))
	}
}

// TestCheckpointCraftedHeader checks that an array whose npy header claims
// more (or fewer) values than its entry holds is refused before the reader
// allocates them, and so is a header claiming more than MaxCheckpointBytes.
func TestCheckpointCraftedHeader(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name, shape string
		data        int // float64 values actually present
		want        string
	}{
		{"huge", "(10000000000,)", 2, "more than"},
		{"overflow", "(4294967296, 4294967296, 16)", 2, "overflows"},
		{"longer", "(3,)", 2, "declares"},
		{"shorter", "(1,)", 2, "declares"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			z := zip.NewWriter(&buf)
			w, _ := z.Create("meta.npy")
			w.Write(npyBytes("|u1", "(2,)", []byte("{}")))
			w, _ = z.Create("params.npy")
			w.Write(npyBytes("<f8", tc.shape, make([]byte, 8*tc.data)))
			z.Close()
			path := filepath.Join(dir, tc.name+".npz")
			if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
			var m meta
			_, err := ReadCheckpoint(path, &m)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "params.npy") {
				t.Errorf("error %v, want one naming params.npy with %q", err, tc.want)
			}
		})
	}
}

// npy encodes an npy version 1 array with the given dtype, shape and data.
func npyBytes(descr, shape string, data []byte) []byte {
	h := "{'descr': '" + descr + "', 'fortran_order': False, 'shape': " + shape + ", }"
	for (10+len(h)+1)%64 != 0 {
		h += " "
	}
	h += "\n"
	b := []byte("\x93NUMPY\x01\x00")
	b = binary.LittleEndian.AppendUint16(b, uint16(len(h)))
	return append(append(b, h...), data...)
}

// TestReadCheckpointRefusesFIFO checks that a named pipe where a checkpoint
// should be is refused at once instead of blocking the reader.
func TestReadCheckpointRefusesFIFO(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ck.npz")
	if err := mkfifo(path); err != nil {
		t.Skipf("no FIFO here: %v", err)
	}
	var m meta
	if _, err := ReadCheckpoint(path, &m); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("error %v, want \"not a regular file\"", err)
	}
}
