package validation

import (
	"math"
	"testing"

	"gonum.org/v1/gonum/mathext"
)

// onsagerReference holds T, −βf_∞, u_∞, c_∞ and the spontaneous
// magnetisation, evaluated with mpmath at 40 (150 for T ≤ 0.5) significant
// digits from the same formulas (the integral by tanh-sinh and by
// Gauss–Legendre quadrature, which agree to better than 1e-25), at the
// float64 temperatures listed.
var onsagerReference = []struct{ T, lnZ, u, c, m float64 }{
	{0.05, 39.99999999999999778, -2.0, 8.3391706424513275726e-66, 1.0},
	{0.2, 9.9999999999999994491, -1.999999999999999966, 6.7973668715134347423e-15, 0.9999999999999999915},
	{0.5, 4.0000001126107344499, -1.9999990988116571145, 0.000028852552716246462593, 0.99999977462720856954},
	{1.0, 2.0003482837007102806, -1.9971602041122511268, 0.023379564686542134481, 0.99927575195706119656},
	{1.5, 1.3389621236162049727, -1.9511165730783768444, 0.19727454017699157989, 0.98649960262149446519},
	{2.0, 1.0257928126949175757, -1.7455645753125539646, 0.72487144860157392778, 0.91131937787749597752},
	{2.2, 0.95033913827875828698, -1.5464891440984541561, 1.4142776913433302127, 0.78475513138392127491},
	{2.26, 0.93225439787622279745, -1.4409686019445981543, 2.4180380216448977177, 0.61337080686293491606},
	{2.269, 0.92974631549249289891, -1.4151110871267877264, 4.3487257765715758037, 0.37688922642193938814},
	{2.2691830450277077, 0.92969602157110748754, -1.4142294932405607338, 6.5259845175358592687, 0.21737859609951297184},
	{2.2691853139861036, 0.92969539840393270264, -1.4142135649997643964, 11.08085309940285598, 0.068741158306742903552},
	{2.2691853144399405, 0.92969539827928768066, -1.4142135597464238131, 11.08085272785505536, 0.0},
	{2.269187583398336, 0.92969477512062726004, -1.4141976315067116067, 6.5259836297598159321, 0.0},
	{2.27, 0.92947200827593561277, -1.4108644329893980461, 3.6164019385442180122, 0.0},
	{2.3, 0.92157778217438639705, -1.3428663876959274201, 1.8223686861231035503, 0.0},
	{2.5, 0.87936382077494818803, -1.1060792037457909122, 0.86169835683076362513, 0.0},
	{3.0, 0.81588273185772133285, -0.81730959250242014116, 0.40137957589592586778, 0.0},
	{5.0, 0.73453081227632604504, -0.42822883324034805783, 0.097652177588479695168, 0.0},
	{10.0, 0.70323124228583243463, -0.20337739109735565549, 0.021022315788654313126, 0.0},
	{12.0, 0.70013205490016501767, -0.168613210355822729, 0.014378512168175653702, 0.0},
	{13.0, 0.69909366706226300566, -0.15537508458191959413, 0.012188985568530955218, 0.0},
	{100.0, 0.69324718889398992255, -0.020003333760134961053, 0.00020010002134278141567, 0.0},
	{10000.0, 0.69314719055994539275, -0.000200000003333333376, 2.0000001000000021333e-8, 0.0},
}

// relErr returns |got − want|/|want|, or |got| when want is 0; +Inf when
// either is NaN, so that a check written relErr(…) > tol fails on NaN.
func relErr(got, want float64) float64 {
	if math.IsNaN(got) || math.IsNaN(want) {
		return math.Inf(1)
	}
	if want == 0 {
		return math.Abs(got)
	}
	return math.Abs(got-want) / math.Abs(want)
}

func TestOnsagerAgainstReference(t *testing.T) {
	for _, r := range onsagerReference {
		// K = 1/T is rounded, so quantities steep in K near T_c carry
		// relative errors of order (d ln q/d ln K)·1e-16.
		if e := relErr(OnsagerLnZPerSite(r.T), r.lnZ); e > 4e-16 {
			t.Errorf("T=%v: lnZ/N = %.17g, want %.17g (rel. error %.2g)", r.T, OnsagerLnZPerSite(r.T), r.lnZ, e)
		}
		if e := relErr(OnsagerFreeEnergyPerSite(r.T), -r.T*r.lnZ); e > 4e-16 {
			t.Errorf("T=%v: f = %.17g, want %.17g (rel. error %.2g)", r.T, OnsagerFreeEnergyPerSite(r.T), -r.T*r.lnZ, e)
		}
		if e := relErr(OnsagerEnergyPerSite(r.T), r.u); e > 1e-15 {
			t.Errorf("T=%v: u = %.17g, want %.17g (rel. error %.2g)", r.T, OnsagerEnergyPerSite(r.T), r.u, e)
		}
		// c_∞ at low T is O(e^{−8K}) from terms O(e^{−4K}); the series
		// keeps it accurate.
		// and exp(−8K) amplifies the rounding of K = 1/T by 8K.
		if e := relErr(OnsagerSpecificHeatPerSite(r.T), r.c); e > (4+8/r.T)*2e-16 {
			t.Errorf("T=%v: c = %.17g, want %.17g (rel. error %.2g)", r.T, OnsagerSpecificHeatPerSite(r.T), r.c, e)
		}
		if e := relErr(SpontaneousMagnetization(r.T), r.m); e > 1e-15 {
			t.Errorf("T=%v: m = %.17g, want %.17g (rel. error %.2g)", r.T, SpontaneousMagnetization(r.T), r.m, e)
		}
	}
}

