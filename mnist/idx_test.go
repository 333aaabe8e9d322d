package mnist

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"testing/iotest"
)

// idxBytes returns an IDX file: the magic number, the dimensions and data.
func idxBytes(magic uint32, dims []uint32, data []byte) []byte {
	var b bytes.Buffer
	binary.Write(&b, binary.BigEndian, magic)
	for _, d := range dims {
		binary.Write(&b, binary.BigEndian, d)
	}
	b.Write(data)
	return b.Bytes()
}

// gz compresses b.
func gz(b []byte) []byte {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

// fixtureImages returns n images of rows×cols with pixel values that encode
// their position, and the IDX file holding them.
func fixtureImages(n, rows, cols int) (*Images, []byte) {
	pix := make([]byte, n*rows*cols)
	for i := range pix {
		pix[i] = uint8(i*7 + i/13)
	}
	im := &Images{N: n, Rows: rows, Cols: cols, Pixels: pix}
	return im, idxBytes(MagicImages, []uint32{uint32(n), uint32(rows), uint32(cols)}, pix)
}

func fixtureLabels(n int) ([]uint8, []byte) {
	lb := make([]uint8, n)
	for i := range lb {
		lb[i] = uint8((i * 3) % 10)
	}
	return lb, idxBytes(MagicLabels, []uint32{uint32(n)}, lb)
}

func TestReadImages(t *testing.T) {
	want, raw := fixtureImages(5, 3, 4)
	for _, tc := range []struct {
		name string
		data []byte
		r    func(io.Reader) io.Reader
	}{
		{"raw", raw, nil},
		{"gzip", gz(raw), nil},
		{"raw one byte at a time", raw, iotest.OneByteReader},
		{"gzip one byte at a time", gz(raw), iotest.OneByteReader},
		{"raw half reads", raw, iotest.HalfReader},
		{"concatenated gzip members", append(gz(raw[:10]), gz(raw[10:])...), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var r io.Reader = bytes.NewReader(tc.data)
			if tc.r != nil {
				r = tc.r(r)
			}
			got, err := ReadImages(r, "f")
			if err != nil {
				t.Fatal(err)
			}
			if got.N != want.N || got.Rows != want.Rows || got.Cols != want.Cols || !bytes.Equal(got.Pixels, want.Pixels) {
				t.Errorf("got %d×%d×%d images, want %d×%d×%d (pixels equal: %v)",
					got.N, got.Rows, got.Cols, want.N, want.Rows, want.Cols, bytes.Equal(got.Pixels, want.Pixels))
			}
			if got.Dim() != 12 || !bytes.Equal(got.Image(3), want.Pixels[36:48]) {
				t.Errorf("Dim = %d, Image(3) = %v", got.Dim(), got.Image(3))
			}
		})
	}
}

func TestReadLabels(t *testing.T) {
	want, raw := fixtureLabels(17)
	for name, data := range map[string][]byte{"raw": raw, "gzip": gz(raw)} {
		got, err := ReadLabels(bytes.NewReader(data), "f")
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s: got %v, want %v", name, got, want)
		}
	}
}

func TestOpenImagesAndLabels(t *testing.T) {
	dir := t.TempDir()
	want, raw := fixtureImages(4, 28, 28)
	wantLb, rawLb := fixtureLabels(4)
	files := map[string][]byte{
		"im": raw, "im.gz": gz(raw), "lb": rawLb, "lb.gz": gz(rawLb),
		"im-no-suffix-but-gzip": gz(raw),
		"im-truncated":          raw[:len(raw)-785],
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, name := range []string{"im", "im.gz", "im-no-suffix-but-gzip"} {
		got, err := OpenImages(filepath.Join(dir, name))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !bytes.Equal(got.Pixels, want.Pixels) {
			t.Errorf("%s: pixels differ", name)
		}
	}
	for _, name := range []string{"lb", "lb.gz"} {
		got, err := OpenLabels(filepath.Join(dir, name))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !bytes.Equal(got, wantLb) {
			t.Errorf("%s: labels differ", name)
		}
	}
	p := filepath.Join(dir, "im-truncated")
	_, err := OpenImages(p)
	if want := "mnist: " + p + ": truncated after 2 images (header declares 4)"; err == nil || err.Error() != want {
		t.Errorf("truncated file: got %v, want %q", err, want)
	}
	if _, err := OpenImages(filepath.Join(dir, "absent")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: got %v, want fs.ErrNotExist", err)
	}
	if _, err := OpenImages(dir); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("directory: got %v", err)
	}
	// A label file is not an image file and vice versa.
	if _, err := OpenImages(filepath.Join(dir, "lb")); err == nil {
		t.Error("OpenImages accepted a label file")
	}
	if _, err := OpenLabels(filepath.Join(dir, "im.gz")); err == nil {
		t.Error("OpenLabels accepted an image file")
	}
}

