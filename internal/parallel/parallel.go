// Package parallel is the one helper for data-parallel loops over a batch:
// it splits the index range [0, n) into contiguous chunks, one per worker,
// and runs them on GOMAXPROCS goroutines. Use it for elementwise work on
// batch-sized matrices; never start a goroutine per sample.
package parallel

import (
	"runtime"
	"sync"
)

// minChunk is the smallest amount of work (in units of the caller's "cost")
// worth handing to a goroutine; below it For runs serially.
const minChunk = 1 << 14

// For calls fn(lo, hi) on disjoint chunks covering [0, n), in parallel when
// n·cost is large enough to pay for the goroutines. cost is the caller's
// estimate of the work per index (for example the row length of a matrix);
// pass 1 when unsure. fn must be safe to run concurrently on disjoint
// chunks.
func For(n, cost int, fn func(lo, hi int)) {
	if n <= 0 {
		return
	}
	workers := runtime.GOMAXPROCS(0)
	if cost < 1 {
		cost = 1
	}
	if w := n * cost / minChunk; w < workers {
		workers = w
	}
	if workers > n {
		workers = n
	}
	if workers <= 1 {
		fn(0, n)
		return
	}
	var wg sync.WaitGroup
	chunk := (n + workers - 1) / workers
	for lo := 0; lo < n; lo += chunk {
		hi := min(lo+chunk, n)
		wg.Add(1)
		go func() {
			defer wg.Done()
			fn(lo, hi)
		}()
	}
	wg.Wait()
}
