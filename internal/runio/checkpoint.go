package runio

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"slices"

	"codeberg.org/sbinet/npyio/npz"
)

// metaKey names the array that holds the JSON metadata in a checkpoint, and
// arraysKey the list of the other arrays' names in that metadata.
const (
	metaKey   = "meta"
	arraysKey = "arrays"
)

// WriteCheckpoint writes the metadata meta (any JSON-encodable value) and the
// named float64 arrays to path as an .npz archive, atomically. In Python:
//
//	ck = numpy.load(path); params = ck["params"]
//	meta = json.loads(bytes(ck["meta"]))
func WriteCheckpoint(path string, meta any, arrays map[string][]float64) error {
	js, err := json.Marshal(meta)
	if err != nil {
		return fmt.Errorf("runio: checkpoint metadata: %w", err)
	}
	if _, ok := arrays[metaKey]; ok {
		return fmt.Errorf("runio: checkpoint array name %q is reserved", metaKey)
	}
	names := make([]string, 0, len(arrays))
	for k := range arrays {
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
		w := npz.NewWriter(f)
		if err := w.Write(metaKey, js); err != nil {
			return err
		}
		for _, k := range names {
			if err := w.Write(k, arrays[k]); err != nil {
				return err
			}
		}
		return w.Close()
	})
}

// ReadCheckpoint reads a checkpoint written by WriteCheckpoint, decoding its
// metadata into meta and returning its arrays. Every entry is verified
// first (its CRC-32, and the size its header declares; see verifyArchive),
// so a corrupted file is refused before anything is decoded. Errors name
// the file and the entry and say what is wrong; a non-finite parameter is
// an error too.
func ReadCheckpoint(path string, meta any) (arrays map[string][]float64, err error) {
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
	arrays = map[string][]float64{}
	for _, k := range r.Keys() {
		if k == metaKey {
			continue
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
		arrays[k] = v
	}
	return arrays, nil
}
