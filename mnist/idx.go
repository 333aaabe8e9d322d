package mnist

import (
	"bufio"
	"compress/flate"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/big"
	"os"
)

// Magic numbers of the IDX files used by MNIST: two zero bytes, the element
// type (0x08, unsigned byte) and the number of dimensions.
const (
	MagicImages = 0x00000803 // unsigned bytes, 3 dimensions: count, rows, columns
	MagicLabels = 0x00000801 // unsigned bytes, 1 dimension: count
)

// MaxBytes caps the size of the data an IDX header may declare, so that a
// corrupt header cannot make the reader allocate gigabytes. The MNIST
// training images take 47,040,000 bytes. The limit, 2³¹ − 1, fits an int
// on every platform, so a size that passes it is a valid allocation length.
const MaxBytes = 1<<31 - 1

// Images holds N grey-scale images of Rows×Cols 8-bit pixels (0 is white
// background, 255 is ink), stored row-major, one image after another:
// pixel (r, c) of image i is Pixels[i*Rows*Cols + r*Cols + c].
type Images struct {
	N, Rows, Cols int
	Pixels        []uint8
}

// Dim returns the number of pixels per image, Rows·Cols (784 for MNIST).
func (im *Images) Dim() int { return im.Rows * im.Cols }

// Image returns the pixels of image i. The slice aliases im.Pixels.
func (im *Images) Image(i int) []uint8 {
	d := im.Dim()
	return im.Pixels[i*d : (i+1)*d : (i+1)*d]
}

// Slice returns images lo … hi−1 as an Images that shares im's storage.
func (im *Images) Slice(lo, hi int) *Images {
	if lo < 0 || hi < lo || hi > im.N {
		panic(fmt.Sprintf("mnist: image range [%d, %d) out of [0, %d)", lo, hi, im.N))
	}
	d := im.Dim()
	return &Images{N: hi - lo, Rows: im.Rows, Cols: im.Cols, Pixels: im.Pixels[lo*d : hi*d : hi*d]}
}

// FormatError reports a file that is not a valid IDX file of the expected
// kind: a bad magic number, impossible sizes, truncated or trailing data,
// corrupt compression.
type FormatError struct {
	File    string // the file name as given to the reader
	Problem string // what is wrong, e.g. "truncated after 1204 images"
}

// Error returns "mnist: FILE: PROBLEM".
func (e *FormatError) Error() string { return "mnist: " + e.File + ": " + e.Problem }

func formatErr(name, format string, args ...any) error {
	return &FormatError{File: name, Problem: fmt.Sprintf(format, args...)}
}

// ReadImages reads an IDX image file (magic 0x00000803) from r, raw or
// gzip-compressed (recognised by the gzip magic bytes 1f 8b, not by a file
// name). name identifies the file in error messages. It rejects a wrong
// magic number or element type, zero sizes, a declared size above MaxBytes,
// truncated data, bytes after the last image and corrupt compressed data,
// with a *FormatError naming the file.
func ReadImages(r io.Reader, name string) (*Images, error) {
	return readImages(r, name, -1)
}

// ReadLabels reads an IDX label file (magic 0x00000801) from r, raw or
// gzip-compressed, with the same checks as ReadImages. It returns one byte
// per item; the values are not checked (Load checks MNIST's 0–9).
func ReadLabels(r io.Reader, name string) ([]uint8, error) {
	return readLabels(r, name, -1)
}

// OpenImages reads the IDX image file at path (raw or gzip-compressed).
// Errors name path.
func OpenImages(path string) (*Images, error) {
	f, size, err := open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return readImages(f, path, size)
}

// OpenLabels reads the IDX label file at path (raw or gzip-compressed).
// Errors name path.
func OpenLabels(path string) ([]uint8, error) {
	f, size, err := open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return readLabels(f, path, size)
}

