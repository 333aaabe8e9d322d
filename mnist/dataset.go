package mnist

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// The standard file names of MNIST (and of Fashion-MNIST, which uses the same
// format and names). Each may also be present with a ".gz" suffix.
const (
	TrainImagesFile = "train-images-idx3-ubyte"
	TrainLabelsFile = "train-labels-idx1-ubyte"
	TestImagesFile  = "t10k-images-idx3-ubyte"
	TestLabelsFile  = "t10k-labels-idx1-ubyte"
)

// DefaultDir is where scripts/fetch-mnist.sh puts the files, relative to the
// repository root. Git ignores it.
const DefaultDir = "data/mnist"

// ValidationSize is the size of MAF's validation set: the last 10,000 of the
// 60,000 training images, leaving 50,000 for training.
const ValidationSize = 10000

// NumClasses is the number of labels, 0 … 9.
const NumClasses = 10

// FetchHint says how to obtain the data; it ends the error Load returns for
// a missing directory or file.
const FetchHint = "fetch MNIST with scripts/fetch-mnist.sh (or go run ./cmd/mnistflow fetch), " +
	"or point --data at a directory holding " + TrainImagesFile + ", " + TrainLabelsFile + ", " +
	TestImagesFile + " and " + TestLabelsFile + " (optionally .gz)"

// Set is a set of images with their labels (Labels[i] belongs to image i).
type Set struct {
	Images *Images
	Labels []uint8
}

// Len returns the number of images.
func (s Set) Len() int { return s.Images.N }

// Slice returns images lo … hi−1 and their labels, sharing s's storage.
func (s Set) Slice(lo, hi int) Set {
	return Set{Images: s.Images.Slice(lo, hi), Labels: s.Labels[lo:hi:hi]}
}

// Dataset is MNIST split as in MAF (Papamakarios et al. 2017): Train holds
// the first 50,000 images of the training file, Validation its last 10,000,
// Test the 10,000 images of the test file.
type Dataset struct {
	Train, Validation, Test Set
}

// Load reads the four standard files (each raw or gzip-compressed, the raw
// name preferred when both exist) from dir and splits them as MAF does:
// 50,000 train, 10,000 validation (the last 10,000 training images), 10,000
// test. A missing directory or file gives an error that wraps fs.ErrNotExist
// and says how to fetch the data; a malformed file a *FormatError.
func Load(dir string) (*Dataset, error) {
	return LoadSplit(dir, ValidationSize)
}

// LoadSplit is Load with the last nValidation images of the training file
// held out for validation instead of 10,000. nValidation must be smaller
// than the number of training images; 0 leaves Validation empty.
func LoadSplit(dir string, nValidation int) (*Dataset, error) {
	if nValidation < 0 {
		return nil, fmt.Errorf("mnist: negative validation size %d", nValidation)
	}
	st, err := os.Stat(dir)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("mnist: data directory %s does not exist; %s: %w", dir, FetchHint, fs.ErrNotExist)
		}
		return nil, fmt.Errorf("mnist: %w", err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("mnist: %s is not a directory; %s", dir, FetchHint)
	}
	train, err := loadSet(dir, TrainImagesFile, TrainLabelsFile)
	if err != nil {
		return nil, err
	}
	test, err := loadSet(dir, TestImagesFile, TestLabelsFile)
	if err != nil {
		return nil, err
	}
	if train.Images.Rows != test.Images.Rows || train.Images.Cols != test.Images.Cols {
		return nil, fmt.Errorf("mnist: %s: training images are %d×%d but test images %d×%d",
			dir, train.Images.Rows, train.Images.Cols, test.Images.Rows, test.Images.Cols)
	}
	n := train.Len()
	if nValidation >= n {
		return nil, fmt.Errorf("mnist: %s: %d training images, too few to hold out %d for validation",
			filepath.Join(dir, TrainImagesFile), n, nValidation)
	}
	return &Dataset{
		Train:      train.Slice(0, n-nValidation),
		Validation: train.Slice(n-nValidation, n),
		Test:       test,
	}, nil
}

// loadSet reads one images file and its labels file and checks that they
// agree.
func loadSet(dir, imagesName, labelsName string) (Set, error) {
	imPath, err := find(dir, imagesName)
	if err != nil {
		return Set{}, err
	}
	lbPath, err := find(dir, labelsName)
	if err != nil {
		return Set{}, err
	}
	im, err := OpenImages(imPath)
	if err != nil {
		return Set{}, err
	}
	lb, err := OpenLabels(lbPath)
	if err != nil {
		return Set{}, err
	}
	if len(lb) != im.N {
		return Set{}, fmt.Errorf("mnist: %s has %d images but %s has %d labels", imPath, im.N, lbPath, len(lb))
	}
	for i, l := range lb {
		if l >= NumClasses {
			return Set{}, &FormatError{File: lbPath, Problem: fmt.Sprintf("label %d of item %d is not a digit 0–9", l, i)}
		}
	}
	return Set{Images: im, Labels: lb}, nil
}

// find returns the path of name or name.gz in dir.
func find(dir, name string) (string, error) {
	for _, n := range []string{name, name + ".gz"} {
		p := filepath.Join(dir, n)
		if _, err := os.Stat(p); err == nil {
			return p, nil
		} else if !errors.Is(err, fs.ErrNotExist) {
			return "", fmt.Errorf("mnist: %w", err)
		}
	}
	return "", fmt.Errorf("mnist: %s: neither %s nor %s.gz found; %s: %w", dir, name, name, FetchHint, fs.ErrNotExist)
}
