package flow

import (
	"fmt"
	"slices"
	"strings"
)

// spectrumArray is the last element of the name of a spectral quadratic
// part's array (see CirculantQuadratic.ParamLayout).
const spectrumArray = "quadratic/spectrum"

// Transfer sets the parameters of dst from those of src, array by array of
// their layouts (Layout): each array of dst takes the array of src of the
// same name. Arrays of the same shape are copied. A spectral quadratic
// part's spectrum (NewSpectralQuadratic: an array named
// "quadratic/spectrum", or ending in "/quadratic/spectrum") on a torus of
// another size of the same dimension is resampled onto dst's wave vectors
// (ResampleSpectrum), so that the eigenvalues follow the same function of
// the physical wave vector. This is how a flow trained on one lattice
// starts a flow on another, when its other arrays do not depend on the
// lattice's size (symmetry.Multiscale's do not). Any other difference, an
// array one of them lacks or of another shape, is an error that names the
// array, and dst is left unchanged. Both potentials must use the same
// scale γ for their spectra: the arrays hold c(k), not the eigenvalues.
func Transfer(dst, src Potential) error {
	dl, sl := Layout(dst), Layout(src)
	if err := ValidateLayout(sl, len(src.Params())); err != nil {
		return err
	}
	from := make(map[string]ParamBlock, len(sl))
	for _, b := range sl {
		from[b.Name] = b
	}
	sp, dp := src.Params(), dst.Params()
	out := slices.Clone(dp)
	for _, b := range dl {
		s, ok := from[b.Name]
		if !ok {
			return fmt.Errorf("flow: Transfer: the source has no parameter array %s", describeArray(b))
		}
		delete(from, b.Name)
		dv, sv := out[b.Offset:b.Offset+b.Size()], sp[s.Offset:s.Offset+s.Size()]
		switch {
		case slices.Equal(b.Shape, s.Shape):
			copy(dv, sv)
		case isSpectrum(b.Name) && len(b.Shape) == len(s.Shape):
			ResampleSpectrum(dv, b.Shape, sv, s.Shape)
		default:
			return fmt.Errorf("flow: Transfer: the parameter array %s has shape %v in the source, which depends on the lattice", describeArray(b), s.Shape)
		}
	}
	for _, s := range sl {
		if _, left := from[s.Name]; left {
			return fmt.Errorf("flow: Transfer: the source's parameter array %s has no counterpart", describeArray(s))
		}
	}
	copy(dp, out)
	return nil
}

// describeArray names an array of a layout and its shape.
func describeArray(b ParamBlock) string {
	if b.Name == "" {
		return fmt.Sprintf("(unnamed, %v)", b.Shape)
	}
	return fmt.Sprintf("%s %v", b.Name, b.Shape)
}

func isSpectrum(name string) bool {
	return name == spectrumArray || strings.HasSuffix(name, "/"+spectrumArray)
}

// ResampleSpectrum sets dst, a function of the wave vectors of a periodic
// torus of shape dstShape (entry k holds the value at the wave vector whose
// coordinates are k, in units of 2π/L_a, as NewSpectralQuadratic's
// parameters), to the periodic multilinear interpolation of src, the same
// function on a torus of shape srcShape: the wave vector 2πk_a/L'_a lies
// at k_a·L_a/L'_a in src's units, between two of its wave vectors. Where
// the tori share a wave vector (every second one of dst when L' = 2L) the
// value is copied exactly. The interpolation commutes with k → −k, so the
// eigenvalues ½γ(c(k) + c(−k)) are interpolated as well. It panics when the
// shapes differ in dimension or the slices in length.
func ResampleSpectrum(dst []float64, dstShape []int, src []float64, srcShape []int) {
	d := len(dstShape)
	if len(srcShape) != d {
		panic(fmt.Sprintf("flow: ResampleSpectrum: shapes %v and %v of different dimensions", dstShape, srcShape))
	}
	if len(dst) != product(dstShape) || len(src) != product(srcShape) {
		panic(fmt.Sprintf("flow: ResampleSpectrum: %d and %d values for shapes %v and %v", len(dst), len(src), dstShape, srcShape))
	}
	lo, frac := make([]int, d), make([]float64, d)
	coords := make([]int, d)
	for i := range dst {
		rem := i
		for a := d - 1; a >= 0; a-- {
			coords[a] = rem % dstShape[a]
			rem /= dstShape[a]
		}
		for a := range d {
			// k·L/L' exactly in integers: the integer part and the rest.
			num := coords[a] * srcShape[a]
			lo[a] = num / dstShape[a]
			frac[a] = float64(num%dstShape[a]) / float64(dstShape[a])
		}
		v := 0.0
		for corner := range 1 << d {
			w, j := 1.0, 0
			for a := range d {
				c := lo[a]
				if corner&(1<<a) != 0 {
					w *= frac[a]
					c = (c + 1) % srcShape[a]
				} else {
					w *= 1 - frac[a]
				}
				j = j*srcShape[a] + c
			}
			if w != 0 {
				v += w * src[j]
			}
		}
		dst[i] = v
	}
}

func product(shape []int) int {
	n := 1
	for _, l := range shape {
		n *= l
	}
	return n
}
