package mnist

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

// FuzzReadIDX feeds arbitrary bytes to ReadImages and ReadLabels: they must
// never panic, must fail with an error naming the file, and must return
// consistent sizes when they succeed. The seed corpus in
// testdata/fuzz/FuzzReadIDX holds valid, gzip-compressed, truncated and
// otherwise broken files; run it longer with
//
//	go test ./mnist -run '^$' -fuzz FuzzReadIDX -fuzztime 60s
func FuzzReadIDX(f *testing.F) {
	_, im := fixtureImages(3, 2, 2)
	_, lb := fixtureLabels(4)
	f.Add(im)
	f.Add(lb)
	f.Add(gz(im))
	f.Add(gz(lb))
	f.Fuzz(func(t *testing.T, data []byte) {
		images, err := ReadImages(bytes.NewReader(data), "fuzz")
		if err != nil {
			checkErr(t, err)
		} else if images.N < 1 || images.Rows < 1 || images.Cols < 1 || len(images.Pixels) != images.N*images.Rows*images.Cols {
			t.Fatalf("inconsistent images: N=%d %d×%d, %d pixels", images.N, images.Rows, images.Cols, len(images.Pixels))
		}
		labels, err := ReadLabels(bytes.NewReader(data), "fuzz")
		if err != nil {
			checkErr(t, err)
		} else if len(labels) < 1 {
			t.Fatal("no labels and no error")
		}
		if images != nil && labels != nil {
			t.Fatal("the same bytes read as both images and labels")
		}
	})
}

func checkErr(t *testing.T, err error) {
	t.Helper()
	if !strings.HasPrefix(err.Error(), "mnist: fuzz: ") {
		t.Fatalf("error %q does not name the file", err)
	}
	var fe *FormatError
	if !errors.As(err, &fe) {
		t.Fatalf("error %q (%T) from an in-memory reader is not a *FormatError", err, err)
	}
}
