package validation

import (
	"errors"
	"fmt"
	"math"
)

// Torus holds the exact thermodynamics of the Ising model (J = 1) on the
// periodic L×M square lattice at temperature T, from Kaufman's partition
// function. Per-site quantities are divided by N = L·M.
type Torus struct {
	L, M int     // lattice lengths (L columns per row, M rows)
	T    float64 // temperature

	LnZ                 float64 // ln Z
	LnZPerSite          float64 // ln Z / N = −βf
	FreeEnergyPerSite   float64 // f = −T ln Z / N
	EnergyPerSite       float64 // u = ⟨E⟩/N = −(1/N) ∂ln Z/∂K
	SpecificHeatPerSite float64 // c = β²(⟨E²⟩ − ⟨E⟩²)/N = (K²/N) ∂²ln Z/∂K²
}

// Kaufman returns the exact partition function, energy and specific heat of
// the Ising model (J = 1) on the periodic L×M torus at temperature T
// (Kaufman 1949, in the form of Ferdinand & Fisher 1969):
//
//	Z = ½ (2 sinh 2K)^{N/2} (Z₁ + Z₂ + Z₃ + Z₄),  K = 1/T,
//	Z₁ = Π_{r=0}^{L−1} 2 cosh(½Mγ_{2r+1}),   Z₂ = Π_{r=0}^{L−1} 2 sinh(½Mγ_{2r+1}),
//	Z₃ = Π_{r=0}^{L−1} 2 cosh(½Mγ_{2r}),     Z₄ = Π_{r=0}^{L−1} 2 sinh(½Mγ_{2r}),
//	cosh γ_l = cosh 2K coth 2K − cos(πl/L),  γ₀ = 2K + ln tanh K (signed).
//
// The torus is lattice.New([]int{M, L}, lattice.Periodic) (rows of L sites);
// the result is symmetric in L and M. A periodic axis of length 2 joins its
// two sites by two bonds, as in package lattice, and Kaufman's formula holds
// for it unchanged (checked against enumeration for every torus with
// N ≤ 24, odd lengths included).
//
// Everything is computed in logarithms, and the energy and specific heat
// from analytic first and second K-derivatives of every γ_l (no finite
// differences). The prefactor (2 sinh 2K)^{M/2} is merged into each mode,
// ln[(2 sinh 2K)e^{γ_l}] = ln 2(a + √(a² − s²)) with s = sinh 2K and
// a = 1 + s² − s cos(πl/L), evaluated at 1/s (duality) above K_c; γ₀ = 0
// at T_c, where Z₄ vanishes, is handled exactly; the four products are
// combined by a signed log-sum-exp whose weights come from their
// differences, accumulated mode by mode. ln Z and u are accurate to a few
// ulps for all 2 ≤ L, M and T > 0; c to about 1e-15 relative, 1e-13 near T_c
// at L = 1024. At low T, c = O(K²e^{−8K}) comes out of terms O(e^{−4K}),
// so its relative error grows as 1e-16·e^{4K} (1e-11 at T = 0.3; its
// absolute error is negligible). Cost: O(L) operations, about 0.2 ms for
// L = 1024.
func Kaufman(L, M int, T float64) (Torus, error) {
	if L < 2 || M < 2 {
		return Torus{}, fmt.Errorf("validation: Kaufman: lattice %d×%d, need both lengths at least 2", L, M)
	}
	if !(T > 0) || math.IsInf(T, 1) {
		return Torus{}, fmt.Errorf("validation: Kaufman: temperature %v, need a finite T > 0", T)
	}
	if L > 1<<24 || M > 1<<24 {
		return Torus{}, errors.New("validation: Kaufman: lattice too large")
	}
	K := 1 / T
	n := float64(L) * float64(M)
	var lnZ, d1, d2 float64
	if K < kaufmanSmallK {
		// ln Z = N ln 2 + B ln cosh K + n₂ tanh² K + O(K³), with B = 2N
		// bonds and n₂ pairs joined by two bonds (N/2 per axis of
		// length 2), whose double bond is a closed path of length 2;
		// the next terms (rings of length 3 or 4) are O(K³) relative
		// to these, below rounding for K < 1e-60.
		b := 2 * n
		n2 := 0.0
		if L == 2 {
			n2 += n / 2
		}
		if M == 2 {
			n2 += n / 2
		}
		lnZ = n*math.Ln2 + (b/2+n2)*K*K
		d1 = (b + 2*n2) * K
		d2 = b + 2*n2
	} else {
		lnZ, d1, d2 = kaufmanLnZ(L, M, K)
	}
	return Torus{
		L: L, M: M, T: T,
		LnZ:                 lnZ,
		LnZPerSite:          lnZ / n,
		FreeEnergyPerSite:   -T * lnZ / n,
		EnergyPerSite:       -d1 / n,
		SpecificHeatPerSite: K * K * d2 / n,
	}, nil
}

