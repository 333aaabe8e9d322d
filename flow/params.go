package flow

import "fmt"

// ParamBinder is implemented by potentials whose parameters can move into
// storage that a container provides, so that the container and the
// potential share one vector instead of the container copying its part into
// the potential before every call (for a Shallow potential at N = 256,
// H = 512, a megabyte per call). Shallow, Sum and Piecewise implement it;
// Sum and Piecewise bind every part that supports it, through BindParams.
//
// The contract of BindParams(p), p of length len(Params()):
//
//   - it copies the current parameters into p, and from its return on
//     Params returns p itself (the same length and first element), and
//     every method reads the parameters from p;
//   - it neither keeps using its previous storage nor appends to p or
//     reslices it beyond its length (a container may pass a part of its own
//     vector, capped at the part's length);
//   - the caller owns p from then on: it writes new parameters into p
//     between calls, never during one, nor while they are held (see
//     ParamHolder), and the potential sees them at its next call;
//   - it may be called again, with new storage, and must then move the
//     parameters again (a container bound into an outer container binds its
//     own parts into the outer vector); it is not called while the
//     parameters are held.
//
// A potential that does not implement ParamBinder is still a valid part
// of a Sum or a Piecewise: the container keeps its parameters and copies a
// part's share into the part's own Params before each call that evaluates
// it, or once when the parameters are held. Writes into such a part's own
// Params are then overwritten; write through the container's.
type ParamBinder interface {
	BindParams(p []float64)
}

// ParamHolder is implemented by potentials that cache quantities derived
// from their parameters (Shallow: the row norms |a_j|², and A rounded to
// float32 for Float32 products) and can keep them for a stretch of calls
// during which the parameters do not change. Shallow, Sum and Piecewise
// implement it, the containers by passing the hold on to their parts.
//
// The contract of HoldParams:
//
//   - HoldParams(true) starts and HoldParams(false) ends a hold. During a
//     hold the caller guarantees that the values in Params do not change
//     and that BindParams is not called; the potential may compute derived
//     quantities once (at HoldParams(true), or lazily at its first call
//     after it) and reuse them until HoldParams(false).
//   - Outside a hold, every call must read the parameters afresh: they may
//     be written between any two calls.
//   - When HoldParams(true) is called, Params already holds the values to
//     use (a container copies them into its unbound parts first).
//   - Calls with the same argument in a row must be harmless.
//
// Flow holds its potential's parameters, through HoldParams, for the
// length of each Forward, Backward, Sample, LogDensity, Gradient and
// PathGradient, which then compute derived quantities once instead of at
// every one of their potential calls (8·Steps per Gradient). A potential
// used on its own is never held and recomputes them at every call.
type ParamHolder interface {
	HoldParams(hold bool)
}

// Wrapper is implemented by potentials that evaluate another potential,
// the inner one, on transformed inputs and whose parameters are exactly the
// inner potential's (symmetry.Random, symmetry.Average): Params returns
// Inner().Params(). BindParams and HoldParams reach the inner potential
// through a Wrapper that does not implement ParamBinder or ParamHolder
// itself, so that a wrapped potential shares a container's storage and is
// held by Flow as an unwrapped one is.
type Wrapper interface {
	Potential
	Inner() Potential
}

// BindParams moves the parameters of p into storage when p supports it:
// it calls p.BindParams(storage) if p is a ParamBinder, or binds the inner
// potential if p is a Wrapper that is not (and whose parameters have the
// same length). It reports whether p.Params() aliases storage afterwards,
// which it checks rather than assumes; when it does not, the caller must
// copy its parameters into p.Params() before using p (see ParamBinder).
// Container potentials written outside this package bind their parts with
// it as Sum and Piecewise do. It panics if the lengths of storage and
// p.Params() differ.
func BindParams(p Potential, storage []float64) bool {
	n := len(p.Params())
	if len(storage) != n {
		panic(fmt.Sprintf("flow: BindParams: storage of length %d for %d parameters", len(storage), n))
	}
	switch q := p.(type) {
	case ParamBinder:
		q.BindParams(storage)
	case Wrapper:
		in := q.Inner()
		if in == nil || len(in.Params()) != n || !BindParams(in, storage) {
			return false
		}
	default:
		return false
	}
	return aliases(p.Params(), storage)
}

// aliases reports whether a and b are the same slice: the same length and,
// when not empty, the same first element.
func aliases(a, b []float64) bool {
	return len(a) == len(b) && (len(a) == 0 || &a[0] == &b[0])
}

// HoldParams holds (hold true) or releases the parameters of p: it calls
// p.HoldParams(hold) if p is a ParamHolder, or holds the inner potential if
// p is a Wrapper that is not; otherwise it does nothing. Container
// potentials written outside this package pass a hold on to their parts
// with it, after copying the parameters into the parts they could not
// bind.
func HoldParams(p Potential, hold bool) {
	switch q := p.(type) {
	case ParamHolder:
		q.HoldParams(hold)
	case Wrapper:
		if in := q.Inner(); in != nil {
			HoldParams(in, hold)
		}
	}
}

// parts holds the parameters of a container's parts (Sum's terms,
// Piecewise's blocks), concatenated in order in one vector, and hands them
// to the parts: by binding each part that supports it (BindParams), by
// copying its share into the others before they are used.
type parts struct {
	list   []Potential
	params []float64
	offs   []int  // part k's share is params[offs[k]:offs[k+1]]
	bound  []bool // parts whose parameters alias params
	held   bool   // between HoldParams(true) and HoldParams(false)
}

// newParts concatenates the parts' current parameters and binds the parts
// to them.
func newParts(list []Potential) parts {
	c := parts{list: list, offs: make([]int, len(list)+1)}
	for k, p := range list {
		c.params = append(c.params, p.Params()...)
		c.offs[k+1] = len(c.params)
	}
	c.bindAll()
	return c
}

// share returns part k's share of the parameters.
func (c *parts) share(k int) []float64 {
	return c.params[c.offs[k]:c.offs[k+1]:c.offs[k+1]]
}

func (c *parts) bindAll() {
	c.bound = make([]bool, len(c.list))
	for k, p := range c.list {
		c.bound[k] = BindParams(p, c.share(k))
	}
}

// bind moves the parameters into q (see ParamBinder).
func (c *parts) bind(q []float64) {
	if len(q) != len(c.params) {
		panic(fmt.Sprintf("flow: BindParams: storage of length %d for %d parameters", len(q), len(c.params)))
	}
	copy(q, c.params)
	c.params = q
	c.bindAll()
}

// sync copies part k's share into it unless the part shares the storage or
// the parameters are held (and were copied when the hold began).
func (c *parts) sync(k int) {
	if !c.bound[k] && !c.held {
		copy(c.list[k].Params(), c.share(k))
	}
}

// hold starts or ends a hold of every part (see ParamHolder), copying the
// parameters into the unbound parts first.
func (c *parts) hold(hold bool) {
	if hold {
		c.held = false
		for k := range c.list {
			c.sync(k)
		}
	}
	c.held = hold
	for _, p := range c.list {
		HoldParams(p, hold)
	}
}