func TestOnsagerAtCriticalTemperature(t *testing.T) {
	const catalan = 0.915965594177219015054603514932384110774
	if got := CriticalTemperature * math.Log(1+math.Sqrt2); math.Abs(got-2) > 4e-16 {
		t.Errorf("T_c ln(1+√2) = %.17g, want 2", got)
	}
	if got := CriticalCoupling * CriticalTemperature; math.Abs(got-1) > 2e-16 {
		t.Errorf("K_c T_c = %.17g, want 1", got)
	}
	if got := math.Sinh(2 * CriticalCoupling); math.Abs(got-1) > 2e-16 {
		t.Errorf("sinh 2K_c = %.17g, want 1", got)
	}
	want := math.Ln2/2 + 2*catalan/math.Pi // 0.92969539834161021…
	if got := OnsagerLnZPerSite(CriticalTemperature); math.Abs(got-want) > 1e-15 {
		t.Errorf("lnZ/N at T_c = %.17g, want ln2/2 + 2G/π = %.17g", got, want)
	}
	// The float64 T_c is 8.5e-17 above T_c, and du/dT ≈ c ≈ 18 there.
	if got := OnsagerEnergyPerSite(CriticalTemperature); math.Abs(got+math.Sqrt2) > 4e-15 {
		t.Errorf("u at T_c = %.17g, want −√2", got)
	}
	if got := OnsagerSpecificHeatPerSite(CriticalTemperature); !math.IsInf(got, 1) {
		t.Errorf("c at T_c = %v, want +Inf", got)
	}
	if got := SpontaneousMagnetization(CriticalTemperature); got != 0 {
		t.Errorf("m at T_c = %v, want 0", got)
	}
	// Logarithmic divergence: c ≈ −(8K_c²/π) ln|1 − T/T_c| + const.
	amp := 8 * CriticalCoupling * CriticalCoupling / math.Pi
	for _, side := range []float64{-1, 1} {
		c1 := OnsagerSpecificHeatPerSite(CriticalTemperature * (1 + side*1e-6))
		c2 := OnsagerSpecificHeatPerSite(CriticalTemperature * (1 + side*1e-8))
		if got := (c2 - c1) / math.Log(100); math.Abs(got-amp) > 1e-5 {
			t.Errorf("side %v: c divergence amplitude %.8g, want 8K_c²/π = %.8g", side, got, amp)
		}
	}
}

// adaptiveGL integrates f over [a, b] with 10- and 20-point Gauss–Legendre
// rules, bisecting every interval on which they differ by more than
// tol·(width): an independent brute-force reference for the Onsager
// integral.
// budget bounds the number of intervals, so that a bad tolerance fails fast
// instead of bisecting 2^depth times.
func adaptiveGL(f func(float64) float64, a, b, tol float64, depth int, budget *int) float64 {
	*budget--
	rule := func(x, w []float64) float64 {
		s := 0.0
		for i := range x {
			s += w[i] * f(0.5*(a+b)+0.5*(b-a)*x[i])
		}
		return 0.5 * (b - a) * s
	}
	coarse, fine := rule(gl10x, gl10w), rule(gl20x, gl20w)
	if math.Abs(coarse-fine) <= tol*(b-a) || depth == 0 || *budget <= 0 {
		return fine
	}
	m := 0.5 * (a + b)
	return adaptiveGL(f, a, m, tol, depth-1, budget) + adaptiveGL(f, m, b, tol, depth-1, budget)
}

var gl10x, gl10w, gl20x, gl20w = glRule(10), glWeights(10), glRule(20), glWeights(20)

func glRule(n int) []float64 {
	x, w := make([]float64, n), make([]float64, n)
	quadLegendre(x, w, -1, 1)
	return x
}

func glWeights(n int) []float64 {
	x, w := make([]float64, n), make([]float64, n)
	quadLegendre(x, w, -1, 1)
	return w
}

