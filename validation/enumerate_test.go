package validation

import (
	"math"
	"testing"

	"github.com/isingflow/isingflow/lattice"
)

func mustLattice(t testing.TB, shape []int, b lattice.Boundary) *lattice.Lattice {
	t.Helper()
	lat, err := lattice.New(shape, b)
	if err != nil {
		t.Fatal(err)
	}
	return lat
}

// naiveEnumeration sums over all configurations with lattice.Energy: an
// independent (slow) reference for the Gray-code enumeration.
func naiveEnumeration(lat *lattice.Lattice, T float64) Enumeration {
	n := lat.N()
	s := make([]float64, n)
	energies := make([]float64, 1<<n)
	mags := make([]float64, 1<<n)
	emin := math.Inf(1)
	for c := range energies {
		m := 0.0
		for i := range s {
			s[i] = float64(2*((c>>i)&1) - 1)
			m += s[i]
		}
		energies[c] = lat.Energy(s, 1)
		mags[c] = m / float64(n)
		emin = math.Min(emin, energies[c])
	}
	// Compensated sums, and a centred second pass for the variances.
	var sz, sze, sza, szm2, szm4, sve, sva ksum
	for c, e := range energies {
		w := math.Exp(-(e - emin) / T)
		m := mags[c]
		sz.add(w)
		sze.add(w * e)
		sza.add(w * math.Abs(m))
		szm2.add(w * m * m)
		szm4.add(w * m * m * m * m)
	}
	z, ze, za, zm2, zm4 := sz.val(), sze.val(), sza.val(), szm2.val(), szm4.val()
	for c, e := range energies {
		w := math.Exp(-(e - emin) / T)
		sve.add(w * (e - ze/z) * (e - ze/z))
		sva.add(w * (math.Abs(mags[c]) - za/z) * (math.Abs(mags[c]) - za/z))
	}
	ve, va := sve.val(), sva.val()
	nf := float64(n)
	r := Enumeration{N: n, T: T}
	r.LnZ = -emin/T + math.Log(z)
	r.LnZPerSite = r.LnZ / nf
	r.FreeEnergyPerSite = -T * r.LnZPerSite
	r.EnergyPerSite = ze / z / nf
	r.SpecificHeatPerSite = ve / z / (T * T * nf)
	r.AbsMagnetization = za / z
	r.MagnetizationSq = zm2 / z
	r.Magnetization4 = zm4 / z
	r.Binder = 1 - r.Magnetization4/(3*r.MagnetizationSq*r.MagnetizationSq)
	r.Susceptibility = nf / T * va / z
	return r
}

// fields lists the observables of an Enumeration by name.
func fields(e Enumeration) []struct {
	name string
	v    float64
} {
	return []struct {
		name string
		v    float64
	}{
		{"lnZ", e.LnZ}, {"lnZ/N", e.LnZPerSite}, {"f", e.FreeEnergyPerSite}, {"u", e.EnergyPerSite},
		{"c", e.SpecificHeatPerSite}, {"<|m|>", e.AbsMagnetization}, {"<m²>", e.MagnetizationSq},
		{"<m⁴>", e.Magnetization4}, {"Binder", e.Binder}, {"χ", e.Susceptibility},
	}
}

func TestEnumerateMatchesNaiveSum(t *testing.T) {
	// Any lattice: periodic and open, 1D to 3D, doubly bonded pairs.
	for _, tc := range []struct {
		shape []int
		b     lattice.Boundary
	}{
		{[]int{1}, lattice.Open}, {[]int{2}, lattice.Open}, {[]int{2}, lattice.Periodic},
		{[]int{7}, lattice.Periodic}, {[]int{9}, lattice.Open}, {[]int{3, 4}, lattice.Open},
		{[]int{3, 3}, lattice.Periodic}, {[]int{2, 5}, lattice.Periodic}, {[]int{2, 2, 2}, lattice.Periodic},
		{[]int{2, 3, 2}, lattice.Open}, {[]int{4, 3}, lattice.Periodic},
	} {
		lat := mustLattice(t, tc.shape, tc.b)
		dos, err := NewDensityOfStates(lat)
		if err != nil {
			t.Fatal(err)
		}
		for _, T := range []float64{0.5, 1, CriticalTemperature, 4, 20} {
			got, err := dos.Thermal(T)
			if err != nil {
				t.Fatal(err)
			}
			want := naiveEnumeration(lat, T)
			gf, wf := fields(got), fields(want)
			for i := range gf {
				if d := math.Abs(gf[i].v - wf[i].v); d > 1e-13*math.Abs(wf[i].v) {
					t.Errorf("%v T=%v: %s = %.17g, naive sum %.17g", lat, T, gf[i].name, gf[i].v, wf[i].v)
				}
			}
		}
	}
}

