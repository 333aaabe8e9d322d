package runio

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
)

// JSONL appends one JSON object per line to a log file.
type JSONL struct {
	f   *os.File
	enc *json.Encoder
}

// CreateJSONL opens path for appending (when appending is true; a resumed
// run continues its log) or truncates it.
func CreateJSONL(path string, appending bool) (*JSONL, error) {
	flag := os.O_WRONLY | os.O_CREATE
	if appending {
		flag |= os.O_APPEND
	} else {
		flag |= os.O_TRUNC
	}
	f, err := os.OpenFile(path, flag, 0o644)
	if err != nil {
		return nil, fmt.Errorf("runio: %w", err)
	}
	return &JSONL{f: f, enc: json.NewEncoder(f)}, nil
}

// Write appends v as one line.
func (l *JSONL) Write(v any) error {
	if err := l.enc.Encode(v); err != nil {
		return fmt.Errorf("runio: %s: %w", l.f.Name(), err)
	}
	return nil
}

// Close closes the file.
func (l *JSONL) Close() error { return l.f.Close() }

// FiniteOrNull returns a pointer to v, or nil when v is NaN or infinite:
// a field of this type is written as null, since JSON has no NaN or
// infinity (a diverged model's loss, an unknown exact value).
func FiniteOrNull(v float64) *float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return &v
}

// TrimJSONL drops from the log at path every record whose integer field key
// is greater than last, and every line that is not such a record (a line
// cut short when the process was killed): a run resumed from a checkpoint
// taken after record last continues its log without the records of the
// steps it does again. A missing file is not an error; the file is
// rewritten (atomically) only when something is dropped.
func TrimJSONL(path, key string, last int) error {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("runio: %w", err)
	}
	var kept bytes.Buffer
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 1<<16), 1<<24)
	for sc.Scan() {
		var rec map[string]json.RawMessage
		var n int
		if json.Unmarshal(sc.Bytes(), &rec) != nil || json.Unmarshal(rec[key], &n) != nil || n > last {
			continue
		}
		kept.Write(sc.Bytes())
		kept.WriteByte('\n')
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("runio: %s: %w", path, err)
	}
	if kept.Len() == len(data) {
		return nil
	}
	return WriteBytesAtomic(path, kept.Bytes())
}
