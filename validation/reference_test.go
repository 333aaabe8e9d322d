package validation_test

import (
	"fmt"
	"math"
	"sync"
	"testing"

	"github.com/isingflow/isingflow/lattice"
	"github.com/isingflow/isingflow/validation"
)

// The tests below hold Exact to the numbers isingflow's commands computed
// before it existed, by choosing among the validation functions themselves:
// cmdReference is the exact report of "isingflow exact" (exactReference),
// cmdLnZ the ln Z/N given to training (exactLnZFunc) and cmdCurves the
// curves of the scan plot (scanCurves), each restated here for a hypercubic
// L^dim lattice.

// cmdValues is the exact report; nil is a value the report leaves out.
type cmdValues struct {
	method                         string
	lnZ, f, u, c                   *float64
	absM, m2, m4, binder, chi      *float64
	onsLnZ, onsF, onsU, onsC, onsM *float64
}

// ptr is the report's: a value that is infinite or NaN is left out.
func ptr(v float64) *float64 {
	if math.IsInf(v, 0) || math.IsNaN(v) {
		return nil
	}
	return &v
}

func cmdReference(lat *lattice.Lattice, dim, L int, open bool, T float64) (cmdValues, error) {
	var r cmdValues
	if dim == 2 && !open {
		k, err := validation.Kaufman(L, L, T)
		if err != nil {
			return r, err
		}
		r.method = "kaufman"
		r.lnZ, r.f = ptr(k.LnZPerSite), ptr(k.FreeEnergyPerSite)
		r.u, r.c = ptr(k.EnergyPerSite), ptr(k.SpecificHeatPerSite)
	}
	if dim == 2 {
		r.onsLnZ = ptr(validation.OnsagerLnZPerSite(T))
		r.onsF = ptr(validation.OnsagerFreeEnergyPerSite(T))
		r.onsU = ptr(validation.OnsagerEnergyPerSite(T))
		r.onsC = ptr(validation.OnsagerSpecificHeatPerSite(T))
		r.onsM = ptr(validation.SpontaneousMagnetization(T))
	}
	if lat.N() <= validation.MaxEnumerationSites {
		e, err := validation.Enumerate(lat, T)
		if err != nil {
			return r, err
		}
		if r.lnZ == nil {
			r.method = "enumeration"
			r.lnZ, r.f = ptr(e.LnZPerSite), ptr(e.FreeEnergyPerSite)
			r.u, r.c = ptr(e.EnergyPerSite), ptr(e.SpecificHeatPerSite)
		}
		r.absM, r.m2 = ptr(e.AbsMagnetization), ptr(e.MagnetizationSq)
		r.m4, r.binder = ptr(e.Magnetization4), ptr(e.Binder)
		r.chi = ptr(e.Susceptibility)
	}
	return r, nil
}

// fromReference fills the report from a Reference, as the command is to.
func fromReference(ref validation.Reference) cmdValues {
	var r cmdValues
	if ref.Method != validation.MethodNone {
		r.method = string(ref.Method)
	}
	r.lnZ, r.f = ptr(ref.LnZPerSite), ptr(ref.FreeEnergyPerSite)
	r.u, r.c = ptr(ref.EnergyPerSite), ptr(ref.SpecificHeatPerSite)
	r.absM, r.m2 = ptr(ref.AbsMagnetization), ptr(ref.MagnetizationSq)
	r.m4, r.binder, r.chi = ptr(ref.Magnetization4), ptr(ref.Binder), ptr(ref.Susceptibility)
	r.onsLnZ, r.onsF = ptr(ref.OnsagerLnZPerSite), ptr(ref.OnsagerFreeEnergyPerSite)
	r.onsU, r.onsC = ptr(ref.OnsagerEnergyPerSite), ptr(ref.OnsagerSpecificHeatPerSite)
	r.onsM = ptr(ref.OnsagerMagnetization)
	return r
}

// sameValue reports whether two optional values are both absent or equal to
// the bit.
func sameValue(a, b *float64) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return math.Float64bits(*a) == math.Float64bits(*b)
}

func fmtPtr(v *float64) string {
	if v == nil {
		return "absent"
	}
	return fmt.Sprint(*v)
}

