package mnist

import (
	"bytes"
	"errors"
	"io/fs"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/gonum/stat"
)

// writeFake writes a small fake MNIST directory: nTrain and nTest images of
// rows×cols, the training files gzip-compressed when gzTrain.
func writeFake(t *testing.T, dir string, nTrain, nTest, rows, cols int, gzTrain bool) {
	t.Helper()
	_, trIm := fixtureImages(nTrain, rows, cols)
	_, trLb := fixtureLabels(nTrain)
	_, teIm := fixtureImages(nTest, rows, cols)
	_, teLb := fixtureLabels(nTest)
	files := map[string][]byte{TestImagesFile: teIm, TestLabelsFile: teLb}
	if gzTrain {
		files[TrainImagesFile+".gz"] = gz(trIm)
		files[TrainLabelsFile+".gz"] = gz(trLb)
	} else {
		files[TrainImagesFile] = trIm
		files[TrainLabelsFile] = trLb
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestLoadSplit(t *testing.T) {
	for _, gzTrain := range []bool{false, true} {
		dir := t.TempDir()
		writeFake(t, dir, 12, 5, 4, 3, gzTrain)
		d, err := LoadSplit(dir, 4)
		if err != nil {
			t.Fatal(err)
		}
		all, _ := fixtureImages(12, 4, 3)
		labels, _ := fixtureLabels(12)
		if d.Train.Len() != 8 || d.Validation.Len() != 4 || d.Test.Len() != 5 {
			t.Fatalf("gz=%v: split %d/%d/%d, want 8/4/5", gzTrain, d.Train.Len(), d.Validation.Len(), d.Test.Len())
		}
		// Validation is the END of the training file (MAF's split).
		if !bytes.Equal(d.Validation.Images.Image(0), all.Image(8)) || d.Validation.Labels[3] != labels[11] {
			t.Errorf("gz=%v: validation is not the last 4 training images", gzTrain)
		}
		if !bytes.Equal(d.Train.Images.Image(7), all.Image(7)) || d.Train.Labels[0] != labels[0] {
			t.Errorf("gz=%v: train is not the first 8 training images", gzTrain)
		}
		if len(d.Train.Labels) != 8 || len(d.Validation.Labels) != 4 || len(d.Test.Labels) != 5 {
			t.Errorf("gz=%v: label counts %d/%d/%d", gzTrain, len(d.Train.Labels), len(d.Validation.Labels), len(d.Test.Labels))
		}
	}
}

func TestLoadErrors(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "no-such-dir")
	_, err := Load(missing)
	if err == nil || !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), "scripts/fetch-mnist.sh") ||
		!strings.Contains(err.Error(), "mnistflow fetch") || !strings.Contains(err.Error(), missing) {
		t.Errorf("missing directory: %v", err)
	}

	dir := t.TempDir()
	writeFake(t, dir, 12, 5, 4, 3, false)
	if _, err := Load(dir); err == nil || !strings.Contains(err.Error(), "12 training images, too few to hold out 10000") {
		t.Errorf("too few images for MAF's split: %v", err)
	}
	if _, err := LoadSplit(dir, -1); err == nil {
		t.Error("negative validation size accepted")
	}
	if d, err := LoadSplit(dir, 0); err != nil || d.Validation.Len() != 0 || d.Train.Len() != 12 {
		t.Errorf("no validation: %v", err)
	}

	os.Remove(filepath.Join(dir, TestLabelsFile))
	_, err = LoadSplit(dir, 2)
	if err == nil || !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), TestLabelsFile+".gz") ||
		!strings.Contains(err.Error(), "fetch-mnist.sh") {
		t.Errorf("missing file: %v", err)
	}

	// Images and labels disagree in count.
	_, lb := fixtureLabels(4)
	os.WriteFile(filepath.Join(dir, TestLabelsFile), lb, 0o644)
	_, err = LoadSplit(dir, 2)
	if err == nil || !strings.Contains(err.Error(), "has 5 images but") || !strings.Contains(err.Error(), "has 4 labels") {
		t.Errorf("count mismatch: %v", err)
	}

	// A label that is not a digit.
	os.WriteFile(filepath.Join(dir, TestLabelsFile), idxBytes(MagicLabels, []uint32{5}, []byte{1, 2, 10, 3, 4}), 0o644)
	_, err = LoadSplit(dir, 2)
	var fe *FormatError
	if !errors.As(err, &fe) || !strings.Contains(err.Error(), "label 10 of item 2") {
		t.Errorf("bad label: %v", err)
	}

	// Training and test images of different sizes.
	dir = t.TempDir()
	writeFake(t, dir, 12, 5, 4, 3, false)
	_, im := fixtureImages(5, 3, 4)
	os.WriteFile(filepath.Join(dir, TestImagesFile), im, 0o644)
	if _, err := LoadSplit(dir, 2); err == nil || !strings.Contains(err.Error(), "4×3 but test images 3×4") {
		t.Errorf("size mismatch: %v", err)
	}

	// A malformed file is reported with its path.
	dir = t.TempDir()
	writeFake(t, dir, 12, 5, 4, 3, true)
	p := filepath.Join(dir, TrainImagesFile+".gz")
	os.WriteFile(p, []byte{0x1f, 0x8b, 8, 0}, 0o644)
	if _, err := LoadSplit(dir, 2); !errors.As(err, &fe) || fe.File != p {
		t.Errorf("corrupt file: %v", err)
	}

	// A file instead of a directory.
	if _, err := Load(p); err == nil || !strings.Contains(err.Error(), "not a directory") {
		t.Errorf("file as directory: %v", err)
	}
}