// kaufmanSmallK is the coupling below which Kaufman uses the high-temperature
// expansion to O(K²), exact to rounding there, instead of the modes (whose
// K-derivatives overflow as K → 0).
const kaufmanSmallK = 1e-60

// coupling holds the functions of K shared by every mode.
type coupling struct {
	K      float64
	s      float64 // sinh 2K
	dual   bool    // s > 1: modes are evaluated at σ = 1/s
	sigma  float64 // s, or 1/s when dual
	lnS    float64 // ln sinh 2K
	coth   float64 // coth 2K
	csch2  float64 // csch² 2K
	dsig   float64 // dσ/dK
	d2sig  float64 // d²σ/dK²
	halfM  float64 // M/2
	lnSd1  float64 // d/dK ln(2 sinh 2K) = 2 coth 2K
	lnSd2  float64 // d²/dK² ln(2 sinh 2K) = −4 csch² 2K
	gamma0 float64 // γ₀ = 2K + ln tanh K
}

func newCoupling(K float64, M int) coupling {
	c := coupling{K: K, halfM: 0.5 * float64(M)}
	c.s = math.Sinh(2 * K)
	// ln sinh 2K = 2K − ln 2 + ln(1 − e^{−4K}).
	c.lnS = 2*K - math.Ln2 + math.Log(-math.Expm1(-4*K))
	if c.s <= 1 {
		c.sigma = c.s
		c.coth = 1 / math.Tanh(2*K)
		c.csch2 = 1 / (c.s * c.s)
		c.dsig = 2 * math.Cosh(2*K)
		c.d2sig = 4 * c.s
	} else {
		c.dual = true
		u := 1 / c.s // 0 when sinh 2K overflows
		c.sigma = u
		c.coth = math.Sqrt(1 + u*u)
		c.csch2 = u * u
		c.dsig = -2 * u * c.coth
		c.d2sig = 4 * u * (1 + 2*u*u)
	}
	c.lnSd1 = 2 * c.coth
	c.lnSd2 = -4 * c.csch2
	if K < 1 {
		c.gamma0 = 2*K + math.Log(math.Tanh(K))
	} else {
		// ln tanh K = −2 atanh(e^{−2K}).
		c.gamma0 = 2*K - 2*math.Atanh(math.Exp(-2*K))
	}
	return c
}

// modeH returns h(σ) = ln 2(a + R) + σ cos θ, where R = √(a² − σ²) and
// a = 1 + σ² − σ cos θ, with its first two σ-derivatives, for 0 < σ ≤ 1;
// s2 = sin²(θ/2), cs = cos θ. It also returns y = cosh γ − 1 = (a − σ)/σ.
//
// ln 2(a + R) = ln 4 − σ cos θ + O(σ²): the added σ cos θ, whose sum over
// the modes of each product vanishes (the l = 0 mode is compensated by the
// caller), removes the O(σ) part of every mode, so that the sums of the
// derivatives do not lose digits to cancellation when σ is small (high T,
// or σ = 1/sinh 2K at low T).
func modeH(sigma, cs, s2 float64) (h, h1, h2, y float64) {
	am := (1-sigma)*(1-sigma) + 2*sigma*s2 // a − σ
	ap := 1 + sigma*sigma + 2*sigma*s2     // a + σ
	a := am + sigma
	R := math.Sqrt(am * ap)
	F := a + R
	h = math.Log(2*F) + sigma*cs
	y = am / sigma
	rr1 := (s2-(1-sigma))*ap + am*(sigma+s2) // R dR/dσ = a a_σ − σ
	r1 := rr1 / R
	if sigma <= 0.5 {
		// hs = (a_σ − σ/F)/R and, with 1 − R² = σ[σ − (σ−c)(a+1)],
		// hs + c = σ[2 − 1/F − c(σ − (σ−c)(a+1))/(1+R)]/R.
		h1 = sigma * (2 - 1/F - cs*(sigma-(sigma-cs)*(a+1))/(1+R)) / R
		hs := h1 - cs
		n1 := 2 - 1/F + sigma*hs/F // d/dσ (a_σ − σ/F)
		h2 = (n1 - hs*r1) / R
	} else {
		// hs = 1/σ + (σ² − 1)/(σR), well conditioned near σ = 1.
		hs := 1/sigma + (sigma*sigma-1)/(sigma*R)
		h1 = hs + cs
		h2 = -1/(sigma*sigma) + 2/R - (sigma*sigma-1)*(R+sigma*r1)/(sigma*sigma*R*R)
	}
	return h, h1, h2, y
}

