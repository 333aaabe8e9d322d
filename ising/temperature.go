package ising

import (
	"fmt"
	"math"
)

// maxBetaEnergy bounds β·2dN, the largest reduced energy β|E| of a
// lattice of N sites in d dimensions (dN bonds) with room to spare, so
// that β|E| and its square, which the specific heat and the susceptibility
// multiply by, stay finite in float64.
const maxBetaEnergy = 1e150

// shiftResolution is the smallest ratio δ/(2dβ) that the relaxation keeps:
// the eigenvalues of K' = βA + αI, α = δ − βλ_min, are differences of
// numbers of size 2dβ, exact to about 2dβ·2⁻⁵², and the smallest of them
// must keep δ to about twelve digits.
const shiftResolution = 0x1p-40

// MinTemperature returns the smallest temperature at which the Ising
// thermodynamics of a d-dimensional lattice of n sites stay within
// float64: β·2dN ≤ 10¹⁵⁰. Below it β = 1/T (1/T overflows below about
// 5·10⁻³⁰⁹), the energies times β, or their squares overflow and the
// exact values, the Monte Carlo estimates and the relaxation turn into
// infinities and NaN.
func MinTemperature(dim int, sites int64) float64 {
	return 2 * float64(max(dim, 1)) * float64(max(sites, 1)) / maxBetaEnergy
}

// MinRelaxationTemperature returns the smallest temperature at which the
// relaxation of shift delta on a d-dimensional lattice of n sites is
// computed faithfully: the larger of MinTemperature and 2d·2⁻⁴⁰/δ, below
// which the smallest eigenvalue δ of K' is lost to rounding against the
// couplings βA (at δ = 0.1 in two dimensions, T ≈ 3.6·10⁻¹¹).
func MinRelaxationTemperature(dim int, sites int64, delta float64) float64 {
	return max(MinTemperature(dim, sites), 2*float64(max(dim, 1))*shiftResolution/delta)
}

// CheckTemperature returns an error when T is not a positive, finite
// temperature at least MinTemperature(dim, sites), or, with delta > 0 (a
// relaxation of that shift), at least MinRelaxationTemperature. The error
// is one line saying why, for the caller to prefix with the temperature
// ("-T 1e-320: too small: …").
func CheckTemperature(T float64, dim int, sites int64, delta float64) error {
	if !(T > 0) || math.IsInf(T, 0) {
		return fmt.Errorf("need a positive, finite temperature")
	}
	if lo := MinTemperature(dim, sites); T < lo {
		return fmt.Errorf("too small: β = 1/T = %g times the energies of %d sites overflows float64 (need T ≥ %.3g)",
			1/T, max(sites, 1), lo)
	}
	if delta > 0 {
		if lo := MinRelaxationTemperature(dim, sites, delta); T < lo {
			return fmt.Errorf("too small for the relaxation's shift δ = %g: the couplings 2dβ = %.3g swamp δ in float64 (need T ≥ %.3g)",
				delta, 2*float64(max(dim, 1))/T, lo)
		}
	}
	return nil
}
