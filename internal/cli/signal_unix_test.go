//go:build unix

package cli

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"
)

// TestStopContextCatchesSIGTERM sends the test process each stop signal.
// Without StopContext's handler the default action would end the test
// binary, which go test reports as a failure.
func TestStopContextCatchesSIGTERM(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		ctx, stop := StopContext(context.Background())
		if err := syscall.Kill(os.Getpid(), sig); err != nil {
			t.Fatal(err)
		}
		select {
		case <-ctx.Done():
		case <-time.After(10 * time.Second):
			t.Errorf("%v did not cancel the context", sig)
		}
		stop()
	}
}

// signalChildEnv marks the test binary run by TestSecondSignalEndsProcess
// as the child that receives the signals.
const signalChildEnv = "ISINGFLOW_CLI_SIGNAL_CHILD"

// TestSecondSignalEndsProcess checks that after a first Ctrl-C, caught by
// StopContext to stop cleanly, a second one ends the process: it runs the
// test binary as a child that interrupts itself once, waits for the
// context, then interrupts itself again and again for 10 s and would exit
// with status 0 if it survived.
func TestSecondSignalEndsProcess(t *testing.T) {
	if os.Getenv(signalChildEnv) == "1" {
		ctx, stop := StopContext(context.Background())
		defer stop()
		if err := syscall.Kill(os.Getpid(), syscall.SIGINT); err != nil {
			os.Exit(3)
		}
		select {
		case <-ctx.Done():
		case <-time.After(10 * time.Second):
			os.Exit(4) // the first signal was not caught
		}
		for range 200 {
			_ = syscall.Kill(os.Getpid(), syscall.SIGINT)
			time.Sleep(50 * time.Millisecond)
		}
		os.Exit(0) // the second signal was swallowed
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestSecondSignalEndsProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), signalChildEnv+"=1")
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		t.Fatalf("the child survived the second interrupt (err %v); output:\n%s", err, out)
	}
	ws, ok := ee.Sys().(syscall.WaitStatus)
	if !ok || !ws.Signaled() || ws.Signal() != syscall.SIGINT {
		t.Fatalf("the child ended with %v, want killed by SIGINT; output:\n%s", err, out)
	}
}
