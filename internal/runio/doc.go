// Package runio is the file side of a training run, shared by isingflow and
// mnistflow: atomic writes (a temporary file renamed into place, so a crash
// never leaves a half-written file), checkpoints as NumPy .npz archives
// (every array readable with numpy.load with its shape, the metadata as a
// JSON document in the uint8 array "meta"), JSON-lines logs, and a progress bar that is shown
// only on a terminal.
package runio
