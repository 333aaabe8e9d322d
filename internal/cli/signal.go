package cli

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

// StopSignals are the signals that ask a long run to stop cleanly: an
// interrupt (Ctrl-C) and SIGTERM (kill, or a batch scheduler at the end of
// a job's time). The commands catch them to write a checkpoint and, for
// isingflow, still evaluate what was trained, instead of dying mid-step.
var StopSignals = []os.Signal{os.Interrupt, syscall.SIGTERM}

// StopContext returns a copy of parent that is cancelled when the process
// receives one of StopSignals; stop releases the signals. Only the first
// signal is caught: once it has cancelled the context (or parent is done)
// the signals are released, so that a second Ctrl-C ends the process with
// the signal's default action instead of waiting for the clean stop.
func StopContext(parent context.Context) (ctx context.Context, stop context.CancelFunc) {
	ctx, stop = signal.NotifyContext(parent, StopSignals...)
	go func() {
		<-ctx.Done()
		stop()
	}()
	return ctx, stop
}
