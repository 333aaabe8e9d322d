package validation

import (
	"math"
	"testing"

	"github.com/isingflow/isingflow/lattice"
)

// kaufmanReference holds L, M, T and the exact ln Z/N, u and c of the L×M
// torus, from Kaufman's formula evaluated with mpmath at 60 significant
// digits (ln Z directly, its K-derivatives by mpmath.diff), at K = 1/T for
// the float64 T listed. Checked stable at 90 digits.
var kaufmanReference = []struct {
	L, M         int
	T, lnZ, u, c float64
}{
	{2, 2, 0.5, 4.173286963942694583563, -1.999998649578764531584, 0.00004321345197780120930583},
	{2, 7, 1.5, 1.396306911664452414122, -1.889879029871379124901, 0.3917889210413438124172},
	{5, 3, 2.269185314213022, 0.976080532978300643832, -1.547551925214650881377, 0.7601678648964497287533},
	{7, 5, 3.5, 0.7820603806789134060537, -0.69019511105613155185, 0.3009244382892724500013},
	{16, 16, 0.5, 4.002707718784796736288, -1.999999098811657114497, 0.00002885255271624646259297},
	{16, 16, 1.0, 2.00305588987477256699, -1.997160204112251126834, 0.02337956468654213448133},
	{16, 16, 2.0, 1.028500822007895381333, -1.745530668990919095078, 0.7255087677365641543553},
	{16, 16, 2.269185314213022, 0.9321963149809878288925, -1.453064852813477015034, 1.498704959400026169263},
	{16, 16, 2.2691853, 0.9321963189917924235351, -1.453064874114603360168, 1.498704929240575076073},
	{16, 16, 2.27, 0.9319665960606056293213, -1.451843178298165717043, 1.500421528587512292442},
	{16, 16, 2.5, 0.8798001826401398561287, -1.131317984410728907077, 1.064976882853435254475},
	{16, 16, 4.0, 0.7591064851558781689912, -0.5572728327197108503178, 0.1711916108961110269781},
	{16, 16, 20.0, 0.6956524000706664732429, -0.1004180106202936619385, 0.005062837058469272376287},
	{16, 16, 1000.0, 0.6931481805607786434617, -0.002000003333337600013492, 0.000002000010000021333427778},
	{8, 32, 2.269185314213022, 0.9339864521254554149169, -1.424362065980628478451, 1.305693877930887493114},
	{32, 8, 1.9, 1.075402595287117778632, -1.805994053259669049972, 0.6060759005963683302072},
	{64, 64, 2.269185314213022, 0.9298516316942893561577, -1.423938389833010809547, 2.192211393140571361772},
	{64, 64, 2.2, 0.9505083923697660316929, -1.546479153081508119938, 1.414893200562675519575},
	{128, 128, 2.269185314213022, 0.9297344557701894534393, -1.419076272084985166056, 2.5363313351086034614},
	{128, 128, 2.3, 0.9215827900442275080543, -1.345130406147205976692, 2.000841372479181877838},
	{256, 256, 2.269185314213022, 0.9297051626419584691799, -1.416644954196832207042, 2.879786255202500292889},
	{1024, 1024, 2.269185314213022, 0.9296960086092729356119, -1.41482141321652482612, 3.565862873717312670418},
	{1024, 1024, 2.0, 1.025793473731581165115, -1.745564575312553964552, 0.7248714486015739277783},
	{1024, 1024, 2.4, 0.8985894660070682540053, -1.20397446791457151071, 1.123034124669873850715},
	{512, 1024, 2.2691, 0.9297202029791598307598, -1.415173645989317004548, 3.3709102638153032689},
}

func TestKaufmanAgainstReference(t *testing.T) {
	for _, r := range kaufmanReference {
		got, err := Kaufman(r.L, r.M, r.T)
		if err != nil {
			t.Fatal(err)
		}
		if e := relErr(got.LnZPerSite, r.lnZ); e > 4e-16 {
			t.Errorf("%d×%d T=%v: lnZ/N = %.17g, want %.17g (rel. error %.2g)", r.L, r.M, r.T, got.LnZPerSite, r.lnZ, e)
		}
		if e := relErr(got.EnergyPerSite, r.u); e > 2e-15 {
			t.Errorf("%d×%d T=%v: u = %.17g, want %.17g (rel. error %.2g)", r.L, r.M, r.T, got.EnergyPerSite, r.u, e)
		}
		// Near T_c at large L the weights of the four products carry the
		// rounding of O(L) mode sums: about 1e-13 at L = 1024.
		if e := relErr(got.SpecificHeatPerSite, r.c); e > 2e-13 {
			t.Errorf("%d×%d T=%v: c = %.17g, want %.17g (rel. error %.2g)", r.L, r.M, r.T, got.SpecificHeatPerSite, r.c, e)
		}
		if e := relErr(got.FreeEnergyPerSite, -r.T*r.lnZ); e > 1e-15 {
			t.Errorf("%d×%d T=%v: f = %.17g, want %.17g", r.L, r.M, r.T, got.FreeEnergyPerSite, -r.T*r.lnZ)
		}
		if e := relErr(got.LnZ, r.lnZ*float64(r.L*r.M)); e > 4e-16 {
			t.Errorf("%d×%d T=%v: lnZ = %.17g, want %.17g", r.L, r.M, r.T, got.LnZ, r.lnZ*float64(r.L*r.M))
		}
	}
}

