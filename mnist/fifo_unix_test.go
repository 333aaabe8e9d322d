//go:build unix

package mnist

import (
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestOpenRefusesFIFO checks that a named pipe named like an MNIST file is
// refused at once instead of blocking the reader forever.
func TestOpenRefusesFIFO(t *testing.T) {
	path := filepath.Join(t.TempDir(), "train-images-idx3-ubyte")
	if err := syscall.Mkfifo(path, 0o644); err != nil {
		t.Skipf("no FIFO here: %v", err)
	}
	if _, err := OpenImages(path); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("error %v, want \"not a regular file\"", err)
	}
}