func TestEnumerateByHand(t *testing.T) {
	K := 0.7
	T := 1 / K
	ch := math.Cosh(K)
	for _, tc := range []struct {
		name string
		lat  *lattice.Lattice
		want Enumeration
	}{
		// One free spin: Z = 2, |m| = 1.
		{"1 open", mustLattice(t, []int{1}, lattice.Open), Enumeration{
			LnZ: math.Ln2, EnergyPerSite: 0, SpecificHeatPerSite: 0,
			AbsMagnetization: 1, MagnetizationSq: 1, Magnetization4: 1, Binder: 2.0 / 3, Susceptibility: 0}},
		// Two spins, one bond: Z = 4 cosh K, aligned with probability
		// p = e^K/(2 cosh K), E = −tanh K.
		{"2 open", mustLattice(t, []int{2}, lattice.Open), Enumeration{
			LnZ: math.Log(4 * ch), EnergyPerSite: -math.Tanh(K) / 2, SpecificHeatPerSite: K * K / (ch * ch) / 2,
			AbsMagnetization: math.Exp(K) / (2 * ch), MagnetizationSq: math.Exp(K) / (2 * ch), Magnetization4: math.Exp(K) / (2 * ch),
			Binder:         1 - 1/(3*math.Exp(K)/(2*ch)),
			Susceptibility: 2 * K * (math.Exp(K) / (2 * ch)) * (1 - math.Exp(K)/(2*ch))}},
		// A periodic chain of 2 joins the pair twice: E = −2 s₁s₂,
		// Z = 4 cosh 2K.
		{"2 periodic", mustLattice(t, []int{2}, lattice.Periodic), Enumeration{
			LnZ: math.Log(4 * math.Cosh(2*K)), EnergyPerSite: -math.Tanh(2 * K), SpecificHeatPerSite: 2 * K * K / math.Pow(math.Cosh(2*K), 2),
			AbsMagnetization: math.Exp(2*K) / (2 * math.Cosh(2*K)), MagnetizationSq: math.Exp(2*K) / (2 * math.Cosh(2*K)),
			Magnetization4: math.Exp(2*K) / (2 * math.Cosh(2*K)),
			Binder:         1 - 1/(3*math.Exp(2*K)/(2*math.Cosh(2*K))),
			Susceptibility: 2 * K * (math.Exp(2*K) / (2 * math.Cosh(2*K))) * (1 - math.Exp(2*K)/(2*math.Cosh(2*K)))}},
	} {
		got, err := Enumerate(tc.lat, T)
		if err != nil {
			t.Fatal(err)
		}
		n := float64(tc.lat.N())
		tc.want.LnZPerSite = tc.want.LnZ / n
		tc.want.FreeEnergyPerSite = -T * tc.want.LnZPerSite
		gf, wf := fields(got), fields(tc.want)
		for i := range gf {
			if math.Abs(gf[i].v-wf[i].v) > 1e-15*math.Max(1, math.Abs(wf[i].v)) {
				t.Errorf("%s: %s = %.17g, want %.17g", tc.name, gf[i].name, gf[i].v, wf[i].v)
			}
		}
		if got.N != tc.lat.N() || got.T != T {
			t.Errorf("%s: N, T = %d, %v", tc.name, got.N, got.T)
		}
	}
}