// enumerationTemperatures span low T (where c ∝ e^{−8K}), T_c and high T.
var enumerationTemperatures = []float64{0.4, 0.7, 1, 1.5, 2, 2.2, CriticalTemperature, 2.4, 3, 5, 10, 100, 1e4}

func TestKaufmanAgainstEnumeration(t *testing.T) {
	// Tori with N ≤ 24 and both lengths ≥ 2, odd and even, in both
	// orientations; a periodic axis of length 2 joins its pair by two
	// bonds.
	sizes := [][2]int{{2, 2}, {2, 3}, {3, 2}, {2, 4}, {4, 2}, {2, 5}, {2, 6}, {2, 7}, {2, 8}, {2, 9}, {2, 10},
		{3, 3}, {3, 4}, {4, 3}, {3, 5}, {3, 6}, {4, 4}, {4, 5}, {5, 4}, {3, 7}, {2, 11}, {12, 2}, {3, 8}, {6, 4}}
	for _, sz := range sizes {
		L, M := sz[0], sz[1]
		if testing.Short() && L*M > 16 {
			continue
		}
		// Kaufman's L is the row length: the last (fastest) lattice axis.
		lat, err := lattice.New([]int{M, L}, lattice.Periodic)
		if err != nil {
			t.Fatal(err)
		}
		dos, err := NewDensityOfStates(lat)
		if err != nil {
			t.Fatal(err)
		}
		for _, T := range enumerationTemperatures {
			want, err := dos.Thermal(T)
			if err != nil {
				t.Fatal(err)
			}
			got, err := Kaufman(L, M, T)
			if err != nil {
				t.Fatal(err)
			}
			if e := relErr(got.LnZ, want.LnZ); e > 1e-15 {
				t.Errorf("%d×%d T=%v: ln Z = %.17g, enumeration %.17g (rel. error %.2g)", L, M, T, got.LnZ, want.LnZ, e)
			}
			if e := relErr(got.EnergyPerSite, want.EnergyPerSite); e > 4e-15 {
				t.Errorf("%d×%d T=%v: u = %.17g, enumeration %.17g (rel. error %.2g)", L, M, T, got.EnergyPerSite, want.EnergyPerSite, e)
			}
			// At low T, c = O(e^{−8K}) is computed from O(e^{−4K}) terms:
			// its relative error grows like 1e-16·e^{4K} (5e-14 at T = 0.4).
			K := 1 / T
			if e := relErr(got.SpecificHeatPerSite, want.SpecificHeatPerSite); e > 1e-13+2e-16*math.Exp(4*K) {
				t.Errorf("%d×%d T=%v: c = %.17g, enumeration %.17g (rel. error %.2g)", L, M, T, got.SpecificHeatPerSite, want.SpecificHeatPerSite, e)
			}
		}
	}
}

func TestKaufmanSymmetricInLM(t *testing.T) {
	for _, sz := range [][2]int{{2, 9}, {3, 8}, {5, 12}, {16, 64}, {7, 300}} {
		for _, T := range []float64{0.8, 2, CriticalTemperature, 2.5, 8} {
			a, _ := Kaufman(sz[0], sz[1], T)
			b, _ := Kaufman(sz[1], sz[0], T)
			if relErr(a.LnZ, b.LnZ) > 1e-15 || relErr(a.EnergyPerSite, b.EnergyPerSite) > 1e-14 ||
				relErr(a.SpecificHeatPerSite, b.SpecificHeatPerSite) > 1e-13 {
				t.Errorf("T=%v: %d×%d gives (%.17g, %.17g, %.17g), transposed (%.17g, %.17g, %.17g)", T, sz[0], sz[1],
					a.LnZ, a.EnergyPerSite, a.SpecificHeatPerSite, b.LnZ, b.EnergyPerSite, b.SpecificHeatPerSite)
			}
		}
	}
}