func TestOnsagerIntegralAgainstAdaptiveQuadrature(t *testing.T) {
	// The original form, −βf = ln(2 cosh 2K) + (1/2π)∫₀^π ln[½(1 + √(1 − k² sin²θ))] dθ,
	// evaluated without substitution by adaptive bisection: near T_c the
	// integrand has a near-kink at θ = π/2 of width k' that only deep
	// bisection resolves.
	temps := []float64{0.3, 0.8, 1.2, 1.7, 2, 2.1, 2.2, 2.25, 2.265, 2.269, 2.2691, 2.26918, CriticalTemperature,
		2.26919, 2.2692, 2.27, 2.28, 2.3, 2.4, 2.6, 3, 4, 7, 11, 12.5, 13, 20, 50, 300}
	for _, T := range temps {
		K := 1 / T
		k, kp, _ := onsagerModulus(T)
		f := func(th float64) float64 {
			// 1 − k² sin²θ = k'² + k² cos²θ, free of rounding noise.
			c := math.Cos(th)
			return math.Log(0.5 * (1 + math.Sqrt(kp*kp+k*k*c*c)))
		}
		budget := 100000
		ref := lnTwoCosh(2*K) + adaptiveGL(f, 0, math.Pi, 1e-15, 50, &budget)/(2*math.Pi)
		if budget <= 0 {
			t.Fatalf("T=%v: adaptive quadrature did not converge", T)
		}
		if got := OnsagerLnZPerSite(T); math.Abs(got-ref) > 4e-16 {
			t.Errorf("T=%v: lnZ/N = %.17g, adaptive quadrature %.17g (diff %.2g)", T, got, ref, got-ref)
		}
	}
}

// deriv6 returns the 6th-order central difference approximation to f′(x).
func deriv6(f func(float64) float64, x, h float64) float64 {
	return (-f(x-3*h) + 9*f(x-2*h) - 45*f(x-h) + 45*f(x+h) - 9*f(x+2*h) + f(x+3*h)) / (60 * h)
}

func TestOnsagerDerivatives(t *testing.T) {
	// u = −d(lnZ/N)/dK and c = −K² du/dK, checked by finite differences in K
	// away from T_c.
	for _, T := range []float64{0.6, 1, 1.5, 2, 2.2, 2.35, 2.6, 3, 5, 10, 30} {
		K := 1 / T
		lnZ := func(k float64) float64 { return OnsagerLnZPerSite(1 / k) }
		u := func(k float64) float64 { return OnsagerEnergyPerSite(1 / k) }
		h := 1e-3 * math.Min(1, math.Abs(K-CriticalCoupling))
		if got, want := OnsagerEnergyPerSite(T), -deriv6(lnZ, K, h); math.Abs(got-want) > 1e-10 {
			t.Errorf("T=%v: u = %.15g, −dlnZ/dK = %.15g", T, got, want)
		}
		if got, want := OnsagerSpecificHeatPerSite(T), -K*K*deriv6(u, K, h); math.Abs(got-want) > 1e-9*math.Max(1, want) {
			t.Errorf("T=%v: c = %.15g, −K² du/dK = %.15g", T, got, want)
		}
	}
}

func TestOnsagerSeriesMatchesClosedForm(t *testing.T) {
	// At the switch m = k² = 0.1 both forms must agree.
	m := onsagerSeriesMax * (1 - 1e-12)
	kp := math.Sqrt(1 - m)
	onsagerSeries.once.Do(onsagerCoefficients)
	if s, c := horner(&onsagerSeries.u, m), 1-2/math.Pi*kp*ellipticK(kp); math.Abs(s-c) > 1e-15 {
		t.Errorf("U: series %.17g, closed form %.17g", s, c)
	}
	k1, e1 := ellipticK(kp), mathext.CompleteE(m)
	if s, c := math.Pi/2*horner(&onsagerSeries.bLow, m), k1-e1-(1-kp)/2*(math.Pi/2+kp*k1); relErr(s, c) > 1e-13 {
		t.Errorf("B+: series %.17g, closed form %.17g", s, c)
	}
	if s, c := math.Pi/2*horner(&onsagerSeries.bHigh, m), k1-e1-(1+kp)/2*(math.Pi/2-kp*k1); relErr(s, c) > 1e-14 {
		t.Errorf("B−: series %.17g, closed form %.17g", s, c)
	}
}