func compareValues(t *testing.T, got, want cmdValues) {
	t.Helper()
	if got.method != want.method {
		t.Errorf("method %q, the command's %q", got.method, want.method)
	}
	for _, q := range []struct {
		name      string
		got, want *float64
	}{
		{"ln Z/N", got.lnZ, want.lnZ}, {"f", got.f, want.f}, {"u", got.u, want.u}, {"c", got.c, want.c},
		{"<|m|>", got.absM, want.absM}, {"<m²>", got.m2, want.m2}, {"<m⁴>", got.m4, want.m4},
		{"U", got.binder, want.binder}, {"χ", got.chi, want.chi},
		{"Onsager ln Z/N", got.onsLnZ, want.onsLnZ}, {"Onsager f", got.onsF, want.onsF},
		{"Onsager u", got.onsU, want.onsU}, {"Onsager c", got.onsC, want.onsC},
		{"Onsager m", got.onsM, want.onsM},
	} {
		if !sameValue(q.got, q.want) {
			t.Errorf("%s = %s, the command's %s", q.name, fmtPtr(q.got), fmtPtr(q.want))
		}
	}
}

// cmdLnZ is exactLnZFunc: nil when no exact ln Z/N is known.
func cmdLnZ(lat *lattice.Lattice, dim, L int, open bool) func(T float64) float64 {
	if dim == 2 && !open {
		return func(T float64) float64 {
			k, err := validation.Kaufman(L, L, T)
			if err != nil {
				return math.NaN()
			}
			return k.LnZPerSite
		}
	}
	if lat.N() <= validation.MaxEnumerationSites {
		dos, err := validation.NewDensityOfStates(lat)
		if err != nil {
			return nil
		}
		return func(T float64) float64 {
			e, err := dos.Thermal(T)
			if err != nil {
				return math.NaN()
			}
			return e.LnZPerSite
		}
	}
	return nil
}

// xy is a point of a curve.
type xy struct{ X, Y float64 }

// curves are the scan plot's exact curves; nil is a curve not drawn.
type curves struct {
	method                   string
	energy, heat, absMag     []xy
	onsagerU, onsagerC, onsM []xy
}

const curvePoints = 241

