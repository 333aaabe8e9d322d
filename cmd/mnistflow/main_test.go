package main

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/isingflow/isingflow/internal/runio"
	"github.com/isingflow/isingflow/mnist"
)

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"mnistflow": main,
	})
}

// TestScripts runs the command-line scripts in testdata/script: bad input
// everywhere, a tiny end-to-end run on fake data, bit-identical resume.
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:                 "testdata/script",
		RequireExplicitExec: true,
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"mkidx":       cmdMkidx,
			"sameparams":  cmdSameParams,
			"truncate":    cmdTruncate,
			"pngsize":     cmdPNGSize,
			"valdecrease": cmdValDecrease,
			"cmpjson":     cmdCmpJSON,
		},
		Condition: func(cond string) (bool, error) {
			if cond == "short" {
				return testing.Short(), nil
			}
			return false, fmt.Errorf("unknown condition %q", cond)
		},
	})
}

// cmdMkidx writes fake MNIST files: mkidx DIR NTRAIN NTEST ROWS COLS.
// The training images are gzip-compressed, the others raw.
func cmdMkidx(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 5 {
		ts.Fatalf("usage: mkidx DIR NTRAIN NTEST ROWS COLS")
	}
	n := make([]int, 4)
	for i, a := range args[1:] {
		v, err := strconv.Atoi(a)
		ts.Check(err)
		n[i] = v
	}
	ts.Check(writeFakeMNIST(ts.MkAbs(args[0]), n[0], n[1], n[2], n[3], 1))
}

// cmdSameParams checks that two checkpoints hold bit for bit the same
// arrays (parameters, Adam's moments) and the same optimisation step, Adam
// step, learning-rate scale, batch, epoch sums and random states:
// sameparams A.npz B.npz.
func cmdSameParams(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: sameparams A.npz B.npz")
	}
	var sa, sb checkpointMeta
	a, err := runio.ReadCheckpoint(ts.MkAbs(args[0]), &sa)
	ts.Check(err)
	b, err := runio.ReadCheckpoint(ts.MkAbs(args[1]), &sb)
	ts.Check(err)
	diff := sa.diff(&sb)
	if diff == "" && len(a) != len(b) {
		diff = fmt.Sprintf("%d arrays vs %d", len(a), len(b))
	}
	for name, va := range a {
		vb := b[name]
		if diff != "" {
			break
		}
		if !slices.Equal(va.Shape, vb.Shape) {
			diff = fmt.Sprintf("%s: shape %v vs %v", name, va.Shape, vb.Shape)
			break
		}
		for i := range va.Data {
			if math.Float64bits(va.Data[i]) != math.Float64bits(vb.Data[i]) {
				diff = fmt.Sprintf("%s[%d]: %v vs %v", name, i, va.Data[i], vb.Data[i])
				break
			}
		}
	}
	if neg && diff == "" {
		ts.Fatalf("%s and %s are identical", args[0], args[1])
	}
	if !neg && diff != "" {
		ts.Fatalf("%s and %s differ: %s", args[0], args[1], diff)
	}
}

// checkpointMeta is the part of a checkpoint's metadata (package train's,
// with package mnist's objective state in "rng") that a bit-identical
// resume must reproduce.
type checkpointMeta struct {
	Step              int     `json:"step"`
	AdamStep          int     `json:"adam_step"`
	LearningRateScale float64 `json:"learning_rate_scale"`
	State             []byte  `json:"rng"`
}

func (a *checkpointMeta) diff(b *checkpointMeta) string {
	type objectiveState struct {
		Run struct {
			Batch    int     `json:"batch"`
			EpochNLL float64 `json:"epoch_nll"`
			Rejected int     `json:"rejected"`
		} `json:"run"`
		RNG      []byte `json:"rng"`
		EpochRNG []byte `json:"epoch_rng"`
		Images   int    `json:"images"`
	}
	var oa, ob objectiveState
	if err := json.Unmarshal(a.State, &oa); err != nil {
		return err.Error()
	}
	if err := json.Unmarshal(b.State, &ob); err != nil {
		return err.Error()
	}
	switch {
	case a.Step != b.Step:
		return fmt.Sprintf("step %d vs %d", a.Step, b.Step)
	case a.AdamStep != b.AdamStep:
		return fmt.Sprintf("Adam step %d vs %d", a.AdamStep, b.AdamStep)
	case a.LearningRateScale != b.LearningRateScale:
		return fmt.Sprintf("learning-rate scale %v vs %v", a.LearningRateScale, b.LearningRateScale)
	case oa.Run != ob.Run:
		return fmt.Sprintf("batch, epoch NLL sum, rejected %+v vs %+v", oa.Run, ob.Run)
	case !bytes.Equal(oa.RNG, ob.RNG) || !bytes.Equal(oa.EpochRNG, ob.EpochRNG) || oa.Images != ob.Images:
		return "random states differ"
	}
	return ""
}

// cmdTruncate cuts a file to half its length: truncate FILE.
func cmdTruncate(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: truncate FILE")
	}
	path := ts.MkAbs(args[0])
	data, err := os.ReadFile(path)
	ts.Check(err)
	ts.Check(os.WriteFile(path, data[:len(data)/2], 0o644))
}

