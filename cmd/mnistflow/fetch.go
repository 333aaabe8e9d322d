package main

import (
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/isingflow/isingflow/mnist"
)

// fetchScript is the script that downloads MNIST, relative to the
// repository root.
const fetchScript = "scripts/fetch-mnist.sh"

// repoRoot returns the root of the isingflow repository: the first
// directory holding scripts/fetch-mnist.sh and go.mod, looking upwards from
// the working directory and then from the executable (bin/mnistflow in the
// repository, where scripts/mnistflow builds it). It returns "" if there
// is none.
func repoRoot() string {
	var starts []string
	if wd, err := os.Getwd(); err == nil {
		starts = append(starts, wd)
	}
	if exe, err := os.Executable(); err == nil {
		if exe, err := filepath.EvalSymlinks(exe); err == nil {
			starts = append(starts, filepath.Dir(exe))
		}
	}
	for _, dir := range starts {
		for {
			if isFile(filepath.Join(dir, fetchScript)) && isFile(filepath.Join(dir, "go.mod")) {
				return dir
			}
			parent := filepath.Dir(dir)
			if parent == dir {
				break
			}
			dir = parent
		}
	}
	return ""
}

func isFile(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.Mode().IsRegular()
}

// resolveDataDir returns the data directory: dir as given when the flag was
// set or dir exists; otherwise the default directory of the repository
// (data/mnist at its root) when that exists, so the commands find the data
// from any working directory inside or outside the repository.
func resolveDataDir(dir string, given bool) string {
	if given {
		return dir
	}
	if _, err := os.Stat(dir); err == nil {
		return dir
	}
	if root := repoRoot(); root != "" {
		alt := filepath.Join(root, mnist.DefaultDir)
		if _, err := os.Stat(alt); err == nil {
			return alt
		}
	}
	return dir
}

func runFetch(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("fetch", stderr)
	data := fs.String("data", "", "directory to put the files in (default data/mnist in the repository)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	root := repoRoot()
	if root == "" {
		return usagef("cannot find %s: run mnistflow fetch inside the isingflow repository (or run the script from it)", fetchScript)
	}
	var scriptArgs []string
	if *data != "" {
		scriptArgs = append(scriptArgs, *data)
	}
	cmd := exec.Command(filepath.Join(root, fetchScript), scriptArgs...)
	cmd.Stdout, cmd.Stderr = stdout, stderr
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &ee) && ee.ExitCode() == exitUsage:
		return usagef("%s failed (exit status 2)", fetchScript)
	case errors.As(err, &ee):
		return errors.New(fetchScript + " failed: " + ee.Error())
	}
	return err
}
