package runio

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// LockFile is the file in a run directory that its owner holds locked.
const LockFile = ".lock"

// ErrLocked is returned (wrapped) by Lock when another process holds the
// directory.
var ErrLocked = errors.New("in use by another process")

// Lock takes an exclusive advisory lock on dir (flock of dir/.lock, which it
// creates), writing the holder — process id, host and command line — into
// the file. It fails at once when another process holds the lock, naming
// that holder. unlock releases it (the operating system releases it too
// when the process dies, so a killed run never leaves a stale lock).
// Where the system has no flock, Lock does nothing and always succeeds.
func Lock(dir string) (unlock func() error, err error) {
	path := filepath.Join(dir, LockFile)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("runio: %w", err)
	}
	if err := flock(f); err != nil {
		holder, _ := os.ReadFile(path)
		f.Close()
		if errors.Is(err, ErrLocked) {
			h := strings.TrimSpace(string(holder))
			if h == "" {
				h = "unknown"
			}
			return nil, fmt.Errorf("run directory %s is %w (%s)", dir, ErrLocked, h)
		}
		return nil, fmt.Errorf("runio: locking %s: %w", path, err)
	}
	host, _ := os.Hostname()
	_ = f.Truncate(0)
	_, _ = f.WriteAt([]byte(fmt.Sprintf("process %d on %s: %s\n", os.Getpid(), host, strings.Join(os.Args, " "))), 0)
	return func() error {
		_ = f.Truncate(0)
		funlock(f)
		return f.Close()
	}, nil
}

// RemoveTemporaryFiles removes what an atomic write killed midway left in
// dir (the hidden ".NAME.tmp…" files of WriteFileAtomic). Call it only
// while holding dir's lock.
func RemoveTemporaryFiles(dir string) error {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("runio: %w", err)
	}
	for _, e := range ents {
		n := e.Name()
		if e.Type().IsRegular() && strings.HasPrefix(n, ".") && strings.Contains(n, ".tmp") {
			if err := os.Remove(filepath.Join(dir, n)); err != nil {
				return fmt.Errorf("runio: %w", err)
			}
		}
	}
	return nil
}