// cmdPNGSize checks a PNG's size: pngsize FILE WIDTH HEIGHT.
func cmdPNGSize(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 3 {
		ts.Fatalf("usage: pngsize FILE WIDTH HEIGHT")
	}
	f, err := os.Open(ts.MkAbs(args[0]))
	ts.Check(err)
	defer f.Close()
	var hdr [24]byte
	_, err = f.Read(hdr[:])
	ts.Check(err)
	if string(hdr[1:4]) != "PNG" {
		ts.Fatalf("%s is not a PNG", args[0])
	}
	w, h := binary.BigEndian.Uint32(hdr[16:20]), binary.BigEndian.Uint32(hdr[20:24])
	if got := fmt.Sprintf("%d %d", w, h); got != args[1]+" "+args[2] {
		ts.Fatalf("%s is %s pixels, want %s %s", args[0], got, args[1], args[2])
	}
}

// cmdValDecrease checks that the validation NLL in a run's log decreased
// from the first validation to the last: valdecrease RUNDIR.
func cmdValDecrease(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: valdecrease RUNDIR")
	}
	recs, err := mnist.ReadLog(ts.MkAbs(args[0]))
	ts.Check(err)
	var val []float64
	for _, rec := range recs {
		if rec, ok := rec.(*mnist.EpochRecord); ok && rec.ValNLL != nil {
			val = append(val, *rec.ValNLL)
		}
	}
	if len(val) < 2 {
		ts.Fatalf("%d validation records", len(val))
	}
	first, last := val[0], val[len(val)-1]
	ts.Logf("validation NLL %.3f → %.3f", first, last)
	if !(last < first) {
		ts.Fatalf("validation NLL did not decrease: %.3f → %.3f", first, last)
	}
}

// cmdCmpJSON compares the Summary fields of two eval --json outputs to a
// relative 1e-9 (batching may change the rounding of a matrix product):
// cmpjson A B, either of which may be stdout.
func cmdCmpJSON(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: cmpjson A B")
	}
	var s [2]mnist.Summary
	for i, name := range args {
		data := ts.ReadFile(name)
		ts.Check(json.Unmarshal([]byte(data), &s[i]))
	}
	a, b := s[0], s[1]
	close := func(x, y float64) bool { return math.Abs(x-y) <= 1e-9*math.Max(math.Abs(x), math.Abs(y)) }
	if a.Images != b.Images || !close(a.NLL, b.NLL) || !close(a.NLLErr, b.NLLErr) ||
		!close(a.BitsPerDim, b.BitsPerDim) || !close(a.BitsPerDimErr, b.BitsPerDimErr) {
		ts.Fatalf("%s and %s differ: %+v vs %+v", args[0], args[1], a, b)
	}
}

// writeFakeMNIST writes the four standard files into dir: nTrain training
// and nTest test images of rows×cols pixels showing a bright bar, horizontal
// (label 0) or vertical (label 1), at a random place with a soft edge, on a
// dark background — structure a flow can learn quickly.
func writeFakeMNIST(dir string, nTrain, nTest, rows, cols int, seed uint64) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	rng := rand.New(rand.NewPCG(seed, 99))
	for _, f := range []struct {
		images, labels string
		n              int
		gz             bool
	}{
		{mnist.TrainImagesFile + ".gz", mnist.TrainLabelsFile, nTrain, true},
		{mnist.TestImagesFile, mnist.TestLabelsFile, nTest, false},
	} {
		pix := make([]byte, f.n*rows*cols)
		lab := make([]byte, f.n)
		for i := range f.n {
			img := pix[i*rows*cols : (i+1)*rows*cols]
			vertical := rng.IntN(2) == 1
			lab[i] = 0
			pos := rng.IntN(max(1, cols-2)) + 1
			if vertical {
				lab[i] = 1
			} else {
				pos = rng.IntN(max(1, rows-2)) + 1
			}
			for r := range rows {
				for c := range cols {
					d := r - pos
					if vertical {
						d = c - pos
					}
					switch {
					case d == 0:
						img[r*cols+c] = byte(200 + rng.IntN(56))
					case d == 1 || d == -1:
						img[r*cols+c] = byte(60 + rng.IntN(60))
					case rng.IntN(10) == 0:
						img[r*cols+c] = byte(rng.IntN(30))
					}
				}
			}
		}
		var hdr bytes.Buffer
		binary.Write(&hdr, binary.BigEndian, []uint32{mnist.MagicImages, uint32(f.n), uint32(rows), uint32(cols)})
		if err := writeMaybeGz(filepath.Join(dir, f.images), append(hdr.Bytes(), pix...), f.gz); err != nil {
			return err
		}
		hdr.Reset()
		binary.Write(&hdr, binary.BigEndian, []uint32{mnist.MagicLabels, uint32(f.n)})
		if err := writeMaybeGz(filepath.Join(dir, f.labels), append(hdr.Bytes(), lab...), false); err != nil {
			return err
		}
	}
	return nil
}

func writeMaybeGz(path string, data []byte, gz bool) error {
	if !gz {
		return os.WriteFile(path, data, 0o644)
	}
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	w.Write(data)
	if err := w.Close(); err != nil {
		return err
	}
	return os.WriteFile(path, b.Bytes(), 0o644)
}