// mode returns, for mode l ≥ 1 of an axis of length L, g = ln(2 sinh 2K) + γ
// + σ cos θ (see modeH) with its K-derivatives, and x = (M/2)γ with its
// K-derivatives.
func (c *coupling) mode(l, L int) (g, g1, g2, x, x1, x2 float64) {
	theta := math.Pi * float64(l) / float64(L)
	sh := math.Sin(theta / 2)
	cs := math.Cos(theta)
	h, h1, h2, y := modeH(c.sigma, cs, sh*sh)
	if c.dual {
		g = 2*c.lnS + h
		g1 = 4*c.coth + h1*c.dsig
		g2 = -8*c.csch2 + h2*c.dsig*c.dsig + h1*c.d2sig
	} else {
		g = h
		g1 = h1 * c.dsig
		g2 = h2*c.dsig*c.dsig + h1*c.d2sig
	}
	var gamma float64
	switch {
	case math.IsInf(y, 1):
		gamma = math.Inf(1)
	case y > 1e150:
		gamma = math.Ln2 + math.Log1p(y)
	default:
		gamma = math.Log1p(y + math.Sqrt(y*(y+2)))
	}
	x = c.halfM * gamma
	// γ' = g' − cos θ σ' − 2 coth 2K, γ'' = g'' − cos θ σ'' + 4 csch² 2K.
	x1 = c.halfM * (g1 - cs*c.dsig - c.lnSd1)
	x2 = c.halfM * (g2 - cs*c.d2sig - c.lnSd2)
	return g, g1, g2, x, x1, x2
}

// part is a contribution to the logarithm of a product: its value and its
// first two K-derivatives.
type part struct{ v, d, d2 float64 }

func (p part) minus(q part) part { return part{p.v - q.v, p.d - q.d, p.d2 - q.d2} }
func (p part) plus(q part) part  { return part{p.v + q.v, p.d + q.d, p.d2 + q.d2} }

// coshPart returns ln(1 + e^{−2x}), x ≥ 0, and its K-derivatives, given
// those of x: the part of ln 2cosh x beyond x.
func coshPart(x, x1, x2 float64) part {
	q := math.Exp(-2 * x)
	if q == 0 {
		return part{}
	}
	tm1 := -2 * q / (1 + q)               // tanh x − 1
	xs := 2 * math.Sqrt(q) / (1 + q) * x1 // x' sech x
	return part{math.Log1p(q), x1 * tm1, x2*tm1 + xs*xs}
}

// sinhPart returns ln(1 − e^{−2x}), x > 0, and its K-derivatives: the part
// of ln 2sinh x beyond x.
func sinhPart(x, x1, x2 float64) part {
	q := math.Exp(-2 * x)
	if q == 0 {
		return part{}
	}
	omq := -math.Expm1(-2 * x)        // 1 − q
	cm1 := 2 * q / omq                // coth x − 1
	xs := 2 * math.Sqrt(q) / omq * x1 // x' csch x
	return part{math.Log(omq), x1 * cm1, x2*cm1 - xs*xs}
}

// ksum is a Neumaier compensated sum.
type ksum struct{ s, c float64 }

func (k *ksum) add(x float64) {
	t := k.s + x
	if math.Abs(k.s) >= math.Abs(x) {
		k.c += (k.s - t) + x
	} else {
		k.c += (x - t) + k.s
	}
	k.s = t
}

