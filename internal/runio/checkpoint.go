package runio

import (
	"archive/zip"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"

	"codeberg.org/sbinet/npyio/npy"
	"codeberg.org/sbinet/npyio/npz"
)

// metaKey names the array that holds the JSON metadata in a checkpoint, and
// arraysKey the list of the other arrays' names in that metadata.
const (
	metaKey   = "meta"
	arraysKey = "arrays"
)

// Array is one array of a checkpoint: its values in row-major (C) order,
// the last index fastest, and its shape, whose product is len(Data). A nil
// Shape writes the one dimension len(Data); ReadCheckpoint always returns
// the shape stored.
type Array struct {
	Data  []float64
	Shape []int
}

// Vector returns the one-dimensional array of the values v (not copied).
func Vector(v []float64) Array { return Array{Data: v} }

// shape returns the array's shape, [len(Data)] when Shape is nil, or an
// error when the shape does not hold len(Data) values.
func (a Array) shape() ([]int, error) {
	if a.Shape == nil {
		return []int{len(a.Data)}, nil
	}
	n := 1
	for _, d := range a.Shape {
		if d < 0 {
			return nil, fmt.Errorf("shape %v", a.Shape)
		}
		n *= d
	}
	if n != len(a.Data) {
		return nil, fmt.Errorf("shape %v holds %d values, the array has %d", a.Shape, n, len(a.Data))
	}
	return a.Shape, nil
}

// WriteCheckpoint writes the metadata meta (any JSON-encodable value) and the
// named float64 arrays, each with its shape, to path as an .npz archive,
// atomically. In Python:
//
//	ck = numpy.load(path); a = ck["params/block0/shallow/A"]   # a.shape == (H, N)
//	meta = json.loads(bytes(ck["meta"]))
//
// Names may contain slashes (numpy.load keeps them as they are).
func WriteCheckpoint(path string, meta any, arrays map[string]Array) error {
	js, err := json.Marshal(meta)
	if err != nil {
		return fmt.Errorf("runio: checkpoint metadata: %w", err)
	}
	if _, ok := arrays[metaKey]; ok {
		return fmt.Errorf("runio: checkpoint array name %q is reserved", metaKey)
	}
	names := make([]string, 0, len(arrays))
	for k, a := range arrays {
		if k == "" {
			return errors.New("runio: checkpoint array without a name")
		}
		if _, err := a.shape(); err != nil {
			return fmt.Errorf("runio: checkpoint array %q: %v", k, err)
		}
		names = append(names, k)
	}
	slices.Sort(names)
	// The metadata lists the arrays: entry names are the one part of a zip
	// file its CRCs do not cover, so ReadCheckpoint checks them against it.
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(js, &obj); err != nil || obj == nil {
		return fmt.Errorf("runio: checkpoint metadata must be a JSON object")
	}
	if _, ok := obj[arraysKey]; ok {
		return fmt.Errorf("runio: checkpoint metadata key %q is reserved", arraysKey)
	}
	obj[arraysKey], _ = json.Marshal(names)
	if js, err = json.Marshal(obj); err != nil {
		return fmt.Errorf("runio: checkpoint metadata: %w", err)
	}
	return WriteFileAtomic(path, func(f *os.File) error {
		z := zip.NewWriter(f)
		w, err := createStored(z, metaKey)
		if err != nil {
			return err
		}
		if err := npy.Write(w, js); err != nil {
			return err
		}
		for _, k := range names {
			w, err := createStored(z, k)
			if err != nil {
				return err
			}
			if err := writeNpy(w, arrays[k]); err != nil {
				return fmt.Errorf("array %q: %w", k, err)
			}
		}
		return z.Close()
	})
}

// createStored adds an uncompressed entry to z, as numpy.savez writes them:
// deflate shrinks trained float64 parameters by a few per cent and took
// most of a checkpoint's time (docs/performance.md#checkpoints).
func createStored(z *zip.Writer, name string) (io.Writer, error) {
	return z.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Store})
}

