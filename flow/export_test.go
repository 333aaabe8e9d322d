package flow

// SetCirculantPath forces the products of q through the dense S̄ ("dense")
// or the FFT ("fft"), or lets N choose (""), for the tests and benchmarks
// that compare the two paths.
func SetCirculantPath(q *CirculantQuadratic, path string) {
	switch path {
	case "dense":
		q.path = pathDense
	case "fft":
		q.path = pathFFT
	case "":
		q.path = pathAuto
	default:
		panic("flow: SetCirculantPath: unknown path " + path)
	}
}

// SaturateHalf saturates every other unit of s (see saturateHalf).
func SaturateHalf(s *Shallow) { saturateHalf(s) }