// cmdCurves is scanCurves.
func cmdCurves(lat *lattice.Lattice, dim, L int, open bool, lo, hi float64) (*curves, error) {
	const points = curvePoints
	square := dim == 2 && !open
	grid := make([]float64, points)
	for i := range grid {
		grid[i] = lo + (hi-lo)*float64(i)/float64(points-1)
	}
	if tc := validation.CriticalTemperature; tc > lo && tc < hi {
		grid = append(grid, tc)
		for i := len(grid) - 1; i > 0 && grid[i] < grid[i-1]; i-- {
			grid[i], grid[i-1] = grid[i-1], grid[i]
		}
	}
	finite := func(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
	c := &curves{}
	var dos *validation.DensityOfStates
	var err error
	if lat.N() <= validation.MaxEnumerationSites {
		if dos, err = validation.NewDensityOfStates(lat); err != nil {
			return nil, err
		}
	}
	switch {
	case square:
		c.method = "Kaufman"
	case dos != nil:
		c.method = "enumeration"
	}
	for _, T := range grid {
		if square {
			k, err := validation.Kaufman(L, L, T)
			if err != nil {
				return nil, err
			}
			c.energy = append(c.energy, xy{T, k.EnergyPerSite})
			c.heat = append(c.heat, xy{T, k.SpecificHeatPerSite})
		}
		if dos != nil {
			e, err := dos.Thermal(T)
			if err != nil {
				return nil, err
			}
			if !square {
				c.energy = append(c.energy, xy{T, e.EnergyPerSite})
				c.heat = append(c.heat, xy{T, e.SpecificHeatPerSite})
			}
			c.absMag = append(c.absMag, xy{T, e.AbsMagnetization})
		}
		if dim == 2 {
			if v := validation.OnsagerEnergyPerSite(T); finite(v) {
				c.onsagerU = append(c.onsagerU, xy{T, v})
			}
			if v := validation.OnsagerSpecificHeatPerSite(T); finite(v) {
				c.onsagerC = append(c.onsagerC, xy{T, v})
			}
			if v := validation.SpontaneousMagnetization(T); finite(v) {
				c.onsM = append(c.onsM, xy{T, v})
			}
		}
	}
	return c, nil
}

// curvesFromExact builds the scan plot's curves from Exact.Curves, as the
// command is to.
func curvesFromExact(x *validation.Exact, lo, hi float64) (*curves, error) {
	refs, err := x.Curves(lo, hi, curvePoints)
	if err != nil {
		return nil, err
	}
	finite := func(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
	c := &curves{}
	switch x.Method() {
	case validation.MethodKaufman:
		c.method = "Kaufman"
	case validation.MethodEnumeration:
		c.method = "enumeration"
	}
	for _, r := range refs {
		if r.Method != validation.MethodNone {
			c.energy = append(c.energy, xy{r.T, r.EnergyPerSite})
			c.heat = append(c.heat, xy{r.T, r.SpecificHeatPerSite})
		}
		if r.Moments {
			c.absMag = append(c.absMag, xy{r.T, r.AbsMagnetization})
		}
		if r.Onsager {
			if v := r.OnsagerEnergyPerSite; finite(v) {
				c.onsagerU = append(c.onsagerU, xy{r.T, v})
			}
			if v := r.OnsagerSpecificHeatPerSite; finite(v) {
				c.onsagerC = append(c.onsagerC, xy{r.T, v})
			}
			if v := r.OnsagerMagnetization; finite(v) {
				c.onsM = append(c.onsM, xy{r.T, v})
			}
		}
	}
	return c, nil
}

func sameCurve(a, b []xy) bool {
	if (a == nil) != (b == nil) || len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Float64bits(a[i].X) != math.Float64bits(b[i].X) || math.Float64bits(a[i].Y) != math.Float64bits(b[i].Y) {
			return false
		}
	}
	return true
}

// referenceCases are the lattices of the tests: every hypercubic L^dim
// lattice with L = 2, 3, 4 in one to three dimensions, periodic and open,
// and the paper's 16×16 torus (Kaufman, nothing enumerable) beside its open
// counterpart (Onsager's limit only); the expected method and the presence
// of the moments and of Onsager's values are stated for each.
func referenceCases() []struct {
	dim, L  int
	open    bool
	method  validation.Method
	moments bool
} {
	type tc = struct {
		dim, L  int
		open    bool
		method  validation.Method
		moments bool
	}
	var cases []tc
	for dim := 1; dim <= 3; dim++ {
		for _, L := range []int{2, 3, 4} {
			for _, open := range []bool{false, true} {
				n := int(math.Pow(float64(L), float64(dim)))
				c := tc{dim: dim, L: L, open: open, method: validation.MethodNone, moments: n <= validation.MaxEnumerationSites}
				switch {
				case dim == 2 && !open:
					c.method = validation.MethodKaufman
				case c.moments:
					c.method = validation.MethodEnumeration
				}
				cases = append(cases, c)
			}
		}
	}
	return append(cases,
		tc{dim: 2, L: 16, method: validation.MethodKaufman},
		tc{dim: 2, L: 16, open: true, method: validation.MethodNone},
	)
}

func caseLattice(t *testing.T, dim, L int, open bool) *lattice.Lattice {
	t.Helper()
	b := lattice.Periodic
	if open {
		b = lattice.Open
	}
	lat, err := lattice.NewHypercubic(dim, L, b)
	if err != nil {
		t.Fatal(err)
	}
	return lat
}

func TestExactMatchesCommands(t *testing.T) {
	temps := []float64{0.5, 2, validation.CriticalTemperature, 3.5, 50}
	for _, tc := range referenceCases() {
		name := fmt.Sprintf("d%d_L%d_open=%v", tc.dim, tc.L, tc.open)
		t.Run(name, func(t *testing.T) {
			lat := caseLattice(t, tc.dim, tc.L, tc.open)
			x, err := validation.NewExact(lat)
			if err != nil {
				t.Fatal(err)
			}
			if x.Method() != tc.method {
				t.Errorf("Method() = %q, want %q", x.Method(), tc.method)
			}
			for _, T := range temps {
				ref, err := x.At(T)
				if err != nil {
					t.Fatalf("At(%v): %v", T, err)
				}
				if ref.T != T || ref.Method != tc.method || ref.Moments != tc.moments || ref.Onsager != (tc.dim == 2) {
					t.Errorf("At(%v): T %v, method %q, moments %v, Onsager %v; want %v, %q, %v, %v",
						T, ref.T, ref.Method, ref.Moments, ref.Onsager, T, tc.method, tc.moments, tc.dim == 2)
				}
				// What is absent is NaN, never a stale zero.
				if tc.method == validation.MethodNone && !math.IsNaN(ref.LnZPerSite) {
					t.Errorf("At(%v): ln Z/N = %v without a method, want NaN", T, ref.LnZPerSite)
				}
				if !tc.moments && !math.IsNaN(ref.AbsMagnetization) {
					t.Errorf("At(%v): <|m|> = %v without enumeration, want NaN", T, ref.AbsMagnetization)
				}
				if tc.dim != 2 && !math.IsNaN(ref.OnsagerLnZPerSite) {
					t.Errorf("At(%v): Onsager ln Z/N = %v off two dimensions, want NaN", T, ref.OnsagerLnZPerSite)
				}
				want, err := cmdReference(lat, tc.dim, tc.L, tc.open, T)
				if err != nil {
					t.Fatal(err)
				}
				t.Run(fmt.Sprintf("T=%v", T), func(t *testing.T) { compareValues(t, fromReference(ref), want) })

				// LnZPerSite is exactLnZFunc, and At's ln Z/N.
				f := cmdLnZ(lat, tc.dim, tc.L, tc.open)
				got := x.LnZPerSite(T)
				if f == nil {
					if !math.IsNaN(got) {
						t.Errorf("LnZPerSite(%v) = %v where the command has no function, want NaN", T, got)
					}
				} else if w := f(T); math.Float64bits(got) != math.Float64bits(w) {
					t.Errorf("LnZPerSite(%v) = %v, the command's %v", T, got, w)
				}
				if math.Float64bits(got) != math.Float64bits(ref.LnZPerSite) {
					t.Errorf("LnZPerSite(%v) = %v, At's %v", T, got, ref.LnZPerSite)
				}
			}
			for _, T := range []float64{0, -1, math.Inf(1), math.NaN()} {
				if got := x.LnZPerSite(T); !math.IsNaN(got) {
					t.Errorf("LnZPerSite(%v) = %v, want NaN", T, got)
				}
				if _, err := x.At(T); err == nil {
					t.Errorf("At(%v): no error", T)
				}
			}
		})
	}
}

func TestExactCurvesMatchScan(t *testing.T) {
	for _, tc := range referenceCases() {
		// Ranges across T_c, below it, and narrow around it.
		for _, r := range [][2]float64{{1.9, 3.1}, {0.6, 1.2}, {2.2, 2.3}} {
			name := fmt.Sprintf("d%d_L%d_open=%v_T%v-%v", tc.dim, tc.L, tc.open, r[0], r[1])
			t.Run(name, func(t *testing.T) {
				lat := caseLattice(t, tc.dim, tc.L, tc.open)
				x, err := validation.NewExact(lat)
				if err != nil {
					t.Fatal(err)
				}
				got, err := curvesFromExact(x, r[0], r[1])
				if err != nil {
					t.Fatal(err)
				}
				want, err := cmdCurves(lat, tc.dim, tc.L, tc.open, r[0], r[1])
				if err != nil {
					t.Fatal(err)
				}
				if got.method != want.method {
					t.Errorf("method %q, the scan's %q", got.method, want.method)
				}
				for _, q := range []struct {
					name      string
					got, want []xy
				}{
					{"u", got.energy, want.energy}, {"c", got.heat, want.heat}, {"<|m|>", got.absMag, want.absMag},
					{"Onsager u", got.onsagerU, want.onsagerU}, {"Onsager c", got.onsagerC, want.onsagerC},
					{"Onsager m", got.onsM, want.onsM},
				} {
					if !sameCurve(q.got, q.want) {
						t.Errorf("%s curve: %d points, the scan's %d, or different values", q.name, len(q.got), len(q.want))
					}
				}
			})
		}
	}
}

func TestExactCurvesGrid(t *testing.T) {
	lat := caseLattice(t, 2, 4, false)
	x, err := validation.NewExact(lat)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		lo, hi         float64
		points         int
		want           int // temperatures returned
		criticalInside bool
	}{
		{2, 3, 11, 12, true},
		{1, 2, 5, 5, false},
		{validation.CriticalTemperature, 3, 3, 3, false}, // T_c is an end point, not inserted twice
	}
	for _, tt := range tests {
		refs, err := x.Curves(tt.lo, tt.hi, tt.points)
		if err != nil {
			t.Fatalf("Curves(%v, %v, %d): %v", tt.lo, tt.hi, tt.points, err)
		}
		if len(refs) != tt.want {
			t.Errorf("Curves(%v, %v, %d): %d temperatures, want %d", tt.lo, tt.hi, tt.points, len(refs), tt.want)
			continue
		}
		if refs[0].T != tt.lo || refs[len(refs)-1].T != tt.hi {
			t.Errorf("Curves(%v, %v, %d): from %v to %v", tt.lo, tt.hi, tt.points, refs[0].T, refs[len(refs)-1].T)
		}
		hasTc := false
		for i, r := range refs {
			if i > 0 && !(r.T > refs[i-1].T) {
				t.Errorf("Curves(%v, %v, %d): T[%d] = %v after %v", tt.lo, tt.hi, tt.points, i, r.T, refs[i-1].T)
			}
			if i > 0 && i < len(refs)-1 && r.T == validation.CriticalTemperature {
				hasTc = true
			}
		}
		if hasTc != tt.criticalInside {
			t.Errorf("Curves(%v, %v, %d): T_c inside %v, want %v", tt.lo, tt.hi, tt.points, hasTc, tt.criticalInside)
		}
	}
	for _, bad := range []struct {
		lo, hi float64
		points int
	}{{0, 1, 5}, {2, 2, 5}, {3, 2, 5}, {1, 2, 1}, {1, math.Inf(1), 5}, {math.NaN(), 2, 5}} {
		if _, err := x.Curves(bad.lo, bad.hi, bad.points); err == nil {
			t.Errorf("Curves(%v, %v, %d): no error", bad.lo, bad.hi, bad.points)
		}
	}
	if _, err := validation.NewExact(nil); err == nil {
		t.Error("NewExact(nil): no error")
	}
}

