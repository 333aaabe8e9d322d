package symmetry

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/isingflow/isingflow/flow"
	"github.com/isingflow/isingflow/flow/flowtest"
	"github.com/isingflow/isingflow/lattice"
)

type convCase struct {
	shape    []int
	channels int
	opts     ConvOptions
	trivialP bool
}

func (tc convCase) String() string {
	p := "P"
	if tc.trivialP {
		p = "noP"
	}
	return fmt.Sprintf("%v/C%d/k%d/%v/%s", tc.shape, tc.channels, tc.opts.Support, tc.opts.Method, p)
}

func convCases() []convCase {
	return []convCase{
		{[]int{4, 4}, 2, ConvOptions{Method: ConvFFT}, false},
		{[]int{4, 4}, 2, ConvOptions{Method: ConvDirect}, false},
		{[]int{4, 4}, 1, ConvOptions{Method: ConvFFT}, true},
		{[]int{5, 5}, 2, ConvOptions{Method: ConvFFT}, false},
		{[]int{6, 6}, 2, ConvOptions{Support: 3, Method: ConvFFT}, false},
		{[]int{6, 6}, 2, ConvOptions{Support: 3, Method: ConvDirect}, false},
		{[]int{5, 5}, 1, ConvOptions{Support: 3}, false},
		{[]int{3, 4}, 2, ConvOptions{Method: ConvFFT}, false},
		{[]int{3, 4}, 2, ConvOptions{Method: ConvDirect}, false},
		{[]int{8}, 2, ConvOptions{Method: ConvFFT}, false},
		{[]int{8}, 2, ConvOptions{Support: 5, Method: ConvDirect}, false},
		{[]int{3, 3, 3}, 1, ConvOptions{Method: ConvFFT}, false},
		{[]int{2, 3, 4}, 1, ConvOptions{Method: ConvFFT}, false},
		{[]int{2, 3, 4}, 1, ConvOptions{Method: ConvDirect}, false},
	}
}

func (tc convCase) build(t *testing.T, rng *rand.Rand) (*Conv, *lattice.Lattice) {
	t.Helper()
	lat := mustLattice(t, tc.shape, lattice.Periodic)
	opts := tc.opts
	if tc.trivialP {
		opts.Point = Trivial(lat.N())
	}
	c, err := NewConv(lat, tc.channels, opts, rng)
	if err != nil {
		t.Fatal(err)
	}
	return c, lat
}

// equivalentDense returns the dense flow.Shallow potential (H = C rows, the
// kernels embedded in the lattice, ln cosh, no bias, weights N|P|·w_c)
// whose group average Conv is.
func equivalentDense(c *Conv) flow.Potential {
	n, C := c.Dim(), c.Channels()
	dense := flow.NewShallow(n, C, flow.LogCosh, false, nil)
	theta := dense.Params()
	c.KernelRows(mat.NewDense(C, n, theta[:C*n]))
	// Conv sums over the N|P| = |G|/2 translates and images, the average
	// divides by |G|.
	scale := float64(c.EffectiveHiddenUnits() / C)
	for ch, w := range c.Params()[len(c.Params())-C:] {
		theta[C*n+ch] = scale * w
	}
	return dense
}

// relErr returns max|a−b| / max(1, max|b|).
func relErr(a, b []float64) float64 {
	s := 1.0
	for _, v := range b {
		s = math.Max(s, math.Abs(v))
	}
	return maxAbsDiff(a, b) / s
}

// TestConvEqualsAverage is the key test: the structured form equals the
// generic group average of the dense potential with the same kernels, for
// the value, the gradient, the Laplacian and both halves of the VJP.
func TestConvEqualsAverage(t *testing.T) {
	for _, tc := range convCases() {
		t.Run(tc.String(), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(21, 22))
			c, _ := tc.build(t, rng)
			G, err := c.Group()
			if err != nil {
				t.Fatal(err)
			}
			dense := equivalentDense(c)
			avg, err := NewAverage(dense, G)
			if err != nil {
				t.Fatal(err)
			}
			const B = 3
			n := c.Dim()
			x := randDense(rng, B, n, 1.5)
			lambda := randDense(rng, B, n, 1)
			mu := []float64{0.7, -1.3, 0.2}

			v1, v2 := make([]float64, B), make([]float64, B)
			c.Value(v1, x)
			avg.Value(v2, x)
			g1, g2 := mat.NewDense(B, n, nil), mat.NewDense(B, n, nil)
			l1, l2 := make([]float64, B), make([]float64, B)
			c.GradLaplacian(g1, l1, x)
			avg.GradLaplacian(g2, l2, x)
			dx1, dx2 := randDense(rng, B, n, 1), mat.NewDense(B, n, nil)
			dx2.Copy(dx1) // both add to the same starting values
			dp1 := make([]float64, len(c.Params()))
			dp2 := make([]float64, len(dense.Params()))
			c.GradLaplacianVJP(dx1, dp1, x, lambda, mu)
			avg.GradLaplacianVJP(dx2, dp2, x, lambda, mu)
			// Conv's kernel entries are the dense entries on the support.
			C, S := c.Channels(), len(c.Params())/c.Channels()-1
			sup := c.SupportSites()
			dp2c := make([]float64, len(dp1))
			for ch := range C {
				for s, site := range sup {
					dp2c[ch*S+s] = dp2[ch*n+site]
				}
				// w'_c = N|P| w_c in the dense potential.
				dp2c[C*S+ch] = dp2[C*n+ch] * float64(c.EffectiveHiddenUnits()/C)
			}
			checks := []struct {
				name string
				a, b []float64
			}{
				{"φ", v1, v2},
				{"∇φ", g1.RawMatrix().Data, g2.RawMatrix().Data},
				{"∇²φ", l1, l2},
				{"VJP dx", dx1.RawMatrix().Data, dx2.RawMatrix().Data},
				{"VJP dθ", dp1, dp2c},
			}
			for _, ch := range checks {
				if e := relErr(ch.a, ch.b); e > 1e-12 {
					t.Errorf("%s: Conv and Average differ by %.3g (relative)", ch.name, e)
				}
			}
		})
	}
}

