package runio

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"regexp"
	"strconv"
	"strings"
)

// MaxCheckpointBytes bounds the uncompressed size of one array of a
// checkpoint that ReadCheckpoint accepts (8 GiB): a header that claims more
// is refused before anything is allocated.
const MaxCheckpointBytes = 8 << 30

// verifyArchive checks every entry of the .npz archive at r (of size n)
// before anything is decoded: each is read to its end, so that archive/zip
// checks its CRC-32, and its npy header must declare exactly the bytes the
// entry holds (no trailing data, no short array), at most
// MaxCheckpointBytes. A single flipped byte anywhere in an entry's data
// fails the CRC; one in a header fails the CRC or the size check.
func verifyArchive(r io.ReaderAt, n int64) error {
	z, err := zip.NewReader(r, n)
	if err != nil {
		return notArchive{err}
	}
	for _, f := range z.File {
		if f.UncompressedSize64 > MaxCheckpointBytes {
			return fmt.Errorf("entry %q: %d bytes, more than the %d a checkpoint array may hold", f.Name, f.UncompressedSize64, MaxCheckpointBytes)
		}
		rc, err := f.Open()
		if err != nil {
			return fmt.Errorf("entry %q: %v", f.Name, err)
		}
		head := make([]byte, 4096)
		k, err := io.ReadFull(rc, head)
		if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
			rc.Close()
			return fmt.Errorf("entry %q: %v", f.Name, err)
		}
		head = head[:k]
		want, herr := npyDataEnd(head)
		if _, err := io.Copy(io.Discard, rc); err != nil {
			rc.Close()
			return fmt.Errorf("entry %q: %v", f.Name, err) // zip.ErrChecksum among others
		}
		rc.Close()
		if herr != nil {
			return fmt.Errorf("entry %q: %v", f.Name, herr)
		}
		if want != f.UncompressedSize64 {
			return fmt.Errorf("entry %q: its npy header declares %d bytes, the entry holds %d", f.Name, want, f.UncompressedSize64)
		}
	}
	return nil
}

var (
	npyDescr = regexp.MustCompile(`'descr':\s*'([<>|=])([a-zA-Z])(\d+)'`)
	npyShape = regexp.MustCompile(`'shape':\s*\(([^)]*)\)`)
)

// npyDataEnd returns the total size, header and data, that the npy header
// at the start of b declares.
func npyDataEnd(b []byte) (uint64, error) {
	if len(b) < 10 || !bytes.Equal(b[:6], []byte("\x93NUMPY")) {
		return 0, errors.New("not an npy array")
	}
	var hlen, start uint64
	switch b[6] {
	case 1:
		hlen, start = uint64(binary.LittleEndian.Uint16(b[8:10])), 10
	case 2, 3:
		if len(b) < 12 {
			return 0, errors.New("truncated npy header")
		}
		hlen, start = uint64(binary.LittleEndian.Uint32(b[8:12])), 12
	default:
		return 0, fmt.Errorf("npy version %d", b[6])
	}
	if start+hlen > uint64(len(b)) {
		return 0, errors.New("npy header longer than the entry allows")
	}
	h := string(b[start : start+hlen])
	d := npyDescr.FindStringSubmatch(h)
	s := npyShape.FindStringSubmatch(h)
	if d == nil || s == nil {
		return 0, fmt.Errorf("npy header %q: no dtype or shape", strings.TrimSpace(h))
	}
	size, err := strconv.ParseUint(d[3], 10, 64)
	if err != nil || size == 0 || size > 16 {
		return 0, fmt.Errorf("npy dtype %q", d[0])
	}
	count := uint64(1)
	for _, dim := range strings.Split(s[1], ",") {
		dim = strings.TrimSpace(dim)
		if dim == "" {
			continue
		}
		v, err := strconv.ParseUint(dim, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("npy shape (%s)", s[1])
		}
		if v != 0 && count > math.MaxUint64/v {
			return 0, fmt.Errorf("npy shape (%s) overflows", s[1])
		}
		count *= v
	}
	if count > (MaxCheckpointBytes)/size {
		return 0, fmt.Errorf("npy shape (%s) of %d-byte values is more than %d bytes", s[1], size, MaxCheckpointBytes)
	}
	return start + hlen + count*size, nil
}

// notArchive is verifyArchive's error for a file that is no zip archive.
type notArchive struct{ err error }

func (e notArchive) Error() string { return e.err.Error() }
