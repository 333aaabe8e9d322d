package validation

import (
	"math"
	"sync"

	"gonum.org/v1/gonum/integrate/quad"
	"gonum.org/v1/gonum/mathext"
)

// CriticalTemperature is Onsager's critical temperature of the square-lattice
// Ising model, T_c = 2/ln(1+√2) (J = k_B = 1).
const CriticalTemperature = 2.269185314213021968114490810306572475726

// CriticalCoupling is K_c = 1/T_c = ln(1+√2)/2, where sinh 2K_c = 1.
const CriticalCoupling = 0.4406867935097715126163046624898961545141

// criticalTemperatureLo is T_c − CriticalTemperature, the rounding error of
// the float64 constant.
const criticalTemperatureLo = -8.5194541533952749214e-17

// couplingOffset returns K − K_c = (T_c − T)/(T T_c) to full relative
// accuracy, even for T within a few ulps of T_c, where 1/T − K_c would
// cancel.
func couplingOffset(T float64) float64 {
	return ((CriticalTemperature - T) + criticalTemperatureLo) / (T * CriticalTemperature)
}

// sinhMinusOne returns sinh 2K − 1 = 2 cosh(K + K_c) sinh(K − K_c) at K = 1/T,
// accurate near T_c.
func sinhMinusOne(T float64) float64 {
	return 2 * math.Cosh(1/T+CriticalCoupling) * math.Sinh(couplingOffset(T))
}

// onsagerModulus returns, at temperature T, the modulus
// k = 2 sinh 2K / cosh² 2K of Onsager's solution, its complement
// k' = |1 − sinh² 2K| / cosh² 2K = √(1−k²), computed without cancellation,
// and sgn(K − K_c) = sgn(2 tanh² 2K − 1), so that 2 tanh² 2K − 1 = sgn·k'.
func onsagerModulus(T float64) (k, kp, sgn float64) {
	K := 1 / T
	var signed float64 // 2 tanh² 2K − 1 = (sinh² 2K − 1)/cosh² 2K
	if K < 1 {
		s := math.Sinh(2 * K)
		c2 := 1 + s*s
		k = 2 * s / c2
		signed = sinhMinusOne(T) * (s + 1) / c2
	} else {
		sech := 1 / math.Cosh(2*K)
		k = 2 * math.Tanh(2*K) * sech
		signed = 1 - 2*sech*sech
	}
	sgn = -1
	if signed > 0 {
		sgn = 1
	}
	return k, math.Abs(signed), sgn
}

// ellipticK returns the complete elliptic integral of the first kind
// K(k) = ∫₀^{π/2} dθ/√(1 − k² sin²θ) from the complementary modulus
// k' = √(1−k²), as π/(2·AGM(1, k')). Unlike a function of m = k², it keeps
// full relative accuracy as k → 1 (k' → 0), where K ≈ ln(4/k').
func ellipticK(kp float64) float64 {
	if kp == 0 {
		return math.Inf(1)
	}
	a, b := 1.0, kp
	for i := 0; i < 64 && math.Abs(a-b) > 4e-16*a; i++ {
		a, b = 0.5*(a+b), math.Sqrt(a*b)
	}
	return math.Pi / (a + b)
}

// legendre20 holds the 20-point Gauss–Legendre rule on [−1, 1].
var legendre20 struct {
	once sync.Once
	x, w [20]float64
}

func gaussLegendre20() (x, w *[20]float64) {
	legendre20.once.Do(func() {
		quad.Legendre{}.FixedLocations(legendre20.x[:], legendre20.w[:], -1, 1)
	})
	return &legendre20.x, &legendre20.w
}

// onsagerIntegral returns ∫₀^{π/2} ln[½(1 + √(k'² + k² sin²φ))] dφ (that is
// Onsager's ∫₀^{π/2} ln[½(1 + √(1 − k² cos²φ))] dφ with φ ↦ π/2 − φ).
//
// The integrand is analytic but, near T_c, has branch points at
// φ = ±iε, ε = asinh(k'/k), close to the end φ = 0. The substitution
// φ = ε sinh v moves them to v = ±iπ/2 whatever ε is, and composite
// 20-point Gauss–Legendre panels of width ≤ 1 in v then converge to
// machine precision. Far from T_c (ε ≥ 1) and at T_c itself (k' = 0, where
// the integrand is ln[½(1 + sin φ)]), plain panels in φ suffice.
func onsagerIntegral(k, kp float64) float64 {
	if k == 0 {
		return 0
	}
	f := func(phi float64) float64 {
		sp, cp := math.Sincos(phi)
		w := math.Hypot(kp, k*sp)
		// ½(1+w) − 1 = −k² cos²φ / (2(1+w)): no cancellation near 0.
		return math.Log1p(-k * k * cp * cp / (2 * (1 + w)))
	}
	x, w := gaussLegendre20()
	eps := math.Asinh(kp / k)
	if eps >= 1 || eps < 1e-20 {
		// For ε < 1e-20 the neglected kink changes the integral by
		// O(ε² ln ε), far below rounding.
		const panels = 8
		h := math.Pi / 2 / panels
		sum := 0.0
		for p := 0; p < panels; p++ {
			mid := (float64(p) + 0.5) * h
			ps := 0.0
			for i := range x {
				ps += w[i] * f(mid+0.5*h*x[i])
			}
			sum += 0.5 * h * ps
		}
		return sum
	}
	vmax := math.Asinh(math.Pi / 2 / eps)
	panels := int(math.Ceil(vmax))
	h := vmax / float64(panels)
	sum := 0.0
	for p := 0; p < panels; p++ {
		mid := (float64(p) + 0.5) * h
		ps := 0.0
		for i := range x {
			v := mid + 0.5*h*x[i]
			phi := eps * math.Sinh(v)
			if phi > math.Pi/2 {
				phi = math.Pi / 2
			}
			ps += w[i] * f(phi) * eps * math.Cosh(v)
		}
		sum += 0.5 * h * ps
	}
	return sum
}