func TestConvFiniteDifferences(t *testing.T) {
	for _, tc := range []convCase{
		{[]int{4, 4}, 2, ConvOptions{Method: ConvFFT}, false},
		{[]int{4, 4}, 2, ConvOptions{Method: ConvDirect}, false},
		{[]int{5, 5}, 2, ConvOptions{Support: 3, Method: ConvFFT}, false},
		{[]int{5, 5}, 2, ConvOptions{Support: 3, Method: ConvDirect}, false},
		{[]int{2, 3, 4}, 1, ConvOptions{Method: ConvFFT}, false},
		{[]int{7}, 2, ConvOptions{Method: ConvFFT}, false},
	} {
		t.Run(tc.String(), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(23, 24))
			c, _ := tc.build(t, rng)
			flowtest.CheckPotential(t, c, 3, rng, 1e-6)
		})
	}
}

func TestConvInvariance(t *testing.T) {
	for _, tc := range []convCase{
		{[]int{4, 4}, 2, ConvOptions{Method: ConvFFT}, false},
		{[]int{4, 4}, 2, ConvOptions{Method: ConvDirect}, false},
		{[]int{6, 6}, 1, ConvOptions{Support: 3}, false},
		{[]int{3, 4}, 2, ConvOptions{}, false},
		{[]int{3, 3, 3}, 1, ConvOptions{}, false},
	} {
		t.Run(tc.String(), func(t *testing.T) {
			if testing.Short() && len(tc.shape) == 3 {
				t.Skip("every one of the 2592 elements of the 3×3×3 group: slow")
			}
			rng := rand.New(rand.NewPCG(25, 26))
			c, _ := tc.build(t, rng)
			G, err := c.Group()
			if err != nil {
				t.Fatal(err)
			}
			checkInvariance(t, c, G, 3, rng, 1e-12)
		})
	}
}

func TestConvErrors(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	per := mustLattice(t, []int{4, 4}, lattice.Periodic)
	open := mustLattice(t, []int{4, 4}, lattice.Open)
	rect := mustLattice(t, []int{4, 6}, lattice.Periodic)
	T, _ := Translations(per)
	for _, tc := range []struct {
		name string
		lat  *lattice.Lattice
		C    int
		opts ConvOptions
	}{
		{"open", open, 1, ConvOptions{}},
		{"channels", per, 0, ConvOptions{}},
		{"even support", per, 1, ConvOptions{Support: 2}},
		{"support too large", per, 1, ConvOptions{Support: 5}},
		{"translations as point group", per, 1, ConvOptions{Point: T}},
		{"wrong size point group", rect, 1, ConvOptions{Point: Trivial(16)}},
		{"method", per, 1, ConvOptions{Method: 7}},
	} {
		if _, err := NewConv(tc.lat, tc.C, tc.opts, rng); err == nil {
			t.Errorf("%s: no error", tc.name)
		}
	}
}

// TestConvParamLayout checks the names and shapes of Conv's parameters,
// full-lattice and box kernels, and that a Random wrapper of a Shallow
// has the Shallow's layout.
func TestConvParamLayout(t *testing.T) {
	lat, err := lattice.NewHypercubic(2, 6, lattice.Periodic)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		support int
		want    string
	}{
		{0, "[{conv/kernels 0 [2 6 6]} {conv/w 72 [2]}]"},
		{3, "[{conv/kernels 0 [2 3 3]} {conv/w 18 [2]}]"},
	} {
		c, err := NewConv(lat, 2, ConvOptions{Support: tc.support}, nil)
		if err != nil {
			t.Fatal(err)
		}
		l := flow.Layout(c)
		if got := fmt.Sprint(l); got != tc.want {
			t.Errorf("support %d: layout %s, want %s", tc.support, got, tc.want)
		}
		if err := flow.ValidateLayout(l, len(c.Params())); err != nil {
			t.Errorf("support %d: %v", tc.support, err)
		}
	}
	G, err := IsingGroup(lat)
	if err != nil {
		t.Fatal(err)
	}
	r, err := NewRandom(flow.NewShallow(lat.N(), 3, flow.LogCosh, false, nil), G, 0)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := fmt.Sprint(flow.Layout(r)), "[{shallow/A 0 [3 36]} {shallow/w 108 [3]}]"; got != want {
		t.Errorf("Random: layout %s, want %s", got, want)
	}
}
