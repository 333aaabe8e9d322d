package main

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/isingflow/isingflow/internal/cli"
	"github.com/isingflow/isingflow/mnist"
)

// TestExitCodes checks the exit status and the one-line error of bad
// command lines (the scripts check the messages in more detail).
func TestExitCodes(t *testing.T) {
	t.Setenv(cli.MemoryLimitEnv, "64GiB")
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	if err := writeFakeMNIST(data, 40, 10, 4, 4, 1); err != nil {
		t.Fatal(err)
	}
	runDir := filepath.Join(dir, "run")
	small := []string{"--data", data, "--hidden", "3", "--steps", "2", "--blocks", "1", "--batch", "10",
		"--validation-size", "10", "--eval-images", "5", "--max-batches", "1", "--out", runDir}
	if code := run(append([]string{"train"}, small...), new(strings.Builder), new(strings.Builder)); code != exitOK {
		t.Fatalf("training the fixture run: exit status %d", code)
	}
	// A copy of the run whose config.json asks for 10⁸ hidden units.
	hugeRun := filepath.Join(dir, "hugerun")
	if err := os.CopyFS(hugeRun, os.DirFS(runDir)); err != nil {
		t.Fatal(err)
	}
	cfg, err := os.ReadFile(filepath.Join(hugeRun, mnist.ConfigFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(hugeRun, mnist.ConfigFile), []byte(strings.Replace(string(cfg), `"hidden": 3,`, `"hidden": 100000000,`, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		code int
		msg  string
	}{
		{nil, exitUsage, "usage: mnistflow"},
		{[]string{"nope"}, exitUsage, "unknown subcommand"},
		{[]string{"help"}, exitOK, ""},
		{[]string{"train", "--help"}, exitOK, ""},
		{[]string{"train", "--nope"}, exitUsage, "unknown flag: --nope"},
		{[]string{"train", "--hidden", "0"}, exitUsage, "--hidden 0"},
		{[]string{"train", "--steps", "-1"}, exitUsage, "--steps -1"},
		{[]string{"train", "--batch", "0"}, exitUsage, "--batch 0"},
		{[]string{"train", "--lr", "0"}, exitUsage, "--lr 0"},
		{[]string{"train", "--lr", "+Inf"}, exitUsage, "--lr +Inf"},
		{[]string{"train", "--step-size", "-0.1"}, exitUsage, "--step-size -0.1"},
		{[]string{"train", "--kinetic", "-1"}, exitUsage, "--kinetic -1"},
		{[]string{"train", "--weight-decay", "-1"}, exitUsage, "--weight-decay -1"},
		{[]string{"train", "--max-batches", "-1"}, exitUsage, "--max-batches -1"},
		{[]string{"train", "--eval-images", "-1"}, exitUsage, "--eval-images -1"},
		{[]string{"train", "--eval-every", "-1"}, exitUsage, "--eval-every -1"},
		{[]string{"train", "--data", filepath.Join(dir, "missing")}, exitUsage, "fetch-mnist.sh"},
		{append([]string{"train"}, small...), exitUsage, "already holds a run"},
		{[]string{"train", "--resume", "--out", runDir, "--batch", "5"}, exitUsage, "another configuration"},
		{[]string{"train", "--resume", "--out", dir}, exitUsage, "not a mnistflow run"},
		{[]string{"eval"}, exitUsage, "--run DIR is required"},
		{[]string{"eval", "--run", dir}, exitUsage, "not a mnistflow run"},
		{[]string{"eval", "--run", runDir, "--batch", "0"}, exitUsage, "--batch 0"},
		{[]string{"eval", "--run", runDir, "--rtol", "0", "--adaptive"}, exitUsage, "--rtol 0"},
		{[]string{"eval", "--run", runDir, "--data", filepath.Join(dir, "missing")}, exitUsage, "fetch-mnist.sh"},
		{[]string{"eval", "--run", runDir, "--json"}, exitOK, ""},
		{[]string{"sample", "--run", runDir, "-n", "2000"}, exitUsage, "-n 2000"},
		{[]string{"sample", "--run", runDir, "--scale", "0"}, exitUsage, "--scale 0"},
		{[]string{"plot"}, exitUsage, "--run DIR is required"},
		// Too large for the machine: refused before anything is read or
		// written; sizes whose product overflows are counted, not wrapped.
		{[]string{"train", "--data", data, "--validation-size", "10", "--hidden", "100000000", "--out", filepath.Join(dir, "huge")}, exitResources, "needs about"},
		{[]string{"train", "--data", data, "--validation-size", "10", "--steps", "1000000000", "--out", filepath.Join(dir, "huge")}, exitResources, "needs about"},
		{[]string{"train", "--data", data, "--validation-size", "10", "--batch", "1000000000", "--out", filepath.Join(dir, "huge")}, exitUsage, "--batch 1000000000: larger than the 30 training images"},
		{[]string{"eval", "--run", runDir, "--batch", "1000000000", "--limit", "5"}, exitOK, ""},
		{[]string{"eval", "--run", hugeRun}, exitResources, "evaluating the run needs about"},
		{[]string{"sample", "--run", hugeRun}, exitResources, "sampling the run needs about"},
		{[]string{"train", "--data", data, "--batch", "10", "--validation-size", "10", "--epochs", "9223372036854775807",
			"--out", filepath.Join(dir, "forever")}, exitUsage, "--epochs 9223372036854775807: 9223372036854775807 epochs of 3 batches are more batches than can be counted"},
	} {
		var stdout, stderr strings.Builder
		code := run(tc.args, &stdout, &stderr)
		if code != tc.code {
			t.Errorf("%q: exit status %d, want %d (stderr %q)", tc.args, code, tc.code, stderr.String())
			continue
		}
		if (tc.code == exitUsage || tc.code == exitResources) && tc.msg != "usage: mnistflow" {
			msg := stderr.String()
			if strings.Count(msg, "\n") != 1 || !strings.Contains(msg, tc.msg) {
				t.Errorf("%q: stderr %q, want one line containing %q", tc.args, msg, tc.msg)
			}
			if stdout.Len() != 0 {
				t.Errorf("%q: stdout %q on a usage error", tc.args, stdout.String())
			}
		}
	}
	for _, name := range []string{"huge", "forever"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err == nil {
			t.Errorf("the refused run %s was created", name)
		}
	}
}

// TestTinyEndToEndLowersValidationNLL trains a small flow on a few hundred
// images, of the real MNIST files when they are present and of fake 12×12
// data, and checks that the validation NLL goes down. The validation images
// and their dequantisation noise are the same at every evaluation, so the
// decrease is a paired difference, not noise.
func TestTinyEndToEndLowersValidationNLL(t *testing.T) {
	args := []string{"train", "--preset", "paper", "--hidden", "16", "--steps", "5", "--step-size", "0.2", "--batch", "20",
		"--lr", "0.01", "--max-batches", "25", "--eval-images", "200"}
	t.Run("mnist", func(t *testing.T) {
		data := filepath.Join("..", "..", "data", "mnist")
		if _, err := os.Stat(filepath.Join(data, "train-images-idx3-ubyte")); err != nil {
			t.Skipf("no MNIST in %s (scripts/fetch-mnist.sh fetches it)", data)
		}
		checkValidationDecreases(t, append(args, "--data", data))
	})
	t.Run("fake", func(t *testing.T) {
		data := filepath.Join(t.TempDir(), "data")
		if err := writeFakeMNIST(data, 1400, 300, 12, 12, 2); err != nil {
			t.Fatal(err)
		}
		checkValidationDecreases(t, append(args, "--data", data, "--validation-size", "400"))
	})
}

func checkValidationDecreases(t *testing.T, args []string) {
	runDir := filepath.Join(t.TempDir(), "run")
	args = append(args, "--out", runDir)
	var stdout, stderr strings.Builder
	if code := run(args, &stdout, &stderr); code != exitOK {
		t.Fatalf("exit status %d: %s", code, stderr.String())
	}
	f, err := os.Open(filepath.Join(runDir, mnist.LogFile))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var val []mnist.EpochRecord
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var rec mnist.EpochRecord
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			t.Fatal(err)
		}
		if rec.Kind == "epoch" {
			val = append(val, rec)
		}
	}
	if len(val) != 2 || val[0].ValNLL == nil || val[1].ValNLL == nil {
		t.Fatalf("validation records %+v, want two (start and end)", val)
	}
	first, last := *val[0].ValNLL, *val[1].ValNLL
	t.Logf("validation NLL %.2f ± %.2f → %.2f ± %.2f nats (%d images)", first, *val[0].ValNLLErr, last, *val[1].ValNLLErr, val[1].ValImages)
	// A clear decrease: more than a few per cent of the initial NLL.
	if !(last < 0.97*first) {
		t.Errorf("validation NLL %.2f → %.2f: no clear decrease", first, last)
	}
}