// lnTwoCosh returns ln(2 cosh x) without overflow.
func lnTwoCosh(x float64) float64 {
	x = math.Abs(x)
	return x + math.Log1p(math.Exp(-2*x))
}

// OnsagerLnZPerSite returns −βf_∞ = lim ln Z / N of the square-lattice Ising
// model at temperature T (J = 1), from Onsager's solution
//
//	−βf_∞ = ln(2 cosh 2K) + (1/2π) ∫₀^π ln[½(1 + √(1 − k² sin²θ))] dθ,
//
// K = 1/T, k = 2 sinh 2K / cosh² 2K. The integral is evaluated to about
// 1e-16 absolute accuracy at every T, including T_c, where the value is
// ln 2/2 + 2G/π (G Catalan's constant). It returns ln 2 for T = +Inf and NaN
// for T ≤ 0 or NaN.
func OnsagerLnZPerSite(T float64) float64 {
	if !(T > 0) {
		return math.NaN()
	}
	K := 1 / T
	k, kp, _ := onsagerModulus(T)
	return lnTwoCosh(2*K) + onsagerIntegral(k, kp)/math.Pi
}

// OnsagerFreeEnergyPerSite returns Onsager's free energy per site
// f_∞ = −T·(ln Z/N) at temperature T (J = 1). It tends to −2 as T → 0 and
// returns NaN for T ≤ 0 or NaN.
func OnsagerFreeEnergyPerSite(T float64) float64 {
	if math.IsInf(T, 1) {
		return math.Inf(-1)
	}
	return -T * OnsagerLnZPerSite(T)
}

// OnsagerEnergyPerSite returns the internal energy per site of the infinite
// square lattice at temperature T (J = 1),
//
//	u_∞ = −coth 2K [1 + (2/π)(2 tanh² 2K − 1) K₁(k)],
//
// with K₁ the complete elliptic integral of the first kind of modulus k. At
// T_c the product (2 tanh² 2K − 1)K₁ vanishes and u_∞ = −√2. It returns NaN
// for T ≤ 0 or NaN.
func OnsagerEnergyPerSite(T float64) float64 {
	if !(T > 0) {
		return math.NaN()
	}
	if math.IsInf(T, 1) {
		return 0
	}
	K := 1 / T
	k, kp, sgn := onsagerModulus(T)
	// 2 tanh² 2K − 1 = sgn·k', so the bracket is 1 + sgn(1 − U(k²)) with
	// U = 1 − (2/π)k'K₁, which vanishes like k²/4 at high and low T.
	U := onsagerU(k*k, kp)
	if sgn > 0 {
		return -(2 - U) / math.Tanh(2*K)
	}
	return -U / math.Tanh(2*K)
}

// OnsagerSpecificHeatPerSite returns the specific heat per site
// c_∞ = −K² du_∞/dK (k_B = 1) of the infinite square lattice,
//
//	c_∞ = (4/π)(K coth 2K)² {K₁ − E₁ − sech² 2K [π/2 + (2 tanh² 2K − 1) K₁]},
//
// with K₁, E₁ the complete elliptic integrals of modulus k (E₁ from
// mathext.CompleteE). It diverges logarithmically at T_c; it returns +Inf
// at T = CriticalTemperature, the float64 nearest T_c (where the formula
// would give ≈ 18). It returns NaN for T ≤ 0 or NaN.
//
// Below T_c, sech² 2K = (1−k')/2 and the braces are O(k⁴) ∝ e^{−8K}
// while their terms are O(k²): there and above T_c, where sech² 2K =
// (1+k')/2, a power series in m = k² replaces the closed form for m < 0.5,
// so that c_∞ keeps its relative accuracy at high and low T.
func OnsagerSpecificHeatPerSite(T float64) float64 {
	if !(T > 0) {
		return math.NaN()
	}
	if math.IsInf(T, 1) {
		return 0
	}
	if T == CriticalTemperature {
		return math.Inf(1)
	}
	K := 1 / T
	k, kp, sgn := onsagerModulus(T)
	if kp == 0 {
		return math.Inf(1)
	}
	if k == 0 {
		return 0
	}
	B := onsagerB(k*k, kp, sgn)
	kc := K / math.Tanh(2*K)
	return 4 / math.Pi * kc * kc * B
}

