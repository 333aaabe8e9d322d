package flow

import (
	"fmt"
	"slices"
	"strings"
)

// ParamBlock names one array of a potential's parameters: the entries
// Params()[Offset : Offset+Size()], which hold an array of the given Shape
// in row-major (C) order, the last index fastest. A Shallow's matrix A is
// the block {Name: "shallow/A", Offset: 0, Shape: [H, N]}.
type ParamBlock struct {
	Name   string `json:"name"`
	Offset int    `json:"offset"`
	Shape  []int  `json:"shape"`
}

// Size returns the number of entries of the block, the product of its
// shape.
func (b ParamBlock) Size() int {
	n := 1
	for _, d := range b.Shape {
		n *= d
	}
	return n
}

// ParamLayouter is implemented by potentials that name the arrays their
// parameter vector holds, so that a checkpoint can store each as a named
// array of its shape (see package train) instead of one flat vector. The
// blocks are in the order of Params, one after the other from offset 0,
// and cover it exactly (ValidateLayout). Each leaf potential prefixes its
// arrays with its kind ("shallow/A", "quadratic/spectrum"), Sum joins its
// terms' layouts, and Piecewise prefixes block k's with "block<k>/"; a
// Wrapper has its inner potential's layout (see Layout).
//
// The layouts of the package's potentials:
//
//	Shallow                  shallow/A [H, N], shallow/b [H] (with a bias), shallow/w [H]
//	Quadratic                quadratic/S [N, N], quadratic/c [N] (with a linear term)
//	NewCirculantQuadratic    quadratic/kernel [lattice shape]: s(r), r the site's coordinates
//	NewSpectralQuadratic     quadratic/spectrum [lattice shape]: c(k), k the site's coordinates
//	Sum                      its terms' blocks, each prefixed "term<k>/" when two names collide
//	Piecewise                block<k>/… for each block k
type ParamLayouter interface {
	ParamLayout() []ParamBlock
}

// Layout returns the layout of p's parameters: p.ParamLayout() when p is a
// ParamLayouter, the inner potential's layout when p is a Wrapper that is
// not (its parameters are the inner ones), and otherwise one block with no
// name, of shape [len(Params())].
func Layout(p Potential) []ParamBlock {
	switch q := p.(type) {
	case ParamLayouter:
		return q.ParamLayout()
	case Wrapper:
		if in := q.Inner(); in != nil && len(in.Params()) == len(p.Params()) {
			return Layout(in)
		}
	}
	return []ParamBlock{{Offset: 0, Shape: []int{len(p.Params())}}}
}

// Named reports whether a layout names its arrays: false for the single
// unnamed block that Layout returns for a potential without a layout.
func Named(layout []ParamBlock) bool {
	return !(len(layout) == 1 && layout[0].Name == "")
}

// ValidateLayout checks that layout describes a vector of n parameters:
// blocks in order, each starting where the one before ends, the first at
// 0 and the last ending at n, with non-negative dimensions and distinct
// names, none of them a prefix directory of another ("a" beside "a/b").
// A layout that is not Named must be the one block of n entries.
func ValidateLayout(layout []ParamBlock, n int) error {
	off := 0
	names := make(map[string]bool, len(layout))
	for i, b := range layout {
		if b.Offset != off {
			return fmt.Errorf("flow: parameter block %d (%q) starts at %d, want %d", i, b.Name, b.Offset, off)
		}
		for _, d := range b.Shape {
			if d < 0 {
				return fmt.Errorf("flow: parameter block %q has shape %v", b.Name, b.Shape)
			}
		}
		if names[b.Name] {
			return fmt.Errorf("flow: two parameter blocks named %q", b.Name)
		}
		if b.Name == "" && len(layout) > 1 {
			return fmt.Errorf("flow: parameter block %d has no name", i)
		}
		if strings.HasPrefix(b.Name, "/") || strings.HasSuffix(b.Name, "/") || strings.Contains(b.Name, "//") {
			return fmt.Errorf("flow: parameter block name %q", b.Name)
		}
		names[b.Name] = true
		off += b.Size()
	}
	if off != n {
		return fmt.Errorf("flow: the parameter blocks hold %d entries, the potential has %d", off, n)
	}
	for name := range names {
		for dir := name; ; {
			i := strings.LastIndexByte(dir, '/')
			if i < 0 {
				break
			}
			if dir = dir[:i]; names[dir] {
				return fmt.Errorf("flow: parameter block %q is also the directory of %q", dir, name)
			}
		}
	}
	return nil
}