// A rectangular torus is Kaufman's L×M lattice with rows of L sites,
// whichever way round the shape is given.
func TestExactRectangularTorus(t *testing.T) {
	for _, shape := range [][]int{{3, 5}, {5, 3}, {2, 7}} {
		lat, err := lattice.New(shape, lattice.Periodic)
		if err != nil {
			t.Fatal(err)
		}
		x, err := validation.NewExact(lat)
		if err != nil {
			t.Fatal(err)
		}
		ref, err := x.At(2.5)
		if err != nil {
			t.Fatal(err)
		}
		k, err := validation.Kaufman(shape[1], shape[0], 2.5)
		if err != nil {
			t.Fatal(err)
		}
		e, err := validation.Enumerate(lat, 2.5)
		if err != nil {
			t.Fatal(err)
		}
		if ref.Method != validation.MethodKaufman || ref.LnZPerSite != k.LnZPerSite || ref.SpecificHeatPerSite != k.SpecificHeatPerSite {
			t.Errorf("%v: %q ln Z/N %v c %v, Kaufman's %v %v", lat, ref.Method, ref.LnZPerSite, ref.SpecificHeatPerSite, k.LnZPerSite, k.SpecificHeatPerSite)
		}
		if d := math.Abs(ref.LnZPerSite - e.LnZPerSite); d > 1e-14 {
			t.Errorf("%v: Kaufman's ln Z/N %v, enumeration's %v", lat, ref.LnZPerSite, e.LnZPerSite)
		}
		if ref.Susceptibility != e.Susceptibility {
			t.Errorf("%v: χ %v, enumeration's %v", lat, ref.Susceptibility, e.Susceptibility)
		}
	}
}

