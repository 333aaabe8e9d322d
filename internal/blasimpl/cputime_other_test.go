//go:build !unix

package blasimpl_test

import "time"

// cpuTime returns 0: processor time is read only on Unix.
func cpuTime() time.Duration { return 0 }