// onsagerSeries holds the Taylor coefficients in m = k² of
// U(m) = 1 − √(1−m)·(2/π)K(m) and of (2/π)B±(m), where
// B±(m) = K(m) − E(m) − ½(1 ∓ √(1−m))(π/2 ± √(1−m)K(m))
// are the braces of the specific heat below (+) and above (−) T_c.
var onsagerSeries struct {
	once           sync.Once
	u, bLow, bHigh [onsagerSeriesLen]float64
}

const (
	onsagerSeriesLen = 64
	onsagerSeriesMax = 0.5 // use the series for m < onsagerSeriesMax
)

func onsagerCoefficients() {
	const n = onsagerSeriesLen
	var kser, eser, sq [n]float64
	a := 1.0
	b := 1.0
	for i := 0; i < n; i++ {
		if i > 0 {
			a *= float64(2*i-1) / float64(2*i)
			b *= float64(2*i-3) / float64(2*i)
		}
		kser[i] = a * a                  // K = (π/2) Σ kser_i m^i
		eser[i] = a * a / float64(1-2*i) // E = (π/2) Σ eser_i m^i
		sq[i] = b                        // √(1−m) = Σ sq_i m^i
	}
	var kpk [n]float64 // √(1−m)·(2/π)K
	for i := 0; i < n; i++ {
		for j := 0; j <= i; j++ {
			kpk[i] += sq[j] * kser[i-j]
		}
	}
	s := &onsagerSeries
	for i := 0; i < n; i++ {
		one := 0.0
		if i == 0 {
			one = 1
		}
		s.u[i] = one - kpk[i]
		var lo, hi float64
		for j := 0; j <= i; j++ {
			oneJ := 0.0
			if j == 0 {
				oneJ = 1
			}
			oneIJ := 0.0
			if i == j {
				oneIJ = 1
			}
			lo += (oneJ - sq[j]) / 2 * (oneIJ + kpk[i-j])
			hi += (oneJ + sq[j]) / 2 * (oneIJ - kpk[i-j])
		}
		s.bLow[i] = kser[i] - eser[i] - lo
		s.bHigh[i] = kser[i] - eser[i] - hi
	}
}

func horner(c *[onsagerSeriesLen]float64, m float64) float64 {
	v := 0.0
	for i := len(c) - 1; i >= 0; i-- {
		v = v*m + c[i]
	}
	return v
}

// onsagerU returns U = 1 − (2/π)k'K₁(k) for m = k².
func onsagerU(m, kp float64) float64 {
	if m < onsagerSeriesMax {
		onsagerSeries.once.Do(onsagerCoefficients)
		return horner(&onsagerSeries.u, m)
	}
	if kp == 0 {
		return 1
	}
	return 1 - 2/math.Pi*kp*ellipticK(kp)
}

// onsagerB returns the braces of the specific heat, B+ below T_c (sgn > 0)
// and B− above.
func onsagerB(m, kp, sgn float64) float64 {
	if m < onsagerSeriesMax {
		onsagerSeries.once.Do(onsagerCoefficients)
		if sgn > 0 {
			return math.Pi / 2 * horner(&onsagerSeries.bLow, m)
		}
		return math.Pi / 2 * horner(&onsagerSeries.bHigh, m)
	}
	k1 := ellipticK(kp)
	e1 := mathext.CompleteE(m)
	if sgn > 0 {
		return k1 - e1 - (1-kp)/2*(math.Pi/2+kp*k1)
	}
	return k1 - e1 - (1+kp)/2*(math.Pi/2-kp*k1)
}

// SpontaneousMagnetization returns the spontaneous magnetisation per site of
// the infinite square lattice, (1 − sinh⁻⁴ 2K)^{1/8} below T_c (Onsager,
// Yang) and 0 at and above T_c. It returns 1 at T = 0 and NaN for T < 0 or
// NaN.
func SpontaneousMagnetization(T float64) float64 {
	if T == 0 {
		return 1
	}
	if !(T > 0) {
		return math.NaN()
	}
	if T >= CriticalTemperature {
		return 0
	}
	s := math.Sinh(2 / T)
	if math.IsInf(s, 1) {
		return 1
	}
	sm1 := sinhMinusOne(T)
	if sm1 <= 0 {
		return 0
	}
	// 1 − s⁻⁴ = (s−1)(s+1)(s²+1)/s⁴, accurate near T_c.
	x := sm1 / s * (1 + 1/s) * (1 + 1/s/s)
	return math.Pow(x, 0.125)
}
