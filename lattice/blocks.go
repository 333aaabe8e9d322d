package lattice

import (
	"slices"
	"strconv"
	"strings"
)

// MultiscaleBlocks returns the blocks of sites of a hierarchy of coarse
// grainings of the lattice, the block spins of a real-space renormalisation
// group, coarsest first. At level k = 0, 1, … axis a is cut into intervals
// of s_a = max(1, L_a >> k) sites (L_a >> k is L_a/2^k rounded down), so
// that level 0 is the whole lattice and the last level the single sites;
// the blocks of a level are the products of one interval per axis and tile
// the lattice. Each level with a side 1 < s_a < L_a has a second tiling,
// shifted by ⌊s_a/2⌋ along those axes, so that no face between blocks is a
// face at every level. Where s_a does not divide L_a the last interval of
// an axis is shorter; on an open axis the shifted tiling starts with the
// piece [0, ⌊s_a/2⌋), on a periodic axis its last interval wraps around to
// it. A block with the same sites as one listed before is left out. The
// sites of each block are in increasing order.
//
// On the 16×16 torus there are 1 + 8 + 32 + 128 + 256 = 425 blocks: the
// lattice, the 8×8, 4×4 and 2×2 blocks of two tilings each, and the sites.
func (l *Lattice) MultiscaleBlocks() [][]int {
	d := l.Dim()
	var blocks [][]int
	seen := make(map[string]bool)
	add := func(sites []int) {
		slices.Sort(sites)
		var key strings.Builder
		for _, i := range sites {
			key.WriteString(strconv.Itoa(i))
			key.WriteByte(',')
		}
		if k := key.String(); !seen[k] {
			seen[k] = true
			blocks = append(blocks, sites)
		}
	}
	side := make([]int, d)
	for k := 0; ; k++ {
		last, shifted := true, false
		for a := range side {
			side[a] = max(1, l.shape[a]>>k)
			last = last && side[a] == 1
			shifted = shifted || (side[a] > 1 && side[a] < l.shape[a])
		}
		for _, shift := range []bool{false, true} {
			if shift && !shifted {
				continue
			}
			axes := make([][][]int, d) // per axis, the intervals as lists of coordinates
			for a := range axes {
				off := 0
				if shift && side[a] < l.shape[a] {
					off = side[a] / 2
				}
				axes[a] = l.intervals(a, side[a], off)
			}
			l.forProducts(axes, add)
		}
		if last {
			return blocks
		}
	}
}

// intervals cuts axis a into intervals of s coordinates starting at off
// (see MultiscaleBlocks).
func (l *Lattice) intervals(a, s, off int) [][]int {
	L := l.shape[a]
	var out [][]int
	if off > 0 && l.boundary == Open {
		out = append(out, seq(0, off))
	}
	for start := off; start < off+L; start += s {
		end := min(start+s, off+L)
		if l.boundary == Open {
			end = min(end, L)
			if start >= L {
				break
			}
		}
		iv := seq(start, end)
		for i := range iv {
			iv[i] %= L
		}
		out = append(out, iv)
	}
	return out
}

// seq returns lo, lo+1, …, hi−1.
func seq(lo, hi int) []int {
	out := make([]int, 0, hi-lo)
	for i := lo; i < hi; i++ {
		out = append(out, i)
	}
	return out
}

// forProducts calls fn with the sites of every product of one interval per
// axis.
func (l *Lattice) forProducts(axes [][][]int, fn func(sites []int)) {
	d := len(axes)
	pick := make([]int, d)
	coords := make([]int, d)
	for {
		var sites []int
		var rec func(a int)
		rec = func(a int) {
			if a == d {
				sites = append(sites, l.Index(coords))
				return
			}
			for _, c := range axes[a][pick[a]] {
				coords[a] = c
				rec(a + 1)
			}
		}
		rec(0)
		fn(sites)
		a := d - 1
		for ; a >= 0; a-- {
			pick[a]++
			if pick[a] < len(axes[a]) {
				break
			}
			pick[a] = 0
		}
		if a < 0 {
			return
		}
	}
}
