package ising

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/isingflow/isingflow/lattice"
)

// TestFieldGivenSpins checks x | s ~ N(K's, K') by the sample mean and
// covariance of many draws at fixed spins, each entry within 5σ of its
// standard error, on the FFT path (periodic) and the Cholesky path (open).
func TestFieldGivenSpins(t *testing.T) {
	const draws = 20000
	for i, tc := range []struct {
		shape []int
		b     lattice.Boundary
	}{
		{[]int{4, 4}, lattice.Periodic},
		{[]int{2, 2}, lattice.Periodic}, // doubly bonded pairs
		{[]int{3, 3}, lattice.Open},
		{[]int{3, 4}, lattice.Periodic}, // odd length
	} {
		lat := mustLattice(t, tc.shape, tc.b)
		r := mustRelaxation(t, lat, 2.269, 0.1, autoInverse)
		n := lat.N()
		rng := rand.New(rand.NewPCG(uint64(i), 3))
		s := make([]float64, n)
		for k := range s {
			s[k] = float64(2*rng.IntN(2) - 1)
		}
		spins := mat.NewDense(draws, n, nil)
		for b := range draws {
			copy(spins.RawRowView(b), s)
		}
		x := mat.NewDense(draws, n, nil)
		r.FieldGivenSpins(x, spins, rng)

		kp := mat.NewDense(n, n, nil) // K' = βA + αI
		kp.Copy(lat.Coupling(r.Beta(), 1))
		for k := range n {
			kp.Set(k, k, kp.At(k, k)+r.Alpha())
		}
		var want mat.VecDense
		want.MulVec(kp, mat.NewVecDense(n, s))

		name := fmt.Sprintf("%v", lat)
		mean := make([]float64, n)
		for b := range draws {
			for k, v := range x.RawRowView(b) {
				mean[k] += v / draws
			}
		}
		for k := range n {
			se := math.Sqrt(kp.At(k, k) / draws)
			if d := math.Abs(mean[k] - want.AtVec(k)); !(d <= 5*se) {
				t.Errorf("%s: mean x_%d = %.4f, want (K's)_%d = %.4f (%.1fσ)", name, k, mean[k], k, want.AtVec(k), d/se)
			}
		}
		for k := range n {
			for l := k; l < n; l++ {
				c := 0.0
				for b := range draws {
					row := x.RawRowView(b)
					c += (row[k] - mean[k]) * (row[l] - mean[l])
				}
				c /= draws - 1
				wkl := kp.At(k, l)
				se := math.Sqrt((kp.At(k, k)*kp.At(l, l) + wkl*wkl) / draws)
				if d := math.Abs(c - wkl); !(d <= 5*se) {
					t.Errorf("%s: cov(x_%d, x_%d) = %.4f, want K'_%d%d = %.4f (%.1fσ)", name, k, l, c, k, l, wkl, d/se)
				}
			}
		}
	}
}
