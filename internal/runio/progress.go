package runio

import (
	"io"
	"os"

	"github.com/schollz/progressbar/v3"
)

// IsTerminal reports whether w is a terminal (a character device).
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// Progress is a progress bar with a description and an ETA, drawn on w only
// when w is a terminal; otherwise every method does nothing, so logs and
// pipes stay clean.
type Progress struct {
	bar *progressbar.ProgressBar
}

// NewProgress returns a bar counting to total.
func NewProgress(w io.Writer, total int, desc string) *Progress {
	if !IsTerminal(w) {
		return &Progress{}
	}
	return &Progress{bar: progressbar.NewOptions(total,
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetDescription(desc),
		progressbar.OptionShowCount(),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionSetElapsedTime(true),
		progressbar.OptionThrottle(200e6),
		progressbar.OptionClearOnFinish(),
		progressbar.OptionSetWidth(20),
	)}
}

// Set moves the bar to n with a new description (F ± σ, KL, …).
func (p *Progress) Set(n int, desc string) {
	if p.bar == nil {
		return
	}
	p.bar.Describe(desc)
	_ = p.bar.Set(n)
}

// Finish clears the bar.
func (p *Progress) Finish() {
	if p.bar != nil {
		_ = p.bar.Finish()
	}
}