func TestEnumerateChainTransferMatrix(t *testing.T) {
	// Periodic chain: Z = (2 cosh K)^N + (2 sinh K)^N = (2 cosh K)^N (1 + t^N),
	// t = tanh K; ⟨s₀s_r⟩ = (t^r + t^{N−r})/(1 + t^N). N = 2 is the doubly
	// bonded pair, for which the formula still holds.
	for n := 2; n <= 16; n++ {
		lat := mustLattice(t, []int{n}, lattice.Periodic)
		dos, err := NewDensityOfStates(lat)
		if err != nil {
			t.Fatal(err)
		}
		for _, T := range []float64{0.3, 1, 2.5, 50} {
			K := 1 / T
			tk := math.Tanh(K)
			s2 := 1 - tk*tk // sech² K
			nf := float64(n)
			tn := math.Pow(tk, nf)
			lnZ := nf*lnTwoCosh(K) + math.Log1p(tn)
			// d lnZ/dK = N t + N t^{N−1} sech²K/(1 + t^N).
			a := nf * math.Pow(tk, nf-1) * s2
			b := 1 + tn
			d1 := nf*tk + a/b
			// Second derivative: N sech²K + (A′B − AB′)/B².
			a1 := nf * s2 * math.Pow(tk, nf-2) * ((nf-1)*s2 - 2*tk*tk)
			b1 := a
			d2 := nf*s2 + (a1*b-a*b1)/(b*b)
			m2 := 0.0
			for r := 0; r < n; r++ {
				m2 += (math.Pow(tk, float64(r)) + math.Pow(tk, nf-float64(r))) / b
			}
			m2 /= nf
			got, err := dos.Thermal(T)
			if err != nil {
				t.Fatal(err)
			}
			if relErr(got.LnZ, lnZ) > 1e-15 {
				t.Errorf("N=%d T=%v: lnZ = %.17g, transfer matrix %.17g", n, T, got.LnZ, lnZ)
			}
			if relErr(got.EnergyPerSite, -d1/nf) > 1e-14 {
				t.Errorf("N=%d T=%v: u = %.17g, transfer matrix %.17g", n, T, got.EnergyPerSite, -d1/nf)
			}
			if relErr(got.SpecificHeatPerSite, K*K*d2/nf) > 1e-13 {
				t.Errorf("N=%d T=%v: c = %.17g, transfer matrix %.17g", n, T, got.SpecificHeatPerSite, K*K*d2/nf)
			}
			if relErr(got.MagnetizationSq, m2) > 1e-14 {
				t.Errorf("N=%d T=%v: <m²> = %.17g, transfer matrix %.17g", n, T, got.MagnetizationSq, m2)
			}
		}
	}
}

func TestDensityOfStatesSymmetries(t *testing.T) {
	for _, tc := range []struct {
		shape     []int
		b         lattice.Boundary
		bipartite bool
	}{
		{[]int{4, 4}, lattice.Periodic, true}, {[]int{3, 3}, lattice.Periodic, false},
		{[]int{3, 4}, lattice.Open, true}, {[]int{2, 2, 2}, lattice.Periodic, true},
		{[]int{5, 3}, lattice.Periodic, false}, {[]int{4, 5}, lattice.Periodic, false},
	} {
		if testing.Short() && len(tc.shape) == 2 && tc.shape[0]*tc.shape[1] > 16 {
			continue
		}
		lat := mustLattice(t, tc.shape, tc.b)
		d, err := NewDensityOfStates(lat)
		if err != nil {
			t.Fatal(err)
		}
		n, nb := d.N, d.NumBonds
		if nb != lat.NumBonds() || len(d.Count) != (nb+1)*(n+1) {
			t.Fatalf("%v: NumBonds %d, len(Count) %d", lat, nb, len(d.Count))
		}
		var total, sumE int64
		gE := make([]int64, nb+1)
		for e := 0; e <= nb; e++ {
			for m := 0; m <= n; m++ {
				c := d.Count[e*(n+1)+m]
				if c < 0 {
					t.Fatalf("%v: negative count", lat)
				}
				// Global spin flip: g(E, M) = g(E, −M).
				if c != d.Count[e*(n+1)+n-m] {
					t.Errorf("%v: g(E=%v, M=%v) = %d ≠ g(E, −M) = %d", lat, d.Energy(e), d.Magnetization(m), c, d.Count[e*(n+1)+n-m])
				}
				total += c
				sumE += c * int64(2*e-nb)
				gE[e] += c
			}
		}
		if total != 1<<n {
			t.Errorf("%v: %d configurations, want 2^%d", lat, total, n)
		}
		// ⟨E⟩ = 0 at infinite temperature.
		if sumE != 0 {
			t.Errorf("%v: Σ E g(E) = %d, want 0", lat, sumE)
		}
		// Two ground states, all spins up or down, with E = −(bonds).
		if d.Count[0*(n+1)+0] != 1 || d.Count[0*(n+1)+n] != 1 || gE[0] != 2 {
			t.Errorf("%v: ground states %d, %d (of %d at E_min)", lat, d.Count[0], d.Count[n], gE[0])
		}
		// Flipping one sublattice of a bipartite lattice maps E → −E.
		if tc.bipartite {
			for e := 0; e <= nb; e++ {
				if gE[e] != gE[nb-e] {
					t.Errorf("%v: g(%v) = %d ≠ g(%v) = %d", lat, d.Energy(e), gE[e], d.Energy(nb-e), gE[nb-e])
				}
			}
		}
	}
}

