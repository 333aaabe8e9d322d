package lattice_test

import (
	"reflect"
	"slices"
	"testing"

	"github.com/isingflow/isingflow/lattice"
)

func TestMultiscaleBlocksSmall(t *testing.T) {
	tests := []struct {
		shape []int
		b     lattice.Boundary
		want  [][]int
	}{
		// Level 0: the chain; level 1: pairs, and pairs shifted by one (the
		// last wraps around); level 2: the sites.
		{[]int{4}, lattice.Periodic, [][]int{{0, 1, 2, 3}, {0, 1}, {2, 3}, {1, 2}, {0, 3}, {0}, {1}, {2}, {3}}},
		// Open: the shifted tiling starts with the piece [0, 1) and ends cut
		// at the edge.
		{[]int{4}, lattice.Open, [][]int{{0, 1, 2, 3}, {0, 1}, {2, 3}, {0}, {1, 2}, {3}, {1}, {2}}},
		// 7 = 3 + 3 + 1: the last interval is shorter.
		{[]int{7}, lattice.Open, [][]int{{0, 1, 2, 3, 4, 5, 6}, {0, 1, 2}, {3, 4, 5}, {6}, {0}, {1, 2, 3}, {4, 5, 6}, {1}, {2}, {3}, {4}, {5}}},
		// A 2×4 torus: sides (1, 2) at level 1, shifted along the second
		// axis only.
		{[]int{2, 4}, lattice.Periodic, [][]int{
			{0, 1, 2, 3, 4, 5, 6, 7},
			{0, 1}, {2, 3}, {4, 5}, {6, 7},
			{1, 2}, {0, 3}, {5, 6}, {4, 7},
			{0}, {1}, {2}, {3}, {4}, {5}, {6}, {7}}},
	}
	for _, tc := range tests {
		lat, err := lattice.New(tc.shape, tc.b)
		if err != nil {
			t.Fatal(err)
		}
		if got := lat.MultiscaleBlocks(); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%v: blocks\n%v\nwant\n%v", lat, got, tc.want)
		}
	}
}

// On L^d lattices with L a power of two every level but the first and the
// last is two tilings of (L/2^k)^d blocks, each a partition of the sites.
func TestMultiscaleBlocksTilings(t *testing.T) {
	tests := []struct {
		d, L  int
		b     lattice.Boundary
		count int
	}{
		{2, 16, lattice.Periodic, 1 + 8 + 32 + 128 + 256},
		{2, 32, lattice.Periodic, 1 + 8 + 32 + 128 + 512 + 1024},
		{3, 4, lattice.Periodic, 1 + 16 + 64},
		// Open: the shifted tilings have 3² and 5² blocks; their corner
		// pieces are the first 2×2 blocks (four of which the unshifted
		// tiling of the next level then repeats) and the first four sites.
		{2, 8, lattice.Open, 1 + (4 + 9) + (16 + 25 - 4) + (64 - 4)},
	}
	for _, tc := range tests {
		lat, err := lattice.NewHypercubic(tc.d, tc.L, tc.b)
		if err != nil {
			t.Fatal(err)
		}
		blocks := lat.MultiscaleBlocks()
		if len(blocks) != tc.count {
			t.Errorf("%v: %d blocks, want %d", lat, len(blocks), tc.count)
		}
		if len(blocks[0]) != lat.N() {
			t.Errorf("%v: the first block has %d sites, want all %d", lat, len(blocks[0]), lat.N())
		}
		// Group the blocks by size: each size of a periodic lattice is
		// whole tilings, so every site is covered equally often.
		cover := map[int][]int{}
		for i, b := range blocks {
			if !slices.IsSorted(b) || len(slices.Compact(slices.Clone(b))) != len(b) {
				t.Fatalf("%v: block %d = %v not sorted or repeats a site", lat, i, b)
			}
			if cover[len(b)] == nil {
				cover[len(b)] = make([]int, lat.N())
			}
			for _, s := range b {
				cover[len(b)][s]++
			}
			for _, c := range blocks[:i] {
				if slices.Equal(b, c) {
					t.Fatalf("%v: block %d = %v listed twice", lat, i, b)
				}
			}
		}
		if tc.b != lattice.Periodic {
			continue
		}
		for size, c := range cover {
			want := 2
			if size == 1 || size == lat.N() {
				want = 1
			}
			for s, n := range c {
				if n != want {
					t.Errorf("%v: site %d is in %d blocks of %d sites, want %d", lat, s, n, size, want)
					break
				}
			}
		}
	}
}
