//go:build !(goexperiment.simd && amd64)

package flow

// Without GOEXPERIMENT=simd on amd64 the elementwise loops are the scalar
// ones of activation.go and shallow.go (see vec_simd_amd64.go).

// vectorRows reports whether the vector loops run: never in this build.
const vectorRows = false

// gradLapRowVec does nothing in this build: the scalar loop does it all.
func (a Activation) gradLapRowVec(d, m, u, b, w, r []float64) (l float64, done int) {
	return 0, 0
}

// vjpRowVec does nothing in this build: the scalar loop does it all.
func (a Activation) vjpRowVec(c, dd, dw, db, diag, m, g, w, r []float64, mu float64, needP bool) int {
	return 0
}
