package symmetry

import (
	"cmp"
	"slices"
	"sync"
)

// workPool hands per-goroutine scratch of type W to the chunks of a batch
// (parallel.For) and keeps, for the parameter adjoints of a VJP call, the
// scratch of each chunk apart: a chunk's sums are never added into
// another's, and they are reduced in the order of the chunks, so that the
// adjoints are the same bit for bit however the goroutines were scheduled.
type workPool[W any] struct {
	mu   sync.Mutex
	free []*W
	all  []*W          // every work made, for clearing the accumulators before a VJP call
	used []keptWork[W] // per VJP call: the works of its chunks
}

// keptWork is the work of the chunk of a VJP call from sample lo.
type keptWork[W any] struct {
	lo int
	w  *W
}

// get returns a free work, or a new one made by newWork.
func (p *workPool[W]) get(newWork func() *W) *W {
	p.mu.Lock()
	defer p.mu.Unlock()
	if k := len(p.free); k > 0 {
		w := p.free[k-1]
		p.free = p.free[:k-1]
		return w
	}
	w := newWork()
	p.all = append(p.all, w)
	return w
}

// put frees w.
func (p *workPool[W]) put(w *W) {
	p.mu.Lock()
	p.free = append(p.free, w)
	p.mu.Unlock()
}

// keep records w, which holds the sums of the chunk of a VJP call from
// sample lo, for its reduction (releaseUsed).
func (p *workPool[W]) keep(w *W, lo int) {
	p.mu.Lock()
	p.used = append(p.used, keptWork[W]{lo, w})
	p.mu.Unlock()
}

// releaseUsed returns the works kept since the last call ordered by their
// chunks, the order of a reduction that is the same on every run, and
// frees them. It is called after the chunks are done.
func (p *workPool[W]) releaseUsed() []*W {
	slices.SortFunc(p.used, func(a, b keptWork[W]) int { return cmp.Compare(a.lo, b.lo) })
	used := make([]*W, len(p.used))
	for i, k := range p.used {
		used[i] = k.w
	}
	p.free = append(p.free, used...)
	p.used = p.used[:0]
	return used
}
