package flow

import "gonum.org/v1/gonum/mat"

// reuse returns a slice of length n, reusing s's storage when it can.
func reuse(s []float64, n int) []float64 {
	if cap(s) < n {
		return make([]float64, n)
	}
	return s[:n]
}

// reuseDense returns an r×c contiguous matrix, reusing m's storage when it
// can. The contents are unspecified.
func reuseDense(m *mat.Dense, r, c int) *mat.Dense {
	if m != nil {
		if mr, mc := m.Dims(); mr == r && mc == c && m.RawMatrix().Stride == c {
			return m
		}
		if data := m.RawMatrix().Data; cap(data) >= r*c {
			return mat.NewDense(r, c, data[:r*c])
		}
	}
	return mat.NewDense(r, c, nil)
}