func (k *ksum) val() float64 { return k.s + k.c }

// partSum accumulates parts with compensated sums.
type partSum struct{ v, d, d2 ksum }

func (s *partSum) add(p part) {
	s.v.add(p.v)
	s.d.add(p.d)
	s.d2.add(p.d2)
}

func (s *partSum) val() part { return part{s.v.val(), s.d.val(), s.d2.val()} }

// kaufmanLnZ returns ln Z of the L×M torus at coupling K and its first two
// K-derivatives.
//
// Each of the four products (with the prefactor (2 sinh 2K)^{N/2} shared
// among its modes) is written Z_i = e^{ℓ_i}·a_i, with derivatives
// Z_i′ = e^{ℓ_i}(a_i d_i + p_i) and Z_i″ = e^{ℓ_i}(a_i(e_i + d_i²) + 2p_i d_i + r_i),
// where ℓ_i, d_i, e_i are the log-product and its K-derivatives; a_i = 1 and
// p_i = r_i = 0 except for Z₄, whose l = 0 factor 2 sinh(½Mγ₀) vanishes at
// T_c. ℓ₁, d₁, e₁ are O(N) sums; the other terms are carried as the
// differences ℓ_i − ℓ₁, d_i − d₁, e_i − e₁, accumulated mode by mode, since
// the weights of the four terms depend on these differences, which are O(1)
// at T_c, and would otherwise inherit the rounding of O(N) numbers.
func kaufmanLnZ(L, M int, K float64) (lnZ, d1, d2 float64) {
	c := newCoupling(K, M)
	var base partSum
	var diff [4]partSum // diff[i]: term i minus term 0; diff[0] stays 0
	var a4, p4, r4 float64
	for r := 0; r < L; r++ {
		gOdd, gOdd1, gOdd2, x, x1, x2 := c.mode(2*r+1, L)
		pOdd := part{c.halfM * gOdd, c.halfM * gOdd1, c.halfM * gOdd2}
		cpOdd := coshPart(x, x1, x2)
		cmOdd := sinhPart(x, x1, x2)
		base.add(pOdd.plus(cpOdd))
		diff[1].add(cmOdd.minus(cpOdd))
		if r > 0 {
			g, g1, g2, x, x1, x2 := c.mode(2*r, L)
			// (M/2)(g_even − g_odd): the subtraction is exact, the
			// rounding is that of the g's alone.
			dp := part{c.halfM * (g - gOdd), c.halfM * (g1 - gOdd1), c.halfM * (g2 - gOdd2)}
			diff[2].add(dp.plus(coshPart(x, x1, x2).minus(cpOdd)))
			diff[3].add(dp.plus(sinhPart(x, x1, x2).minus(cpOdd)))
			continue
		}
		g0, g01, g02, x0, x01, x02, sg := c.modeZero()
		dp := part{c.halfM * (g0 - gOdd), c.halfM * (g01 - gOdd1), c.halfM * (g02 - gOdd2)}
		ax0, ax01, ax02 := sg*x0, sg*x01, sg*x02 // |x₀| and its derivatives
		// Z₃: e^{(M/2)G}(1 + e^{−2|x₀|}).
		diff[2].add(dp.plus(coshPart(ax0, ax01, ax02).minus(cpOdd)))
		// Z₄: e^{(M/2)G}·A with A = sgn(x₀)(1 − e^{−2|x₀|}), whose
		// derivatives A′ = 2x₀′e^{−2|x₀|}, A″ = 2e^{−2|x₀|}(x₀″ − 2 sgn x₀′²)
		// stay finite where Z₄ vanishes.
		diff[3].add(dp.minus(cpOdd))
		a4 = sg * -math.Expm1(-2*ax0)
		if q0 := math.Exp(-2 * ax0); q0 > 0 {
			p4 = 2 * x01 * q0
			r4 = 2 * q0 * (x02 - 2*sg*x01*x01)
		}
	}
	b := base.val()
	var dl, dd, dd2 [4]float64
	for i := 1; i < 4; i++ {
		v := diff[i].val()
		dl[i], dd[i], dd2[i] = v.v, v.d, v.d2
	}
	a := [4]float64{1, 1, 1, a4}
	p := [4]float64{0, 0, 0, p4}
	rr := [4]float64{0, 0, 0, r4}

	// Signed log-sum-exp of the four terms. With ω_i = e^{ℓ_i}/Σ_j e^{ℓ_j}a_j
	// (so Σ ω_i a_i = 1) and D = (ln S)′:
	// D − d₁ = Σ ω_i (a_i (d_i − d₁) + p_i),
	// (ln S)″ − e₁ = Σ ω_i [a_i (e_i − e₁ + (d_i − D)²) + 2 p_i (d_i − D) + r_i],
	// in which no O(N²) or O(N) terms cancel.
	lmax := 0.0
	for i := 1; i < 4; i++ {
		lmax = math.Max(lmax, dl[i])
	}
	var w [4]float64
	sum := 0.0
	for i := range w {
		w[i] = math.Exp(dl[i] - lmax)
		sum += w[i] * a[i]
	}
	shift := 0.0 // D − d₁
	for i := range w {
		w[i] /= sum
		shift += w[i] * (a[i]*dd[i] + p[i])
	}
	curv := 0.0 // (ln S)″ − e₁
	for i := range w {
		delta := dd[i] - shift // d_i − D
		curv += w[i] * (a[i]*(dd2[i]+delta*delta) + 2*p[i]*delta + rr[i])
	}
	lnZ = -math.Ln2 + b.v + lmax + math.Log(sum)
	return lnZ, b.d + shift, b.d2 + curv
}