func TestKaufmanDerivativesAgainstFiniteDifferences(t *testing.T) {
	// d ln Z/dK against a 6th-order central difference of the float64
	// ln Z(K), and d² ln Z/dK² against one of the analytic d ln Z/dK. Steps
	// straddle K_c, where the evaluation switches branches (sign of γ₀,
	// sinh 2K ≷ 1).
	for _, sz := range [][2]int{{2, 2}, {3, 5}, {16, 16}, {64, 32}} {
		L, M := sz[0], sz[1]
		n := float64(L * M)
		for _, T := range []float64{0.7, 1.5, 2.2, CriticalTemperature, 2.3, 4, 30} {
			K := 1 / T
			lnZ := func(k float64) float64 { l, _, _ := kaufmanLnZ(L, M, k); return l }
			d1 := func(k float64) float64 { _, d, _ := kaufmanLnZ(L, M, k); return d }
			_, g1, g2 := kaufmanLnZ(L, M, K)
			// ln Z changes on the scale ΔK ~ 1/L near K_c.
			h := 0.02 / float64(max(L, M))
			if e := math.Abs(g1-deriv6(lnZ, K, h)) / math.Max(n, math.Abs(g1)); e > 2e-9 {
				t.Errorf("%d×%d T=%v: d lnZ/dK = %.15g, finite difference %.15g", L, M, T, g1, deriv6(lnZ, K, h))
			}
			if e := math.Abs(g2-deriv6(d1, K, h)) / math.Max(n, math.Abs(g2)); e > 2e-8 {
				t.Errorf("%d×%d T=%v: d² lnZ/dK² = %.15g, finite difference %.15g", L, M, T, g2, deriv6(d1, K, h))
			}
		}
	}
}

func TestKaufmanLargeLattice(t *testing.T) {
	// Away from T_c the finite-size corrections are exponentially small in
	// L/ξ: the 1024² torus is the infinite lattice to rounding.
	for _, T := range []float64{1, 2, 2.5, 3, 10} {
		k, err := Kaufman(1024, 1024, T)
		if err != nil {
			t.Fatal(err)
		}
		// Below T_c the torus has two ordered phases: Z = 2 Z_phase.
		lnZ := k.LnZPerSite
		if T < CriticalTemperature {
			lnZ -= math.Ln2 / float64(1024*1024)
		}
		if e := math.Abs(lnZ - OnsagerLnZPerSite(T)); e > 1e-15 {
			t.Errorf("T=%v: lnZ/N = %.17g, Onsager %.17g", T, lnZ, OnsagerLnZPerSite(T))
		}
		if e := math.Abs(k.EnergyPerSite - OnsagerEnergyPerSite(T)); e > 2e-15 {
			t.Errorf("T=%v: u = %.17g, Onsager %.17g", T, k.EnergyPerSite, OnsagerEnergyPerSite(T))
		}
		if e := relErr(k.SpecificHeatPerSite, OnsagerSpecificHeatPerSite(T)); e > 1e-14 {
			t.Errorf("T=%v: c = %.17g, Onsager %.17g", T, k.SpecificHeatPerSite, OnsagerSpecificHeatPerSite(T))
		}
	}
	// At T_c, ln Z/N = −βf_∞ + A/L² + O(L⁻⁴) (Ferdinand & Fisher), and
	// c = (8K_c²/π) ln L + const + O(ln L/L).
	var a [3]float64
	var c [3]float64
	for i, L := range []int{256, 512, 1024} {
		k, _ := Kaufman(L, L, CriticalTemperature)
		a[i] = (k.LnZPerSite - OnsagerLnZPerSite(CriticalTemperature)) * float64(L*L)
		c[i] = k.SpecificHeatPerSite
	}
	if math.Abs(a[2]-a[1]) > 1e-5 || math.Abs(a[1]-a[0]) > 4e-5 || math.Abs(a[2]-0.64) > 1e-3 {
		t.Errorf("L²(lnZ/N − Onsager) at T_c for L = 256, 512, 1024: %v, want ≈ 0.640 and converging", a)
	}
	slope := 8 * CriticalCoupling * CriticalCoupling / math.Pi * math.Ln2
	if d := c[2] - c[1]; math.Abs(d-slope) > 1e-3 {
		t.Errorf("c(1024) − c(512) = %.6g at T_c, want (8K_c²/π) ln 2 = %.6g", d, slope)
	}
}