// writeNpy writes a float64 array in NumPy's .npy format, version 1.0: the
// magic string, the header (a Python dict with the dtype, the order and
// the shape, padded with spaces so that the data start at a multiple of 64
// bytes, as NumPy writes it), then the values little-endian. (npyio writes
// only one- and two-dimensional float64 arrays.)
func writeNpy(w io.Writer, a Array) error {
	shape, err := a.shape()
	if err != nil {
		return err
	}
	dims := make([]string, len(shape))
	for i, d := range shape {
		dims[i] = strconv.Itoa(d)
	}
	tuple := "(" + strings.Join(dims, ", ") + ")"
	if len(shape) == 1 {
		tuple = "(" + dims[0] + ",)"
	}
	dict := "{'descr': '<f8', 'fortran_order': False, 'shape': " + tuple + ", }"
	const prefix = 10 // magic (6), version (2), header length (2)
	pad := (64 - (prefix+len(dict)+1)%64) % 64
	header := dict + strings.Repeat(" ", pad) + "\n"
	if len(header) > math.MaxUint16 {
		return fmt.Errorf("npy header of %d bytes", len(header))
	}
	buf := make([]byte, 0, 64<<10)
	buf = append(buf, "\x93NUMPY\x01\x00"...)
	buf = binary.LittleEndian.AppendUint16(buf, uint16(len(header)))
	buf = append(buf, header...)
	for _, v := range a.Data {
		if len(buf)+8 > cap(buf) {
			if _, err := w.Write(buf); err != nil {
				return err
			}
			buf = buf[:0]
		}
		buf = binary.LittleEndian.AppendUint64(buf, math.Float64bits(v))
	}
	_, err = w.Write(buf)
	return err
}

// ReadCheckpoint reads a checkpoint written by WriteCheckpoint, decoding its
// metadata into meta and returning its arrays with their shapes. Every
// entry is verified first (its CRC-32, and the size its header declares;
// see verifyArchive), so a corrupted file is refused before anything is
// decoded. Errors name
// the file and the entry and say what is wrong; a non-finite parameter is
// an error too.
func ReadCheckpoint(path string, meta any) (arrays map[string]Array, err error) {
	defer func() {
		// The npz reader is not written for hostile input: never let a
		// corrupted file crash the program.
		if r := recover(); r != nil {
			arrays, err = nil, fmt.Errorf("runio: %s: corrupted checkpoint (%v)", path, r)
		}
	}()
	// A named pipe or a device would block or never end: look before opening.
	if st, err := os.Stat(path); err == nil && !st.Mode().IsRegular() {
		return nil, fmt.Errorf("runio: %s: not a regular file", path)
	}
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("runio: %s: no such checkpoint", path)
		}
		return nil, fmt.Errorf("runio: %s: %v", path, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("runio: %s: %v", path, err)
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("runio: %s: not a regular file", path)
	}
	if err := verifyArchive(f, st.Size()); err != nil {
		if _, ok := err.(notArchive); ok {
			return nil, fmt.Errorf("runio: %s: not a checkpoint (%v)", path, err)
		}
		return nil, fmt.Errorf("runio: %s: corrupted checkpoint: %v", path, err)
	}
	r, err := npz.NewReader(f, st.Size())
	if err != nil {
		return nil, fmt.Errorf("runio: %s: not a checkpoint (%v)", path, err)
	}
	var js []uint8
	if err := r.Read(metaKey, &js); err != nil {
		return nil, fmt.Errorf("runio: %s: no metadata (%v)", path, err)
	}
	if err := json.Unmarshal(js, meta); err != nil {
		return nil, fmt.Errorf("runio: %s: bad metadata (%v)", path, err)
	}
	var listed struct {
		Arrays *[]string `json:"arrays"`
	}
	if err := json.Unmarshal(js, &listed); err != nil {
		return nil, fmt.Errorf("runio: %s: bad metadata (%v)", path, err)
	}
	if listed.Arrays != nil { // checkpoints written before the list have none
		var have []string
		for _, k := range r.Keys() {
			if k != metaKey {
				have = append(have, k)
			}
		}
		slices.Sort(have)
		if !slices.Equal(have, *listed.Arrays) {
			return nil, fmt.Errorf("runio: %s: corrupted checkpoint: arrays %q, its metadata lists %q", path, have, *listed.Arrays)
		}
	}
	arrays = map[string]Array{}
	for _, k := range r.Keys() {
		if k == metaKey {
			continue
		}
		h := r.Header(k)
		if h == nil {
			return nil, fmt.Errorf("runio: %s: array %q has no header", path, k)
		}
		if h.Descr.Fortran {
			return nil, fmt.Errorf("runio: %s: array %q is in Fortran order; checkpoints hold C-ordered arrays", path, k)
		}
		var v []float64
		if err := r.Read(k, &v); err != nil {
			return nil, fmt.Errorf("runio: %s: array %q: %v", path, k, err)
		}
		for i, x := range v {
			if math.IsNaN(x) || math.IsInf(x, 0) {
				return nil, fmt.Errorf("runio: %s: array %q has %v at %d", path, k, x, i)
			}
		}
		shape := slices.Clone(h.Descr.Shape)
		if shape == nil {
			shape = []int{} // a scalar
		}
		arrays[k] = Array{Data: v, Shape: shape}
	}
	return arrays, nil
}