// realDataDir is where scripts/fetch-mnist.sh puts the files, seen from this
// package's directory.
var realDataDir = filepath.Join("..", DefaultDir)

// TestRealMNIST checks the real files when scripts/fetch-mnist.sh has been
// run: sizes, the famous first label, the class counts of both files, and
// logs the mean logit Jacobian of the test set, the offset between the
// paper's logit-space nats and bits/dim.
func TestRealMNIST(t *testing.T) {
	if _, err := os.Stat(filepath.Join(realDataDir, TrainImagesFile)); err != nil {
		t.Skipf("no MNIST in %s (run scripts/fetch-mnist.sh): %v", realDataDir, err)
	}
	d, err := Load(realDataDir)
	if err != nil {
		t.Fatal(err)
	}
	if d.Train.Len() != 50000 || d.Validation.Len() != 10000 || d.Test.Len() != 10000 {
		t.Fatalf("split %d/%d/%d, want 50000/10000/10000", d.Train.Len(), d.Validation.Len(), d.Test.Len())
	}
	if im := d.Train.Images; im.Rows != 28 || im.Cols != 28 {
		t.Errorf("images are %d×%d, want 28×28", im.Rows, im.Cols)
	}
	if d.Train.Labels[0] != 5 || d.Test.Labels[0] != 7 {
		t.Errorf("first labels: train %d (want 5), test %d (want 7)", d.Train.Labels[0], d.Test.Labels[0])
	}
	count := func(sets ...Set) (c [NumClasses]int) {
		for _, s := range sets {
			for _, l := range s.Labels {
				c[l]++
			}
		}
		return c
	}
	wantTrain := [NumClasses]int{5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949}
	wantTest := [NumClasses]int{980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009}
	if got := count(d.Train, d.Validation); got != wantTrain {
		t.Errorf("training class counts %v, want %v", got, wantTrain)
	}
	if got := count(d.Test); got != wantTest {
		t.Errorf("test class counts %v, want %v", got, wantTest)
	}
	// ln dy/dx per pixel lies between ln 4 (x = 1/2) and ln 256 + 1 + O(α),
	// its mean over x ∈ [0, 1/256).
	test := d.Test.Images
	y := mat.NewDense(test.N, test.Dim(), nil)
	logJac := make([]float64, test.N)
	idx := make([]int, test.N)
	for i := range idx {
		idx[i] = i
	}
	LogitBatch(y, logJac, test, idx, rand.New(rand.NewPCG(42, 0)))
	mean, sd := stat.MeanStdDev(logJac, nil)
	se := sd / math.Sqrt(float64(test.N))
	lo, hi := 784*math.Log(4), 784*(math.Log(256)+1)
	if mean < lo || mean > hi {
		t.Errorf("mean log Jacobian %v outside [%v, %v]", mean, lo, hi)
	}
	t.Logf("test set: mean ln|dy/dx| = %.2f ± %.2f nats/image; the paper's 1255.5 nats (logit space) = %.4f bits/dim",
		mean, se, BitsPerDim(1255.5, mean, 784))

	// Pixels are 8-bit ink on a zero background: every image has both.
	for _, s := range []Set{d.Train, d.Validation, d.Test} {
		for i := 0; i < s.Len(); i += 997 {
			var lo, hi uint8 = 255, 0
			for _, p := range s.Images.Image(i) {
				lo, hi = min(lo, p), max(hi, p)
			}
			if lo != 0 || hi < 128 {
				t.Errorf("image %d: pixel range [%d, %d]", i, lo, hi)
			}
		}
	}
}