// TestMalformed feeds every kind of broken file to the reader and checks the
// error: a *FormatError naming the file and saying what is wrong.
func TestMalformed(t *testing.T) {
	_, good := fixtureImages(3, 2, 2) // 16-byte header + 12 bytes
	_, goodLb := fixtureLabels(3)
	corruptGz := gz(good)
	corruptGz[len(corruptGz)-6] ^= 0xff // the CRC-32 in the gzip trailer
	badDeflate := gz(good)
	badDeflate[10] = 0xff // first byte of the deflate stream: reserved block type
	for _, tc := range []struct {
		name   string
		labels bool
		data   []byte
		want   string
	}{
		{"empty", false, nil, "empty file"},
		{"truncated magic", false, good[:3], "truncated header (magic number)"},
		{"truncated dims", false, good[:10], "truncated header (dimension sizes)"},
		{"truncated label dims", true, goodLb[:6], "truncated header (dimension sizes)"},
		{"not IDX", false, []byte("P5\n28 28\n255\n........"), "not an IDX file (magic number 0x50350a32, want 0x00000803 for an image file)"},
		{"labels given as images", false, goodLb, "IDX file with 1 dimensions, want 3 for an image file"},
		{"images given as labels", true, good, "IDX file with 3 dimensions, want 1 for a label file"},
		{"float element type", false, idxBytes(0x00000d03, []uint32{1, 1, 1}, make([]byte, 4)), "IDX element type 0x0d, want 0x08 (unsigned byte)"},
		{"four dimensions", false, idxBytes(0x00000804, []uint32{1, 1, 1, 1}, []byte{0}), "IDX file with 4 dimensions, want 3"},
		{"zero rows", false, idxBytes(MagicImages, []uint32{3, 0, 2}, nil), "image size 0×2"},
		{"no images", false, idxBytes(MagicImages, []uint32{0, 28, 28}, nil), "declares no images"},
		{"no labels", true, idxBytes(MagicLabels, []uint32{0}, nil), "declares no labels"},
		{"huge declared size", false, idxBytes(MagicImages, []uint32{0xffffffff, 0xffffffff, 0xffffffff}, nil), "more than the 2147483647-byte limit"},
		{"just over the limit", false, idxBytes(MagicImages, []uint32{1 << 21, 32, 32}, nil), "(2147483648 bytes"},
		{"at the limit, short file", false, idxBytes(MagicImages, []uint32{1<<31 - 1, 1, 1}, nil), "truncated after 0 images (header declares 2147483647)"},
		{"huge declared labels", true, idxBytes(MagicLabels, []uint32{0xffffffff}, nil), "declares 4294967295 labels, more than"},
		{"large declared size, short file", false, idxBytes(MagicImages, []uint32{1 << 20, 28, 28}, make([]byte, 1204*784+17)), "truncated after 1204 images (header declares 1048576)"},
		{"truncated data", false, good[:len(good)-1], "truncated after 2 images (header declares 3)"},
		{"no data", false, good[:16], "truncated after 0 images"},
		{"truncated labels", true, goodLb[:len(goodLb)-2], "truncated after 1 labels (header declares 3)"},
		{"trailing byte", false, append(bytes.Clone(good), 0), "trailing data after 3 images"},
		{"trailing labels", true, append(bytes.Clone(goodLb), 1, 2, 3), "trailing data after 3 labels"},
		{"trailing data in gzip", false, gz(append(bytes.Clone(good), 9)), "trailing data after 3 images"},
		{"truncated gzip", false, gz(good)[:20], "compressed stream ends early"},
		{"truncated gzip inside data", false, gz(bytes.Repeat(good, 1))[:len(gz(good))-9], "compressed stream ends early"},
		{"gzip magic only", false, []byte{0x1f, 0x8b}, "corrupt gzip data"},
		{"gzip bad checksum", false, corruptGz, "corrupt gzip data: gzip: invalid checksum"},
		{"gzip corrupt deflate", false, badDeflate, "corrupt gzip data: flate: corrupt input"},
		{"garbage after gzip member", false, append(gz(good), 'x', 'y', 'z', 0, 0, 0, 0, 0, 0, 0, 0), "corrupt gzip data: gzip: invalid header"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var err error
			if tc.labels {
				_, err = ReadLabels(bytes.NewReader(tc.data), "t10k-labels-idx1-ubyte")
			} else {
				_, err = ReadImages(bytes.NewReader(tc.data), "train-images-idx3-ubyte")
			}
			if err == nil {
				t.Fatalf("no error, want %q", tc.want)
			}
			var fe *FormatError
			if !errors.As(err, &fe) {
				t.Fatalf("error %q (%T) is not a *FormatError", err, err)
			}
			prefix := "mnist: train-images-idx3-ubyte: "
			if tc.labels {
				prefix = "mnist: t10k-labels-idx1-ubyte: "
			}
			if !strings.HasPrefix(err.Error(), prefix) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q, want %q… containing %q", err, prefix, tc.want)
			}
		})
	}
}

