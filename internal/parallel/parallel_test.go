package parallel

import (
	"sync/atomic"
	"testing"
)

func TestForCoversEveryIndexOnce(t *testing.T) {
	for _, tc := range []struct{ n, cost int }{{0, 1}, {1, 1}, {7, 1}, {1000, 1 << 12}, {1001, 1 << 14}, {3, 1 << 20}} {
		hits := make([]int32, tc.n)
		For(tc.n, tc.cost, func(lo, hi int) {
			for i := lo; i < hi; i++ {
				atomic.AddInt32(&hits[i], 1)
			}
		})
		for i, h := range hits {
			if h != 1 {
				t.Fatalf("n=%d cost=%d: index %d visited %d times", tc.n, tc.cost, i, h)
			}
		}
	}
}