func TestEnumerateExtremeTemperatures(t *testing.T) {
	lat := mustLattice(t, []int{4, 4}, lattice.Periodic)
	dos, err := NewDensityOfStates(lat)
	if err != nil {
		t.Fatal(err)
	}
	// T → 0: two ground states, E = −32; Z = 2e^{32K}(1 + 16e^{−16K}…)
	// on the 4×4 torus, where flipping one spin breaks 4 bonds (ΔE = 8).
	for _, T := range []float64{1e-3, 0.01, 0.05} {
		got, err := dos.Thermal(T)
		if err != nil {
			t.Fatal(err)
		}
		K := 1 / T
		if relErr(got.LnZ, 32*K+math.Ln2) > 1e-15 || got.EnergyPerSite != -2 || got.AbsMagnetization != 1 ||
			relErr(got.Binder, 2.0/3) > 1e-15 || got.SpecificHeatPerSite > 1e-40 || got.Susceptibility > 1e-40 {
			t.Errorf("T=%v: %+v", T, got)
		}
	}
	// T → ∞: ln Z/N = ln 2 + K² + O(K⁴), u ≈ −2K, c ≈ 2K².
	for _, T := range []float64{1e4, 1e8, 1e100} {
		got, err := dos.Thermal(T)
		if err != nil {
			t.Fatal(err)
		}
		K := 1 / T
		if relErr(got.LnZPerSite, math.Ln2+K*K) > 1e-15 || relErr(got.EnergyPerSite, -2*K) > 1e-7 ||
			relErr(got.SpecificHeatPerSite, 2*K*K) > 1e-7 {
			t.Errorf("T=%v: %+v", T, got)
		}
	}
}

func TestEnumerateErrors(t *testing.T) {
	big := mustLattice(t, []int{2, 13}, lattice.Periodic)
	if _, err := Enumerate(big, 1); err == nil {
		t.Errorf("26 sites: no error")
	}
	if _, err := NewDensityOfStates(nil); err == nil {
		t.Errorf("nil lattice: no error")
	}
	small := mustLattice(t, []int{2, 2}, lattice.Periodic)
	for _, T := range []float64{0, -1, math.NaN(), math.Inf(1)} {
		if _, err := Enumerate(small, T); err == nil {
			t.Errorf("T=%v: no error", T)
		}
	}
}

func TestEnumerate24Sites(t *testing.T) {
	if testing.Short() {
		t.Skip("2^24 configurations")
	}
	// The largest enumeration, 4×6 torus, against Kaufman.
	lat := mustLattice(t, []int{6, 4}, lattice.Periodic)
	dos, err := NewDensityOfStates(lat)
	if err != nil {
		t.Fatal(err)
	}
	for _, T := range []float64{1, CriticalTemperature, 3} {
		got, _ := dos.Thermal(T)
		want, _ := Kaufman(4, 6, T)
		if relErr(got.LnZ, want.LnZ) > 1e-15 || relErr(got.EnergyPerSite, want.EnergyPerSite) > 4e-15 ||
			relErr(got.SpecificHeatPerSite, want.SpecificHeatPerSite) > 1e-13 {
			t.Errorf("T=%v: enumeration (%.17g, %.17g, %.17g), Kaufman (%.17g, %.17g, %.17g)", T,
				got.LnZ, got.EnergyPerSite, got.SpecificHeatPerSite, want.LnZ, want.EnergyPerSite, want.SpecificHeatPerSite)
		}
	}
}

func TestEnumerate4x4AgainstKaufman(t *testing.T) {
	lat := mustLattice(t, []int{4, 4}, lattice.Periodic)
	for _, T := range []float64{0.5, 1, 2, CriticalTemperature, 2.5, 4, 10} {
		got, err := Enumerate(lat, T)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := Kaufman(4, 4, T)
		if relErr(got.LnZ, want.LnZ) > 1e-15 || relErr(got.EnergyPerSite, want.EnergyPerSite) > 4e-15 ||
			relErr(got.SpecificHeatPerSite, want.SpecificHeatPerSite) > 1e-13 {
			t.Errorf("T=%v: enumeration (%.17g, %.17g, %.17g), Kaufman (%.17g, %.17g, %.17g)", T,
				got.LnZ, got.EnergyPerSite, got.SpecificHeatPerSite, want.LnZ, want.EnergyPerSite, want.SpecificHeatPerSite)
		}
	}
}

func BenchmarkDensityOfStates4x5(b *testing.B) {
	lat := mustLattice(b, []int{4, 5}, lattice.Periodic)
	for i := 0; i < b.N; i++ {
		if _, err := NewDensityOfStates(lat); err != nil {
			b.Fatal(err)
		}
	}
}