// modeZero returns, for the mode l = 0 of Z₃ and Z₄, G = ln(2 sinh 2K) + |γ₀|
// + σ and its K-derivatives, x₀ = (M/2)γ₀ (signed) and its derivatives, and
// sgn γ₀. The σ compensates the σ cos θ added to the modes l = 2, 4, …
// (see modeH), whose cosines sum to −1.
func (c *coupling) modeZero() (g0, g01, g02, x0, x01, x02, sg float64) {
	K := c.K
	// ln(2 sinh 2K) + |γ₀| is 2 ln(2 sinh K) + 2K for γ₀ ≥ 0 and
	// 2 ln(2 cosh K) − 2K for γ₀ < 0.
	switch {
	case c.gamma0 >= 0 && c.dual:
		// σ = 1/sinh 2K = 2x/(1 − x²), x = e^{−2K}: the O(x) terms of
		// the derivatives cancel analytically.
		sg = 1
		x := math.Exp(-2 * K)
		d := (1 - x) * (1 + x)
		g0 = 4*K + 2*math.Log1p(-x) + c.sigma
		g01 = 4 + 4*x*x*(1-2*x-x*x)/(d*d)
		g02 = -16 * x * x * (1 - 3*x - x*x - x*x*x) / (d * d * d)
	case c.gamma0 < 0 && !c.dual:
		// σ = sinh 2K; 2 cosh 2K − 2 = 4 sinh² K.
		sg = -1
		sk, ck := math.Sinh(K), math.Cosh(K)
		g0 = 2*math.Log1p(math.Exp(-2*K)) + c.s
		g01 = 2*math.Tanh(K) + 4*sk*sk
		g02 = 2/(ck*ck) + 4*c.s
	case c.gamma0 >= 0:
		// Only where rounding puts γ₀ and sinh 2K − 1 on different sides
		// of 0, at T_c.
		sg = 1
		sk := math.Sinh(K)
		g0 = 4*K + 2*math.Log(-math.Expm1(-2*K)) + c.sigma
		g01 = 2/math.Tanh(K) + 2 + c.dsig
		g02 = -2/(sk*sk) + c.d2sig
	default:
		sg = -1
		ck := math.Cosh(K)
		g0 = 2*math.Log1p(math.Exp(-2*K)) + c.sigma
		g01 = 2*math.Tanh(K) - 2 + c.dsig
		g02 = 2/(ck*ck) + c.d2sig
	}
	// γ₀′ = 2 + 2 csch 2K, γ₀″ = −4 coth 2K csch 2K.
	var csch float64
	if c.dual {
		csch = c.sigma
	} else {
		csch = 1 / c.s
	}
	x0 = c.halfM * c.gamma0
	x01 = c.halfM * (2 + 2*csch)
	x02 = c.halfM * (-4 * c.coth * csch)
	return g0, g01, g02, x0, x01, x02, sg
}
