//go:build !(goexperiment.simd && amd64)

package symmetry

// Without GOEXPERIMENT=simd on amd64 the loops of Multiscale are the
// scalar ones of multiscale.go (see multiscale_simd_amd64.go).

// glLoopVec does nothing in this build: glLoop's scalar loop does it all.
func glLoopVec(hh, oy [][]float64, th []float64, v float64, n int) (done int, sum2 float64) {
	return 0, 0
}

// vjpLoopVec does nothing in this build: vjpLoop's scalar loop does it all.
func vjpLoopVec(hh [][]float64, dk []float64, oy, ol [][]float64, th []float64, v, mr float64, n int) (done int, tg, sum2 float64) {
	return 0, 0, 0
}