func TestKaufmanExtremeTemperatures(t *testing.T) {
	for _, sz := range [][2]int{{2, 2}, {2, 3}, {3, 2}, {4, 4}, {2, 16}, {16, 16}, {1024, 1024}} {
		L, M := sz[0], sz[1]
		n := float64(L * M)
		// Pairs joined twice (N/2 per axis of length 2) add loops of
		// length 2: ln Z = N ln 2 + (N + n₂)K² + O(K³) (rings of length 3
		// when L or M is 3, else O(K⁴)).
		n2 := 0.0
		if L == 2 {
			n2 += n / 2
		}
		if M == 2 {
			n2 += n / 2
		}
		b := 2*n + 2*n2 // d² ln Z/dK² at K = 0
		for _, T := range []float64{1e20, 1e30, 1e59, 1e61, 1e100, 1e150} {
			k, err := Kaufman(L, M, T)
			if err != nil {
				t.Fatal(err)
			}
			K := 1 / T
			if e := relErr(k.LnZPerSite, math.Ln2+b/2*K*K/n); e > 4e-16 {
				t.Errorf("%d×%d T=%v: lnZ/N = %.17g, want ln 2 + ½(d²lnZ/dK²)K²/N", L, M, T, k.LnZPerSite)
			}
			if e := relErr(k.EnergyPerSite, -b*K/n); e > 1e-13 {
				t.Errorf("%d×%d T=%v: u = %.17g, want %.17g", L, M, T, k.EnergyPerSite, -b*K/n)
			}
			if e := relErr(k.SpecificHeatPerSite, b*K*K/n); e > 1e-13 {
				t.Errorf("%d×%d T=%v: c = %.17g, want %.17g", L, M, T, k.SpecificHeatPerSite, b*K*K/n)
			}
		}
		// Low T: Z = 2e^{2NK}(1 + O(e^{−4K})), u = −2, c ≥ 0 and tiny.
		for _, T := range []float64{0.05, 0.01, 1e-3, 1e-6} {
			k, err := Kaufman(L, M, T)
			if err != nil {
				t.Fatal(err)
			}
			K := 1 / T
			if e := relErr(k.LnZ, 2*n*K+math.Ln2); e > 1e-15 {
				t.Errorf("%d×%d T=%v: lnZ = %.17g, want 2NK + ln 2", L, M, T, k.LnZ)
			}
			if k.EnergyPerSite != -2 {
				t.Errorf("%d×%d T=%v: u = %.17g, want −2", L, M, T, k.EnergyPerSite)
			}
			if c := k.SpecificHeatPerSite; !(math.Abs(c) < 1e-40) {
				t.Errorf("%d×%d T=%v: c = %g, want ≈ 0", L, M, T, c)
			}
		}
	}
}

func TestKaufmanErrors(t *testing.T) {
	for _, tc := range []struct {
		L, M int
		T    float64
	}{
		{1, 4, 1}, {4, 1, 1}, {0, 0, 1}, {-3, 4, 1}, {4, 4, 0}, {4, 4, -1},
		{4, 4, math.NaN()}, {4, 4, math.Inf(1)}, {4, 4, math.Inf(-1)},
	} {
		if _, err := Kaufman(tc.L, tc.M, tc.T); err == nil {
			t.Errorf("Kaufman(%d, %d, %v): no error", tc.L, tc.M, tc.T)
		}
	}
}

func TestModeHDerivatives(t *testing.T) {
	// h(σ) of modeH and its σ-derivatives, on both sides of the switch at
	// σ = 0.5 between the two forms.
	for _, sigma := range []float64{0.01, 0.2, 0.499, 0.501, 0.7, 0.95, 0.999} {
		for _, theta := range []float64{0.001, 0.3, 1.5, 2.9, math.Pi} {
			sh := math.Sin(theta / 2)
			cs := math.Cos(theta)
			f := func(s float64) float64 { h, _, _, _ := modeH(s, cs, sh*sh); return h }
			f1 := func(s float64) float64 { _, h1, _, _ := modeH(s, cs, sh*sh); return h1 }
			_, h1, h2, _ := modeH(sigma, cs, sh*sh)
			step := 1e-3 * math.Min(sigma, 1-sigma)
			// Truncation O(step⁶), rounding about 1e-16/step.
			tol := 1e-9 + 1e-15/step
			if d := deriv6(f, sigma, step); math.Abs(h1-d) > tol*math.Max(1, math.Abs(d)) {
				t.Errorf("σ=%v θ=%v: h′ = %.15g, finite difference %.15g", sigma, theta, h1, d)
			}
			if d := deriv6(f1, sigma, step); math.Abs(h2-d) > tol*math.Max(1, math.Abs(d)) {
				t.Errorf("σ=%v θ=%v: h″ = %.15g, finite difference %.15g", sigma, theta, h2, d)
			}
		}
	}
}

func BenchmarkKaufman1024(b *testing.B) {
	for i := 0; i < b.N; i++ {
		if _, err := Kaufman(1024, 1024, CriticalTemperature); err != nil {
			b.Fatal(err)
		}
	}
}
