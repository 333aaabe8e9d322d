package runio

import (
	"encoding/json"
	"fmt"
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