// An Exact is shared by concurrent callers before its first enumeration
// (run with -race): every caller gets the sequential values.
func TestExactConcurrent(t *testing.T) {
	lat := caseLattice(t, 2, 4, true)
	temps := []float64{1.5, 2, 2.5, 3, 3.5, 4, 4.5, 5}
	x, err := validation.NewExact(lat)
	if err != nil {
		t.Fatal(err)
	}
	got := make([]validation.Reference, len(temps))
	lnZ := make([]float64, len(temps))
	var wg sync.WaitGroup
	for i, T := range temps {
		wg.Go(func() {
			got[i], _ = x.At(T)
			lnZ[i] = x.LnZPerSite(T)
		})
	}
	wg.Wait()
	for i, T := range temps {
		e, err := validation.Enumerate(lat, T)
		if err != nil {
			t.Fatal(err)
		}
		if got[i].LnZPerSite != e.LnZPerSite || lnZ[i] != e.LnZPerSite || got[i].AbsMagnetization != e.AbsMagnetization {
			t.Errorf("T = %v: concurrent ln Z/N %v and %v, <|m|> %v; enumeration's %v, %v", T, got[i].LnZPerSite, lnZ[i], got[i].AbsMagnetization, e.LnZPerSite, e.AbsMagnetization)
		}
	}
}
