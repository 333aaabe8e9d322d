package flow_test

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/isingflow/isingflow/flow"
)

// names returns the names and shapes of a layout, "name[shape]" each.
func names(layout []flow.ParamBlock) []string {
	var out []string
	for _, b := range layout {
		out = append(out, fmt.Sprintf("%s%v", b.Name, b.Shape))
	}
	return out
}

// TestParamLayout checks the layout of every potential of the package, of
// the containers (with and without colliding names) and through a Wrapper:
// the names and shapes, and that each layout covers Params exactly.
func TestParamLayout(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	shape := []int{2, 3}
	newSum := func() *flow.Sum {
		return flow.NewSum(flow.NewSpectralQuadratic(shape, 10), flow.NewShallow(6, 4, flow.LogCosh, false, rng))
	}
	for _, tc := range []struct {
		name string
		p    flow.Potential
		want []string
	}{
		{"Shallow", flow.NewShallow(6, 4, flow.LogCosh, false, rng), []string{"shallow/A[4 6]", "shallow/w[4]"}},
		{"Shallow with bias", flow.NewShallow(6, 4, flow.Softplus, true, rng),
			[]string{"shallow/A[4 6]", "shallow/b[4]", "shallow/w[4]"}},
		{"Quadratic", flow.NewQuadratic(mat.NewDense(3, 3, nil), nil), []string{"quadratic/S[3 3]"}},
		{"Quadratic with c", flow.NewQuadratic(mat.NewDense(3, 3, nil), make([]float64, 3)),
			[]string{"quadratic/S[3 3]", "quadratic/c[3]"}},
		{"kernel", flow.NewCirculantQuadratic(shape), []string{"quadratic/kernel[2 3]"}},
		{"spectrum", flow.NewSpectralQuadratic(shape, 10), []string{"quadratic/spectrum[2 3]"}},
		{"Sum", newSum(), []string{"quadratic/spectrum[2 3]", "shallow/A[4 6]", "shallow/w[4]"}},
		{"Sum, colliding", flow.NewSum(flow.NewShallow(6, 2, flow.LogCosh, false, rng), flow.NewShallow(6, 3, flow.LogCosh, false, rng)),
			[]string{"term0/shallow/A[2 6]", "term0/shallow/w[2]", "term1/shallow/A[3 6]", "term1/shallow/w[3]"}},
		{"Sum, unnamed term", flow.NewSum(flow.NewCirculantQuadratic(shape), plain{flow.NewShallow(6, 2, flow.LogCosh, false, rng)}),
			[]string{"term0/quadratic/kernel[2 3]", "term1[14]"}},
		{"Piecewise", flow.NewPiecewise(newSum(), newSum()),
			[]string{"block0/quadratic/spectrum[2 3]", "block0/shallow/A[4 6]", "block0/shallow/w[4]",
				"block1/quadratic/spectrum[2 3]", "block1/shallow/A[4 6]", "block1/shallow/w[4]"}},
		{"Wrapper", reversed{flow.NewShallow(6, 4, flow.LogCosh, false, rng)}, []string{"shallow/A[4 6]", "shallow/w[4]"}},
		{"no layout", plain{flow.NewShallow(6, 4, flow.LogCosh, false, rng)}, []string{"[28]"}},
	} {
		l := flow.Layout(tc.p)
		if got := names(l); !slices.Equal(got, tc.want) {
			t.Errorf("%s: layout %q, want %q", tc.name, got, tc.want)
		}
		if err := flow.ValidateLayout(l, len(tc.p.Params())); err != nil {
			t.Errorf("%s: %v", tc.name, err)
		}
		if named := flow.Named(l); named != (tc.name != "no layout") {
			t.Errorf("%s: Named = %v", tc.name, named)
		}
	}
}

// TestParamLayoutAddresses checks that the blocks address the parameters
// they name: a Shallow's A and w inside a Piecewise of Sums are the
// entries Weights returns.
func TestParamLayoutAddresses(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	var shallows []*flow.Shallow
	var blocks []flow.Potential
	for range 3 {
		s := flow.NewShallow(4, 3, flow.LogCosh, true, rng)
		shallows = append(shallows, s)
		blocks = append(blocks, flow.NewSum(flow.NewSpectralQuadratic([]int{4}, 1), s))
	}
	p := flow.NewPiecewise(blocks...)
	for i := range p.Params() {
		p.Params()[i] = float64(i)
	}
	byName := map[string][]float64{}
	for _, b := range flow.Layout(p) {
		byName[b.Name] = p.Params()[b.Offset : b.Offset+b.Size()]
	}
	for k, s := range shallows {
		a, bias, w := s.Weights()
		for name, want := range map[string][]float64{"A": a.RawMatrix().Data, "b": bias, "w": w} {
			if got := byName[fmt.Sprintf("block%d/shallow/%s", k, name)]; !slices.Equal(got, want) {
				t.Errorf("block %d, %s: %v, want %v", k, name, got, want)
			}
		}
	}
}

// TestValidateLayout checks that layouts that do not tile the parameters,
// or whose names collide, are refused.
func TestValidateLayout(t *testing.T) {
	b := func(name string, off int, shape ...int) flow.ParamBlock {
		return flow.ParamBlock{Name: name, Offset: off, Shape: shape}
	}
	for _, tc := range []struct {
		layout []flow.ParamBlock
		n      int
		err    string // "" for a valid layout
	}{
		{[]flow.ParamBlock{b("a", 0, 2, 3), b("b", 6, 4)}, 10, ""},
		{[]flow.ParamBlock{b("", 0, 5)}, 5, ""},
		{[]flow.ParamBlock{b("a", 0, 2, 3), b("b", 6, 4)}, 11, "hold 10 entries"},
		{[]flow.ParamBlock{b("a", 0, 2), b("b", 3, 4)}, 7, "starts at 3, want 2"},
		{[]flow.ParamBlock{b("a", 0, 2), b("a", 2, 4)}, 6, "two parameter blocks"},
		{[]flow.ParamBlock{b("a", 0, 2), b("a/b", 2, 4)}, 6, "also the directory"},
		{[]flow.ParamBlock{b("a", 0, 2), b("", 2, 4)}, 6, "no name"},
		{[]flow.ParamBlock{b("a/", 0, 2)}, 2, "name"},
		{[]flow.ParamBlock{b("a", 0, -1)}, 0, "shape"},
	} {
		err := flow.ValidateLayout(tc.layout, tc.n)
		switch {
		case tc.err == "" && err != nil:
			t.Errorf("%v of %d: %v", names(tc.layout), tc.n, err)
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("%v of %d: error %v, want one saying %q", names(tc.layout), tc.n, err, tc.err)
		}
	}
}