func open(path string) (*os.File, int64, error) {
	// A named pipe would block the open itself: look first.
	if st, err := os.Stat(path); err == nil && !st.Mode().IsRegular() {
		return nil, 0, fmt.Errorf("mnist: %s: not a regular file", path)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, fmt.Errorf("mnist: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, fmt.Errorf("mnist: %w", err)
	}
	if !st.Mode().IsRegular() {
		f.Close()
		return nil, 0, fmt.Errorf("mnist: %s: not a regular file", path)
	}
	return f, st.Size(), nil
}

func readImages(r io.Reader, name string, size int64) (*Images, error) {
	dims, body, err := readHeader(r, name, MagicImages)
	if err != nil {
		return nil, err
	}
	n, rows, cols := dims[0], dims[1], dims[2]
	if rows == 0 || cols == 0 {
		return nil, formatErr(name, "image size %d×%d", rows, cols)
	}
	if n == 0 {
		return nil, formatErr(name, "declares no images")
	}
	item := uint64(rows) * uint64(cols) // < 2⁶⁴
	if item > MaxBytes || uint64(n)*item > MaxBytes {
		total := new(big.Int).Mul(big.NewInt(int64(n)), new(big.Int).SetUint64(item))
		return nil, formatErr(name, "declares %d images of %d×%d pixels (%s bytes, more than the %d-byte limit)", n, rows, cols, total, uint64(MaxBytes))
	}
	total := uint64(n) * item
	pix, err := readBody(body, name, int(total), int(item), "images", size)
	if err != nil {
		return nil, err
	}
	return &Images{N: int(n), Rows: int(rows), Cols: int(cols), Pixels: pix}, nil
}

func readLabels(r io.Reader, name string, size int64) ([]uint8, error) {
	dims, body, err := readHeader(r, name, MagicLabels)
	if err != nil {
		return nil, err
	}
	n := dims[0]
	if n == 0 {
		return nil, formatErr(name, "declares no labels")
	}
	if uint64(n) > MaxBytes {
		return nil, formatErr(name, "declares %d labels, more than the %d-byte limit", n, uint64(MaxBytes))
	}
	return readBody(body, name, int(n), 1, "labels", size)
}

// body is the decoded byte stream after the header, and whether it is the
// raw file (so that its length is known when size ≥ 0).
type body struct {
	r   io.Reader
	raw bool
}

// readHeader detects gzip, checks the magic number against want and reads
// the dimensions.
func readHeader(r io.Reader, name string, want uint32) ([]uint32, body, error) {
	br := bufio.NewReaderSize(r, 1<<16)
	head, err := br.Peek(2)
	if err != nil && len(head) == 0 {
		if err == io.EOF {
			return nil, body{}, formatErr(name, "empty file")
		}
		return nil, body{}, fmt.Errorf("mnist: %s: %w", name, err)
	}
	b := body{r: br, raw: true}
	if len(head) == 2 && head[0] == 0x1f && head[1] == 0x8b {
		b.raw = false
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, body{}, streamErr(b, name, err)
		}
		b.r = zr
	}
	var magic [4]byte
	if err := readFull(b, magic[:], name); err != nil {
		if err == errShort {
			return nil, body{}, formatErr(name, "truncated header (magic number)")
		}
		return nil, body{}, err
	}
	m := binary.BigEndian.Uint32(magic[:])
	if m != want {
		return nil, body{}, magicErr(name, magic, want)
	}
	ndim := int(want & 0xff)
	dims := make([]uint32, ndim)
	buf := make([]byte, 4*ndim)
	if err := readFull(b, buf, name); err != nil {
		if err == errShort {
			return nil, body{}, formatErr(name, "truncated header (dimension sizes)")
		}
		return nil, body{}, err
	}
	for i := range dims {
		dims[i] = binary.BigEndian.Uint32(buf[4*i:])
	}
	return dims, b, nil
}

// magicErr explains a wrong magic number as precisely as it can.
func magicErr(name string, magic [4]byte, want uint32) error {
	kind := "an image"
	if want == MagicLabels {
		kind = "a label"
	}
	m := binary.BigEndian.Uint32(magic[:])
	switch {
	case magic[0] != 0 || magic[1] != 0:
		return formatErr(name, "not an IDX file (magic number 0x%08x, want 0x%08x for %s file)", m, want, kind)
	case magic[2] != 0x08:
		return formatErr(name, "IDX element type 0x%02x, want 0x08 (unsigned byte)", magic[2])
	default:
		return formatErr(name, "IDX file with %d dimensions, want %d for %s file (magic 0x%08x, want 0x%08x)", magic[3], want&0xff, kind, m, want)
	}
}

// readBody reads exactly n bytes of items of itemSize bytes, then checks that
// the stream ends there. The buffer grows with the data actually read, so a
// header declaring more than the file holds never causes a large allocation;
// for a raw file of known size it is allocated once.
func readBody(b body, name string, n, itemSize int, what string, size int64) ([]byte, error) {
	hint := min(n, 1<<20)
	if b.raw && size >= 0 {
		hint = int(min(int64(n), max(size, 0)))
	}
	buf := make([]byte, 0, hint)
	for len(buf) < n {
		if len(buf) == cap(buf) {
			grown := make([]byte, len(buf), min(n, 2*cap(buf)+1))
			copy(grown, buf)
			buf = grown
		}
		m, err := b.r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+m]
		if err == io.EOF {
			break
		}
		if err == io.ErrUnexpectedEOF && !b.raw {
			return nil, formatErr(name, "truncated after %d %s (header declares %d; compressed stream ends early)", len(buf)/itemSize, what, n/itemSize)
		}
		if err != nil {
			return nil, streamErr(b, name, err)
		}
	}
	if len(buf) < n {
		return nil, formatErr(name, "truncated after %d %s (header declares %d)", len(buf)/itemSize, what, n/itemSize)
	}
	// The stream must end here; for gzip this also verifies the checksum.
	var one [1]byte
	for {
		m, err := b.r.Read(one[:])
		if m > 0 {
			return nil, formatErr(name, "trailing data after %d %s", n/itemSize, what)
		}
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return nil, streamErr(b, name, err)
		}
	}
}

// errShort reports a stream that ended cleanly before a header was complete.
var errShort = errors.New("short header")

// readFull fills buf, returning errShort if the (decompressed) stream ends
// first.
func readFull(b body, buf []byte, name string) error {
	for n := 0; n < len(buf); {
		m, err := b.r.Read(buf[n:])
		n += m
		if n == len(buf) {
			return nil
		}
		if err == io.EOF {
			return errShort
		}
		if err != nil {
			return streamErr(b, name, err)
		}
	}
	return nil
}

// streamErr classifies a read error: corrupt compressed data is a
// *FormatError, anything else an I/O error.
func streamErr(b body, name string, err error) error {
	var corrupt flate.CorruptInputError
	if !b.raw && (errors.Is(err, gzip.ErrChecksum) || errors.Is(err, gzip.ErrHeader) ||
		errors.As(err, &corrupt) || errors.Is(err, io.ErrUnexpectedEOF) || err == io.EOF) {
		return gzipErr(name, err)
	}
	return fmt.Errorf("mnist: %s: %w", name, err)
}

func gzipErr(name string, err error) error {
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return formatErr(name, "corrupt gzip data: compressed stream ends early")
	}
	return &FormatError{File: name, Problem: "corrupt gzip data: " + err.Error()}
}
