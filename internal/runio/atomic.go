package runio

import (
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"
)

// WriteFileAtomic writes the file by calling write on a temporary file in
// the same directory, syncing it and renaming it over path. On any error
// path is left as it was.
func WriteFileAtomic(path string, write func(f *os.File) error) (err error) {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("runio: %w", err)
	}
	// CreateTemp makes the file private (0600); results are for sharing.
	if err = tmp.Chmod(0o644); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return fmt.Errorf("runio: %w", err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if err := write(tmp); err != nil {
		return fmt.Errorf("runio: writing %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("runio: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("runio: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("runio: %w", err)
	}
	return nil
}

// WriteBytesAtomic writes data to path atomically.
func WriteBytesAtomic(path string, data []byte) error {
	return WriteFileAtomic(path, func(f *os.File) error {
		_, err := f.Write(data)
		return err
	})
}

// WriteCSVAtomic writes rows to path as CSV, atomically.
func WriteCSVAtomic(path string, rows [][]string) error {
	return WriteFileAtomic(path, func(f *os.File) error {
		w := csv.NewWriter(f)
		if err := w.WriteAll(rows); err != nil {
			return err
		}
		w.Flush()
		return w.Error()
	})
}