// TestReadError checks that an I/O error of the underlying reader is passed
// on (wrapped, naming the file) and not reported as a format problem.
func TestReadError(t *testing.T) {
	_, good := fixtureImages(3, 2, 2)
	boom := errors.New("disk on fire")
	for name, r := range map[string]io.Reader{
		"raw":  io.MultiReader(bytes.NewReader(good[:20]), iotest.ErrReader(boom)),
		"gzip": io.MultiReader(bytes.NewReader(gz(good)[:15]), iotest.ErrReader(boom)),
	} {
		_, err := ReadImages(r, "f")
		if !errors.Is(err, boom) || !strings.HasPrefix(err.Error(), "mnist: f: ") {
			t.Errorf("%s: got %v, want the wrapped I/O error", name, err)
		}
	}
}

func TestImagesSlice(t *testing.T) {
	im, _ := fixtureImages(6, 2, 3)
	s := im.Slice(2, 5)
	if s.N != 3 || !bytes.Equal(s.Image(0), im.Image(2)) || !bytes.Equal(s.Image(2), im.Image(4)) {
		t.Errorf("Slice(2, 5) = %+v", s)
	}
	if cap(s.Pixels) != len(s.Pixels) {
		t.Error("Slice leaves capacity past its end: an append would overwrite the next image")
	}
	defer func() {
		if recover() == nil {
			t.Error("Slice(4, 7) of 6 images did not panic")
		}
	}()
	im.Slice(4, 7)
}

// TestNoHugeAllocation checks that a header declaring nearly the maximum size
// (2³¹ − 1024 bytes) on a short file costs memory in proportion to the file, not to the header.
func TestNoHugeAllocation(t *testing.T) {
	data := idxBytes(MagicImages, []uint32{1<<21 - 1, 32, 32}, make([]byte, 5000))
	dir := t.TempDir()
	path := filepath.Join(dir, "big")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	for name, read := range map[string]func() error{
		"reader": func() error { _, err := ReadImages(bytes.NewReader(data), "f"); return err },
		"gzip":   func() error { _, err := ReadImages(bytes.NewReader(gz(data)), "f"); return err },
		"file":   func() error { _, err := OpenImages(path); return err },
	} {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		err := read()
		runtime.ReadMemStats(&after)
		if err == nil || !strings.Contains(err.Error(), "truncated after 4 images (header declares 2097151)") {
			t.Errorf("%s: error %v", name, err)
		}
		if got := after.TotalAlloc - before.TotalAlloc; got > 8<<20 {
			t.Errorf("%s: allocated %d bytes for a %d-byte file", name, got, len(data))
		}
	}
}