func TestEllipticK(t *testing.T) {
	for _, m := range []float64{1e-12, 0.01, 0.1, 0.3, 0.5, 0.7, 0.9, 0.99, 0.999} {
		if got, want := ellipticK(math.Sqrt(1-m)), mathext.CompleteK(m); relErr(got, want) > 1e-14 {
			t.Errorf("m=%v: K = %.17g, mathext.CompleteK %.17g", m, got, want)
		}
	}
	// Near k = 1: K = ln(4/k') + (k'²/4)(ln(4/k') − 1) + O(k'⁴ ln k').
	for _, kp := range []float64{1e-5, 1e-8, 1e-12, 1e-100} {
		l := math.Log(4 / kp)
		if got, want := ellipticK(kp), l+kp*kp/4*(l-1); relErr(got, want) > 1e-15 {
			t.Errorf("k'=%v: K = %.17g, asymptotic %.17g", kp, got, want)
		}
	}
	if !math.IsInf(ellipticK(0), 1) {
		t.Errorf("K(1) = %v, want +Inf", ellipticK(0))
	}
}

func TestOnsagerLimits(t *testing.T) {
	for _, T := range []float64{0, -1, math.NaN(), math.Inf(-1)} {
		if !math.IsNaN(OnsagerLnZPerSite(T)) || !math.IsNaN(OnsagerEnergyPerSite(T)) ||
			!math.IsNaN(OnsagerSpecificHeatPerSite(T)) || !math.IsNaN(OnsagerFreeEnergyPerSite(T)) {
			t.Errorf("T=%v: want NaN", T)
		}
	}
	if got := SpontaneousMagnetization(0); got != 1 {
		t.Errorf("m(0) = %v, want 1", got)
	}
	if got := SpontaneousMagnetization(-1); !math.IsNaN(got) {
		t.Errorf("m(−1) = %v, want NaN", got)
	}
	// T → 0: −βf = 2K + e^{−8K} + …, f → −2, u → −2, c → 0, m → 1.
	for _, T := range []float64{0.01, 0.002, 1e-10} {
		K := 1 / T
		if got := OnsagerLnZPerSite(T); relErr(got, 2*K) > 1e-16 {
			t.Errorf("T=%v: lnZ/N = %.17g, want 2K", T, got)
		}
		if got := OnsagerFreeEnergyPerSite(T); got != -2 {
			t.Errorf("T=%v: f = %.17g, want −2", T, got)
		}
		if got := OnsagerEnergyPerSite(T); got != -2 {
			t.Errorf("T=%v: u = %.17g, want −2", T, got)
		}
		if got := OnsagerSpecificHeatPerSite(T); got < 0 || got > 1e-300 {
			t.Errorf("T=%v: c = %g, want ≈ 0", T, got)
		}
		if got := SpontaneousMagnetization(T); got != 1 {
			t.Errorf("T=%v: m = %.17g, want 1", T, got)
		}
	}
	// T → ∞: −βf = ln 2 + 2 ln cosh K + O(K⁴), u ≈ −2K, c ≈ 2K².
	for _, T := range []float64{1e6, 1e12, 1e100} {
		K := 1 / T
		if got := OnsagerLnZPerSite(T); relErr(got, math.Ln2+K*K) > 1e-15 {
			t.Errorf("T=%v: lnZ/N = %.17g, want ln 2 + K²", T, got)
		}
		if got := OnsagerEnergyPerSite(T); relErr(got, -2*K) > 1e-11 {
			t.Errorf("T=%v: u = %.17g, want −2K", T, got)
		}
		if got := OnsagerSpecificHeatPerSite(T); relErr(got, 2*K*K) > 1e-11 {
			t.Errorf("T=%v: c = %.17g, want 2K²", T, got)
		}
	}
	if got := OnsagerLnZPerSite(math.Inf(1)); got != math.Ln2 {
		t.Errorf("lnZ/N at T=∞: %v, want ln 2", got)
	}
	if OnsagerEnergyPerSite(math.Inf(1)) != 0 || OnsagerSpecificHeatPerSite(math.Inf(1)) != 0 || SpontaneousMagnetization(math.Inf(1)) != 0 {
		t.Errorf("u, c, m at T=∞ should be 0")
	}
}

// quadLegendre fills x, w with the len(x)-point Gauss–Legendre rule on
// [a, b], by Newton's method on the Legendre polynomial (independent of the
// gonum rule used by the package).
func quadLegendre(x, w []float64, a, b float64) {
	n := len(x)
	for i := 0; i < n; i++ {
		z := math.Cos(math.Pi * (float64(i) + 0.75) / (float64(n) + 0.5))
		var dp float64
		for it := 0; it < 100; it++ {
			p0, p1 := 1.0, z
			for j := 2; j <= n; j++ {
				p0, p1 = p1, (float64(2*j-1)*z*p1-float64(j-1)*p0)/float64(j)
			}
			dp = float64(n) * (z*p1 - p0) / (z*z - 1)
			dz := p1 / dp
			z -= dz
			if math.Abs(dz) < 1e-17 {
				break
			}
		}
		x[i] = 0.5*(a+b) - 0.5*(b-a)*z
		w[i] = (b - a) / ((1 - z*z) * dp * dp)
	}
}