// prefixed returns the blocks with their names prefixed by prefix + "/"
// (an unnamed block gets the name prefix; an empty prefix leaves the names)
// and their offsets shifted by off.
func prefixed(blocks []ParamBlock, prefix string, off int) []ParamBlock {
	out := make([]ParamBlock, len(blocks))
	for i, b := range blocks {
		name := b.Name
		switch {
		case prefix == "":
		case name == "":
			name = prefix
		default:
			name = prefix + "/" + name
		}
		out[i] = ParamBlock{Name: name, Offset: b.Offset + off, Shape: slices.Clone(b.Shape)}
	}
	return out
}

// ParamLayout returns shallow/A [H, N], shallow/b [H] when the potential
// has a bias, and shallow/w [H] (see ParamLayouter).
func (s *Shallow) ParamLayout() []ParamBlock {
	l := []ParamBlock{{Name: "shallow/A", Offset: 0, Shape: []int{s.h, s.n}}}
	off := s.h * s.n
	if s.bias {
		l = append(l, ParamBlock{Name: "shallow/b", Offset: off, Shape: []int{s.h}})
		off += s.h
	}
	return append(l, ParamBlock{Name: "shallow/w", Offset: off, Shape: []int{s.h}})
}

// ParamLayout returns quadratic/S [N, N] and, with a linear term,
// quadratic/c [N] (see ParamLayouter).
func (q *Quadratic) ParamLayout() []ParamBlock {
	l := []ParamBlock{{Name: "quadratic/S", Offset: 0, Shape: []int{q.n, q.n}}}
	if q.c != nil {
		l = append(l, ParamBlock{Name: "quadratic/c", Offset: q.n * q.n, Shape: []int{q.n}})
	}
	return l
}

// ParamLayout returns one block of the torus's shape: quadratic/kernel,
// the kernel s(r) at the entry of coordinates r (NewCirculantQuadratic),
// or quadratic/spectrum, the parameters c(k) at the entry of the wave
// vector's coordinates k (NewSpectralQuadratic; the eigenvalue of S̄ is
// ½γ(c(k) + c(−k))). See ParamLayouter.
func (q *CirculantQuadratic) ParamLayout() []ParamBlock {
	name := "quadratic/kernel"
	if q.spectral {
		name = "quadratic/spectrum"
	}
	return []ParamBlock{{Name: name, Offset: 0, Shape: slices.Clone(q.shape)}}
}

// ParamLayout returns the terms' layouts one after the other; when two
// terms have an array of the same name (two Shallow terms), every term's
// names are prefixed "term<k>/" instead, k counting from 0 (see
// ParamLayouter). A term without a layout is the single array "term<k>".
func (s *Sum) ParamLayout() []ParamBlock { return s.layout("term") }

// ParamLayout returns block k's layout with its names prefixed
// "block<k>/", for k = 0 … K−1 (see ParamLayouter); a block without a
// layout is the single array "block<k>".
func (p *Piecewise) ParamLayout() []ParamBlock { return p.layout("block") }

// layout joins the parts' layouts. Piecewise's ("block") always prefixes
// every part; Sum's ("term") only when names would collide or a part has
// no names of its own.
func (c *parts) layout(kind string) []ParamBlock {
	layouts := make([][]ParamBlock, len(c.list))
	prefix := kind == "block"
	seen := map[string]bool{}
	for k, p := range c.list {
		layouts[k] = Layout(p)
		for _, b := range layouts[k] {
			prefix = prefix || b.Name == "" || seen[b.Name]
			seen[b.Name] = true
		}
	}
	var out []ParamBlock
	for k, l := range layouts {
		pre := ""
		if prefix {
			pre = fmt.Sprintf("%s%d", kind, k)
		}
		out = append(out, prefixed(l, pre, c.offs[k])...)
	}
	return out
}
